/**
 * Decides when the own position goes up in a motion uplink: at most motion_hz times a
 * second and only when it changed by more than the wire's rounding (1 cm, 0.001 rad).
 */
import { wrapAngle } from './geom.js';

export class MoveGate {
  constructor(tickHz = 10) {
    this.intervalMs = 1000 / (tickHz || 10);
    this.lastAt = -Infinity;
    this.last = null;
  }

  /** Forget the last sent pose (after a rejoin) so the next one goes out. */
  reset() {
    this.lastAt = -Infinity;
    this.last = null;
  }

  /** Returns the payload to send now, or null. */
  poll(now, x, z, h) {
    if (now - this.lastAt < this.intervalMs) return null;
    const l = this.last;
    if (l && Math.abs(l.x - x) < 0.01 && Math.abs(l.z - z) < 0.01 && Math.abs(wrapAngle(l.h - h)) < 0.001) {
      return null;
    }
    const msg = { x: round(x, 100), z: round(z, 100), h: round(wrapAngle(h), 1000) };
    this.last = msg;
    this.lastAt = now;
    return msg;
  }
}

function round(v, k) {
  return Math.round(v * k) / k;
}
