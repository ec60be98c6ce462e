import test from 'node:test';
import assert from 'node:assert/strict';
import { installFakeDom } from './support/fakeDom.mjs';

installFakeDom();
const { createAvatar, setExpression, setHandRaised } = await import('../src/scene/avatar.js');

const STYLE = { body: '#335577', skin: '#f1c27d', hair: 'short', hair_color: '#222222', accessory: 'none' };

/** Triangles of the parts a near avatar bakes (the ground shadow aside). */
function triangles(a) {
  let n = 0;
  a.updateMatrixWorld(true);
  a.traverse((o) => {
    if (o.isMesh && o.visible && o.userData.part !== 'blob') n += o.geometry.index.count / 3;
  });
  return n;
}

test('a presentable avatar stays within the near triangle budget (884: was 720 without arms)', () => {
  const a = createAvatar(STYLE, 'テスト');
  assert.equal(triangles(a), 884);
  assert.ok(triangles(createAvatar({ ...STYLE, accessory: 'glasses' }, 'x')) <= 1200);
});

test('both arms hang by the sides; the right one rises for a show of hands', () => {
  const a = createAvatar(STYLE, 'x');
  const u = a.userData;
  const arms = [];
  a.traverse((o) => o.userData.part === 'hand' && arms.push(o));
  assert.equal(arms.length, 2);
  a.updateMatrixWorld(true);
  for (const h of arms) assert.ok(h.visible && h.getWorldPosition(h.position.clone()).y < 0.6, 'hanging');
  setHandRaised(a, 1);
  a.updateMatrixWorld(true);
  assert.ok(u.handUp && u.hand.getWorldPosition(u.hand.position.clone()).y > 1.6);
  setHandRaised(a, 0);
  assert.equal(u.handUp, false);
});

test('eyes have whites and pupils; the pupils follow the gaze, a blink closes both', () => {
  const a = createAvatar(STYLE, 'x');
  const u = a.userData;
  assert.equal(u.eyeL.material.color.getHexString(), 'f8fafc');
  assert.equal(u.pupilL.parent, u.eyeL);
  setExpression(a, { gazeX: 1 });
  assert.ok(u.pupilL.position.x > 0 && u.pupilR.position.x > 0);
  setExpression(a, { blinkL: 1 });
  assert.ok(u.eyeL.scale.y < 0.1 && u.eyeR.scale.y === 1);
});
