/**
 * The public gallery's messages (傍聴, issue 19), mirroring server/gallery/codec.py
 * (docs/protocol.md, "Gallery plane"). Pure: no I/O. Little-endian; every downlink message
 * starts `u8 kind | u8 flags | u32 seq`.
 *
 * FRAME (0x11), the same bytes for every viewer of a room, once per frame period:
 *   u8 0x11 | u8 flags (bit 0: closed session) | u32 seq | u32 server_ms | u16 n_posed
 *   | u16 n_plain | u32 crowd | u8 n_audio | n_posed posed entries | n_plain plain entries
 *   | n_audio x (u16 slot | u32 rtp_ts | u16 age_ms | u16 len | Opus payload)
 * The entries are exactly a motion frame's: they are decoded by motionCodec.js behind a
 * motion header made up for them, so the two planes can never read them differently.
 *
 * STATE (0x13): u8 0x13 | u8 0 | u32 seq | UTF-8 JSON object with a "t" member.
 *
 * Uplink: JSON text of at most MAX_UPLINK bytes: `hand` and `ask`.
 */
import { COMPACT_HEAD, FRAME_HEADER, PLAIN_SIZE, decodeFrame as decodeMotion } from './motionCodec.js';
import { PoseFormatError } from './poseCodec.js';

export const KIND_FRAME = 0x11;
export const KIND_STATE = 0x13;
export const FLAG_CLOSED = 0x01;
export const HEADER = 6;
export const FRAME_HEAD = 19;
export const AUDIO_HEAD = 10;
export const MAX_AUDIO = 32;
export const MAX_PAYLOAD = 1275;
export const MAX_UPLINK = 512;
export const MAX_ASK_NAME = 40;
export const MAX_ASK_TEXT = 200;

/** A malformed downlink message (the page drops it and counts it). */
export class GalleryFormatError extends Error {
  constructor(message) {
    super(message);
    this.name = 'GalleryFormatError';
  }
}

function bytesOf(data) {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new GalleryFormatError('binary data expected');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const MASK_AT = 10; // the weight mask's offset in a compact pose
const MASK_BYTES = 7;
const LAST_MASK = 0x0f; // 52 weights: the mask's last 4 bits are not weights (ignored by both codecs)

/** Where the compact pose starting at `at` ends (its non-zero weights counted in the mask). */
function compactEnd(bytes, at) {
  if (bytes.length - at < COMPACT_HEAD) throw new GalleryFormatError('truncated gallery frame');
  let n = 0;
  for (let i = 0; i < MASK_BYTES; i++) {
    for (let b = bytes[at + MASK_AT + i] & (i === MASK_BYTES - 1 ? LAST_MASK : 0xff); b; b &= b - 1) n++;
  }
  return at + COMPACT_HEAD + ((n + 1) >> 1);
}

/**
 * A downlink message: `{kind: 'frame', seq, closed, serverMs, crowd, entries, audio}` (entries
 * as motionCodec.js's decodeFrame gives them, `{slot, x, z, h, pose|null}`; audio
 * `[{slot, rtpTs, ageMs, payload (Uint8Array, a copy)}]`) or `{kind: 'state', seq, msg}` (the
 * JSON object). Throws GalleryFormatError for anything malformed, never another error.
 */
export function decode(data) {
  const bytes = bytesOf(data);
  if (bytes.length < HEADER) throw new GalleryFormatError('a gallery message has a 6-byte header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const kind = bytes[0];
  const seq = view.getUint32(2, true);
  if (kind === KIND_STATE) {
    let msg;
    try {
      msg = JSON.parse(utf8.decode(bytes.subarray(HEADER)));
    } catch {
      throw new GalleryFormatError('a state message is JSON');
    }
    if (!msg || typeof msg !== 'object' || Array.isArray(msg) || typeof msg.t !== 'string') {
      throw new GalleryFormatError("a state message is an object with 't'");
    }
    return { kind: 'state', seq, msg };
  }
  if (kind !== KIND_FRAME) throw new GalleryFormatError(`unknown gallery message kind ${kind}`);
  return decodeFrameBytes(bytes, view, seq);
}

function decodeFrameBytes(bytes, view, seq) {
  if (bytes.length < FRAME_HEAD) throw new GalleryFormatError('a gallery frame has a 19-byte head');
  const flags = bytes[1];
  if (flags & ~FLAG_CLOSED) throw new GalleryFormatError('unknown gallery frame flags');
  const serverMs = view.getUint32(6, true);
  const nPosed = view.getUint16(10, true);
  const nPlain = view.getUint16(12, true);
  const crowd = view.getUint32(14, true);
  const nAudio = bytes[18];
  if (nAudio > MAX_AUDIO) throw new GalleryFormatError('too many audio packets in a frame');
  let end = FRAME_HEAD;
  for (let i = 0; i < nPosed; i++) end = compactEnd(bytes, end + PLAIN_SIZE);
  end += nPlain * PLAIN_SIZE;
  if (end > bytes.length) throw new GalleryFormatError('truncated gallery frame');
  // The motion codec reads the entries behind a motion header made for them (version 1,
  // tick = seq, the same counts).
  const motion = new Uint8Array(FRAME_HEADER + end - FRAME_HEAD);
  const mv = new DataView(motion.buffer);
  mv.setUint8(0, 1);
  mv.setUint32(2, seq, true);
  mv.setUint16(6, nPosed, true);
  mv.setUint16(8, nPlain, true);
  motion.set(bytes.subarray(FRAME_HEAD, end), FRAME_HEADER);
  let entries;
  try {
    ({ entries } = decodeMotion(motion, () => serverMs));
  } catch (e) {
    if (e instanceof PoseFormatError) throw new GalleryFormatError(`bad gallery entries: ${e.message}`);
    throw e;
  }
  const audio = [];
  let at = end;
  for (let i = 0; i < nAudio; i++) {
    if (bytes.length - at < AUDIO_HEAD) throw new GalleryFormatError('truncated gallery audio');
    const slot = view.getUint16(at, true);
    const rtpTs = view.getUint32(at + 2, true);
    const ageMs = view.getUint16(at + 6, true);
    const length = view.getUint16(at + 8, true);
    at += AUDIO_HEAD;
    if (length > MAX_PAYLOAD || at + length > bytes.length) throw new GalleryFormatError('truncated gallery audio');
    audio.push({ slot, rtpTs, ageMs, payload: bytes.slice(at, at + length) });
    at += length;
  }
  if (at !== bytes.length) throw new GalleryFormatError('gallery frame length does not match');
  return { kind: 'frame', seq, closed: !!(flags & FLAG_CLOSED), serverMs, crowd, entries, audio };
}

const utf8Length = (s) => new TextEncoder().encode(s).length;

/** The uplink raising (`up` true) or lowering a hand. */
export function encodeHand(up) {
  return JSON.stringify({ t: 'hand', up: !!up });
}

/**
 * The uplink asking to speak, with an optional name (trimmed, at most MAX_ASK_NAME
 * characters) and text; `{cancel: true}` withdraws the request. Throws RangeError for a name
 * or text the server would refuse, so the page can say so before sending.
 */
export function encodeAsk({ name = '', text = '', cancel = false } = {}) {
  if (cancel) return JSON.stringify({ t: 'ask', cancel: true });
  const n = String(name).trim();
  const x = String(text).trim();
  if ([...n].length > MAX_ASK_NAME) throw new RangeError(`a name of at most ${MAX_ASK_NAME} characters`);
  if ([...x].length > MAX_ASK_TEXT) throw new RangeError(`a text of at most ${MAX_ASK_TEXT} characters`);
  const msg = x ? { t: 'ask', name: n, text: x } : { t: 'ask', name: n };
  const out = JSON.stringify(msg);
  if (utf8Length(out) > MAX_UPLINK) throw new RangeError(`an uplink is at most ${MAX_UPLINK} bytes`);
  return out;
}
