/**
 * Batches join/leave announcements for the aria-live region so that a crowd arriving does
 * not flood a screen reader: at most one message per interval, names summarised as a count.
 */
export class AnnounceBatcher {
  constructor(intervalMs = 4000, maxNames = 2) {
    this.intervalMs = intervalMs;
    this.maxNames = maxNames;
    this.lastAt = -Infinity;
    this.joined = [];
    this.left = [];
  }

  add(kind, name) {
    (kind === 'joined' ? this.joined : this.left).push(name);
  }

  /**
   * Returns null (nothing, or too soon) or a list of messages
   * `{kind: 'joined'|'left', names: [..] }` or `{kind, count}` when there are many.
   */
  flush(now) {
    if (!this.joined.length && !this.left.length) return null;
    if (now - this.lastAt < this.intervalMs) return null;
    this.lastAt = now;
    const out = [];
    for (const kind of ['joined', 'left']) {
      const names = this[kind];
      if (!names.length) continue;
      out.push(names.length <= this.maxNames ? { kind, names: [...names] } : { kind, count: names.length });
      this[kind] = [];
    }
    return out;
  }
}
