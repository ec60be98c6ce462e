/**
 * Face tracking on this device: camera frames go to the worker (faceWorker.js) one at a
 * time, at most `maxFps` a second; while it is busy newer frames replace older ones, so
 * tracking never lags behind the camera. Only pose records come back.
 *
 * Frames are read with MediaStreamTrackProcessor where the browser has it (in headless
 * Chromium a <video> element can hand out stale frames); elsewhere from a hidden <video>
 * through createImageBitmap.
 */
import { workerFailure } from '../state/trackingMode.js';

const MODEL = '/models/face_landmarker.task';
const READY_TIMEOUT_MS = 60000;

/** An error with the reason code the manager shows (face.reason.*). */
export class TrackingError extends Error {
  constructor(reason, message) {
    super(message || reason);
    this.reason = reason;
  }
}

/**
 * Ask the server whether it has the model before loading the worker and the WASM: a
 * server without it answers 503 `model_unavailable` (it says so in its log at start-up),
 * and the page can tell the person why rather than fail somewhere inside tasks-vision.
 * A HEAD costs no body; the worker's GET then revalidates with the same ETag.
 */
async function modelAvailable() {
  let res;
  try {
    res = await fetch(MODEL, { method: 'HEAD', cache: 'no-cache' });
  } catch (e) {
    throw new TrackingError('failed', e?.message);
  }
  if (res.status === 503) throw new TrackingError('model_unavailable', 'the server has no face model');
  if (!res.ok) throw new TrackingError('failed', `model: HTTP ${res.status}`);
}

export class BrowserTracker {
  /**
   * `onPose(record, info)` gets each encoded pose; info: {found, ms, roll, pitch, yaw}.
   * `onFailed(reason)` is called once if tracking fails after it started (a frame threw):
   * the feed is stopped by then, and one warning is in the console, not one a frame.
   */
  constructor({ onPose, onFailed = () => {}, maxFps = 30 } = {}) {
    this.onPose = onPose;
    this.onFailed = onFailed;
    this.failure = null; // {reason, message} once failed
    this.minGapMs = 1000 / maxFps;
    this.worker = null;
    this.busy = false;
    this.stopped = false;
    this.lastSentAt = -Infinity;
    this.times = []; // worker milliseconds per frame, after the warm-up
    this.tracked = 0;
    this.poseTimes = []; // arrival of poses (ms), last second
    this.blocked = []; // requests the CSP refused in the worker: "directive uri"
  }

  /** Load the worker and the model, then start feeding frames from `videoTrack`. */
  async start(videoTrack) {
    await modelAvailable();
    // A clone of its own: reading it (and stopping it) leaves the camera to other uses.
    this.track = videoTrack.clone();
    this.worker = new Worker(new URL('./faceWorker.js', import.meta.url), { type: 'module', name: 'face-tracking' });
    let started = false;
    const ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new TrackingError('failed', 'face tracking did not start')), READY_TIMEOUT_MS);
      this.worker.onmessage = (e) => {
        const m = e.data;
        if (m.type === 'ready') {
          clearTimeout(timer);
          started = true;
          resolve();
        } else if (m.type === 'error') {
          clearTimeout(timer);
          this.busy = false;
          // Before ready: the probe's answer (the manager says why). After: a frame threw.
          if (started) this.#fail(workerFailure(m), m.message);
          else reject(new TrackingError(workerFailure(m), m.message));
        } else if (m.type === 'pose') this.#pose(m);
        else if (m.type === 'blocked') this.blocked.push(`${m.directive} ${m.uri}`);
      };
      this.worker.onerror = (e) => {
        clearTimeout(timer);
        if (started) this.#fail('failed', e.message || 'worker failed');
        else reject(new TrackingError('failed', e.message || 'worker failed'));
      };
    });
    // The worker finds tasks-vision itself (vision.js); the model is ours to name.
    this.worker.postMessage({ type: 'init', modelUrl: location.origin + MODEL });
    await ready;
    if (this.stopped) return;
    if (typeof MediaStreamTrackProcessor === 'function') this.#readProcessor();
    else this.#readVideo();
  }

  /** Tracking failed after it started: stop feeding frames at once, say so once. */
  #fail(reason, message) {
    if (this.failure || this.stopped) return;
    this.failure = { reason, message };
    this.stop();
    console.warn('face tracking stopped:', reason, message);
    this.onFailed(reason);
  }

  #pose(m) {
    this.busy = false;
    this.tracked++;
    if (this.tracked > 3) {
      this.times.push(m.ms);
      if (this.times.length > 60) this.times.shift();
    }
    const now = performance.now();
    this.poseTimes.push(now);
    while (this.poseTimes.length && now - this.poseTimes[0] > 1000) this.poseTimes.shift();
    if (!this.stopped) this.onPose(new Uint8Array(m.record), m);
  }

  #offer(frame, t) {
    const now = performance.now();
    if (this.busy || this.stopped || now - this.lastSentAt < this.minGapMs) {
      frame.close();
      return;
    }
    this.busy = true;
    this.lastSentAt = now;
    this.worker.postMessage({ type: 'frame', frame, t }, [frame]);
  }

  async #readProcessor() {
    // eslint-disable-next-line no-undef
    const processor = new MediaStreamTrackProcessor({ track: this.track });
    this.reader = processor.readable.getReader();
    while (!this.stopped) {
      let r;
      try {
        r = await this.reader.read();
      } catch {
        break;
      }
      if (r.done) break;
      this.#offer(r.value, r.value.timestamp / 1000);
    }
  }

  #readVideo() {
    const video = document.createElement('video');
    video.muted = true;
    video.playsInline = true;
    video.srcObject = new MediaStream([this.track]);
    video.play().catch(() => {});
    this.video = video;
    const step = async () => {
      if (this.stopped) return;
      if (video.readyState >= 2 && !this.busy) {
        try {
          this.#offer(await createImageBitmap(video), performance.now());
        } catch {
          /* no frame yet */
        }
      }
      if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(step);
      else setTimeout(step, this.minGapMs);
    };
    step();
  }

  /** Frames per second this device could track (from the worker's time per frame). */
  get capacityFps() {
    if (this.times.length < 8) return null;
    const sorted = [...this.times].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    return 1000 / Math.max(1, median);
  }

  /** Poses made in the last second. */
  get fps() {
    return this.poseTimes.length;
  }

  /** Wait until the capacity is known (or `timeoutMs` passed); resolves it (or 0). */
  async measure(timeoutMs = 4000) {
    const until = performance.now() + timeoutMs;
    while (!this.stopped && this.capacityFps === null && performance.now() < until) {
      await new Promise((r) => setTimeout(r, 100));
    }
    return this.capacityFps ?? 0;
  }

  stop() {
    this.stopped = true;
    this.reader?.cancel().catch(() => {});
    if (this.video) this.video.srcObject = null;
    this.track?.stop();
    if (this.worker) {
      this.worker.postMessage({ type: 'close' });
      const w = this.worker;
      setTimeout(() => w.terminate(), 1000);
      this.worker = null;
    }
  }
}
