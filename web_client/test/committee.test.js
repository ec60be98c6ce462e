import test from 'node:test';
import assert from 'node:assert/strict';
import { committeeAnnouncements, committeeView, viewerKind } from '../src/state/committee.js';

const member = (name, status = 'present', extra = {}) => ({
  member: `m:${name}`, name, pid: `p_${name}`, role: 'member', status, since: 1, verified: { by: 'chair', at: 1, method: 'video' }, recused_for: [], ...extra,
});
const base = (over = {}) => ({
  seats: 4, needed: 2, counted: 3, quorum: true, rollcall: false,
  members: [member('委員長', 'present', { role: 'chair' }), member('A'), member('B'), member('C')],
  motions: [{ id: 1, title: '議案第1号', amends: null, outcome: null }],
  vote: null, closed_session: null, gallery: { now: 2, peak: 2, total: 2 }, ...over,
});
const vote = (over = {}) => ({ id: 7, motion: 1, method: 'hands', state: 'open', cast: {}, raised: [], results: null, ...over });
const A = { role: 'member', member: 'm:A' };
const CHAIR = { role: 'chair', member: 'm:委員長' };
const CITIZEN = { role: 'citizen', member: null };

test('who the page is: chair, member, or the public (read-only)', () => {
  assert.equal(viewerKind(CHAIR), 'chair');
  assert.equal(viewerKind(A), 'member');
  assert.equal(viewerKind(CITIZEN), 'public');
  assert.equal(viewerKind(null), 'public');
  assert.equal(viewerKind({ role: 'member', member: null }), 'public', 'off the roster');
  assert.equal(committeeView(null, A), null);
});

test('roll call: a member answers while it is open, or late after it closed', () => {
  const open = committeeView(base({ rollcall: true, members: [member('A', 'unknown')] }), A);
  assert.equal(open.me.canAnswer, true);
  assert.equal(committeeView(base({ rollcall: true }), A).me.canAnswer, false, 'already present');
  assert.equal(committeeView(base({ members: [member('A', 'absent')] }), A).me.canAnswer, true, 'late');
  assert.equal(committeeView(base({ members: [member('A', 'unknown')] }), A).me.canAnswer, false, 'no roll call yet');
  assert.equal(committeeView(base({ rollcall: true }), CITIZEN).me, null);
  assert.equal(committeeView(base({ rollcall: true, members: [member('委員長', 'unknown', { role: 'chair' })] }), CHAIR).me.canAnswer, true, 'the chair answers too');
});

test('quorum and the open-vote block', () => {
  const v = committeeView(base({ quorum: false, counted: 1 }), CHAIR);
  assert.deepEqual(v.quorum, { counted: 1, needed: 2, seats: 4, met: false });
  assert.equal(v.openBlocked, 'no_quorum');
  assert.equal(committeeView(base(), CHAIR).openBlocked, null);
  assert.equal(committeeView(base(), CHAIR).canOpen, true);
  assert.equal(committeeView(base({ vote: vote() }), CHAIR).canOpen, false, 'one vote at a time');
  assert.equal(committeeView(base({ vote: vote({ state: 'tie' }) }), CHAIR).canOpen, false);
  assert.equal(committeeView(base(), A).canOpen, false, 'members never open votes');
});

test('vote controls by method, once for a named ballot, none for the chair or the public', () => {
  assert.equal(committeeView(base({ vote: vote() }), A).vote.controls, 'toggle');
  assert.equal(committeeView(base({ vote: vote({ method: 'standing' }) }), A).vote.controls, 'toggle');
  assert.equal(committeeView(base({ vote: vote({ method: 'named' }) }), A).vote.controls, 'named');
  assert.equal(committeeView(base({ vote: vote({ method: 'named', cast: { 'm:A': true } }) }), A).vote.controls, null);
  assert.equal(committeeView(base({ vote: vote({ method: 'assent' }) }), A).vote.controls, 'assent');
  assert.equal(committeeView(base({ vote: vote({ state: 'closed' }) }), A).vote.controls, null);
  assert.equal(committeeView(base({ vote: vote() }), CHAIR).vote.controls, null);
  assert.equal(committeeView(base({ vote: vote() }), CITIZEN).vote.controls, null);
  const up = committeeView(base({ vote: vote({ cast: { 'm:A': 'yes' } }) }), A).vote;
  assert.equal(up.up, true);
});

test('a recused member (除斥) gets no vote controls, and is not a voter', () => {
  const s = base({ vote: vote(), members: [member('A', 'present', { recused_for: [1] }), member('B'), member('C')] });
  const v = committeeView(s, A).vote;
  assert.equal(v.recused, true);
  assert.equal(v.controls, null);
  assert.equal(v.voterCount, 2);
  assert.equal(committeeView(base({ vote: vote({ motion: 2 }), members: [member('A', 'present', { recused_for: [1] })] }), A).vote.recused, false);
});

test('live cast status and results by name', () => {
  const s = base({ vote: vote({ cast: { 'm:A': 'yes' } }) });
  const v = committeeView(s, CHAIR).vote;
  assert.equal(v.castCount, 1);
  assert.equal(v.voterCount, 3, 'the chair does not vote');
  assert.deepEqual(v.castBy.map((x) => x.cast), [true, false, false]);
  const closed = committeeView(base({ vote: vote({ state: 'closed', results: {
    by_member: { 'm:A': 'yes', 'm:B': 'no', 'm:C': 'recused' }, yes: 1, no: 1, abstain: 0, objections: 0, voters: 2,
    outcome: 'passed', chair_decided: true, motion_outcome: 'adopted', quorum: { present: 3, needed: 2, seats: 4 } } }) }), CITIZEN).vote;
  assert.deepEqual(closed.results.rows.map((r) => [r.name, r.choice]), [['A', 'yes'], ['B', 'no'], ['C', 'recused']]);
  assert.equal(closed.results.chairDecided, true);
});

test('votes on camera: the rule as the vote opened and each ballot\'s camera, in the results by name', () => {
  const open = committeeView(base({ vote: vote({ camera_required: true, cast: { 'm:A': 'yes' }, camera: { 'm:A': true } }) }), CHAIR).vote;
  assert.equal(open.cameraRequired, true);
  assert.deepEqual(open.castBy.map((x) => x.camera), [true, null, null]);
  const closed = committeeView(base({ vote: vote({ state: 'closed', camera: { 'm:A': true, 'm:B': false }, results: {
    by_member: { 'm:A': 'yes', 'm:B': 'no', 'm:C': 'absent' }, yes: 1, no: 1, abstain: 0, objections: 0, voters: 2,
    outcome: 'tie', quorum: { present: 3, needed: 2, seats: 4 } } }) }), CHAIR).vote;
  assert.equal(closed.cameraRequired, false, 'an older server sends no rule: off');
  assert.deepEqual(closed.results.rows.map((r) => [r.name, r.camera]), [['A', true], ['B', false], ['C', null]]);
});

test('an amendment is voted first: its original is not votable meanwhile', () => {
  const s = base({ motions: [{ id: 1, title: '原案', amends: null, outcome: null }, { id: 2, title: '修正案', amends: 1, outcome: null }] });
  const v = committeeView(s, CHAIR);
  assert.deepEqual(v.votable.map((m) => m.id), [2]);
  assert.equal(v.motions[1].amendsTitle, '原案');
  s.motions[1].outcome = 'adopted';
  assert.deepEqual(committeeView(s, CHAIR).votable.map((m) => m.id), [1]);
});

test('announcements: roll call, quorum lost and regained, vote opened and closed, tie', () => {
  const say = (a, b, who = A) => committeeAnnouncements(committeeView(a, who), committeeView(b, who)).map((x) => x.key);
  assert.deepEqual(committeeAnnouncements(null, committeeView(base({ rollcall: true }), A)), [], 'not on entering');
  assert.deepEqual(say(base(), base({ rollcall: true })), ['committee.live.rollcallOpen']);
  assert.deepEqual(say(base({ rollcall: true }), base()), ['committee.live.rollcallClosed']);
  assert.deepEqual(say(base(), base({ quorum: false })), ['committee.live.quorumLost']);
  assert.deepEqual(say(base({ quorum: false }), base()), ['committee.live.quorumMet']);
  assert.deepEqual(say(base(), base({ vote: vote() })), ['committee.live.voteOpen']);
  assert.deepEqual(say(base({ vote: vote() }), base({ vote: vote({ cast: { 'm:A': 'yes' } }) })), [], 'a cast is not announced');
  const results = { by_member: {}, yes: 1, no: 1, abstain: 0, objections: 0, voters: 2, outcome: null };
  assert.deepEqual(say(base({ vote: vote() }), base({ vote: vote({ state: 'tie', results }) })), ['committee.live.tie']);
  assert.deepEqual(say(base({ vote: vote({ state: 'tie', results }) }), base({ vote: vote({ state: 'closed', results: { ...results, outcome: 'passed' } }) })), ['committee.live.voteClosed']);
  assert.deepEqual(say(base({ vote: vote() }), base({ vote: vote({ state: 'closed', results }) })), ['committee.live.voteClosed']);
  assert.deepEqual(say(base({ vote: vote() }), base({ vote: vote({ state: 'void' }) })), []);
  assert.deepEqual(say(base(), base({ closed_session: { since: 1, reason: 'x' } })), ['committee.live.closedOn']);
});
