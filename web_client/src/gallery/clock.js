/**
 * The gallery page's one timeline for voices and faces (pure, no I/O).
 *
 * Each frame says when the server built it (`server_ms`, the server's wall clock mod 2^32)
 * and, per audio packet, how long the packet had waited there (`age_ms`). The page maps the
 * server's clock onto its own by the quickest transit seen lately (the minimum of arrival
 * minus server_ms over a window): a frame's *nominal* local time is when it would have
 * arrived with no queueing at all. Everything is played, voices and stage poses alike, at
 * nominal time + one delay, so a mouth and its voice meet again on the screen and in the
 * ear whatever the network did in between; the delay follows the spread of transit times
 * (late frames), rising at once and falling slowly.
 */
export const MIN_DELAY_MS = 150;
export const MAX_DELAY_MS = 400;
/** Margin over the observed spread: the audio scheduler's own slack and decode time. */
export const MARGIN_MS = 50;
const WINDOW = 120; // frames kept for the minimum and the spread (about 7 s at 60 ms)
const FALL = 0.02; // how fast the delay comes down per frame, of the difference

export class MediaClock {
  constructor({ frameMs = 60 } = {}) {
    this.frameMs = frameMs;
    this.reset();
  }

  reset() {
    this.transits = [];
    this.lastServer = null;
    this.serverBase = 0; // unwrapped server ms = raw + serverBase
    this.offset = null; // local ms - unwrapped server ms, at the quickest transit
    this.delayMs = MIN_DELAY_MS + this.frameMs;
    this.spreadMs = 0;
  }

  /** The server's u32 ms as a monotonic number (wraps every 49.7 days). */
  unwrap(serverMs) {
    if (this.lastServer !== null && serverMs < this.lastServer && this.lastServer - serverMs > 0x80000000) {
      this.serverBase += 0x100000000;
    }
    this.lastServer = serverMs;
    return serverMs + this.serverBase;
  }

  /**
   * A frame arrived at local `arrivalMs` (performance.now()); returns its nominal local time.
   * `maxAgeMs`: the oldest audio packet it carries (its voice must be played that much
   * earlier than the frame's poses, so the delay covers it).
   */
  observe(serverMs, arrivalMs, maxAgeMs = 0) {
    const s = this.unwrap(serverMs);
    const transit = arrivalMs - s;
    this.transits.push(transit);
    if (this.transits.length > WINDOW) this.transits.shift();
    let min = Infinity;
    for (const v of this.transits) min = Math.min(min, v);
    this.offset = min;
    const sorted = [...this.transits].sort((a, b) => a - b);
    this.spreadMs = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.98))] - min;
    const want = Math.min(MAX_DELAY_MS, Math.max(MIN_DELAY_MS, this.spreadMs + Math.max(maxAgeMs, this.frameMs) + MARGIN_MS));
    this.delayMs = want > this.delayMs ? want : this.delayMs + (want - this.delayMs) * FALL;
    return s + this.offset;
  }
}

/**
 * The time line of one speaker's packets: RTP timestamps (48 kHz) on the page's clock.
 * `place(rtpTs, wantedMs)` says where packet `rtpTs` plays, keeping the packets of a talk
 * spurt back to back (anchored on the first) unless the anchor drifted more than
 * `RESYNC_MS` from where the shared timeline wants it, or a new spurt starts. A packet
 * older than the last placed one is a duplicate or came too late: null.
 */
export const RTP_RATE = 48000;
export const RESYNC_MS = 40;
const SPURT_GAP = RTP_RATE / 2; // half a second without packets: a new talk spurt

export class SpeakerLine {
  constructor() {
    this.anchor = null; // {rtp (unwrapped), ms}
    this.last = null; // last rtp placed (unwrapped)
    this.lost = 0;
    this.resyncs = 0;
  }

  /** An RTP timestamp unwrapped near the last one. */
  unwrap(rtpTs) {
    if (this.last === null) return rtpTs;
    const d = ((rtpTs - this.last + 0x80000000) >>> 0) - 0x80000000; // signed 32-bit step
    return this.last + d;
  }

  /** `{rtp, ms, lost}` (ms: where it plays; lost: packets missing just before it) or null. */
  place(rtpTs, wantedMs, packetSamples = 960) {
    const rtp = this.unwrap(rtpTs);
    let lost = 0;
    if (this.last !== null) {
      const step = rtp - this.last;
      if (step <= 0) return null;
      if (step < SPURT_GAP) lost = Math.max(0, Math.round(step / packetSamples) - 1);
      else this.anchor = null; // a new spurt: anchored afresh below
    }
    this.last = rtp;
    this.lost += lost;
    let ms = this.anchor ? this.anchor.ms + ((rtp - this.anchor.rtp) * 1000) / RTP_RATE : null;
    if (ms === null || Math.abs(ms - wantedMs) > RESYNC_MS) {
      if (ms !== null) this.resyncs++;
      this.anchor = { rtp, ms: wantedMs };
      ms = wantedMs;
    }
    return { rtp, ms, lost };
  }
}
