/**
 * The client's copy of a room's participants, kept from the join snapshot and the
 * `room:delta` events that follow. Pure: the caller turns the returned changes into
 * scene updates and announcements.
 */

function copyParticipant(p) {
  return {
    id: String(p.id),
    name: String(p.name ?? ''),
    role: String(p.role ?? 'citizen'),
    x: Number(p.x) || 0,
    z: Number(p.z) || 0,
    h: Number(p.h) || 0,
    seat: p.seat ?? null,
    avatar: p.avatar && typeof p.avatar === 'object' ? { ...p.avatar } : {},
    slot: Number.isInteger(p.slot) ? p.slot : null,
    tracking: typeof p.tracking === 'string' ? p.tracking : 'none',
    // an approved VRM model (its sha256, GET /avatars/<sha256>.vrm), drawn near; else null
    vrm: typeof p.vrm === 'string' && /^[0-9a-f]{64}$/.test(p.vrm) ? p.vrm : null,
  };
}

export class ParticipantStore {
  constructor() {
    this.reset();
  }

  /** Forget everything (after leaving a room). */
  reset() {
    this.room = null;
    this.selfId = null;
    this.tick = -1;
    this.t = 0;
    this.tickHz = 0;
    this.maxSpeed = 0;
    this.byId = new Map();
    this.bySlot = new Map(); // pose-frame slot -> id
  }

  get roomId() {
    return this.room ? this.room.id : null;
  }

  get size() {
    return this.byId.size;
  }

  get self() {
    return this.selfId ? this.byId.get(this.selfId) ?? null : null;
  }

  get(id) {
    return this.byId.get(id) ?? null;
  }

  list() {
    return [...this.byId.values()];
  }

  /** The participant a pose-frame slot names, or null. */
  bySlotOf(slot) {
    const id = this.bySlot.get(slot);
    return id === undefined ? null : this.byId.get(id) ?? null;
  }

  #index(p) {
    if (p.slot !== null) this.bySlot.set(p.slot, p.id);
  }

  /** Replace the state with a join snapshot; returns the participants now present. */
  applySnapshot(selfId, snapshot) {
    this.reset();
    this.selfId = String(selfId);
    this.room = snapshot.room;
    this.tick = Number(snapshot.tick) || 0;
    this.t = Number(snapshot.t) || 0;
    this.tickHz = Number(snapshot.tick_hz) || 10;
    this.maxSpeed = Number(snapshot.max_speed) || 4;
    for (const p of snapshot.participants || []) {
      const c = copyParticipant(p);
      this.byId.set(c.id, c);
      this.#index(c);
    }
    this.#syncSeats();
    return this.list();
  }

  /**
   * Apply one `room:delta`. Returns `{joined, left, moved, tracking, t}` with the
   * participant records concerned (`moved` as `[participant, x, z, h]`, `tracking` as
   * participants whose mode changed), or null when the delta is for another room or is not
   * newer than what we already hold.
   */
  applyDelta(delta) {
    if (!this.room || !delta || delta.room !== this.room.id) return null;
    const tick = Number(delta.tick);
    if (Number.isFinite(tick) && tick <= this.tick) return null;
    if (Number.isFinite(tick)) this.tick = tick;
    const t = Number(delta.t) || this.t;
    this.t = t;
    const out = { joined: [], left: [], moved: [], tracking: [], t };
    for (const p of delta.joined || []) {
      const c = copyParticipant(p);
      this.byId.set(c.id, c);
      this.#index(c);
      out.joined.push(c);
    }
    for (const id of delta.left || []) {
      const p = this.byId.get(id);
      if (!p) continue;
      this.byId.delete(id);
      if (p.slot !== null && this.bySlot.get(p.slot) === id) this.bySlot.delete(p.slot);
      out.left.push(p);
    }
    for (const m of delta.tracking || []) {
      const p = Array.isArray(m) ? this.byId.get(m[0]) : null;
      if (!p || typeof m[1] !== 'string') continue;
      p.tracking = m[1];
      out.tracking.push(p);
    }
    for (const m of delta.moved || []) {
      if (!Array.isArray(m) || m.length < 4) continue;
      const p = this.byId.get(m[0]);
      const [x, z, h] = [Number(m[1]), Number(m[2]), Number(m[3])];
      if (!p || !Number.isFinite(x) || !Number.isFinite(z) || !Number.isFinite(h)) continue;
      p.x = x;
      p.z = z;
      p.h = h;
      out.moved.push([p, x, z, h]);
    }
    if (out.joined.length || out.left.length) this.#syncSeats();
    return out;
  }

  /** The seat record a participant sits in, or null. */
  seatOf(p) {
    if (!p || p.seat == null || !this.room) return null;
    if (typeof p.seat === 'object') return p.seat;
    return (this.room.seats || []).find((s) => s.id === p.seat) ?? null;
  }

  #syncSeats() {
    const seats = (this.room && this.room.seats) || [];
    for (const s of seats) s.occupant = null;
    for (const p of this.byId.values()) {
      const s = this.seatOf(p);
      if (s && typeof p.seat !== 'object') s.occupant = p.id;
    }
  }
}
