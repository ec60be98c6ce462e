/**
 * Time → state of a parsed motion log (replay/motionLog.js): each stage avatar's pose and
 * each avatar's plaza position at any time, interpolated between the recorded samples.
 * Pure. The whole log is indexed once (per slot, sorted by time), so a seek is a binary
 * search, not a re-read from the last keyframe as `MotionLog.state_at` does in Python.
 *
 * Poses are kept as references into the inflated chunk bodies and decoded only when drawn:
 * an hour of twelve members at 20 Hz is ~860k records, too many objects for a phone (the
 * index is ~8 bytes per record, plain numbers).
 */
import { POSE_SIZE, readPose } from '../net/poseCodec.js';
import { lerpPose } from '../state/poseTrack.js';
import { bodyRecords, KIND_GONE, KIND_POSE, KIND_POSITIONS } from './motionLog.js';

/**
 * Poses are recorded only when they change (20 Hz while tracked). A longer gap is a pause
 * (tracking lost, camera off): hold the last pose rather than morph slowly to the next.
 */
export const MAX_POSE_GAP_MS = 500;
/** Slots first seen this soon after the log's first record were there at its start. */
export const START_WINDOW_MS = 1500;
const NONE = new Set();
/** Positions come at 2 Hz; a longer gap is someone who stood still, or a walk not seen. */
export const MAX_POSITION_GAP_MS = 1500;
const H_SCALE = 1e4;
const CM = 100;
/** A pose reference is body index × REF + offset (bodies are < 16 MiB, MAX_CHUNK). */
const REF = 2 ** 24;

/** Index of the last element of sorted `arr` that is <= v (-1 if none). */
export function lastAtOrBefore(arr, v) {
  let lo = 0, hi = arr.length - 1, found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (arr[mid] <= v) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

function wrapPi(a) {
  let r = a % (2 * Math.PI);
  if (r <= -Math.PI) r += 2 * Math.PI;
  else if (r > Math.PI) r -= 2 * Math.PI;
  return r;
}

class SlotTrack {
  constructor() {
    this.poseT = []; // ms, ascending
    this.poseRef = []; // where each 69-byte record is (REF)
    this.posT = [];
    this.posX = []; // metres
    this.posZ = [];
    this.posH = []; // radians
    this.goneT = []; // times the avatar left the stage (or the room)
  }

  /** The first gone in (a, b], if any: a pose or position before it does not carry over. */
  goneBetween(a, b) {
    const i = lastAtOrBefore(this.goneT, b);
    return i >= 0 && this.goneT[i] > a;
  }
}

export class MotionTimeline {
  /** @param {{chunks: {body: Uint8Array}[]}} log  from parseMotionLog */
  constructor(log) {
    this.slots = new Map();
    this.bodies = log.chunks.map((c) => c.body);
    this.lastT = 0;
    this.bodies.forEach((body, i) => {
      for (const r of bodyRecords(body)) this.#add(r, i);
    });
  }

  #track(slot) {
    let tr = this.slots.get(slot);
    if (!tr) this.slots.set(slot, (tr = new SlotTrack()));
    return tr;
  }

  #add(r, bodyIndex) {
    this.lastT = Math.max(this.lastT, r.t);
    if (r.kind === KIND_POSE) {
      const tr = this.#track(r.slot);
      const n = tr.poseT.length;
      // A keyframe restates the last pose with its old time: already indexed, skip it.
      if (n && r.t <= tr.poseT[n - 1]) return;
      tr.poseT.push(r.t);
      tr.poseRef.push(bodyIndex * REF + r.at);
    } else if (r.kind === KIND_POSITIONS) {
      for (const [slot, x, z, h] of r.entries) {
        const tr = this.#track(slot);
        const n = tr.posT.length;
        if (n && r.t <= tr.posT[n - 1]) continue;
        tr.posT.push(r.t);
        tr.posX.push(x / CM);
        tr.posZ.push(z / CM);
        tr.posH.push(h / H_SCALE);
      }
    } else if (r.kind === KIND_GONE) {
      const tr = this.#track(r.slot);
      const n = tr.goneT.length;
      if (!n || r.t > tr.goneT[n - 1]) tr.goneT.push(r.t);
    }
  }

  #pose(ref) {
    const body = this.bodies[Math.floor(ref / REF)];
    return readPose(new DataView(body.buffer, body.byteOffset + (ref % REF), POSE_SIZE));
  }

  /** Slots that had a pose at some time: the stage avatars of the recording. */
  get stageSlots() {
    return [...this.slots].filter(([, tr]) => tr.poseT.length).map(([s]) => s).sort((a, b) => a - b);
  }

  /**
   * The pose of `slot` at `tMs`, interpolated between the two records around it (not
   * across a pause longer than MAX_POSE_GAP_MS, nor across a `gone`); null when the slot
   * has no pose then (not yet on the stage, or gone).
   */
  poseAt(slot, tMs) {
    const tr = this.slots.get(slot);
    if (!tr) return null;
    const i = lastAtOrBefore(tr.poseT, tMs);
    if (i < 0 || tr.goneBetween(tr.poseT[i], tMs)) return null;
    const a = this.#pose(tr.poseRef[i]);
    const tb = tr.poseT[i + 1];
    if (tb === undefined || tb - tr.poseT[i] > MAX_POSE_GAP_MS || tr.goneBetween(tr.poseT[i], tb)) return a;
    const f = (tMs - tr.poseT[i]) / (tb - tr.poseT[i]);
    return f <= 0 ? a : lerpPose(a, this.#pose(tr.poseRef[i + 1]), f);
  }

  /** The position `{x, z, h}` (metres, radians) of `slot` at `tMs`, or null. */
  positionAt(slot, tMs) {
    const tr = this.slots.get(slot);
    if (!tr) return null;
    const i = lastAtOrBefore(tr.posT, tMs);
    if (i < 0 || tr.goneBetween(tr.posT[i], tMs)) return null;
    const x = tr.posX[i], z = tr.posZ[i], h = tr.posH[i];
    const tb = tr.posT[i + 1];
    if (tb === undefined || tb - tr.posT[i] > MAX_POSITION_GAP_MS) return { x, z, h };
    const f = (tMs - tr.posT[i]) / (tb - tr.posT[i]);
    const j = i + 1;
    return { x: x + (tr.posX[j] - x) * f, z: z + (tr.posZ[j] - z) * f, h: wrapPi(h + wrapPi(tr.posH[j] - h) * f) };
  }

  /** When `slot` was first seen (its first pose or position), or Infinity. */
  firstSeen(slot) {
    const tr = this.slots.get(slot);
    if (!tr) return Infinity;
    return Math.min(tr.poseT[0] ?? Infinity, tr.posT[0] ?? Infinity);
  }

  /**
   * The slots of the log's first state: seen within `windowMs` of its first record. The
   * motion plane logs positions a few times a second and poses only when they change, so
   * at t = 0 nothing has been logged yet of people who were there all along.
   */
  startSlots(windowMs = START_WINDOW_MS) {
    let first = Infinity;
    for (const slot of this.slots.keys()) first = Math.min(first, this.firstSeen(slot));
    return new Set([...this.slots.keys()].filter((slot) => this.firstSeen(slot) <= first + windowMs));
  }

  /**
   * Every slot present at `tMs`: `{slot, pose|null, pos|null}` (at least one of them).
   * Slots in `fromStart` (there when the recording began) are drawn before their first
   * record too, as that record has them: the replay opens on the room as it was, not empty.
   */
  at(tMs, fromStart = NONE) {
    const out = [];
    for (const slot of this.slots.keys()) {
      let pose = this.poseAt(slot, tMs);
      let pos = this.positionAt(slot, tMs);
      if (fromStart.has(slot) && tMs < this.firstSeen(slot)) {
        // as the first state has them: a pose that came much later was not there yet
        const tr = this.slots.get(slot);
        const first = this.firstSeen(slot);
        pose = tr.poseT.length && tr.poseT[0] - first <= START_WINDOW_MS ? this.#pose(tr.poseRef[0]) : null;
        pos = tr.posT.length && tr.posT[0] - first <= START_WINDOW_MS ? { x: tr.posX[0], z: tr.posZ[0], h: tr.posH[0] } : null;
      }
      if (pose || pos) out.push({ slot, pose, pos });
    }
    return out;
  }
}
