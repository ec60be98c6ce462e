import test from 'node:test';
import assert from 'node:assert/strict';
import { MAX_DELAY_MS, MIN_DELAY_MS, MediaClock, RESYNC_MS, SpeakerLine } from '../src/gallery/clock.js';

test('nominal time follows the quickest transit; the delay covers the spread', () => {
  const c = new MediaClock({ frameMs: 60 });
  // frames every 60 ms, transit 20 ms plus up to 90 ms of jitter on every fifth
  let nominal;
  for (let i = 0; i < 100; i++) {
    const jitter = i % 5 === 0 ? 90 : 0;
    nominal = c.observe(1000 + i * 60, 5000 + i * 60 + 20 + jitter, 40);
  }
  assert.equal(nominal, 5000 + 99 * 60 + 20);
  assert.ok(c.spreadMs >= 89 && c.spreadMs <= 91, c.spreadMs);
  assert.ok(c.delayMs >= 90 + 60 && c.delayMs <= MAX_DELAY_MS, c.delayMs);
  // calm again: the delay comes down slowly, never under the floor
  for (let i = 100; i < 1000; i++) c.observe(1000 + i * 60, 5000 + i * 60 + 20, 40);
  assert.equal(c.spreadMs, 0);
  assert.ok(c.delayMs >= MIN_DELAY_MS && c.delayMs < MIN_DELAY_MS + 5, c.delayMs);
});

test('the server clock wraps at 2^32 ms without a jump', () => {
  const c = new MediaClock();
  const a = c.observe(2 ** 32 - 30, 100);
  const b = c.observe(30, 160);
  assert.equal(b - a, 60);
});

test('a speaker line keeps a spurt back to back, counts gaps, drops the old, resyncs on drift', () => {
  const line = new SpeakerLine();
  const first = line.place(2 ** 32 - 960, 1000);
  assert.equal(first.ms, 1000);
  // across the RTP wrap, 20 ms later, wanted a little off: kept back to back
  assert.equal(line.place(0, 1025).ms, 1020);
  // two packets missing: counted, and the next plays where it belongs
  const after = line.place(960 * 3, 1084);
  assert.equal(after.lost, 2);
  assert.equal(after.ms, 1080);
  assert.equal(line.lost, 2);
  // a duplicate or an older packet: nothing
  assert.equal(line.place(960, 1100), null);
  // the shared timeline moved more than RESYNC_MS: re-anchored there
  const moved = line.place(960 * 4, 1100 + RESYNC_MS + 30);
  assert.equal(moved.ms, 1100 + RESYNC_MS + 30);
  assert.equal(line.resyncs, 1);
  // a new talk spurt after a pause: anchored afresh, nothing counted lost
  const spurt = line.place(960 * 4 + 48000 * 3, 9000);
  assert.deepEqual([spurt.ms, spurt.lost, line.lost], [9000, 0, 2]);
});
