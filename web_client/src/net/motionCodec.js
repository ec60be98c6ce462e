/**
 * The motion plane's binary messages, mirroring server/motion/codec.py (docs/protocol.md,
 * "Motion plane: the /motion WebSocket"). Pure: no I/O.
 *
 * Uplink (page to server): u8 type (1) | u8 flags (bit 0: a pose follows) | i16 x cm |
 * i16 z cm | i16 h (1e-4 rad) [| 69-byte pose record of poseCodec.js].
 *
 * Frame (server to page): u8 version (1) | u8 reserved | u32 tick | u16 n_posed |
 * u16 n_plain, then n_posed posed entries (plain entry + compact pose), then n_plain plain
 * entries (u16 slot | i16 x cm | i16 z cm | i16 h). A compact pose is the lossy render form
 * of a record: u8 state | 3 x i16 roll, pitch, yaw (0.01 degree) | 3 x i8 head offset
 * (4 mm) | 7-byte mask of the non-zero weights | their 4-bit values (x/15), low nibble first.
 */
import { N_BLENDSHAPES, POSE_SIZE, PoseFormatError, STATE_NAMES, writePose } from './poseCodec.js';

export const UPLINK_STATE = 1;
export const HAS_POSE = 0x01;
export const UPLINK_SIZE = 8;
export const FRAME_VERSION = 1;
export const FRAME_HEADER = 10;
export const PLAIN_SIZE = 8;
export const COMPACT_HEAD = 17;

const TAU = 2 * Math.PI;
const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
const cm = (v) => clamp(Math.round((Number.isFinite(v) ? v : 0) * 100), -32767, 32767);

function heading(h) {
  const v = Number.isFinite(h) ? h : 0;
  return clamp(Math.round((v - TAU * Math.round(v / TAU)) * 10000), -31416, 31416);
}

/**
 * One uplink: own position and heading, and optionally the latest own pose, given as
 * its 69-byte record (Uint8Array, what the trackers make) or as a pose object.
 */
export function encodeUplink(x, z, h, pose = null) {
  const out = new Uint8Array(UPLINK_SIZE + (pose ? POSE_SIZE : 0));
  const view = new DataView(out.buffer);
  view.setUint8(0, UPLINK_STATE);
  view.setUint8(1, pose ? HAS_POSE : 0);
  view.setInt16(2, cm(x), true);
  view.setInt16(4, cm(z), true);
  view.setInt16(6, heading(h), true);
  if (pose instanceof Uint8Array) {
    if (pose.byteLength !== POSE_SIZE) throw new PoseFormatError(`a pose record is ${POSE_SIZE} bytes`);
    out.set(pose, UPLINK_SIZE);
  } else if (pose) writePose(view, UPLINK_SIZE, pose);
  return out;
}

function viewOf(data) {
  if (data instanceof ArrayBuffer) return new DataView(data);
  if (ArrayBuffer.isView(data)) return new DataView(data.buffer, data.byteOffset, data.byteLength);
  throw new PoseFormatError('binary data expected');
}

/** The compact pose at `at`: `[pose, offset after it]`. `t` is the caller's to set. */
function readCompact(view, at, t) {
  if (view.byteLength - at < COMPACT_HEAD) throw new PoseFormatError('truncated motion frame');
  const state = view.getUint8(at);
  if (state >= STATE_NAMES.length) throw new PoseFormatError(`unknown tracking state ${state}`);
  const weights = new Float32Array(N_BLENDSHAPES);
  let k = 0;
  const present = [];
  for (let i = 0; i < N_BLENDSHAPES; i++) {
    if (view.getUint8(at + 10 + (i >> 3)) & (1 << (i & 7))) present.push(i);
  }
  const start = at + COMPACT_HEAD;
  const end = start + ((present.length + 1) >> 1);
  if (end > view.byteLength) throw new PoseFormatError('truncated motion frame');
  for (const i of present) {
    const byte = view.getUint8(start + (k >> 1));
    weights[i] = ((k & 1 ? byte >> 4 : byte & 0x0f) / 15);
    k++;
  }
  const pose = {
    t,
    state,
    roll: view.getInt16(at + 1, true) / 100,
    pitch: view.getInt16(at + 3, true) / 100,
    yaw: view.getInt16(at + 5, true) / 100,
    x: (view.getInt8(at + 7) * 4) / 1000,
    y: (view.getInt8(at + 8) * 4) / 1000,
    z: (view.getInt8(at + 9) * 4) / 1000,
    weights,
  };
  return [pose, end];
}

function readPlain(view, at) {
  return {
    slot: view.getUint16(at, true),
    x: view.getInt16(at + 2, true) / 100,
    z: view.getInt16(at + 4, true) / 100,
    h: view.getInt16(at + 6, true) / 10000,
  };
}

/**
 * `{tick, entries: [{slot, x, z, h, pose|null}]}` of a frame; throws PoseFormatError for a
 * malformed one. A pose has the shape of poseCodec.js's, its `t` being `tickMs(tick)`: the
 * compact form carries no timestamp, and the tick is the sender-independent clock.
 */
export function decodeFrame(data, tickMs = (tick) => tick * 50) {
  const view = viewOf(data);
  if (view.byteLength < FRAME_HEADER) throw new PoseFormatError('a motion frame has a 10-byte header');
  const version = view.getUint8(0);
  if (version !== FRAME_VERSION) throw new PoseFormatError(`unsupported motion frame ${version}`);
  const delay = view.getUint8(1); // ms from the tick's start to the frame being sent
  const tick = view.getUint32(2, true);
  const nPosed = view.getUint16(6, true);
  const nPlain = view.getUint16(8, true);
  const t = tickMs(tick);
  const entries = [];
  let at = FRAME_HEADER;
  for (let i = 0; i < nPosed; i++) {
    if (view.byteLength - at < PLAIN_SIZE) throw new PoseFormatError('truncated motion frame');
    const entry = readPlain(view, at);
    [entry.pose, at] = readCompact(view, at + PLAIN_SIZE, t);
    entries.push(entry);
  }
  if (at + nPlain * PLAIN_SIZE !== view.byteLength) throw new PoseFormatError('motion frame length does not match');
  for (let i = 0; i < nPlain; i++, at += PLAIN_SIZE) entries.push({ ...readPlain(view, at), pose: null });
  return { tick, delay, entries };
}
