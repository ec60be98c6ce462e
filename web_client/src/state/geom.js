/** Small pure geometry helpers shared by the state modules (no DOM, no three.js). */

const TAU = Math.PI * 2;

/** Normalise an angle to (-π, π], the range headings use on the wire. */
export function wrapAngle(a) {
  let r = a % TAU;
  if (r <= -Math.PI) r += TAU;
  else if (r > Math.PI) r -= TAU;
  return r;
}

/** Interpolate between two headings along the shortest arc. */
export function lerpAngle(a, b, f) {
  return wrapAngle(a + wrapAngle(b - a) * f);
}

export function clamp(v, lo, hi) {
  return v < lo ? lo : v > hi ? hi : v;
}

/** Is (x, z) inside a centre/size rectangle such as `room.stage`, grown by `margin`? */
export function inRect(rect, x, z, margin = 0) {
  if (!rect) return false;
  const hw = rect.width / 2 + margin;
  const hd = rect.depth / 2 + margin;
  return x > rect.x - hw && x < rect.x + hw && z > rect.z - hd && z < rect.z + hd;
}

/** Forward unit vector of a heading: h = 0 faces -z (protocol convention). */
export function forwardOf(h) {
  return { x: -Math.sin(h), z: -Math.cos(h) };
}

/** Heading that faces from (x0, z0) toward (x1, z1). */
export function headingTo(x0, z0, x1, z1) {
  return Math.atan2(-(x1 - x0), -(z1 - z0));
}
