import test from 'node:test';
import assert from 'node:assert/strict';
import { joystickInput, joystickVector, knobOffset } from '../src/state/joystick.js';

const close = (a, b, eps = 1e-9) => assert.ok(Math.abs(a - b) <= eps, `${a} ≉ ${b}`);

test('dead zone gives zero', () => {
  assert.deepEqual(joystickVector(5, 5, 60, 0.15), { x: 0, y: 0, magnitude: 0 });
  assert.deepEqual(joystickVector(0, 0, 60), { x: 0, y: 0, magnitude: 0 });
  assert.deepEqual(joystickVector(10, 0, 0), { x: 0, y: 0, magnitude: 0 });
});

test('screen up is positive y and the rim is magnitude 1', () => {
  const v = joystickVector(0, -60, 60, 0.15);
  close(v.x, 0);
  close(v.y, 1);
  close(v.magnitude, 1);
  const far = joystickVector(300, 0, 60, 0.15);
  close(far.x, 1);
  close(far.magnitude, 1);
});

test('magnitude is rescaled from the dead-zone edge and direction is kept', () => {
  const v = joystickVector(30, 40, 100, 0.2); // raw 0.5 → (0.5-0.2)/0.8
  close(v.magnitude, 0.375);
  close(v.x, 0.6 * 0.375);
  close(v.y, -0.8 * 0.375);
  close(Math.hypot(v.x, v.y), v.magnitude);
});

test('knob is clamped to the pad', () => {
  assert.deepEqual(knobOffset(10, 0, 50), { x: 10, y: 0 });
  const k = knobOffset(0, 200, 50);
  close(k.x, 0);
  close(k.y, 50);
});

test('joystick maps up to forward and right to a right turn', () => {
  const i = joystickInput({ x: 0.5, y: 0.8, magnitude: 1 });
  assert.equal(i.forward, 0.8);
  assert.equal(i.turn, -0.5);
});
