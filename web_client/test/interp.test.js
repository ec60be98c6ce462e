import test from 'node:test';
import assert from 'node:assert/strict';
import { RemoteMotion, ServerClock, Track } from '../src/state/interp.js';
import { lerpAngle, wrapAngle } from '../src/state/geom.js';

const close = (a, b, eps = 1e-9) => assert.ok(Math.abs(a - b) <= eps, `${a} ≉ ${b}`);

test('wrapAngle normalises to (-π, π]', () => {
  close(wrapAngle(0), 0);
  close(wrapAngle(Math.PI), Math.PI);
  close(wrapAngle(-Math.PI), Math.PI);
  close(wrapAngle(3 * Math.PI / 2), -Math.PI / 2);
  close(wrapAngle(-7 * Math.PI / 2), Math.PI / 2);
  close(wrapAngle(20 * Math.PI + 0.1), 0.1, 1e-9);
});

test('headings interpolate along the shortest arc across ±π', () => {
  const a = Math.PI - 0.1;
  const b = -Math.PI + 0.1;
  const mid = lerpAngle(a, b, 0.5);
  close(Math.abs(mid), Math.PI, 1e-9);
  close(lerpAngle(a, b, 0.25), Math.PI - 0.05, 1e-9);
  close(lerpAngle(b, a, 0.25), -Math.PI + 0.05, 1e-9);
  close(lerpAngle(0.2, -0.2, 0.5), 0);
});

test('track interpolates linearly between straddling samples', () => {
  const tr = new Track(100);
  tr.push(1000, 0, 0, 0);
  tr.push(1100, 1, -2, 0.5);
  tr.push(1200, 2, -4, 1.0);
  assert.deepEqual(tr.sample(900), { x: 0, z: 0, h: 0 }, 'before the first sample: first');
  const p = tr.sample(1150);
  close(p.x, 1.5);
  close(p.z, -3);
  close(p.h, 0.75);
  assert.equal(tr.samples[0].t, 1100, 'samples the render time has passed are pruned');
  assert.deepEqual(tr.sample(5000), { x: 2, z: -4, h: 1.0 }, 'long after the last sample: hold');
});

test('a late frame is bridged by one tick of extrapolation, then taken back', () => {
  const tr = new Track(100);
  tr.push(1000, 0, 0, 0);
  tr.push(1100, 1, 0, 0.1);
  const late = tr.sample(1150);
  close(late.x, 1.5); // still walking half a tick past the newest sample
  close(late.h, 0.15);
  close(tr.sample(1200).x, 2); // at most one tick ahead
  close(tr.sample(1250).x, 1.5); // no frame came: the overshoot is taken back
  close(tr.sample(1300).x, 1);
  const still = new Track(100);
  still.push(0, 5, 5, 0);
  still.push(1000, 5, 5, 0); // a refresh after standing: nothing to extrapolate
  assert.deepEqual(still.sample(1050), { x: 5, z: 5, h: 0 });
});

test('track heading interpolation wraps', () => {
  const tr = new Track(100);
  tr.push(0, 0, 0, 3.0);
  tr.push(100, 0, 0, -3.0);
  const h = tr.sample(50).h;
  assert.ok(Math.abs(h) > 3.0, `went the long way: ${h}`);
});

test('a pause between samples does not smear the next step', () => {
  const tr = new Track(100);
  tr.push(0, 0, 0, 0);
  tr.push(5000, 1, 0, 0); // stood still for 5 s, then moved one tick
  close(tr.sample(2500).x, 0, 1e-9);
  close(tr.sample(4950).x, 0.5);
});

test('a one-tick gap (network jitter) is interpolated straight through', () => {
  const tr = new Track(100);
  tr.push(0, 0, 0, 0);
  tr.push(100, 0.2, 0, 0);
  tr.push(300, 0.6, 0, 0); // the move of tick 200 arrived late and landed in tick 300
  close(tr.sample(200).x, 0.4);
  assert.equal(tr.samples.length, 2, 'no anchor sample inserted');
});

test('out-of-order samples are dropped', () => {
  const tr = new Track(100);
  tr.push(100, 1, 0, 0);
  tr.push(50, 9, 9, 0);
  assert.equal(tr.samples.length, 1);
});

test('server clock keeps the least-delayed offset and relaxes slowly', () => {
  const c = new ServerClock(2);
  c.observe(1000, 5050);
  c.observe(1100, 5130); // 30 ms less delay
  assert.equal(c.offset, 4030);
  c.observe(1200, 5300); // late packet: offset relaxes by 2 ms/s only
  assert.ok(c.offset > 4030 && c.offset < 4031);
  assert.equal(c.toServer(5230), 5230 - c.offset);
});

test('remote motion renders one tick plus margin behind', () => {
  const m = new RemoteMotion(10);
  assert.equal(m.delayMs, 120);
  m.place('p', 0, 0, 0, 0);
  // server time = local time - 1000 (with zero delay)
  m.onMoved(100, [['p', 1, 0, 0]], 1100);
  m.onMoved(200, [['p', 2, 0, 0]], 1200);
  m.onMoved(300, [['p', 3, 0, 0]], 1300);
  close(m.sample('p', 1300).x, 1.8); // render at server 180
  close(m.sample('p', 1420).x, 3); // render at 300: latest
  assert.equal(m.sample('nobody', 1300), null);
  m.remove('p');
  assert.equal(m.sample('p', 1300), null);
});

test('the render delay grows when a moving track runs dry, then relaxes', () => {
  const m = new RemoteMotion(10);
  m.place('p', 0, 0, 0, 0);
  // server time = local - 1000; samples every tick while walking
  for (let k = 1; k <= 5; k++) m.onMoved(k * 100, [['p', k * 0.2, 0, 0]], 1000 + k * 100);
  assert.equal(m.delayMs, 120);
  // tick 600 is missing: at local 1760 the render time (640) is past the last sample (500)
  m.sample('p', 1760);
  assert.equal(m.delayMs, 130);
  m.sample('p', 1765);
  assert.equal(m.delayMs, 130, 'grows at most once per tick');
  // every other tick missing for a while: it grows until the 200 ms gaps are bridged
  let starved = 0;
  for (let T = 1600; T <= 5000; T += 20) {
    if (T % 200 === 0) m.onMoved(T - 1000, [['p', ((T - 1000) / 100) * 0.2, 0, 0]], T);
    const d = m.delayMs;
    m.sample('p', T);
    if (T > 4000 && m.delayMs > d) starved++;
  }
  assert.ok(m.delayMs >= 180 && m.delayMs <= 220, `delay ${m.delayMs}`);
  assert.equal(starved, 0, 'no longer runs dry once grown');
  // gaps of 240 ms would need more than the cap: it stops at two ticks plus the margin
  const w = new RemoteMotion(10);
  w.place('p', 0, 0, 0, 0);
  for (let T = 1000; T <= 6000; T += 20) {
    if (T % 240 === 0) w.onMoved(T - 1000, [['p', T / 100, 0, 0]], T);
    w.sample('p', T);
  }
  assert.equal(w.delayMs, 220, 'capped');
  // a standing participant (no new samples, last step zero) does not grow it
  const still = new RemoteMotion(10);
  still.place('q', 0, 1, 1, 0);
  still.onMoved(100, [['q', 1, 1, 0]], 1100);
  still.sample('q', 1400);
  assert.equal(still.delayMs, 120);
  // steady again: after 5 s without growth it shrinks back toward the base
  m.onMoved(4200, [['p', 9, 0, 0]], 5200);
  m.sample('p', 9000);
  m.sample('p', 30000);
  assert.equal(m.delayMs, 120);
});

test('a new join starts a new clock: motion ticks may count from zero again', () => {
  const m = new RemoteMotion(20);
  m.onMoved(500000, [['a', 1, 1, 0]], 1000); // tick 10000 of a server that then restarts
  m.reset();
  assert.equal(m.sample('a', 1000), null, 'tracks are gone');
  m.onMoved(100, [['a', 2, 0, 0]], 2000); // tick 2 after the restart
  m.onMoved(150, [['a', 3, 0, 0]], 2050);
  const p = m.sample('a', 2050 + m.delayMs - 25);
  assert.ok(p && p.x > 2 && p.x < 3, JSON.stringify(p));
});
