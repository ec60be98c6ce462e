/**
 * Smooth remote faces: poses arrive in motion frames (motion_hz, 20 a second) stamped with
 * each sender's own clock. Per sender we map its clock to ours (the smallest
 * `local - sender` difference seen is the least delayed), render about one pose tick in
 * the past and interpolate between the two poses that straddle that time. Pure: the
 * caller passes the clock readings.
 */
import { N_BLENDSHAPES } from '../net/poseCodec.js';

const U32 = 2 ** 32;

function wrap180(a) {
  let r = a % 360;
  if (r <= -180) r += 360;
  else if (r > 180) r -= 360;
  return r;
}

/** Interpolate two poses (angles along the shortest arc); `f` in [0, 1]. */
export function lerpPose(a, b, f) {
  const weights = new Float32Array(N_BLENDSHAPES);
  for (let i = 0; i < N_BLENDSHAPES; i++) weights[i] = a.weights[i] + (b.weights[i] - a.weights[i]) * f;
  const ang = (x, y) => wrap180(x + wrap180(y - x) * f);
  return {
    t: a.t + (b.t - a.t) * f,
    state: f < 0.5 ? a.state : b.state,
    roll: ang(a.roll, b.roll),
    pitch: a.pitch + (b.pitch - a.pitch) * f,
    yaw: ang(a.yaw, b.yaw),
    x: a.x + (b.x - a.x) * f,
    y: a.y + (b.y - a.y) * f,
    z: a.z + (b.z - a.z) * f,
    weights,
  };
}

/** The poses of one sender, on the sender's unwrapped clock. */
export class PoseTrack {
  constructor({ maxSamples = 16, relayPerSecond = 2 } = {}) {
    this.maxSamples = maxSamples;
    this.relax = relayPerSecond;
    this.samples = []; // {t (unwrapped sender ms), pose}
    this.offset = null; // local - sender, ms
    this.lastLocal = 0;
    this.lastArrival = -Infinity;
  }

  #unwrap(t) {
    const last = this.samples[this.samples.length - 1];
    if (!last) return t;
    let d = (t - (last.t % U32) + U32) % U32;
    if (d >= U32 / 2) d -= U32;
    return last.t + d;
  }

  /** Add a pose that arrived at local time `localNow` (ms). */
  push(pose, localNow) {
    const t = this.#unwrap(pose.t);
    const last = this.samples[this.samples.length - 1];
    if (last && t - last.t > 5000) this.samples = []; // the sender restarted its clock
    else if (last && t <= last.t) return; // duplicate or late: already past it
    const d = localNow - t;
    if (this.offset === null || this.samples.length === 0) this.offset = d;
    else {
      this.offset += (this.relax * Math.max(0, localNow - this.lastLocal)) / 1000;
      if (d < this.offset) this.offset = d;
    }
    this.lastLocal = localNow;
    this.lastArrival = localNow;
    this.samples.push({ t, pose });
    if (this.samples.length > this.maxSamples) this.samples.splice(0, this.samples.length - this.maxSamples);
  }

  /** Interpolated pose for local time `localNow`, `delayMs` behind; null if none. */
  sample(localNow, delayMs) {
    const s = this.samples;
    if (s.length === 0) return null;
    const t = localNow - this.offset - delayMs;
    if (t <= s[0].t) return s[0].pose;
    for (let i = s.length - 1; i > 0; i--) {
      if (s[i - 1].t <= t) {
        const a = s[i - 1], b = s[i];
        if (t >= b.t) return b.pose;
        return lerpPose(a.pose, b.pose, (t - a.t) / (b.t - a.t));
      }
    }
    return s[s.length - 1].pose;
  }
}

/**
 * Every remote face, keyed by participant id. `tickMs` is the motion tick (1000 / motion_hz);
 * a face with no pose for `staleMs` is released (the avatar goes back to idle).
 */
export class RemotePoses {
  constructor({ tickMs = 50, delayMs = null, staleMs = 1500 } = {}) {
    this.tracks = new Map();
    this.configure(tickMs, delayMs);
    this.staleMs = staleMs;
  }

  /** One tick plus some jitter margin behind the freshest pose. */
  configure(tickMs, delayMs = null) {
    this.tickMs = tickMs;
    this.delayMs = delayMs ?? tickMs + 40;
  }

  /**
   * Note a frame's arrival: the pose tick is learnt from the gaps between frames (the
   * server sends one per tick while anyone in the room is tracked).
   */
  observeFrame(localNow) {
    const gap = localNow - (this.lastFrameAt ?? -Infinity);
    this.lastFrameAt = localNow;
    if (gap < 10 || gap > 500) return;
    this.gapMs = this.gapMs === undefined ? gap : this.gapMs * 0.9 + gap * 0.1;
    if (Math.abs(this.gapMs - this.tickMs) > 5) this.configure(Math.round(this.gapMs));
  }

  push(id, pose, localNow) {
    let tr = this.tracks.get(id);
    if (!tr) this.tracks.set(id, (tr = new PoseTrack()));
    tr.push(pose, localNow);
  }

  /** The pose to draw for `id` now, or null (unknown or stale). */
  sample(id, localNow) {
    const tr = this.tracks.get(id);
    if (!tr || localNow - tr.lastArrival > this.staleMs) return null;
    return tr.sample(localNow, this.delayMs);
  }

  remove(id) {
    this.tracks.delete(id);
  }

  clear() {
    this.tracks.clear();
  }
}
