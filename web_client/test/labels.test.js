import test from 'node:test';
import assert from 'node:assert/strict';
import { installFakeDom } from './support/fakeDom.mjs';

installFakeDom();
const { FADE_TO, MIN_LABEL_PX, labelHeight, labelOpacity, metresPerPixel } = await import('../src/scene/labels.js');
const { LABEL_H } = await import('../src/scene/avatar.js');

test('a near label keeps its size; a far one grows to stay MIN_LABEL_PX tall', () => {
  // a 390x844 phone, portrait field of view 65 degrees
  assert.equal(labelHeight(2, 65, 844), LABEL_H);
  for (const d of [8, 12, 18, 24]) {
    const px = labelHeight(d, 65, 844) / metresPerPixel(d, 65, 844);
    assert.ok(px >= MIN_LABEL_PX - 1e-9, `${d} m: ${px} px`);
  }
  assert.ok(labelHeight(24, 65, 844) > 3 * LABEL_H); // would be ~5 px at its near size
});

test('the text of the smallest label is at least 12 CSS px (30 of 44 texture rows)', () => {
  assert.ok((MIN_LABEL_PX * 30) / 44 >= 12);
});

test('crowd labels fade with distance; stage and own labels do not', () => {
  assert.equal(labelOpacity(3), 1);
  assert.equal(labelOpacity(8), 1);
  assert.ok(labelOpacity(16) < 1 && labelOpacity(16) > FADE_TO);
  assert.equal(labelOpacity(24), FADE_TO);
  assert.equal(labelOpacity(40), FADE_TO);
  assert.equal(labelOpacity(24, true), 1);
});
