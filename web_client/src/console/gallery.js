/**
 * The console's 傍聴席 panel (issue 19): the room's public-gallery viewers now and at most
 * (this server's), and the viewers who raised a hand or asked to speak, each with a button
 * that lets them in (POST promote: the viewer's page gets a single-use invitation and goes
 * through the room's lobby rules). Sending a participant back to the gallery is a button of
 * the people table (POST demote). docs/protocol.md "Gallery plane".
 */
import { i18n, t } from '../i18n.js';
import { byId, el, fill } from '../ui/el.js';
import { formatTime } from './times.js';

/** How often the panel asks again while a room is open (the viewers come and go). */
const EVERY_MS = 3000;

export class GalleryPanel {
  /**
   * @param {import('./api.js').ConsoleApi} api
   * @param {(fn: () => Promise<any>) => Promise<any>} http runs a call, shows its error, null on failure
   * @param {(text: string) => void} say announces to screen readers
   */
  constructor(api, http, say) {
    this.api = api;
    this.http = http;
    this.say = say;
    this.room = null;
    this.timer = null;
  }

  /** Show ``room``'s gallery (null: none) and keep it current. */
  async refresh(room) {
    this.room = room;
    clearTimeout(this.timer);
    this.timer = null;
    if (!room) return;
    let body = null;
    try {
      body = await this.api.get(`/api/rooms/${encodeURIComponent(room)}/gallery`);
    } catch {
      body = null; // (a passing failure: the next look tries again, no error shown)
    }
    if (this.room !== room) return;
    if (body) this.render(body);
    this.timer = setTimeout(() => this.refresh(room), EVERY_MS);
  }

  render(body) {
    byId('gallery-count').textContent = t('console.galleryCount', { viewers: body.viewers, peak: body.peak });
    const rows = body.requests || [];
    fill(byId('gallery-requests'), rows.length ? rows.map((r) => el('li', {},
      el('span', { text: r.name || t('console.galleryAnonymous') }), ' ',
      r.hand ? el('span', { class: 'badge', text: t('console.galleryHand') }) : null,
      r.ask ? el('span', { class: 'badge', text: t('console.galleryAsk') }) : null,
      r.text ? ` — ${r.text}` : '',
      r.since ? ` (${formatTime(r.since, i18n.lang)})` : '', ' ',
      el('button', { type: 'button', class: 'small', onclick: () => this.promote(r),
        'aria-label': t('console.galleryPromoteName', { name: r.name || t('console.galleryAnonymous') }) },
      t('console.galleryPromote'))))
      : [el('li', { class: 'empty', text: t('console.galleryNone') })]);
  }

  async promote(r) {
    const room = this.room;
    const body = await this.http(() => this.api.post(
      `/api/rooms/${encodeURIComponent(room)}/gallery/${encodeURIComponent(r.viewer)}/promote`, {}));
    if (body) this.say(t('console.galleryPromoted', { name: r.name || t('console.galleryAnonymous') }));
    await this.refresh(room);
  }

  /** Send participant ``p`` back to the public gallery (they leave the room). */
  async demote(p) {
    const body = await this.http(() => this.api.post(
      `/api/rooms/${encodeURIComponent(this.room)}/participants/${encodeURIComponent(p.pid)}/demote`, {}));
    if (body) this.say(t('console.galleryDemoted', { name: p.name }));
  }
}
