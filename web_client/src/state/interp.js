/**
 * Smooth remote motion: positions arrive in motion frames (motion_hz, 20 Hz) stamped with
 * the server's tick time; we render them one to two ticks in the past and interpolate
 * between the two samples that straddle the render time. Pure: the caller passes the clock
 * readings.
 */
import { lerpAngle } from './geom.js';

/**
 * Maps server timestamps to the local clock. The smallest `local - server` difference seen
 * is the one with the least network delay; it is relaxed slowly so clock drift is followed.
 */
export class ServerClock {
  constructor(relaxPerSecond = 2) {
    this.offset = null;
    this.lastLocal = 0;
    this.relax = relaxPerSecond;
  }

  observe(serverT, localNow) {
    const d = localNow - serverT;
    if (this.offset === null) this.offset = d;
    else {
      this.offset += (this.relax * Math.max(0, localNow - this.lastLocal)) / 1000;
      if (d < this.offset) this.offset = d;
    }
    this.lastLocal = localNow;
  }

  /** Server time corresponding to a local time. */
  toServer(localNow) {
    return localNow - (this.offset ?? 0);
  }
}

/** Position history of one remote participant. */
export class Track {
  /** @param {number} tickMs expected interval between samples while moving */
  constructor(tickMs = 100, maxSamples = 12) {
    this.tickMs = tickMs;
    this.maxSamples = maxSamples;
    this.samples = [];
  }

  /** Add a sample at server time t (ms). Out-of-order samples are dropped. */
  push(t, x, z, h) {
    const last = this.samples[this.samples.length - 1];
    if (last && t <= last.t) {
      if (t === last.t) Object.assign(last, { x, z, h });
      return;
    }
    // After standing still there was no sample for a while: anchor the previous position
    // one tick before this sample so motion starts now instead of being smeared over the gap.
    // A gap of a tick or two is jitter (a move that reached the server late), not a stop.
    if (last && t - last.t > this.tickMs * 2.5) {
      this.samples.push({ t: t - this.tickMs, x: last.x, z: last.z, h: last.h });
    }
    this.samples.push({ t, x, z, h });
    if (this.samples.length > this.maxSamples) this.samples.splice(0, this.samples.length - this.maxSamples);
  }

  /** Jump to a position (seating, teleport, snapshot). */
  reset(t, x, z, h) {
    this.samples = [{ t, x, z, h }];
  }

  /**
   * Interpolated pose at server time t. Past the newest sample of someone who was moving
   * (a frame is late), the motion is carried on for at most one tick: a late frame does
   * not stop a walker dead. If nothing comes, they really stopped: the overshoot (one
   * tick's step at most) is taken back over the next tick and the last sample held.
   */
  sample(t) {
    const s = this.samples;
    if (s.length === 0) return null;
    if (t <= s[0].t) return { x: s[0].x, z: s[0].z, h: s[0].h };
    const last = s[s.length - 1];
    if (t >= last.t) {
      const prev = s[s.length - 2];
      if (!prev || last.t - prev.t > this.tickMs * 2.5) return { x: last.x, z: last.z, h: last.h };
      const late = t - last.t;
      const ahead = late <= this.tickMs ? late : Math.max(0, 2 * this.tickMs - late);
      const f = ahead / (last.t - prev.t);
      return { x: last.x + (last.x - prev.x) * f, z: last.z + (last.z - prev.z) * f, h: lerpAngle(prev.h, last.h, 1 + f) };
    }
    let i = s.length - 2;
    while (i > 0 && s[i].t > t) i--;
    const a = s[i];
    const b = s[i + 1];
    const f = (t - a.t) / (b.t - a.t);
    // Drop samples that the render time has passed for good, keeping `a`.
    if (i > 0) s.splice(0, i);
    return { x: a.x + (b.x - a.x) * f, z: a.z + (b.z - a.z) * f, h: lerpAngle(a.h, b.h, f) };
  }
}

/**
 * All remote tracks of a room plus the clock that places them in local time. The render
 * delay starts at one tick plus a margin and grows (up to two ticks plus the margin) when
 * a moving track runs out of samples, i.e. when moves miss a tick on the way; it shrinks
 * back slowly once the network is steady. An adaptive jitter buffer, in short.
 */
export class RemoteMotion {
  constructor(tickHz = 10, delayMs = null) {
    this.clock = new ServerClock();
    this.tracks = new Map();
    this.configure(tickHz, delayMs);
  }

  configure(tickHz, delayMs = null) {
    this.tickMs = 1000 / (tickHz || 10);
    // One tick plus a little jitter margin: the "about 100 ms" buffer at 10 Hz.
    this.baseDelayMs = delayMs ?? this.tickMs + 20;
    this.maxDelayMs = Math.max(this.baseDelayMs, 2 * this.tickMs + 20);
    this.delayMs = this.baseDelayMs;
    this.lastGrowAt = -Infinity;
    this.lastShrinkAt = null;
  }

  clear() {
    this.tracks.clear();
  }

  /** Forget every track and the clock (a new join: the server's tick may start over). */
  reset() {
    this.tracks.clear();
    this.clock = new ServerClock();
  }

  /** Start (or restart) a track at a known position. */
  place(id, t, x, z, h) {
    let tr = this.tracks.get(id);
    if (!tr) this.tracks.set(id, (tr = new Track(this.tickMs)));
    tr.reset(t, x, z, h);
  }

  /** Record server positions of one delta; `moved` holds [id, x, z, h]. */
  onMoved(t, moved, localNow) {
    this.clock.observe(t, localNow);
    for (const [id, x, z, h] of moved) {
      let tr = this.tracks.get(id);
      if (!tr) this.tracks.set(id, (tr = new Track(this.tickMs)));
      tr.push(t, x, z, h);
    }
  }

  remove(id) {
    this.tracks.delete(id);
  }

  /** Rendered pose of `id` at local time `localNow`, or null if unknown. */
  sample(id, localNow) {
    const tr = this.tracks.get(id);
    if (!tr) return null;
    this.#relax(localNow);
    const t = this.clock.toServer(localNow) - this.delayMs;
    const s = tr.samples;
    const n = s.length;
    if (n >= 2 && t > s[n - 1].t && t - s[n - 1].t < this.tickMs * 2.5) {
      const a = s[n - 2], b = s[n - 1];
      // still walking at the last sample, yet nothing newer: the buffer ran dry
      if (b.t - a.t <= this.tickMs * 2.5 && (a.x !== b.x || a.z !== b.z)) this.#grow(localNow);
    }
    return tr.sample(t);
  }

  #grow(now) {
    if (now - this.lastGrowAt < this.tickMs) return; // once per tick, however many tracks
    this.lastGrowAt = now;
    this.delayMs = Math.min(this.maxDelayMs, this.delayMs + 10);
  }

  #relax(now) {
    if (this.lastShrinkAt === null) this.lastShrinkAt = now;
    const quiet = now - this.lastGrowAt > 5000;
    if (quiet && this.delayMs > this.baseDelayMs) {
      this.delayMs = Math.max(this.baseDelayMs, this.delayMs - (now - this.lastShrinkAt) / 200);
    }
    this.lastShrinkAt = now;
  }
}
