import test from 'node:test';
import assert from 'node:assert/strict';
import { StaffState } from '../src/console/state.js';

test('staff events keep lobby, reports, sanctions, roster and audit', () => {
  const s = new StaffState();
  s.load({
    lobby: [],
    people: [{ pid: 'p_1', name: 'あ', role: 'citizen', place: 'room', muted: false }],
    participants: [{ id: 'p_1', name: 'あ', tracking: 'none' }],
    audit: [],
    registration_code: 'ABCD-EFGH',
  });
  assert.equal(s.code, 'ABCD-EFGH');
  let changed = s.apply([
    { type: 'meeting.joined', person: { pid: 'p_2', name: 'い', role: 'member', place: 'lobby' } },
    { type: 'lobby.entered', waiter: { pid: 'p_2', name: 'い', role: 'member', since: 5 }, position: 1 },
  ]);
  assert.ok(changed.has('lobby') && changed.has('people'));
  assert.deepEqual(s.lobbyList().map((w) => w.pid), ['p_2']);
  s.apply([{ type: 'lobby.left', pid: 'p_2', outcome: 'admitted' }, { type: 'meeting.place_changed', pid: 'p_2', place: 'room' }]);
  assert.equal(s.lobby.size, 0);
  assert.equal(s.people.get('p_2').place, 'room');

  s.apply([{ type: 'chat.posted', message: { id: 1, text: 'x', hidden: false } },
    { type: 'chat.reported', report: { id: 1, message_id: 1, state: 'open' } }]);
  assert.equal(s.openReports().length, 1);
  s.apply([{ type: 'chat.hidden', message: { id: 1, text: 'x', hidden: true } },
    { type: 'chat.report_resolved', report: { id: 1, message_id: 1, state: 'upheld' } }]);
  assert.equal(s.openReports().length, 0);
  assert.equal(s.chatList()[0].hidden, true, 'staff keep hidden messages');

  s.apply([{ type: 'sanction.imposed', sanction: { id: 9, kind: 'mute', participant: 'p_1' } }]);
  assert.equal(s.people.get('p_1').muted, true);
  s.apply([{ type: 'sanction.expired', sanction: { id: 9, kind: 'mute', participant: 'p_1' } }]);
  assert.equal(s.people.get('p_1').muted, false);
  assert.equal(s.sanctions.size, 0);

  s.applyDelta({ joined: [], left: [], tracking: [['p_1', 'browser'], 'junk'] });
  assert.equal(s.roster().find((p) => p.pid === 'p_1').tracking, 'browser');
  s.apply([{ type: 'audit.entry', entry: { action: 'sanction.mute' } }, { type: 'meeting.left', pid: 'p_1' }]);
  assert.equal(s.audit.length, 1);
  assert.ok(!s.people.has('p_1'));
});
