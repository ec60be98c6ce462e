/**
 * Reader of a recording's motion log (`motion.bin`), ported from
 * server/recording/motion_log.py (byte layout in docs/recording.md, "Motion log"):
 *
 *   file   = "HRBM" | u8 version 1 | u8 0 | u16 0 | chunk*
 *   chunk  = u32 body length | u32 CRC-32 (zlib's) of the next 5 bytes and the body
 *            | u32 t0_ms | u8 flags (1 zlib, 2 keyframe) | body
 *   record = u8 kind | u32 t_ms | u16 slot-or-n | ...
 *
 * Like the Python reader it stops at the first chunk that is short or fails its CRC: the
 * torn tail a killed writer leaves. Inflating is injected (`inflate(bytes) → Promise<bytes>`)
 * so that the format code stays pure; the page and node both pass `inflateDeflate` below.
 */
import { POSE_SIZE } from '../net/poseCodec.js';

export const KIND_POSE = 1;
export const KIND_POSITIONS = 2;
export const KIND_GONE = 3;
const FLAG_ZLIB = 1;
const FLAG_KEYFRAME = 2;
const FILE_HEADER = 8;
const CHUNK_HEADER = 13;
const REC_HEADER = 7;
const ENTRY = 8;
/** A guard against a corrupt length, as in the Python reader. */
export const MAX_CHUNK = 16 << 20;

export class MotionLogError extends Error {
  constructor(message) {
    super(message);
    this.name = 'MotionLogError';
  }
}

let crcTable = null;

/** zlib's CRC-32 (reflected 0xEDB88320), which is what `zlib.crc32` computes. */
export function crc32(bytes) {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Inflate a zlib stream (the Python writer's `zlib.compress`) with the browser's codec. */
export async function inflateDeflate(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * The valid chunks of a log: [{offset, t0, keyframe, zlib, body (still packed)}], the end
 * offset of the last one and the torn bytes after it.
 */
export function readChunks(bytes) {
  if (bytes.length < FILE_HEADER) return { chunks: [], end: 0, tornBytes: bytes.length };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = String.fromCharCode(bytes[0], bytes[1], bytes[2], bytes[3]);
  if (magic !== 'HRBM' || bytes[4] !== 1) throw new MotionLogError('not a Hiroba motion log (version 1)');
  const chunks = [];
  let at = FILE_HEADER;
  while (at + CHUNK_HEADER <= bytes.length) {
    const length = view.getUint32(at, true);
    const end = at + CHUNK_HEADER + length;
    if (length > MAX_CHUNK || end > bytes.length) break;
    if (crc32(bytes.subarray(at + 8, end)) !== view.getUint32(at + 4, true)) break;
    const flags = bytes[at + 12];
    chunks.push({
      offset: at,
      t0: view.getUint32(at + 8, true),
      keyframe: !!(flags & FLAG_KEYFRAME),
      zlib: !!(flags & FLAG_ZLIB),
      body: bytes.subarray(at + CHUNK_HEADER, end),
    });
    at = end;
  }
  return { chunks, end: at, tornBytes: bytes.length - at };
}

/**
 * The records of one (inflated) body, one by one (a generator: an hour's log holds about a
 * million records, too many objects to keep): `{kind, t, slot, at}` for a pose (`at`: the
 * offset of its 69-byte record in `body`), `{kind, t, entries: [[slot, xCm, zCm, h1e4]]}`
 * for positions and `{kind, t, slot}` for gone. Throws MotionLogError on a malformed body.
 */
export function* bodyRecords(body) {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let at = 0;
  while (at < body.length) {
    if (at + REC_HEADER > body.length) throw new MotionLogError('a record runs past its chunk');
    const kind = body[at];
    const t = view.getUint32(at + 1, true);
    const slot = view.getUint16(at + 5, true);
    at += REC_HEADER;
    if (kind === KIND_POSE) {
      if (at + POSE_SIZE > body.length) throw new MotionLogError('a pose runs past its chunk');
      yield { kind, t, slot, at };
      at += POSE_SIZE;
    } else if (kind === KIND_POSITIONS) {
      if (at + slot * ENTRY > body.length) throw new MotionLogError('positions run past their chunk');
      const entries = [];
      for (let i = 0; i < slot; i++, at += ENTRY) {
        entries.push([view.getUint16(at, true), view.getInt16(at + 2, true), view.getInt16(at + 4, true), view.getInt16(at + 6, true)]);
      }
      yield { kind, t, entries };
    } else if (kind === KIND_GONE) {
      yield { kind, t, slot };
    } else {
      throw new MotionLogError(`unknown motion record kind ${kind}`);
    }
  }
}

/**
 * Parse a whole log: `{chunks: [{t0, keyframe, body}], tornBytes, badChunks}` with every
 * body inflated and checked. A chunk whose body does not inflate or parse ends the log
 * there too (it cannot be trusted, nor what follows).
 */
export async function parseMotionLog(bytes, inflate = inflateDeflate) {
  const { chunks, tornBytes } = readChunks(bytes);
  const out = [];
  let bad = 0;
  for (const c of chunks) {
    try {
      const body = c.zlib ? await inflate(c.body) : c.body;
      const check = bodyRecords(body);
      while (!check.next().done); // every record parses, or the chunk is not trusted
      out.push({ t0: c.t0, keyframe: c.keyframe, body });
    } catch (e) {
      if (!(e instanceof MotionLogError) && !(e instanceof TypeError)) throw e;
      bad = chunks.length - out.length;
      break;
    }
  }
  return { chunks: out, tornBytes, badChunks: bad };
}
