/**
 * Local prediction of the own avatar: integrates input immediately, never faster than the
 * server's `max_speed`, inside the room bounds and outside areas the role may not enter,
 * and reconciles with the authoritative positions the server echoes back.
 */
import { clamp, forwardOf, headingTo, inRect, wrapAngle } from './geom.js';

export const WALK_SPEED = 3.0; // m/s, under the default max_speed of 4
export const TURN_SPEED = 2.4; // rad/s at full input
export const RECONCILE_TOLERANCE = 0.5; // m
const SNAP_DISTANCE = 4; // m: further than this, jump instead of easing
const EASE_SECONDS = 0.25;
const HISTORY_MS = 2000;
const ARRIVE = 0.15; // m: tap-to-walk target reached

export class LocalMover {
  /**
   * @param {object} o
   * @param {number} o.x @param {number} o.z @param {number} o.h  start pose
   * @param {number} o.maxSpeed  metres per second allowed by the server
   * @param {{min_x:number,max_x:number,min_z:number,max_z:number}|null} o.bounds
   * @param {Array<object>} [o.blocked]  rectangles (centre/size) the avatar may not enter
   * @param {boolean} [o.seated]  seated participants do not move
   */
  constructor({ x, z, h, maxSpeed, bounds = null, blocked = [], seated = false, walkSpeed = WALK_SPEED }) {
    this.x = x;
    this.z = z;
    this.h = wrapAngle(h);
    this.maxSpeed = maxSpeed > 0 ? maxSpeed : 4;
    this.walkSpeed = Math.min(walkSpeed, this.maxSpeed);
    this.bounds = bounds;
    this.blocked = blocked.filter(Boolean);
    this.seated = seated;
    this.target = null;
    this.ease = null;
    this.sent = [];
  }

  /** Walk toward a ground point (tap-to-walk); cleared by any direct input. */
  setTarget(x, z) {
    if (this.seated) return;
    const p = this.#confine(x, z, x, z);
    this.target = { x: p.x, z: p.z };
  }

  clearTarget() {
    this.target = null;
  }

  /**
   * Advance by dt seconds. `input` holds forward (-1..1, positive ahead), strafe (-1..1,
   * positive right) and turn (-1..1, positive left) plus an optional `turnBy` in radians
   * (mouse drag). Returns whether the pose changed.
   */
  step(dt, input = {}) {
    const x0 = this.x, z0 = this.z, h0 = this.h;
    dt = clamp(dt, 0, 0.25);
    const forward = clamp(input.forward || 0, -1, 1);
    const strafe = clamp(input.strafe || 0, -1, 1);
    const turn = clamp(input.turn || 0, -1, 1);
    if (forward || strafe || turn) this.target = null;
    this.h = wrapAngle(this.h + turn * TURN_SPEED * dt + (input.turnBy || 0));

    if (!this.seated) {
      let vx = 0, vz = 0;
      if (forward || strafe) {
        const f = forwardOf(this.h);
        // right vector = forward rotated by -90° about y
        vx = (f.x * forward - f.z * strafe) * this.walkSpeed;
        vz = (f.z * forward + f.x * strafe) * this.walkSpeed;
      } else if (this.target) {
        const dx = this.target.x - this.x, dz = this.target.z - this.z;
        const d = Math.hypot(dx, dz);
        if (d < ARRIVE) this.target = null;
        else {
          const s = Math.min(this.walkSpeed, d / Math.max(dt, 1e-3));
          vx = (dx / d) * s;
          vz = (dz / d) * s;
          this.h = headingTo(this.x, this.z, this.target.x, this.target.z);
        }
      }
      const speed = Math.hypot(vx, vz);
      if (speed > this.maxSpeed) {
        vx *= this.maxSpeed / speed;
        vz *= this.maxSpeed / speed;
      }
      let nx = this.x + vx * dt, nz = this.z + vz * dt;
      if (this.ease) {
        const f = Math.min(1, dt / this.ease.left);
        nx += this.ease.dx * f;
        nz += this.ease.dz * f;
        this.ease.dx -= this.ease.dx * f;
        this.ease.dz -= this.ease.dz * f;
        this.ease.left -= dt;
        if (this.ease.left <= 0) this.ease = null;
      }
      const p = this.#confine(this.x, this.z, nx, nz);
      this.x = p.x;
      this.z = p.z;
    }
    return this.x !== x0 || this.z !== z0 || this.h !== h0;
  }

  /** Remember a pose that was sent to the server, for reconciliation. */
  markSent(now, x = this.x, z = this.z, h = this.h) {
    this.sent.push({ t: now, x, z, h });
    while (this.sent.length && now - this.sent[0].t > HISTORY_MS) this.sent.shift();
  }

  /**
   * Compare the server's accepted position with what we predicted. The server echoes
   * positions we sent a little while ago, so any of the recent sent poses may match.
   * Returns 'ok', 'ease' or 'snap'.
   */
  reconcile(sx, sz, now) {
    while (this.sent.length && now - this.sent[0].t > HISTORY_MS) this.sent.shift();
    const refs = this.sent.length ? this.sent : [{ x: this.x, z: this.z }];
    let best = Infinity;
    for (const r of refs) best = Math.min(best, Math.hypot(r.x - sx, r.z - sz));
    if (best <= RECONCILE_TOLERANCE) return 'ok';
    this.sent = [];
    this.target = null;
    const dx = sx - this.x, dz = sz - this.z;
    if (Math.hypot(dx, dz) > SNAP_DISTANCE) {
      this.x = sx;
      this.z = sz;
      this.ease = null;
      return 'snap';
    }
    this.ease = { dx, dz, left: EASE_SECONDS };
    return 'ease';
  }

  /** Keep inside the bounds; slide along blocked rectangles instead of entering them. */
  #confine(x0, z0, x, z) {
    const b = this.bounds;
    if (b) {
      x = clamp(x, b.min_x, b.max_x);
      z = clamp(z, b.min_z, b.max_z);
    }
    for (const r of this.blocked) {
      if (!inRect(r, x, z) || inRect(r, x0, z0)) continue;
      if (!inRect(r, x, z0)) z = z0;
      else if (!inRect(r, x0, z)) x = x0;
      else {
        x = x0;
        z = z0;
      }
    }
    return { x, z };
  }
}
