/**
 * A committee vote by show of hands (挙手) or standing (起立) seen in the plaza: whose
 * avatar raises a hand or stands, and how far along it is at a given moment. Pure (no
 * three.js, no DOM) so that node tests it; scene/avatars.js draws it and main.js feeds it
 * the server's `committee:state`.
 *
 * The server names the participants whose choice is yes in `vote.raised` (pids) while a
 * `hands` or `standing` vote is open; everyone else is lowered / seated. A gesture eases in
 * and out over GESTURE_MS instead of jumping, so that a change is noticed, and a gesture
 * withdrawn half-way goes back from where it is.
 */

export const HAND = 'hand';
export const STAND = 'stand';
/** Milliseconds a hand takes to go up (or down), or a member to stand (or sit). */
export const GESTURE_MS = 450;

const KIND_OF_METHOD = { hands: HAND, standing: STAND };

/** The vote shown by gestures: an open `hands` / `standing` vote of the state, else null. */
function shownVote(committee) {
  const vote = committee?.vote;
  if (!vote || vote.state !== 'open' || !KIND_OF_METHOD[vote.method]) return null;
  return vote;
}

/**
 * pid → gesture (HAND or STAND) for a committee state (or null): the raised pids of an
 * open show-of-hands or standing vote; empty for any other state.
 * @returns {Map<string, string>}
 */
export function gesturesOf(committee) {
  const out = new Map();
  const vote = shownVote(committee);
  if (!vote || !Array.isArray(vote.raised)) return out;
  const kind = KIND_OF_METHOD[vote.method];
  for (const pid of vote.raised) if (typeof pid === 'string' && pid) out.set(pid, kind);
  return out;
}

/** Ease in and out (smoothstep) of a fraction clamped to 0..1. */
export function ease(f) {
  const x = f <= 0 ? 0 : f >= 1 ? 1 : f;
  return x * x * (3 - 2 * x);
}

/**
 * The gestures as animated: `set` the wanted gestures whenever the state changes, then ask
 * `weight(pid, now)` (0 lowered / seated .. 1 raised / standing) and `kind(pid)` every
 * frame. Reading allocates nothing. A lowered gesture is forgotten once it is down.
 */
export class GestureAnimator {
  constructor(durationMs = GESTURE_MS) {
    this.durationMs = durationMs;
    /** @type {Map<string, {kind: string, from: number, to: number, t0: number}>} */
    this.moves = new Map();
  }

  /** No animation (reduced motion): gestures appear and go at once. */
  set instant(on) {
    this.durationMs = on ? 0 : GESTURE_MS;
  }

  /** The wanted gestures from now on (pid → kind, as gesturesOf gives). */
  set(wanted, nowMs) {
    for (const [pid, m] of this.moves) {
      const w = this.#at(m, nowMs);
      const kind = wanted.get(pid);
      if (kind === m.kind) {
        if (m.to !== 1) this.moves.set(pid, { kind, from: w, to: 1, t0: nowMs, next: null });
        else m.next = null;
      } else if (w <= 0 && m.to === 0) {
        this.moves.delete(pid); // down: forgotten (a gesture of another kind starts below)
      } else {
        // a gesture of another kind (a standing vote right after a show of hands) waits
        // for this one to come down: taking it over would make an arm or a body jump
        if (m.to !== 0) this.moves.set(pid, { kind: m.kind, from: w, to: 0, t0: nowMs, next: kind ?? null });
        else m.next = kind ?? null;
      }
    }
    for (const [pid, kind] of wanted) {
      if (!this.moves.has(pid)) this.moves.set(pid, { kind, from: 0, to: 1, t0: nowMs, next: null });
    }
  }

  /** How far the gesture of `pid` is at `nowMs`: 0..1 (0 when it has none). */
  weight(pid, nowMs) {
    const m = this.moves.get(pid);
    if (!m) return 0;
    if (m.next && m.to === 0 && nowMs - m.t0 >= this.durationMs) {
      // the old gesture is down: the waiting one starts from there (changed in place,
      // reading a frame allocates nothing)
      m.t0 += this.durationMs;
      m.kind = m.next;
      m.next = null;
      m.from = 0;
      m.to = 1;
    }
    return this.#at(m, nowMs);
  }

  /** The gesture of `pid` (also while it comes down), or null. */
  kind(pid) {
    return this.moves.get(pid)?.kind ?? null;
  }

  /** Who has a gesture up or moving, with its target (for tests and debugging). */
  targets() {
    const out = {};
    for (const [pid, m] of this.moves) out[pid] = { gesture: m.kind, up: m.to === 1 };
    return out;
  }

  clear() {
    this.moves.clear();
  }

  #at(m, nowMs) {
    const f = this.durationMs > 0 ? (nowMs - m.t0) / this.durationMs : 1;
    return m.from + (m.to - m.from) * ease(f);
  }
}

/**
 * The count to announce for a committee state: {vote, method, count} while a show of hands
 * or standing vote is open, else null.
 */
export function tallyOf(committee) {
  const vote = shownVote(committee);
  if (!vote) return null;
  return { vote: vote.id ?? null, method: vote.method, count: gesturesOf(committee).size };
}

/**
 * What to say when the tally goes from `prev` to `next` (tallyOf results): the new count
 * once per change of it, nothing for a vote that opens with no hands up (the opening is
 * announced with the motion), nothing when the vote closes (its result is).
 * @returns {{key: string, count: number} | null} an i18n key and its count
 */
export function tallyAnnouncement(prev, next) {
  if (!next) return null;
  const same = prev && prev.vote === next.vote && prev.method === next.method;
  if (same ? prev.count === next.count : next.count === 0) return null;
  return { key: next.method === 'standing' ? 'live.standingCount' : 'live.handsCount', count: next.count };
}
