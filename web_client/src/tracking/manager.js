/**
 * Face tracking for this page: picks a mode (state/trackingMode.js), runs it, reports it
 * to the server (`tracking`), hands the poses to the motion plane (they go up with the next
 * uplink, at most one a motion tick) and to the own avatar. Nothing starts until the
 * person turns tracking on; camera and microphone are asked for only then, and the
 * trackers (tasks-vision, its WASM and the model) are loaded only then.
 */
import { TRACKING } from '../net/events.js';
import { decodePose } from '../net/poseCodec.js';
import { REASONS, candidates, needsWarmup, shouldOffer } from '../state/trackingMode.js';

const CAMERA = { video: { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30, max: 30 } }, audio: false };

export class FaceTracking {
  /**
   * @param {object} o
   * @param {object} o.net HirobaSocket (request)
   * @param {(record: Uint8Array) => boolean} o.sendPose hand a pose record on (false: offline)
   * @param {string} o.preference 'auto' or a mode to try first
   * @param {(pose: object|null) => void} o.onSelfPose own pose to draw (null: none)
   * @param {(status: object) => void} o.onChange status for the UI
   */
  constructor({ net, sendPose = () => false, preference = 'auto', onSelfPose = () => {}, onChange = () => {} }) {
    this.net = net;
    this.sendPose = sendPose;
    this.preference = preference;
    this.onSelfPose = onSelfPose;
    this.onChange = onChange;
    this.serverAllowed = false; // the server offers server tracking to this role
    this.allowServer = false; // the person agrees to send their camera
    // offer: tracking on this device is unavailable or too slow and the server could
    // track instead, but the person has not agreed to send their camera (yet).
    this.status = { on: false, mode: 'none', phase: 'off', reason: null, capacityFps: null, offer: false };
    this.gen = 0;
    this.camera = null;
    this.tracker = null;
    this.sent = 0;
  }

  #set(patch) {
    Object.assign(this.status, patch);
    this.onChange({ ...this.status });
  }

  /** Requests the page's CSP refused in the tracking worker (tasks-vision's reports). */
  get blocked() {
    return this.tracker?.blocked ?? [];
  }

  /** Poses per second being produced now. */
  get fps() {
    return this.tracker?.fps ?? (this.status.mode === 'voice' ? 20 : 0);
  }

  setServerAllowed(allowed) {
    this.serverAllowed = !!allowed;
  }

  /** The person's consent to send their camera. Given while the page offers server
   * tracking (after the browser could not track), it switches to the server at once. */
  async setAllowServer(allowed) {
    this.allowServer = !!allowed;
    if (!this.allowServer || !this.status.on || !this.status.offer) return;
    const reason = this.status.reason;
    this.#stopAll();
    this.#set({ phase: 'starting', offer: false });
    await this.#start(++this.gen, { preference: 'server', reason });
  }

  /** Turn tracking on or off. */
  async setOn(on) {
    if (on === this.status.on && this.status.phase !== 'off') return;
    this.#stopAll();
    if (!on) {
      this.#set({ on: false, mode: 'none', phase: 'off', reason: null, offer: false });
      this.#report('none');
      return;
    }
    this.#set({ on: true, mode: 'none', phase: 'starting', reason: null, offer: false });
    await this.#start(++this.gen);
  }

  /** After a rejoin the server knows nothing of us: report again, or restart. */
  async rejoined() {
    if (!this.status.on) return;
    if (this.status.mode === 'server' || this.status.phase === 'starting') {
      this.#stopAll();
      this.#set({ phase: 'starting' });
      await this.#start(++this.gen);
    } else this.#report(this.status.mode, this.status.reason);
  }

  /** The server ended our camera session (`rtc:closed`). */
  async onServerClosed() {
    if (this.status.mode !== 'server') return;
    this.#stopAll(true);
    this.#set({ phase: 'starting', reason: 'ended' });
    await this.#start(++this.gen, { serverFull: true });
  }

  /** Stop everything, leave the room: no camera, no microphone. */
  shutdown() {
    this.#stopAll();
    this.#set({ on: false, mode: 'none', phase: 'off', reason: null, offer: false });
  }

  /** Tell the server the mode, and why not better: staff see both in the console. */
  #report(mode, reason = null) {
    const why = REASONS.includes(reason) ? { reason } : {};
    if (this.net?.connected) this.net.request(TRACKING, { mode, ...why }, 5000).catch(() => {});
  }

  /** Tracking on this device failed while running (a frame threw; the tracker stopped
   * its feed and warned once): choose again without it, saying why. */
  async #browserFailed(gen, reason) {
    if (gen !== this.gen || this.status.mode !== 'browser') return; // the warm-up handles its own
    this.#stopAll();
    this.#set({ phase: 'starting', reason });
    await this.#start(++this.gen, { browserFps: 0, reason, preference: this.preference === 'browser' ? 'auto' : this.preference });
  }

  #stopAll(quiet = false) {
    this.gen++;
    this.tracker?.stop(quiet);
    this.tracker = null;
    this.camera?.getTracks().forEach((t) => t.stop());
    this.camera = null;
    this.onSelfPose(null);
  }

  #emitPose(record, local) {
    this.sent += this.sendPose(record) ? 1 : 0;
    this.onSelfPose(local ? decodePose(record) : null);
  }

  async #start(gen, known = {}) {
    const ctx = { preference: this.preference, camera: false, mic: true, browserFps: null, serverAllowed: this.serverAllowed && this.allowServer, serverFull: false, ...known };
    let reason = known.reason ?? (known.serverFull ? 'ended' : null);
    if (this.preference !== 'voice') {
      try {
        this.camera = await navigator.mediaDevices.getUserMedia(CAMERA);
        ctx.camera = true;
      } catch {
        reason = 'no_camera';
      }
    }
    if (gen !== this.gen) return;
    let warm = null;
    if (needsWarmup(ctx)) {
      this.#set({ phase: 'measuring' });
      warm = await this.#browser(gen).catch((e) => {
        // The worker's probe (or the model check) said why: the page and staff are told.
        reason = REASONS.includes(e?.reason) ? e.reason : 'failed';
        if (reason !== 'model_unavailable') console.warn('face tracking on this device:', reason, e?.message || e);
        return null;
      });
      if (gen !== this.gen) return warm?.stop();
      ctx.browserFps = warm ? await warm.measure() : 0;
      if (gen !== this.gen) return warm?.stop();
      if (warm?.failure) {
        // A frame threw during the warm-up: the tracker stopped and warned already.
        reason = warm.failure.reason;
        ctx.browserFps = 0;
        warm = null;
      }
      this.#set({ capacityFps: ctx.browserFps ? Math.round(ctx.browserFps) : 0 });
      // Started but too slow, or so slow that no measurement came within the warm-up:
      // either way the person is told why (facePanel.js), not silently given voice.
      if (warm && ctx.browserFps < 15) reason = 'slow';
    }
    for (;;) {
      const mode = candidates(ctx)[0];
      if (warm && mode !== 'browser') {
        warm.stop();
        warm = null;
      }
      try {
        if (mode === 'browser') {
          this.tracker = warm || (await this.#browser(gen));
          warm = null;
        } else if (mode === 'server') this.tracker = await this.#server(gen);
        else if (mode === 'voice') this.tracker = await this.#voice(gen);
        if (gen !== this.gen) return this.tracker?.stop();
        // The server sets 'server' itself; the reason it was chosen is ours to add.
        if (mode !== 'server' || reason) this.#report(mode, reason);
        if (mode === 'voice' || mode === 'none') {
          this.camera?.getTracks().forEach((t) => t.stop()); // the camera light goes off
          this.camera = null;
        }
        // Why the browser did not do it, and the server could: offer it (facePanel.js).
        const offer = shouldOffer({ reason, mode, serverAllowed: this.serverAllowed, consent: this.allowServer, serverFull: ctx.serverFull });
        this.#set({ mode, phase: mode === 'none' ? 'idle' : 'running', reason, offer });
        return;
      } catch (e) {
        if (gen !== this.gen) return;
        if (mode === 'browser') {
          ctx.browserFps = 0;
          ctx.preference = ctx.preference === 'browser' ? 'auto' : ctx.preference;
          reason = REASONS.includes(e?.reason) && e.reason !== 'tracking_full' ? e.reason : 'failed';
        } else if (mode === 'server') {
          ctx.serverFull = true;
          reason = e?.reason === 'tracking_full' ? 'tracking_full' : e?.reason === 'model_unavailable' ? 'model_unavailable' : 'failed';
        } else if (mode === 'voice') {
          ctx.mic = false;
          reason = reason || 'no_mic';
        }
        console.warn('face tracking:', mode, e?.reason || e);
      }
    }
  }

  async #browser(gen) {
    const { BrowserTracker } = await import('./browserTracker.js');
    const t = new BrowserTracker({
      onPose: (record) => {
        if (gen === this.gen && this.status.mode === 'browser') this.#emitPose(record, true);
      },
      onFailed: (reason) => this.#browserFailed(gen, reason),
    });
    try {
      await t.start(this.camera.getVideoTracks()[0]);
    } catch (e) {
      t.stop();
      throw e;
    }
    return t;
  }

  async #server(gen) {
    const { ServerTracker } = await import('./serverTracker.js');
    const t = new ServerTracker(this.net, {
      onFailed: () => {
        if (gen === this.gen) this.onServerClosed();
      },
    });
    await t.start(this.camera.getVideoTracks()[0]);
    return t;
  }

  async #voice(gen) {
    const { VoiceTracker } = await import('./voiceTracker.js');
    const t = new VoiceTracker({
      onPose: (record) => {
        if (gen === this.gen) this.#emitPose(record, true);
      },
    });
    await t.start();
    return t;
  }
}
