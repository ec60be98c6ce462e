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
