import test from 'node:test';
import assert from 'node:assert/strict';

import { CAMERA_CONSTRAINTS, IdentityViewer, slotsFromWire } from '../src/net/identity.js';
import { tilesOf } from '../src/ui/identityTiles.js';

test('identity:slots is normalised to one entry per slot', () => {
  const msg = { slots: [{ pid: 'p_a', name: '田中委員' }, null, { pid: 7 }, 'p_b'] };
  assert.deepEqual(slotsFromWire(msg, 3), [{ pid: 'p_a', name: '田中委員' }, null, null]);
  assert.deepEqual(slotsFromWire({}, 2), [null, null]);
  assert.deepEqual(slotsFromWire({ slots: [{ pid: 'p_c' }] }, 1), [{ pid: 'p_c', name: '' }]);
});

test('a tile per filled slot, in slot order, keeping the slot index', () => {
  const slots = [null, { pid: 'p_a', name: 'A' }, null, { pid: 'p_b', name: 'B' }];
  assert.deepEqual(tilesOf(slots), [
    { index: 1, pid: 'p_a', name: 'A' },
    { index: 3, pid: 'p_b', name: 'B' },
  ]);
  assert.deepEqual(tilesOf(null), []);
});

test('the camera is asked for a small picture at 15 fps, video only', () => {
  assert.equal(CAMERA_CONSTRAINTS.width.ideal, 320);
  assert.equal(CAMERA_CONSTRAINTS.height.ideal, 240);
  assert.equal(CAMERA_CONSTRAINTS.frameRate.max, 15);
});

test('a viewer follows identity:slots and forgets everything when stopped', () => {
  const handlers = new Map();
  const net = { connected: false, socket: { on: (e, f) => handlers.set(e, f), off: (e) => handlers.delete(e) } };
  const changes = [];
  const viewer = new IdentityViewer(net, { slots: 2, onChange: (c) => changes.push(c.slots) });
  viewer.onSlots({ slots: [null, { pid: 'p_a', name: 'A' }] });
  assert.deepEqual(viewer.slots, [null, { pid: 'p_a', name: 'A' }]);
  assert.equal(changes.length, 1);
  viewer.stop();
  assert.deepEqual(viewer.slots, [null, null]);
});
