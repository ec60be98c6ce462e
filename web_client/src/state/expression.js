/**
 * From a pose (52 ARKit weights and head angles) to the few controls a light procedural
 * avatar has (`setExpression` in scene/avatar.js). "Left"/"Right" are the person's, and
 * the avatar is the person (not a mirror): eyeBlinkLeft closes the avatar's left eye.
 * Pure.
 */
import { W } from '../net/poseCodec.js';

const RAD = Math.PI / 180;
const c01 = (v) => (v < 0 ? 0 : v > 1 ? 1 : v);
const c11 = (v) => (v < -1 ? -1 : v > 1 ? 1 : v);

/** MediaPipe seldom reports a full blink: stretch its range so closed eyes close. */
export function blinkCurve(w) {
  return c01((w - 0.15) / 0.5);
}

/** Expression controls for `setExpression`, from a pose. */
export function expressionOf(pose) {
  const w = pose.weights;
  const g = (name) => w[W[name]] || 0;
  return {
    blinkL: blinkCurve(g('eyeBlinkLeft')),
    blinkR: blinkCurve(g('eyeBlinkRight')),
    wideL: g('eyeWideLeft'),
    wideR: g('eyeWideRight'),
    // Gaze toward the avatar's right (+x) and up. The left eye looks "in" toward the
    // nose, which is the person's right; the right eye's "out" is the person's right too.
    gazeX: c11((g('eyeLookInLeft') + g('eyeLookOutRight') - g('eyeLookOutLeft') - g('eyeLookInRight')) / 2),
    gazeY: c11((g('eyeLookUpLeft') + g('eyeLookUpRight') - g('eyeLookDownLeft') - g('eyeLookDownRight')) / 2),
    browUpL: c01(Math.max(g('browOuterUpLeft'), 0.7 * g('browInnerUp'))),
    browUpR: c01(Math.max(g('browOuterUpRight'), 0.7 * g('browInnerUp'))),
    browInner: g('browInnerUp'),
    browDownL: g('browDownLeft'),
    browDownR: g('browDownRight'),
    jawOpen: g('jawOpen'),
    smileL: g('mouthSmileLeft'),
    smileR: g('mouthSmileRight'),
    frownL: g('mouthFrownLeft'),
    frownR: g('mouthFrownRight'),
    pucker: g('mouthPucker'),
    funnel: g('mouthFunnel'),
    stretch: (g('mouthStretchLeft') + g('mouthStretchRight')) / 2,
    press: c01((g('mouthPressLeft') + g('mouthPressRight')) / 2 + g('mouthClose') * 0.5),
    mouthShift: c11(g('mouthRight') - g('mouthLeft')), // toward the avatar's right
    headYaw: pose.yaw * RAD,
    headPitch: pose.pitch * RAD,
    headRoll: pose.roll * RAD,
  };
}
