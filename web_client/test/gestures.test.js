import test from 'node:test';
import assert from 'node:assert/strict';
import {
  GESTURE_MS, GestureAnimator, HAND, STAND, ease, gesturesOf, tallyAnnouncement, tallyOf,
} from '../src/state/gestures.js';

const state = (vote) => ({ seats: 5, needed: 3, members: [], vote });
const open = (method, raised, id = 'v1') => state({ id, motion: 'm1', method, state: 'open', raised, results: null });

test('an open show of hands raises the hands of the yes pids, a standing vote stands them', () => {
  assert.deepEqual([...gesturesOf(open('hands', ['p1', 'p2']))], [['p1', HAND], ['p2', HAND]]);
  assert.deepEqual([...gesturesOf(open('standing', ['p3']))], [['p3', STAND]]);
});

test('no gesture without an open hands or standing vote, or with a malformed raised list', () => {
  for (const c of [null, undefined, {}, state(null), open('named', ['p1']), open('assent', ['p1']),
    state({ id: 'v', method: 'hands', state: 'closed', raised: ['p1'] }),
    state({ id: 'v', method: 'hands', state: 'void', raised: ['p1'] }),
    open('hands', null), open('hands', 'p1')]) {
    assert.equal(gesturesOf(c).size, 0, JSON.stringify(c));
  }
  assert.deepEqual([...gesturesOf(open('hands', ['p1', '', 7, null])).keys()], ['p1']);
});

test('a gesture eases up over GESTURE_MS: no jump, monotone, ends raised', () => {
  const a = new GestureAnimator();
  a.set(gesturesOf(open('hands', ['p1'])), 1000);
  assert.equal(a.kind('p1'), HAND);
  assert.equal(a.weight('p1', 1000), 0);
  let last = 0;
  for (let t = 1000; t <= 1000 + GESTURE_MS; t += 15) {
    const w = a.weight('p1', t);
    assert.ok(w >= last && w - last < 0.1, `step at ${t}: ${last} -> ${w}`); // small steps
    last = w;
  }
  assert.ok(a.weight('p1', 1000 + GESTURE_MS / 2) > 0.4 && a.weight('p1', 1000 + GESTURE_MS / 2) < 0.6);
  assert.equal(a.weight('p1', 1000 + GESTURE_MS), 1);
  assert.equal(a.weight('p1', 99_999), 1);
  assert.equal(a.weight('nobody', 1000), 0);
  assert.equal(a.kind('nobody'), null);
});

test('withdrawing half-way lowers from where the hand is, then it is forgotten', () => {
  const a = new GestureAnimator();
  a.set(gesturesOf(open('hands', ['p1', 'p2'])), 0);
  const half = a.weight('p1', GESTURE_MS / 2);
  a.set(gesturesOf(open('hands', ['p2'])), GESTURE_MS / 2); // p1 withdraws
  assert.equal(a.weight('p1', GESTURE_MS / 2), half); // no jump
  assert.equal(a.kind('p1'), HAND); // still drawn while it comes down
  assert.ok(a.weight('p1', GESTURE_MS) < half);
  assert.equal(a.weight('p1', 2 * GESTURE_MS), 0);
  assert.equal(a.weight('p2', 2 * GESTURE_MS), 1);
  a.set(gesturesOf(open('hands', ['p2'])), 3 * GESTURE_MS);
  assert.equal(a.kind('p1'), null);
});

test('closing the vote lowers everyone; raising again goes up from where it was', () => {
  const a = new GestureAnimator();
  a.set(gesturesOf(open('standing', ['p1'])), 0);
  a.set(gesturesOf(state({ id: 'v1', method: 'standing', state: 'closed', raised: ['p1'] })), GESTURE_MS);
  assert.equal(a.weight('p1', GESTURE_MS), 1);
  const mid = a.weight('p1', GESTURE_MS * 1.5);
  assert.ok(mid > 0 && mid < 1);
  a.set(gesturesOf(open('standing', ['p1'], 'v2')), GESTURE_MS * 1.5);
  assert.equal(a.weight('p1', GESTURE_MS * 1.5), mid);
  assert.equal(a.weight('p1', GESTURE_MS * 2.5), 1);
  assert.equal(a.kind('p1'), STAND);
});

test('a gesture of another kind waits for the old one to come down', () => {
  const a = new GestureAnimator();
  a.set(gesturesOf(open('hands', ['p1'])), 0);
  a.set(gesturesOf(open('standing', ['p1'], 'v2')), GESTURE_MS); // hand fully up
  assert.equal(a.kind('p1'), HAND);
  assert.ok(a.weight('p1', GESTURE_MS * 1.5) < 1);
  assert.equal(a.kind('p1'), HAND);
  assert.equal(a.weight('p1', GESTURE_MS * 2), 0); // down, and the stand starts here
  assert.equal(a.kind('p1'), STAND);
  assert.equal(a.weight('p1', GESTURE_MS * 3), 1);
});

test('reduced motion: gestures appear and go at once', () => {
  const a = new GestureAnimator();
  a.instant = true;
  a.set(gesturesOf(open('hands', ['p1'])), 0);
  assert.equal(a.weight('p1', 0), 1);
  a.set(new Map(), 1);
  assert.equal(a.weight('p1', 1), 0);
});

test('ease is 0 to 1, clamped, symmetric', () => {
  assert.equal(ease(-1), 0);
  assert.equal(ease(0), 0);
  assert.equal(ease(0.5), 0.5);
  assert.equal(ease(1), 1);
  assert.equal(ease(2), 1);
  assert.ok(Math.abs(ease(0.2) + ease(0.8) - 1) < 1e-12);
});

test('the count is announced once per change, not at an empty opening nor at the close', () => {
  const say = [];
  let prev = null;
  for (const c of [
    state(null), open('hands', []), open('hands', ['p1']), open('hands', ['p1']), open('hands', ['p1', 'p2']),
    open('hands', ['p2']), state({ id: 'v1', method: 'hands', state: 'closed', raised: ['p2'] }),
    open('standing', ['p1', 'p2', 'p3'], 'v2'), open('named', [], 'v3'),
  ]) {
    const next = tallyOf(c);
    const a = tallyAnnouncement(prev, next);
    if (a) say.push(`${a.key}:${a.count}`);
    prev = next;
  }
  assert.deepEqual(say, ['live.handsCount:1', 'live.handsCount:2', 'live.handsCount:1', 'live.standingCount:3']);
});
