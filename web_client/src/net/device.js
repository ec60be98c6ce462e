/**
 * This browser's device identity: issued and signed by the server on its first join
 * (docs/security.md, "Device identities"), kept in local storage under `hiroba.device`
 * and presented on every later join, so that bans and "one ballot per person" reach the
 * same browser again. The page cannot make one: a join without it gets a fresh one.
 */

export const DEVICE_KEY = 'hiroba.device';
/** A signed identity (`dv.` id `.` signature) or an old unsigned one (`d_` + 32). */
export const DEVICE_SHAPE = /^(dv\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{32}|d_[A-Za-z0-9_-]{32})$/;

function storage() {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null; // storage disabled: every visit is a new device
  }
}

/** The stored identity, if it has the right shape. */
export function loadDevice() {
  try {
    const value = storage()?.getItem(DEVICE_KEY);
    return typeof value === 'string' && DEVICE_SHAPE.test(value) ? value : null;
  } catch {
    return null;
  }
}

/** Keep the identity a join ack carried (private browsing may refuse: then nothing). */
export function saveDevice(value) {
  if (typeof value !== 'string' || !DEVICE_SHAPE.test(value)) return;
  try {
    storage()?.setItem(DEVICE_KEY, value);
  } catch {
    /* not kept */
  }
}

/** Forget a stored identity the server refused (`bad_device`: e.g. another server's). */
export function forgetDevice() {
  try {
    storage()?.removeItem(DEVICE_KEY);
  } catch {
    /* nothing kept */
  }
}

/** The join payload with this browser's stored identity when it carries none. */
export function withDevice(payload) {
  if (payload.device) return payload;
  const device = loadDevice();
  return device ? { ...payload, device } : payload;
}
