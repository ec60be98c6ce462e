/**
 * Which face-tracking mode to use (docs/protocol.md, "Face tracking"). Pure: the
 * manager in tracking/ measures and asks, this decides.
 *
 * - `browser` when the camera works and this device tracks at least MIN_BROWSER_FPS;
 * - `server` when the camera works, the person allows it, the server offers it to their
 *   role and has room (`serverFull` after a `tracking_full` answer);
 * - `voice` when the microphone works;
 * - `none` otherwise (the avatar idles).
 *
 * A preference (`?tracking=` in the address, for support) moves one mode to the front;
 * it never stands in for the person's consent to send their camera to the server.
 */

export const MODES = Object.freeze(['browser', 'server', 'voice', 'none']);
export const MIN_BROWSER_FPS = 15;

/** Why the face is not tracked the best way, as reported in `tracking` (the server's
 * list is rooms/model.py TrackingReason; tests/integration/test_tracking_reason.py
 * checks they agree). */
export const REASONS = Object.freeze(['unsupported', 'failed', 'slow', 'model_unavailable', 'tracking_full', 'ended', 'no_camera', 'no_mic']);

/** Reasons tracking on this device cannot be had, where the server could track instead
 * (the page offers it and explains, ui/facePanel.js). */
export const DEVICE_REASONS = Object.freeze(['unsupported', 'failed', 'slow', 'model_unavailable']);

/** Should the page offer server-side tracking? Only after the device could not track,
 * when the server offers it to this role, the person has not agreed yet, and it has room. */
export function shouldOffer({ reason = null, mode = 'none', serverAllowed = false, consent = false, serverFull = false } = {}) {
  return DEVICE_REASONS.includes(reason) && mode !== 'server' && mode !== 'browser' && serverAllowed && !consent && !serverFull;
}

/**
 * The reason a tracking worker's error carries: `unsupported` when the browser lacks what
 * tracking needs (the worker's probe said so), `failed` for anything that threw.
 */
export function workerFailure(message) {
  return message && message.reason === 'unsupported' ? 'unsupported' : 'failed';
}

/** Modes worth trying, best first, given what is known so far. */
export function candidates({ preference = 'auto', camera = true, mic = true, browserFps = null, serverAllowed = false, serverFull = false } = {}) {
  const out = [];
  const browserOk = camera && browserFps !== null && browserFps >= MIN_BROWSER_FPS;
  const serverOk = camera && serverAllowed && !serverFull;
  if (preference === 'browser' && camera && browserFps !== 0) out.push('browser');
  if (preference === 'server' && serverOk) out.push('server');
  if (preference === 'voice' && mic) out.push('voice');
  if (browserOk) out.push('browser');
  if (serverOk) out.push('server');
  if (mic) out.push('voice');
  out.push('none');
  return [...new Set(out)];
}

/** Does choosing need the browser warm-up (a frames-per-second measurement) first?
 * Not when a mode is preferred: that one is tried whatever the device manages. */
export function needsWarmup({ preference = 'auto', camera = true, browserFps = null } = {}) {
  return camera && browserFps === null && preference === 'auto';
}

/** Parse `?tracking=` (anything unknown is auto). */
export function preferenceFrom(search) {
  const v = new URLSearchParams(search || '').get('tracking');
  return MODES.includes(v) && v !== 'none' ? v : 'auto';
}

/**
 * What face tracking in a worker needs and `scope` (the worker's global) lacks, in a few
 * words, or null: WebAssembly, and WebGL2 on an OffscreenCanvas. tasks-vision draws
 * every frame into a GL texture even on its CPU delegate; WebKitGTK and Safari before 17
 * have no WebGL in workers, where it would fail on every frame. The test context is
 * let go at once (browsers cap live WebGL contexts, and the plaza holds one).
 */
export function missingCapability(scope) {
  if (typeof scope.WebAssembly !== 'object' || !scope.WebAssembly) return 'WebAssembly';
  if (typeof scope.OffscreenCanvas !== 'function') return 'OffscreenCanvas';
  let gl = null;
  try {
    gl = new scope.OffscreenCanvas(1, 1).getContext('webgl2');
  } catch {
    gl = null;
  }
  if (!gl) return 'WebGL2 on an OffscreenCanvas';
  gl.getExtension?.('WEBGL_lose_context')?.loseContext();
  return null;
}
