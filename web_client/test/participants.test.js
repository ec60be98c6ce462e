import test from 'node:test';
import assert from 'node:assert/strict';
import { ParticipantStore } from '../src/state/participants.js';

function snapshot() {
  return {
    room: {
      id: 'hall', kind: 'committee', name: { ja: '議場', en: 'Hall' }, capacity: 50,
      bounds: { min_x: -10, max_x: 10, min_z: -10, max_z: 10 },
      stage: { x: 0, z: -6, width: 8, depth: 3 },
      seats: [{ id: 's1', x: -2, z: -6, h: Math.PI, occupant: null }, { id: 's2', x: 2, z: -6, h: Math.PI, occupant: null }],
      gallery: null, boards: [], spawn: { x: 0, z: 5, radius: 2 },
    },
    participants: [
      { id: 'p_a', name: 'あや', role: 'citizen', x: 1, z: 5, h: 0, seat: null, avatar: {} },
      { id: 'p_b', name: 'Ben', role: 'member', x: -2, z: -6, h: Math.PI, seat: 's1', avatar: { hair: 'bun' } },
    ],
    tick: 100, t: 1_000_000, tick_hz: 10, max_speed: 4,
  };
}

test('snapshot fills the store and seat occupancy', () => {
  const s = new ParticipantStore();
  s.applySnapshot('p_a', snapshot());
  assert.equal(s.roomId, 'hall');
  assert.equal(s.size, 2);
  assert.equal(s.self.name, 'あや');
  assert.equal(s.tickHz, 10);
  assert.equal(s.maxSpeed, 4);
  assert.equal(s.room.seats[0].occupant, 'p_b');
  assert.equal(s.room.seats[1].occupant, null);
  assert.deepEqual(s.seatOf(s.get('p_b')), s.room.seats[0]);
  assert.equal(s.seatOf(s.get('p_a')), null);
});

test('deltas apply joins, leaves and moves in order', () => {
  const s = new ParticipantStore();
  s.applySnapshot('p_a', snapshot());
  const out = s.applyDelta({
    room: 'hall', tick: 101, t: 1_000_100,
    joined: [{ id: 'p_c', name: 'Chie', role: 'member', x: 2, z: -6, h: 3.1, seat: 's2', avatar: {} }],
    left: ['p_b', 'p_unknown'],
    moved: [['p_a', 1.5, 4.5, 0.25], ['p_ghost', 0, 0, 0], ['p_c', 'bad', 0, 0]],
  });
  assert.deepEqual(out.joined.map((p) => p.id), ['p_c']);
  assert.deepEqual(out.left.map((p) => p.id), ['p_b']);
  assert.equal(out.moved.length, 1);
  assert.equal(out.moved[0][0].id, 'p_a');
  assert.equal(out.t, 1_000_100);
  assert.deepEqual(s.list().map((p) => p.id).sort(), ['p_a', 'p_c']);
  const a = s.get('p_a');
  assert.deepEqual([a.x, a.z, a.h], [1.5, 4.5, 0.25]);
  assert.equal(s.room.seats[0].occupant, null, 'seat freed by the leaver');
  assert.equal(s.room.seats[1].occupant, 'p_c');
});

test('stale ticks and other rooms are ignored', () => {
  const s = new ParticipantStore();
  s.applySnapshot('p_a', snapshot());
  assert.equal(s.applyDelta({ room: 'hall', tick: 100, moved: [['p_a', 9, 9, 0]] }), null);
  assert.equal(s.applyDelta({ room: 'other', tick: 105, moved: [['p_a', 9, 9, 0]] }), null);
  assert.equal(s.get('p_a').x, 1);
  assert.ok(s.applyDelta({ room: 'hall', tick: 102, moved: [['p_a', 9, 9, 0]] }));
  assert.equal(s.get('p_a').x, 9);
  assert.equal(s.applyDelta({ room: 'hall', tick: 101, left: ['p_b'] }), null, 'older than the last one');
  assert.ok(s.get('p_b'));
});

test('a re-sent join replaces the record and reset empties everything', () => {
  const s = new ParticipantStore();
  s.applySnapshot('p_a', snapshot());
  s.applyDelta({ room: 'hall', tick: 101, joined: [{ id: 'p_b', name: 'Ben2', role: 'member', x: 0, z: 0, h: 0, seat: null }] });
  assert.equal(s.size, 2);
  assert.equal(s.get('p_b').name, 'Ben2');
  assert.equal(s.room.seats[0].occupant, null);
  s.reset();
  assert.equal(s.size, 0);
  assert.equal(s.roomId, null);
  assert.equal(s.self, null);
  assert.equal(s.applyDelta({ room: 'hall', tick: 200 }), null);
});

test('store records are copies, not the snapshot objects', () => {
  const s = new ParticipantStore();
  const snap = snapshot();
  s.applySnapshot('p_a', snap);
  snap.participants[0].x = 42;
  assert.equal(s.get('p_a').x, 1);
});
