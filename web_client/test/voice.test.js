import test from 'node:test';
import assert from 'node:assert/strict';
import { distanceOf, facingOf, rmsOf, slotsFromWire } from '../src/net/voice.js';
import { voiceStatusText } from '../src/ui/voicePanel.js';

test('rms of silence is 0 and of a full-scale square wave is 1', () => {
  assert.equal(rmsOf(new Float32Array(64)), 0);
  assert.equal(rmsOf(Float32Array.from({ length: 64 }, (_, i) => (i % 2 ? 1 : -1))), 1);
  assert.equal(rmsOf([]), 0);
});

test('audio:slots is normalised to one id or null per slot', () => {
  assert.deepEqual(slotsFromWire({ slots: ['p_a', null, 'p_b'] }, 3), ['p_a', null, 'p_b']);
  assert.deepEqual(slotsFromWire({ slots: ['p_a'] }, 2), ['p_a', null]);
  assert.deepEqual(slotsFromWire({ slots: [3, {}, 'p_c', 'p_extra'] }, 3), [null, null, 'p_c']);
  assert.deepEqual(slotsFromWire(null, 1), [null]);
});

test('floor voices are panned but never fade; plaza voices fade to the radius', () => {
  assert.equal(distanceOf('floor').rolloffFactor, 0);
  const near = distanceOf('proximity', 10);
  assert.equal(near.distanceModel, 'linear');
  assert.equal(near.maxDistance, 10);
});

test('the listener faces where the avatar walks (state/geom.js forwardOf)', () => {
  const f = facingOf(0);
  assert.ok(Math.abs(f.x) < 1e-9 && f.z === -1);
  const left = facingOf(Math.PI / 2);
  assert.ok(Math.abs(left.x + 1) < 1e-9);
});

test('every microphone status has a text but "off"', () => {
  assert.equal(voiceStatusText('off'), '');
  for (const s of ['on', 'starting', 'denied', 'no_mic', 'wrong_state', 'ended', 'muted', 'forbidden', 'whatever']) {
    assert.ok(voiceStatusText(s).length > 0, s);
  }
});

test('a refusal for a limit says what to do, not that the connection failed', () => {
  const failed = voiceStatusText('failed');
  const texts = ['rate_limited', 'audio_full', 'address_limit', 'listen:audio_full', 'listen:address_limit']
    .map((s) => voiceStatusText(s));
  for (const text of texts) assert.notEqual(text, failed);
  assert.equal(new Set(texts).size, texts.length);
});
