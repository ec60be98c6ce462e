/** Polite, rate-limited announcements of arrivals and departures for screen readers. */
import { AnnounceBatcher } from '../state/announce.js';
import { t } from '../i18n.js';

export class Announcer {
  constructor(el, intervalMs = 4000) {
    this.el = el;
    this.batcher = new AnnounceBatcher(intervalMs);
    this.timer = setInterval(() => this.flush(performance.now()), 1000);
  }

  joined(name) {
    this.batcher.add('joined', name);
  }

  left(name) {
    this.batcher.add('left', name);
  }

  /** Say something right away (own join, leaving). */
  say(text) {
    this.el.textContent = text;
  }

  clear() {
    this.batcher.joined = [];
    this.batcher.left = [];
  }

  flush(now) {
    const msgs = this.batcher.flush(now);
    if (!msgs) return;
    const parts = msgs.map((m) =>
      m.names
        ? t(`live.${m.kind}`, { names: m.names.join(t('live.separator')) })
        : t(`live.${m.kind}Many`, { count: m.count }),
    );
    this.el.textContent = parts.join(' ');
  }
}

/**
 * New chat messages for screen readers, whatever tab is open: said through the page's
 * polite live region (`say`), at most one announcement every `intervalMs`. What arrives
 * in between is said together: up to `keep` messages in full, more as a count and the
 * latest. Only the author and the text are said (never a button's label).
 */
export class ChatAnnouncer {
  constructor(say, { intervalMs = 3000, keep = 2, now = () => performance.now(), schedule = setTimeout } = {}) {
    this.say = say;
    this.intervalMs = intervalMs;
    this.keep = keep;
    this.now = now;
    this.schedule = schedule;
    this.pending = [];
    this.last = -Infinity;
    this.timer = null;
  }

  /** A message by `name` (with `role` shown unless a citizen's). */
  add(name, text, role = null) {
    const who = role && role !== 'citizen' ? t('role.withName', { name, role: t(`role.${role}`) }) : name;
    this.pending.push({ name: who, text });
    if (this.timer !== null) return;
    const wait = this.last + this.intervalMs - this.now();
    if (wait <= 0) this.flush();
    else this.timer = this.schedule(() => this.flush(), wait);
  }

  /** Say what is pending now. */
  flush() {
    this.timer = null;
    const msgs = this.pending;
    this.pending = [];
    if (!msgs.length) return;
    this.last = this.now();
    const latest = msgs.at(-1);
    this.say(msgs.length <= this.keep
      ? msgs.map((m) => t('live.chat', m)).join(' ')
      : t('live.chatMany', { n: msgs.length, ...latest }));
  }

  /** Forget what is pending (left the room). */
  clear() {
    this.pending = [];
  }
}
