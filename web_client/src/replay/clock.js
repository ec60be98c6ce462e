/**
 * One clock for the whole replay. Every speaker's Ogg file spans the whole recording
 * (docs/recording.md), so they all play from the same time: the first audio element's
 * `currentTime` is the master clock while audio exists (what is heard is what is drawn),
 * otherwise a monotonic clock scaled by the rate. The other elements are kept within
 * `RESYNC_S` of the master by seeking them. Two drifts are measured, not assumed:
 * `driftMs`, how far any voice is from the clock that draws the avatars (what a viewer
 * would see as lips out of sync; the re-sync bounds it), and `wallDriftMs`, how far the
 * audio's clock is from a monotonic clock anchored at the last play, seek or rate change
 * (whether the audio plays at its true speed: a starved audio renderer falls behind).
 *
 * `media` are HTMLMediaElement-like ({currentTime, playbackRate, paused, play(), pause()});
 * `now()` is in ms. Pure apart from what it does to the media it is given.
 */
export const RESYNC_S = 0.05;
export const RATES = [0.5, 1, 1.5, 2];

export class ReplayClock {
  constructor({ duration, media = [], now = () => performance.now() }) {
    this.duration = duration; // seconds
    this.media = media;
    this.now = now;
    this.rate = 1;
    this.playing = false;
    this.anchorT = 0; // seconds, at anchorAt
    this.anchorAt = now();
    this.driftMs = 0; // latest: max |voice − replay clock| over the elements
    this.maxDriftMs = 0; // since the last anchor
    this.wallDriftMs = 0; // latest: max |voice − monotonic clock|
    this.maxWallDriftMs = 0;
    this.resyncs = 0;
  }

  get master() {
    return this.media[0] ?? null;
  }

  /** The monotonic clock's time (seconds), from the last anchor. */
  wallTime() {
    const t = this.playing ? this.anchorT + ((this.now() - this.anchorAt) / 1000) * this.rate : this.anchorT;
    return Math.min(Math.max(0, t), this.duration);
  }

  /** The replay's time now (seconds). */
  time() {
    const m = this.master;
    if (this.playing && m && !m.paused && Number.isFinite(m.currentTime)) return Math.min(m.currentTime, this.duration);
    return this.wallTime();
  }

  #anchor(t) {
    this.anchorT = t;
    this.anchorAt = this.now();
    this.maxDriftMs = 0;
    this.maxWallDriftMs = 0;
  }

  async play() {
    if (this.time() >= this.duration - 0.01) this.seek(0);
    this.#anchor(this.time());
    this.playing = true;
    for (const el of this.media) el.playbackRate = this.rate;
    // Rejected play() (autoplay policy, a file that will not decode): the monotonic clock
    // carries on and the page shows the meeting without that voice.
    await Promise.all(this.media.map((el) => el.play().catch(() => null)));
    this.#anchor(this.time());
  }

  pause() {
    const t = this.time();
    this.playing = false;
    for (const el of this.media) el.pause();
    this.#anchor(t);
  }

  seek(t) {
    t = Math.min(Math.max(0, t), this.duration);
    for (const el of this.media) el.currentTime = t;
    this.#anchor(t);
  }

  setRate(rate) {
    if (!RATES.includes(rate)) return;
    const t = this.time();
    this.rate = rate;
    for (const el of this.media) el.playbackRate = rate;
    this.#anchor(t);
  }

  /**
   * Per frame: measure the drift, seek an element that strayed more than RESYNC_S from the
   * master, and stop at the end. Returns the time to draw.
   */
  tick() {
    const t = this.time();
    if (this.playing && t >= this.duration) this.pause();
    if (!this.playing) return this.time();
    const wall = this.wallTime();
    let drift = 0, wallDrift = 0;
    const m = this.master;
    for (const el of this.media) {
      if (el.paused || el.seeking) continue;
      drift = Math.max(drift, Math.abs(el.currentTime - t) * 1000);
      wallDrift = Math.max(wallDrift, Math.abs(el.currentTime - wall) * 1000);
      if (el !== m && m && Math.abs(el.currentTime - m.currentTime) > RESYNC_S) {
        el.currentTime = m.currentTime;
        this.resyncs++;
      }
    }
    this.driftMs = drift;
    this.maxDriftMs = Math.max(this.maxDriftMs, drift);
    this.wallDriftMs = wallDrift;
    this.maxWallDriftMs = Math.max(this.maxWallDriftMs, wallDrift);
    return t;
  }
}
