import test from 'node:test';
import assert from 'node:assert/strict';
import { MeetingState, formatClock } from '../src/state/meeting.js';

const T0 = 1_800_000_000; // server Unix seconds

function sample() {
  return {
    room: 'dx-committee',
    kind: 'committee',
    server_time: T0,
    floor: { state: 'open', holder: null, queue: [], spoken: [], server_time: T0 },
    agenda: {
      state: 'item_open',
      current: 2,
      items: [
        { id: 1, title: '開会', planned: 300, state: 'done', opened_at: null, elapsed: 280, overran: false },
        { id: 2, title: '議題', planned: 600, state: 'open', opened_at: T0 - 590, elapsed: 30, overran: true },
      ],
      server_time: T0,
    },
    chat: [{ id: 1, author: 'p_1', author_name: 'あ', text: 'こんにちは', hidden: false }],
    opinions: [
      { id: 1, text: 'a', supports: 1, hidden: false },
      { id: 2, text: 'b', supports: 3, hidden: false },
    ],
    questions: [
      { id: 1, text: 'q1', votes: 1, state: 'answered', at: 1 },
      { id: 2, text: 'q2', votes: 0, state: 'open', at: 2 },
      { id: 3, text: 'q3', votes: 2, state: 'open', at: 3 },
    ],
    polls: [{ id: 1, question: '?', options: ['x', 'y'], counts: [1, 3], voters: 4, state: 'open' }],
    captions: [],
    categories: ['遊具'],
    self: { pid: 'p_me', role: 'citizen', place: 'room', muted: false, may: { 'chat.send': true }, supported: [2], voted: [], ballots: { 1: [1] } },
  };
}

test('formatClock rounds up and never goes negative', () => {
  assert.equal(formatClock(0), '0:00');
  assert.equal(formatClock(4.2), '0:05');
  assert.equal(formatClock(65), '1:05');
  assert.equal(formatClock(3725), '1:02:05');
  assert.equal(formatClock(-3), '0:00');
});

test('load keeps the server clock offset and what the person may do', () => {
  const m = new MeetingState();
  m.load(sample(), 1000);
  assert.equal(m.serverNow(1000), T0);
  assert.equal(m.serverNow(3000), T0 + 2);
  assert.ok(m.may('chat.send'));
  assert.ok(!m.may('floor.give'));
  assert.ok(m.self.supported.has(2));
  assert.deepEqual(m.myBallot(1), [1]);
});

test('countdown runs from the deadline on the server clock, then the grace period', () => {
  const m = new MeetingState();
  m.load(sample(), 0);
  const change = m.applyFloor(
    { state: 'speaking', holder: 'p_me', holder_name: 'me', deadline: T0 + 5, grace_ends_at: T0 + 15, queue: [], server_time: T0 },
    0,
  );
  assert.ok(change.speaker && change.state);
  assert.ok(m.holdsFloor);
  assert.equal(m.countdown(2000).remaining, 3);
  assert.equal(m.countdown(2000).overtime, false);
  const late = m.countdown(7000);
  assert.equal(late.remaining, 0);
  assert.ok(late.overtime);
  assert.equal(late.grace, 8);
  m.applyFloor({ state: 'open', holder: null, queue: [{ pid: 'p_x', name: 'x' }, { pid: 'p_me', name: 'me' }], server_time: T0 + 20 }, 20000);
  assert.equal(m.countdown(20000), null);
  assert.equal(m.myPosition(), 2);
});

test('the current agenda item counts its time and overrun', () => {
  const m = new MeetingState();
  m.load(sample(), 0);
  const cur = m.currentItem(0);
  assert.equal(cur.item.id, 2);
  assert.equal(cur.index, 1);
  assert.equal(cur.spent, 620);
  assert.ok(cur.over);
  assert.ok(m.applyAgenda({ ...m.agenda, current: null, server_time: T0 }).current);
  assert.equal(m.currentItem(0), null);
});

test('events update chat, opinions, questions, polls and captions', () => {
  const m = new MeetingState();
  m.load(sample(), 0);
  m.applyEvent({ type: 'chat.posted', message: { id: 2, text: 'やあ' } });
  assert.deepEqual(m.chat.map((c) => c.id), [1, 2]);
  m.applyEvent({ type: 'chat.hidden', message: { id: 1, hidden: true } });
  assert.deepEqual(m.chat.map((c) => c.id), [2]);
  m.applyEvent({ type: 'chat.restored', message: { id: 1, text: 'こんにちは' } });
  assert.deepEqual(m.chat.map((c) => c.id), [1, 2]);

  assert.deepEqual(m.opinionsRanked().map((o) => o.id), [2, 1]);
  m.applyEvent({ type: 'opinion.changed', change: 'supported', opinion: { id: 1, supports: 5, hidden: false } });
  assert.deepEqual(m.opinionsRanked().map((o) => o.id), [1, 2]);
  m.applyEvent({ type: 'opinion.changed', change: 'hidden', opinion: { id: 1, hidden: true } });
  assert.deepEqual(m.opinionsRanked().map((o) => o.id), [2]);

  assert.deepEqual(m.questionsRanked().map((q) => q.id), [3, 2, 1]);
  m.applyEvent({ type: 'poll.changed', change: 'voted', poll: { id: 1, counts: [2, 3], voters: 5, state: 'open' } });
  assert.deepEqual(MeetingState.shares(m.polls.get(1)), [40, 60]);
  m.applyEvent({ type: 'caption.posted', line: { seq: 1, text: 'はじめます' } });
  m.applyEvent({ type: 'caption.corrected', line: { seq: 1, text: '始めます' } });
  assert.deepEqual(m.captions.map((c) => c.text), ['始めます']);
  assert.equal(m.applyEvent({ type: 'unknown' }).what, null);
});
