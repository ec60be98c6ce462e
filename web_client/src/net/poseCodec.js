/**
 * The pose record on the wire, mirroring avatar/codec.py (docs/protocol.md, "Motion plane:
 * the pose record"). Records go up inside motion uplinks (net/motionCodec.js).
 *
 * A pose here is `{t, state, roll, pitch, yaw, x, y, z, weights}`: `t` the sender's clock in
 * ms (mod 2^32), `state` one of STATE, angles in degrees, position in metres, `weights` a
 * Float32Array of the 52 blendshape weights (0..1) in BLENDSHAPE_NAMES order. Pure.
 */

export const BLENDSHAPE_NAMES = Object.freeze([
  'browDownLeft', 'browDownRight', 'browInnerUp', 'browOuterUpLeft', 'browOuterUpRight',
  'cheekPuff', 'cheekSquintLeft', 'cheekSquintRight', 'eyeBlinkLeft', 'eyeBlinkRight',
  'eyeLookDownLeft', 'eyeLookDownRight', 'eyeLookInLeft', 'eyeLookInRight',
  'eyeLookOutLeft', 'eyeLookOutRight', 'eyeLookUpLeft', 'eyeLookUpRight',
  'eyeSquintLeft', 'eyeSquintRight', 'eyeWideLeft', 'eyeWideRight', 'jawForward',
  'jawLeft', 'jawOpen', 'jawRight', 'mouthClose', 'mouthDimpleLeft', 'mouthDimpleRight',
  'mouthFrownLeft', 'mouthFrownRight', 'mouthFunnel', 'mouthLeft', 'mouthLowerDownLeft',
  'mouthLowerDownRight', 'mouthPressLeft', 'mouthPressRight', 'mouthPucker', 'mouthRight',
  'mouthRollLower', 'mouthRollUpper', 'mouthShrugLower', 'mouthShrugUpper',
  'mouthSmileLeft', 'mouthSmileRight', 'mouthStretchLeft', 'mouthStretchRight',
  'mouthUpperUpLeft', 'mouthUpperUpRight', 'noseSneerLeft', 'noseSneerRight',
  'tongueOut',
]);
export const N_BLENDSHAPES = 52;
/** Index of each blendshape by name. */
export const W = Object.freeze(Object.fromEntries(BLENDSHAPE_NAMES.map((n, i) => [n, i])));

export const STATE = Object.freeze({ tracked: 0, lost: 1, voice: 2, idle: 3 });
export const STATE_NAMES = Object.freeze(['tracked', 'lost', 'voice', 'idle']);

export const VERSION = 1;
export const POSE_SIZE = 69;

/** An error for malformed records and motion frames (the server's `bad_payload`). */
export class PoseFormatError extends Error {
  constructor(message) {
    super(message);
    this.name = 'PoseFormatError';
  }
}

/** A neutral pose (idle state, all weights 0). */
export function emptyPose(t = 0, state = STATE.idle) {
  return { t, state, roll: 0, pitch: 0, yaw: 0, x: 0, y: 0, z: 0, weights: new Float32Array(N_BLENDSHAPES) };
}

function wrap180(a) {
  let w = a - 360 * Math.round(a / 360);
  if (w <= -180) w += 360;
  if (w > 180) w -= 360;
  return w;
}

const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

/** Write one record at `offset` of a DataView. */
export function writePose(view, offset, pose) {
  const state = pose.state | 0;
  if (state < 0 || state >= STATE_NAMES.length) throw new RangeError('unknown tracking state');
  const fin = (v) => (Number.isFinite(v) ? v : 0);
  view.setUint8(offset, (VERSION << 4) | state);
  view.setUint32(offset + 1, (((Math.round(fin(pose.t)) % 2 ** 32) + 2 ** 32) % 2 ** 32) >>> 0, true);
  view.setInt16(offset + 5, clamp(Math.round(wrap180(fin(pose.roll)) * 100), -18000, 18000), true);
  view.setInt16(offset + 7, clamp(Math.round(clamp(fin(pose.pitch), -90, 90) * 100), -9000, 9000), true);
  view.setInt16(offset + 9, clamp(Math.round(wrap180(fin(pose.yaw)) * 100), -18000, 18000), true);
  const pos = [pose.x, pose.y, pose.z];
  for (let i = 0; i < 3; i++) view.setInt16(offset + 11 + 2 * i, clamp(Math.round(fin(pos[i]) * 1000), -32767, 32767), true);
  const w = pose.weights || [];
  for (let i = 0; i < N_BLENDSHAPES; i++) view.setUint8(offset + 17 + i, Math.round(clamp(fin(w[i] ?? 0), 0, 1) * 255));
}

/** The 69-byte record of a pose. */
export function encodePose(pose) {
  const out = new Uint8Array(POSE_SIZE);
  writePose(new DataView(out.buffer), 0, pose);
  return out;
}

/** Read and check one record at `offset` of a DataView; throws PoseFormatError. */
export function readPose(view, offset = 0) {
  if (view.byteLength - offset < POSE_SIZE) throw new PoseFormatError('a pose record is 69 bytes');
  const head = view.getUint8(offset);
  if (head >> 4 !== VERSION) throw new PoseFormatError(`unsupported pose version ${head >> 4}`);
  const state = head & 0x0f;
  if (state >= STATE_NAMES.length) throw new PoseFormatError(`unknown tracking state ${state}`);
  const roll = view.getInt16(offset + 5, true);
  const pitch = view.getInt16(offset + 7, true);
  const yaw = view.getInt16(offset + 9, true);
  if (Math.abs(roll) > 18000 || Math.abs(pitch) > 9000 || Math.abs(yaw) > 18000) {
    throw new PoseFormatError('pose angle out of range');
  }
  const x = view.getInt16(offset + 11, true);
  const y = view.getInt16(offset + 13, true);
  const z = view.getInt16(offset + 15, true);
  // -32768 is the one value no encoder writes (they clamp to ±32767), as on the server.
  if (x === -32768 || y === -32768 || z === -32768) throw new PoseFormatError('pose position out of range');
  const weights = new Float32Array(N_BLENDSHAPES);
  for (let i = 0; i < N_BLENDSHAPES; i++) weights[i] = view.getUint8(offset + 17 + i) / 255;
  return {
    t: view.getUint32(offset + 1, true),
    state,
    roll: roll / 100,
    pitch: pitch / 100,
    yaw: yaw / 100,
    x: x / 1000,
    y: y / 1000,
    z: z / 1000,
    weights,
  };
}

function viewOf(data) {
  if (data instanceof DataView) return data;
  if (data instanceof ArrayBuffer) return new DataView(data);
  if (ArrayBuffer.isView(data)) return new DataView(data.buffer, data.byteOffset, data.byteLength);
  throw new PoseFormatError('binary data expected');
}

/** One pose from exactly one record (ArrayBuffer, typed array or DataView). */
export function decodePose(data) {
  const view = viewOf(data);
  if (view.byteLength !== POSE_SIZE) throw new PoseFormatError(`a pose record is ${POSE_SIZE} bytes, not ${view.byteLength}`);
  return readPose(view, 0);
}
