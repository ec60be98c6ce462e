import test from 'node:test';
import assert from 'node:assert/strict';
import { CHAIR_HOLD_MS, modeFrom, speakerChoice, viewShown } from '../src/ui/speakerView.js';

test('a stored mode is kept; anything else is automatic', () => {
  assert.equal(modeFrom('room'), 'room');
  assert.equal(modeFrom('speaker'), 'speaker');
  assert.equal(modeFrom(null), 'auto');
  assert.equal(modeFrom('<script>'), 'auto');
});

test('the floor holder first, then the chair while speaking, never in the room view', () => {
  assert.equal(speakerChoice({ mode: 'auto', holder: 'm1', chair: 'c', chairSpokeAt: 0, now: 10 }), 'm1');
  assert.equal(speakerChoice({ mode: 'auto', chair: 'c', chairSpokeAt: 0, now: 10 }), 'c');
  assert.equal(speakerChoice({ mode: 'auto', chair: 'c', chairSpokeAt: 0, now: CHAIR_HOLD_MS + 1 }), null);
  assert.equal(speakerChoice({ mode: 'auto', chair: 'c' }), null); // the chair has not spoken
  assert.equal(speakerChoice({ mode: 'room', holder: 'm1' }), null);
  assert.equal(speakerChoice({ mode: 'speaker', holder: 'm1' }), 'm1');
});

test('automatic never shows the own person of the page; the speaker mode does if asked', () => {
  assert.equal(speakerChoice({ mode: 'auto', holder: 'me', self: 'me' }), null);
  assert.equal(speakerChoice({ mode: 'auto', chair: 'me', chairSpokeAt: 0, now: 10, self: 'me' }), null);
  assert.equal(speakerChoice({ mode: 'auto', holder: 'm1', self: 'me' }), 'm1');
  assert.equal(speakerChoice({ mode: 'speaker', holder: 'me', self: 'me' }), 'me');
});

test('automatic shows the view only with a speaker; the speaker mode always', () => {
  assert.equal(viewShown('auto', null), false);
  assert.equal(viewShown('auto', 'm1'), true);
  assert.equal(viewShown('speaker', null), true);
  assert.equal(viewShown('room', 'm1'), false);
});
