import test from 'node:test';
import assert from 'node:assert/strict';
import { closeUp, glRect } from '../src/scene/speakerCam.js';

test('the close-up camera stands in front of the face (heading pi faces +z)', () => {
  const { pos, look } = closeUp({ x: 2, y: 1.4, z: -20, h: Math.PI }, 1.5);
  assert.ok(Math.abs(pos.x - 2) < 1e-9);
  assert.ok(Math.abs(pos.z - -18.5) < 1e-9); // 1.5 m toward the audience
  assert.ok(pos.y > 1.4 && look.y < 1.4); // a little above, looking slightly down
  assert.equal(look.z, -20);
});

test('heading 0 faces -z: the camera is on the -z side', () => {
  const { pos } = closeUp({ x: 0, y: 1, z: 0, h: 0 }, 1);
  assert.ok(Math.abs(pos.z + 1) < 1e-9 && Math.abs(pos.x) < 1e-9);
});

test('a CSS rectangle from the top becomes a GL one from the bottom', () => {
  assert.deepEqual(glRect({ x: 10, y: 20, w: 300, h: 200 }, 800), { x: 10, y: 580, w: 300, h: 200 });
});
