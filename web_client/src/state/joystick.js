/**
 * Virtual joystick maths: a thumb offset from the pad centre becomes a unit-disc vector
 * with a dead zone, then movement input (forward / turn).
 */

/**
 * @param {number} dx  thumb offset right of centre, px
 * @param {number} dy  thumb offset below centre, px (screen y grows downward)
 * @param {number} radius  pad radius, px
 * @param {number} deadZone  fraction of the radius that counts as centred
 * @returns {{x:number, y:number, magnitude:number}}  x right, y up, |v| ≤ 1
 */
export function joystickVector(dx, dy, radius, deadZone = 0.15) {
  if (!(radius > 0)) return { x: 0, y: 0, magnitude: 0 };
  const d = Math.hypot(dx, dy);
  const raw = d / radius;
  if (raw <= deadZone || d === 0) return { x: 0, y: 0, magnitude: 0 };
  // rescale so the edge of the dead zone is 0 and the rim (or beyond) is 1
  const m = Math.min(1, (raw - deadZone) / (1 - deadZone));
  return { x: (dx / d) * m, y: (-dy / d) * m, magnitude: m };
}

/** Where the knob is drawn: the thumb offset clamped to the pad radius. */
export function knobOffset(dx, dy, radius) {
  const d = Math.hypot(dx, dy);
  if (d <= radius || d === 0) return { x: dx, y: dy };
  return { x: (dx / d) * radius, y: (dy / d) * radius };
}

/** Joystick up walks forward, sideways turns (left positive, as LocalMover expects). */
export function joystickInput(v) {
  return { forward: v.y, strafe: 0, turn: -v.x };
}
