import test from 'node:test';
import assert from 'node:assert/strict';
import { FAR, LodBuckets, MID, NEAR } from '../src/state/lod.js';

/** n people in a line at 1 m, 2 m, ... from the camera. */
const line = (n, extra = {}) => Array.from({ length: n }, (_, i) => ({ id: `p${i}`, d: i + 1, ...extra }));
const levels = (lod, ids) => ids.map((id) => lod.levelOf(id));

test('the nearest are near, then mid within the distance, then far', () => {
  const lod = new LodBuckets({ nearCount: 3, midDistance: 10, band: 1, midCount: 100 });
  lod.update(line(20));
  assert.deepEqual(levels(lod, ['p0', 'p1', 'p2']), [NEAR, NEAR, NEAR]);
  assert.equal(lod.levelOf('p3'), MID); // 4 m
  assert.equal(lod.levelOf('p7'), MID); // 8 m < 10 - 1
  assert.equal(lod.levelOf('p8'), FAR); // 9 m: a newcomer needs < 9 m
  assert.equal(lod.levelOf('p19'), FAR);
  assert.deepEqual(lod.counts, { near: 3, mid: 5, far: 12 });
});

test('the own avatar and everyone on the stage are near whatever their distance', () => {
  const lod = new LodBuckets({ nearCount: 2 });
  const people = line(10);
  people.push({ id: 'me', d: 50, self: true }, { id: 's1', d: 40, stage: true }, { id: 's2', d: 45, stage: true });
  lod.update(people);
  for (const id of ['me', 's1', 's2', 'p0', 'p1']) assert.equal(lod.levelOf(id), NEAR, id);
  assert.equal(lod.levelOf('p2'), MID);
  assert.equal(lod.counts.near, 5);
});

test('near never exceeds the hard cap, the own avatar first', () => {
  const lod = new LodBuckets({ nearCount: 12, maxNear: 5 });
  const stage = Array.from({ length: 8 }, (_, i) => ({ id: `s${i}`, d: i + 1, stage: true }));
  lod.update([...stage, { id: 'me', d: 30, self: true }, ...line(10)]);
  assert.equal(lod.counts.near, 5);
  assert.equal(lod.levelOf('me'), NEAR);
  assert.deepEqual(levels(lod, ['s0', 's3', 's4', 's7']), [NEAR, NEAR, MID, MID]);
  assert.equal(lod.levelOf('p0'), MID);
});

test('mid is capped: the nearest mid candidates win', () => {
  const lod = new LodBuckets({ nearCount: 0, midCount: 4, midDistance: 100 });
  lod.update(line(10));
  assert.deepEqual(lod.counts, { near: 0, mid: 4, far: 6 });
  assert.deepEqual(levels(lod, ['p3', 'p4']), [MID, FAR]);
});

test('hysteresis: an incumbent keeps its place against a slightly nearer newcomer', () => {
  const lod = new LodBuckets({ nearCount: 1, keep: 0.8 });
  lod.update([{ id: 'a', d: 5 }, { id: 'b', d: 6 }]);
  assert.equal(lod.levelOf('a'), NEAR);
  // b steps just inside a's distance: not enough to take the near slot
  lod.update([{ id: 'a', d: 5 }, { id: 'b', d: 4.5 }]);
  assert.equal(lod.levelOf('a'), NEAR);
  assert.equal(lod.levelOf('b'), MID);
  // clearly nearer (4.5 < 0.8 × 6): it does
  lod.update([{ id: 'a', d: 6 }, { id: 'b', d: 4.5 }]);
  assert.equal(lod.levelOf('a'), MID);
  assert.equal(lod.levelOf('b'), NEAR);
});

test('hysteresis: the mid/far boundary is a band, so hovering does not flicker', () => {
  const lod = new LodBuckets({ nearCount: 0, midDistance: 20, band: 2 });
  const seq = [10, 19.5, 21.5, 19.5, 22.5, 19, 18.5, 17.5];
  const got = seq.map((d) => {
    lod.update([{ id: 'x', d }]);
    return lod.levelOf('x');
  });
  assert.deepEqual(got, [MID, MID, MID, MID, FAR, FAR, FAR, MID]);
});

test('changes report only what moved; missing ids are forgotten', () => {
  const lod = new LodBuckets({ nearCount: 1, midDistance: 10, band: 0 });
  const first = lod.update([{ id: 'a', d: 1 }, { id: 'b', d: 5 }, { id: 'c', d: 50 }]);
  assert.deepEqual(first.sort(), [['a', null, NEAR], ['b', null, MID], ['c', null, FAR]]);
  assert.deepEqual(lod.update([{ id: 'a', d: 1 }, { id: 'b', d: 5 }, { id: 'c', d: 50 }]), []);
  assert.deepEqual(lod.update([{ id: 'b', d: 5 }, { id: 'c', d: 50 }]), [['b', MID, NEAR]]);
  assert.equal(lod.level.has('a'), false);
  assert.deepEqual(lod.counts, { near: 1, mid: 0, far: 1 });
});

test('500 people: counts add up and stay within the caps', () => {
  const lod = new LodBuckets();
  let seed = 7;
  const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const people = Array.from({ length: 500 }, (_, i) => ({ id: `p${i}`, d: rnd() * 60, stage: i < 12 }));
  people.push({ id: 'me', d: 0, self: true });
  lod.update(people);
  const { near, mid, far } = lod.counts;
  assert.equal(near + mid + far, 501);
  assert.equal(near, 1 + 12 + lod.o.nearCount);
  assert.ok(near <= lod.o.maxNear && mid <= lod.o.midCount);
});
