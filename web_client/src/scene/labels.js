/**
 * Name labels readable at phone size (issue 18): a label never shrinks below a minimum
 * height on the screen (it grows with distance instead, up to the label distance), a
 * crowd's labels fade with distance so that near names stand out, and the speaker's label
 * is highlighted. Everything here is a few multiplications per near avatar per frame.
 */
import * as THREE from 'three';
import { HEAD_R, LABEL_H, NECK_Y, setLabelHighlight } from './avatar.js';

/** A label's minimum height in CSS px: its text (30 of the 44 texture rows) is then 12 px. */
export const MIN_LABEL_PX = 18;
/** Crowd labels are fully opaque up to here (metres)... */
export const FADE_FROM = 8;
/** ...and fade to this opacity at the label distance (scene/avatars.js LABEL_DISTANCE). */
export const FADE_TO = 0.45;
const FADE_END = 24;
/** The speaker's label is drawn this much larger. */
const HIGHLIGHT_SCALE = 1.2;
/** The centre of a standing avatar's head above its feet (the speaker view aims there). */
export const HEAD_CENTRE = NECK_Y + HEAD_R;

/** Metres per CSS pixel at distance `d` for a vertical field of view `fovDeg`. */
export function metresPerPixel(d, fovDeg, viewHeight) {
  return (2 * Math.tan(THREE.MathUtils.degToRad(fovDeg) / 2) * Math.max(d, 0.01)) / Math.max(1, viewHeight);
}

/** A label's height in metres at distance `d`: LABEL_H, or more to keep MIN_LABEL_PX. */
export function labelHeight(d, fovDeg, viewHeight, base = LABEL_H) {
  return Math.max(base, MIN_LABEL_PX * metresPerPixel(d, fovDeg, viewHeight));
}

/** A crowd label's opacity at distance `d` (prominent ones, on stage or the own, stay 1). */
export function labelOpacity(d, prominent = false) {
  if (prominent || d <= FADE_FROM) return 1;
  const f = Math.min(1, (d - FADE_FROM) / (FADE_END - FADE_FROM));
  return f >= 1 ? FADE_TO : 1 - (1 - FADE_TO) * f;
}

const at = new THREE.Vector3();

/**
 * Size, fade and highlight one near avatar's label for this frame (`camera` the room's).
 * Records the label's on-screen height in CSS px in `label.userData.px` for the page state.
 */
export function labelLook(avatar, camera, viewHeight, highlight, prominent) {
  const u = avatar.userData;
  const label = u.label;
  setLabelHighlight(avatar, highlight);
  at.set(avatar.position.x, avatar.position.y + u.labelY, avatar.position.z);
  const d = at.distanceTo(camera.position);
  const mpp = metresPerPixel(d, camera.fov, viewHeight);
  const h = labelHeight(d, camera.fov, viewHeight) * (highlight ? HIGHLIGHT_SCALE : 1);
  label.scale.set(h * u.labelAspect, h, 1);
  // grow upward: the bottom edge stays above the head
  label.position.y = at.y + (h - LABEL_H) / 2;
  label.material.opacity = labelOpacity(d, prominent || highlight);
  label.renderOrder = highlight ? 3 : 2;
  label.userData.px = h / mpp;
}
