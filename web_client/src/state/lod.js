/**
 * Levels of detail for a crowd: which avatars are drawn in full (NEAR: face, hair,
 * accessories, name label), as instanced bodies and heads (MID) or as one cheap instanced
 * shape (FAR). Pure: no three.js, so node tests it; scene/avatars.js carries it out.
 *
 * Near are the own avatar, everyone on the stage and the `nearCount` others nearest to the
 * camera; mid are the next ones within `midDistance`, at most `midCount`; everyone else is
 * far. Two kinds of hysteresis keep avatars from flickering between levels when distances
 * hover around a boundary: when ranking, an avatar already at a level counts its distance
 * times `keep` (a newcomer must be clearly nearer to take its place), and the mid/far
 * distance boundary is a band of ±`band` metres.
 */

export const NEAR = 0;
export const MID = 1;
export const FAR = 2;

export const LOD_DEFAULTS = Object.freeze({
  nearCount: 12, // others drawn in full besides the own avatar and the stage
  maxNear: 32, // hard cap on full avatars, stage members included
  midDistance: 24, // metres from the camera: beyond it, far
  midCount: 64, // cap on instanced mid avatars
  keep: 0.8, // an incumbent's distance counts this much when ranking
  band: 2, // metres of hysteresis around midDistance
});

export class LodBuckets {
  constructor(options = {}) {
    this.o = { ...LOD_DEFAULTS, ...options };
    /** @type {Map<string, number>} id -> level after the last update */
    this.level = new Map();
    this.counts = { near: 0, mid: 0, far: 0 };
  }

  /** Level of `id` after the last update (FAR when unknown). */
  levelOf(id) {
    return this.level.get(id) ?? FAR;
  }

  /**
   * Re-bucket everyone. `entries`: iterable of {id, d, stage, self} where d is the distance
   * to the camera in metres (callers may add a penalty for avatars out of view), `stage`
   * true for people on the stage and `self` for the own avatar. Ids missing from `entries`
   * are forgotten. Returns the changes as [id, from, to] (from is null for new ids).
   */
  update(entries) {
    const o = this.o;
    const prev = this.level;
    const next = new Map();
    const forced = [];
    const rest = [];
    for (const e of entries) (e.self || e.stage ? forced : rest).push(e);
    // own avatar first, then the stage nearest first, up to the hard cap
    forced.sort((a, b) => Number(!!b.self) - Number(!!a.self) || a.d - b.d);
    let near = 0;
    for (const e of forced) {
      if (near < o.maxNear) {
        next.set(e.id, NEAR);
        near++;
      } else rest.push(e);
    }
    const biased = (e, level) => (prev.has(e.id) && prev.get(e.id) <= level ? e.d * o.keep : e.d);
    const room = Math.max(0, Math.min(o.nearCount, o.maxNear - near));
    let candidates = rest;
    if (room > 0 && rest.length) {
      const ranked = rest.map((e) => [biased(e, NEAR), e]).sort((a, b) => a[0] - b[0]);
      for (let i = 0; i < Math.min(room, ranked.length); i++) {
        next.set(ranked[i][1].id, NEAR);
        near++;
      }
      candidates = ranked.slice(room).map((r) => r[1]);
    }
    const mids = [];
    for (const e of candidates) {
      const was = prev.get(e.id);
      const limit = was !== undefined && was <= MID ? o.midDistance + o.band : o.midDistance - o.band;
      if (e.d < limit) mids.push([biased(e, MID), e]);
      else next.set(e.id, FAR);
    }
    mids.sort((a, b) => a[0] - b[0]);
    mids.forEach(([, e], i) => next.set(e.id, i < o.midCount ? MID : FAR));
    const mid = Math.min(mids.length, o.midCount);
    this.counts = { near, mid, far: next.size - near - mid };
    const changes = [];
    for (const [id, level] of next) {
      const was = prev.get(id);
      if (was !== level) changes.push([id, was ?? null, level]);
    }
    this.level = next;
    return changes;
  }

  forget(id) {
    this.level.delete(id);
  }

  clear() {
    this.level.clear();
    this.counts = { near: 0, mid: 0, far: 0 };
  }
}
