/**
 * From a pose's 52 ARKit blendshape weights to a VRM model's expressions, and the gaze to
 * the VRM look-at. Pure (no three.js), so node tests it; avatar/vrm_expressions.py is the
 * same plan in Python and tests/integration/test_vrm_expression_catalogue.py runs both on
 * the same model-name lists (docs/avatars.md "In the page").
 *
 * The plan, made once per model from its expression names:
 * 1. direct ("perfect sync"): each ARKit shape the model has as an expression, named as
 *    MediaPipe names it (`jawOpen`) or with its first letter upper-cased (`JawOpen`, the
 *    perfect-sync convention), is driven by that weight;
 * 2. presets: a VRM preset the model has is driven by the mean of its source shapes, but
 *    only when none of those sources was matched directly (a perfect-sync model would
 *    otherwise open its mouth twice, once by `JawOpen` and once by `aa`); `blink` only when
 *    the model lacks `blinkLeft` or `blinkRight`; `relaxed` is not driven from the face
 *    (no ARKit shape says "relaxed").
 * Preset names are VRM 1.0's: three-vrm names a 0.x model's presets (a, joy, blink_l...)
 * by them.
 */
import { BLENDSHAPE_NAMES } from '../net/poseCodec.js';

/** preset -> its ARKit source shapes, in the order the plan lists them. */
export const ARKIT_TO_PRESET = Object.freeze({
  aa: Object.freeze(['jawOpen']),
  ih: Object.freeze(['mouthUpperUpLeft', 'mouthUpperUpRight']),
  ou: Object.freeze(['mouthPucker']),
  ee: Object.freeze(['mouthStretchLeft', 'mouthStretchRight']),
  oh: Object.freeze(['mouthFunnel']),
  blinkLeft: Object.freeze(['eyeBlinkLeft']),
  blinkRight: Object.freeze(['eyeBlinkRight']),
  blink: Object.freeze(['eyeBlinkLeft', 'eyeBlinkRight']),
  happy: Object.freeze(['mouthSmileLeft', 'mouthSmileRight']),
  sad: Object.freeze(['mouthFrownLeft', 'mouthFrownRight']),
  angry: Object.freeze(['browDownLeft', 'browDownRight']),
  surprised: Object.freeze(['browOuterUpLeft', 'browOuterUpRight']),
});

const INDEX = new Map(BLENDSHAPE_NAMES.map((n, i) => [n, i]));

/**
 * The plan for a model whose expressions are named `names` (any iterable of strings):
 * `{direct: {arkit: modelName}, presets: {preset: [sources]}}`.
 */
export function planExpressions(names) {
  const have = new Set();
  for (const n of names) if (typeof n === 'string') have.add(n);
  const direct = {};
  for (const n of BLENDSHAPE_NAMES) {
    const upper = n[0].toUpperCase() + n.slice(1);
    if (have.has(n)) direct[n] = n;
    else if (have.has(upper)) direct[n] = upper;
  }
  const presets = {};
  const bothEyes = have.has('blinkLeft') && have.has('blinkRight');
  for (const [preset, sources] of Object.entries(ARKIT_TO_PRESET)) {
    if (!have.has(preset)) continue;
    if (preset === 'blink' && bothEyes) continue;
    if (sources.some((s) => s in direct)) continue;
    presets[preset] = [...sources];
  }
  return { direct, presets };
}

const clamp01 = (v) => (v > 0 ? (v < 1 ? v : 1) : 0); // NaN -> 0

/**
 * The model's expression weights for one pose: `weights` in BLENDSHAPE_NAMES order (a
 * Float32Array or array; missing entries are 0) -> `{modelName: weight}`, every planned
 * expression named (0 included, so that a released one goes back), clamped to 0..1 (a
 * preset's sources each clamped before their mean).
 */
export function applyPlan(plan, weights) {
  const w = (n) => Number(weights[INDEX.get(n)]) || 0;
  const out = {};
  for (const [arkit, name] of Object.entries(plan.direct)) out[name] = clamp01(w(arkit));
  for (const [preset, sources] of Object.entries(plan.presets)) {
    let sum = 0;
    for (const s of sources) sum += clamp01(w(s)); // each source clamped first, as in Python
    out[preset] = clamp01(sum / sources.length);
  }
  return out;
}

/** Degrees of look-at yaw / pitch at a full eyeLook* weight (a natural eye's reach). */
export const GAZE_YAW_DEG = 25;
export const GAZE_PITCH_DEG = 20;

/**
 * The gaze as a three-vrm look-at `{yaw, pitch}` in degrees. Left/right are the person's
 * (= the avatar's, it is not a mirror). The left eye looks "in" toward the nose, which is
 * the person's right; the right eye's "out" is the person's right too; so
 * right = (inL + outR - outL - inR) / 2 and up = (upL + upR - downL - downR) / 2, each
 * -1..1. three-vrm's yaw is positive toward the model's left and its pitch positive
 * downward, hence yaw = -right * 25 and pitch = -up * 20.
 */
export function gazeOf(weights) {
  const w = (n) => Number(weights[INDEX.get(n)]) || 0;
  const c11 = (v) => (v < -1 ? -1 : v > 1 ? 1 : v);
  const right = c11((w('eyeLookInLeft') + w('eyeLookOutRight') - w('eyeLookOutLeft') - w('eyeLookInRight')) / 2);
  const up = c11((w('eyeLookUpLeft') + w('eyeLookUpRight') - w('eyeLookDownLeft') - w('eyeLookDownRight')) / 2);
  // + 0 turns a -0 into 0 (tests and readers compare with 0)
  return { yaw: -right * GAZE_YAW_DEG + 0, pitch: -up * GAZE_PITCH_DEG + 0 };
}
