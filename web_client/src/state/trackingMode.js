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
