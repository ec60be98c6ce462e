import test from 'node:test';
import assert from 'node:assert/strict';
import { LocalMover, WALK_SPEED, TURN_SPEED } from '../src/state/movement.js';
import { MoveGate } from '../src/state/sendgate.js';

const close = (a, b, eps = 1e-6) => assert.ok(Math.abs(a - b) <= eps, `${a} ≉ ${b}`);
const bounds = { min_x: -30, max_x: 30, min_z: -30, max_z: 30 };

test('forward at h=0 walks toward -z at walking speed', () => {
  const m = new LocalMover({ x: 0, z: 0, h: 0, maxSpeed: 4, bounds });
  assert.equal(m.step(0.1, { forward: 1 }), true);
  close(m.x, 0);
  close(m.z, -WALK_SPEED * 0.1);
});

test('strafe right at h=0 goes +x, turn left increases heading', () => {
  const m = new LocalMover({ x: 0, z: 0, h: 0, maxSpeed: 4, bounds });
  m.step(0.1, { strafe: 1 });
  close(m.x, WALK_SPEED * 0.1);
  close(m.z, 0);
  m.step(0.1, { turn: 1 });
  close(m.h, TURN_SPEED * 0.1);
  const h = m.h;
  m.step(0.1, { forward: 1 });
  assert.ok(m.x < WALK_SPEED * 0.1, 'turned left, so forward drifts toward -x');
  close(m.h, h);
});

test('speed never exceeds max_speed, even diagonally or with a low max', () => {
  const m = new LocalMover({ x: 0, z: 0, h: 0.3, maxSpeed: 4, bounds });
  m.step(0.1, { forward: 1, strafe: 1 });
  assert.ok(Math.hypot(m.x, m.z) <= 0.4 + 1e-9, `moved ${Math.hypot(m.x, m.z)}`);
  const slow = new LocalMover({ x: 0, z: 0, h: 0, maxSpeed: 1.5, bounds });
  slow.step(0.2, { forward: 1 });
  close(Math.hypot(slow.x, slow.z), 0.3);
  // a long frame (tab was hidden) is capped too
  const m2 = new LocalMover({ x: 0, z: 0, h: 0, maxSpeed: 4, bounds });
  m2.step(5, { forward: 1 });
  assert.ok(Math.hypot(m2.x, m2.z) <= 1.0 + 1e-9);
});

test('bounds clamp and the stage blocks citizens by sliding', () => {
  const stage = { x: 0, z: -20, width: 16, depth: 6 };
  const m = new LocalMover({ x: 29.9, z: 0, h: -Math.PI / 2, maxSpeed: 4, bounds, blocked: [stage] });
  m.step(0.2, { forward: 1 }); // h=-π/2 faces +x
  close(m.x, 30);
  const c = new LocalMover({ x: 0, z: -16.9, h: 0, maxSpeed: 4, bounds, blocked: [stage] });
  c.step(0.2, { forward: 1 });
  assert.ok(c.z >= -17, `entered the stage: z=${c.z}`);
  const d = new LocalMover({ x: 0, z: -16.9, h: Math.PI / 4, maxSpeed: 4, bounds, blocked: [stage] });
  d.step(0.2, { forward: 1 });
  assert.ok(d.x < 0, 'slid sideways along the stage edge');
  assert.ok(d.z >= -17);
});

test('seated avatars turn their head but do not move', () => {
  const m = new LocalMover({ x: 1, z: 2, h: 0, maxSpeed: 4, bounds, seated: true });
  m.step(0.1, { forward: 1, strafe: 1 });
  m.setTarget(5, 5);
  m.step(0.1, {});
  assert.deepEqual([m.x, m.z], [1, 2]);
});

test('tap-to-walk reaches the target, faces it and stops', () => {
  const m = new LocalMover({ x: 0, z: 0, h: 0, maxSpeed: 4, bounds });
  m.setTarget(3, 0);
  for (let i = 0; i < 30; i++) m.step(0.05, {});
  close(m.x, 3, 0.16);
  close(m.h, -Math.PI / 2);
  assert.equal(m.target, null);
  m.setTarget(0, 0);
  m.step(0.05, { forward: 1 });
  assert.equal(m.target, null, 'direct input cancels the target');
});

test('reconcile accepts echoes of recently sent poses, eases small and snaps big errors', () => {
  const m = new LocalMover({ x: 0, z: 0, h: 0, maxSpeed: 4, bounds });
  m.step(0.1, { forward: 1 });
  m.markSent(100);
  for (let i = 0; i < 3; i++) m.step(0.1, { forward: 1 });
  // the server echoes the older position while we are already ~0.9 m further
  assert.equal(m.reconcile(0, -0.3, 250), 'ok');
  assert.equal(m.reconcile(1.5, -1.2, 260), 'ease');
  const before = m.x;
  for (let i = 0; i < 10; i++) m.step(0.05, {});
  close(m.x, 1.5, 1e-6);
  assert.ok(m.x > before);
  assert.equal(m.reconcile(20, 20, 300), 'snap');
  assert.deepEqual([m.x, m.z], [20, 20]);
});

test('move gate sends at most tick_hz per second and only on change', () => {
  const g = new MoveGate(10);
  assert.deepEqual(g.poll(0, 1.234, 2.345, 0.12345), { x: 1.23, z: 2.35, h: 0.123 });
  assert.equal(g.poll(50, 5, 5, 0), null, 'too soon');
  assert.deepEqual(g.poll(100, 5, 5, 0), { x: 5, z: 5, h: 0 });
  assert.equal(g.poll(300, 5.004, 5, 0), null, 'below wire resolution');
  let sent = 0;
  for (let t = 1000; t < 2000; t += 16) if (g.poll(t, t / 100, 0, 0)) sent++;
  assert.ok(sent <= 10 && sent >= 8, `sent ${sent} in one second`);
  g.reset();
  assert.ok(g.poll(2001, 19.84, 0, 0));
});
