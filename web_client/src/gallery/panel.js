/**
 * The gallery page's texts around the 3D view: the floor holder, the timer, the agenda, the
 * polls' results, the captions, the public chat and opinions, the viewer count, the
 * closed-session notice. Read-only views of what the server's `hello`, `state`, `chat` and
 * `opinion` messages carry (public data only).
 */
import { i18n, t } from '../i18n.js';
import { formatClock } from '../state/meeting.js';
import { ChatAnnouncer } from '../ui/announcer.js';
import { categoryLabel, nameWithRole } from '../ui/meetingViews.js';

const $ = (id) => document.getElementById(id);

/** Say a line in the page's polite live region (new captions, notices). */
export function announce(text) {
  const el = $('gallery-live');
  el.textContent = '';
  // a fresh node each time: screen readers announce an insertion, not a repeated text
  const span = document.createElement('span');
  span.textContent = text;
  el.replaceChildren(span);
}
const CAPTIONS_SHOWN = 3;
/** As many as the server's hello carries (server/gallery/state.py GALLERY_CHAT, _OPINIONS). */
export const CHAT_SHOWN = 30;
export const OPINIONS_SHOWN = 50;

/**
 * The chat after a `chat` message (`{change, message}`, as the room's `meeting:event`):
 * posted or restored, in its place by id; hidden (sent as `{id, hidden: true}`), gone.
 * Oldest first, the latest `CHAT_SHOWN` kept.
 */
export function chatAfter(list, msg) {
  const m = msg?.message;
  if (!m || m.id == null) return list;
  const rest = list.filter((x) => x.id !== m.id);
  if (m.hidden || msg.change === 'chat.hidden') return rest;
  return [...rest, m].sort((a, b) => a.id - b.id).slice(-CHAT_SHOWN);
}

/** Opinions as the room's page ranks them: most supported first, then oldest. */
export function rankOpinions(list) {
  return [...list].sort((a, b) => (b.supports ?? 0) - (a.supports ?? 0) || a.id - b.id);
}

/**
 * The opinions after an `opinion` message (`{change, opinion}`): a hidden one (its id only)
 * or one merged into another leaves the list; any other replaces its earlier self.
 */
export function opinionsAfter(list, msg) {
  const o = msg?.opinion;
  if (!o || o.id == null) return list;
  const rest = list.filter((x) => x.id !== o.id);
  if (o.hidden || o.merged_into != null) return rest;
  return rankOpinions([...rest, o]).slice(0, OPINIONS_SHOWN);
}

/** What the room's citizens see of a list sent whole (hidden or merged ones never shown). */
const shownOnly = (list) => (Array.isArray(list) ? list.filter((x) => x && !x.hidden && x.merged_into == null) : []);

function personText(name, role) {
  if (!name) return t('replay.someone');
  return role && role !== 'citizen' ? t('role.withName', { name, role: t(`role.${role}`) }) : name;
}

export class GalleryPanel {
  constructor() {
    this.floor = null;
    this.agenda = null;
    this.timer = null;
    this.polls = [];
    this.captions = [];
    this.count = { viewers: 0, peak: 0 };
    this.closed = false;
    this.offsetMs = 0; // server clock (Unix s * 1000) minus this device's
    this.floorText = '';
    this.chat = []; // oldest first
    this.opinions = []; // ranked
    this.categories = [];
    // New messages said politely, at most once every 3 s (several together), never the list
    this.chatAnnouncer = null;
  }

  /** The server's `server_time` (Unix seconds) seen now: this device's clock corrected. */
  syncClock(serverTime) {
    if (typeof serverTime === 'number') this.offsetMs = serverTime * 1000 - Date.now();
  }

  serverNow() {
    return (Date.now() + this.offsetMs) / 1000;
  }

  apply(msg) {
    if ('floor' in msg) {
      this.floor = msg.floor || null;
      this.syncClock(this.floor?.server_time);
    }
    if ('agenda' in msg) this.agenda = msg.agenda || null;
    if ('timer' in msg) this.timer = msg.timer || null;
    if ('polls' in msg) this.polls = Array.isArray(msg.polls) ? msg.polls : [];
    if (Array.isArray(msg.captions)) this.captions = msg.captions.slice(-CAPTIONS_SHOWN);
    if ('viewers' in msg) this.count = { viewers: msg.viewers ?? 0, peak: msg.peak ?? msg.viewers ?? 0 };
    if ('closed' in msg) this.closed = !!msg.closed;
    if ('chat' in msg) this.chat = shownOnly(msg.chat).slice(-CHAT_SHOWN);
    if ('opinions' in msg) this.opinions = rankOpinions(shownOnly(msg.opinions)).slice(0, OPINIONS_SHOWN);
    if (Array.isArray(msg.categories)) this.categories = msg.categories;
    this.render();
  }

  /** A `chat` or `opinion` message: the list changed by one (read-only, as the room sees it). */
  talk(msg) {
    if (this.closed) return;
    if (msg.t === 'chat') {
      this.chat = chatAfter(this.chat, msg);
      this.renderChat();
      const m = msg.message;
      if (msg.change === 'chat.posted' && m?.text) {
        this.chatAnnouncer ??= new ChatAnnouncer((text) => announce(text));
        this.chatAnnouncer.add(m.author_name || t('replay.someone'), m.text, m.author_role);
      }
    } else if (msg.t === 'opinion') {
      this.opinions = opinionsAfter(this.opinions, msg);
      this.renderOpinions();
    }
  }

  /** A caption line (posted, or a correction of one shown). */
  caption(line) {
    const i = this.captions.findIndex((c) => c.seq != null && c.seq === line.seq);
    if (i >= 0) this.captions[i] = line;
    else this.captions = [...this.captions, line].slice(-CAPTIONS_SHOWN);
    this.renderCaptions();
    if (!this.closed && line.text) announce(line.speaker_name ? `${line.speaker_name}: ${line.text}` : line.text);
  }

  render() {
    this.renderFloor();
    this.renderTimer();
    this.renderAgenda();
    this.renderPolls();
    this.renderCaptions();
    this.renderChat();
    this.renderOpinions();
    this.renderCount();
    $('gallery-closed').hidden = !this.closed;
    $('gallery-closed').textContent = this.closed ? t('gallery.closed') : '';
  }

  renderFloor() {
    const f = this.floor;
    const text = f?.holder ? t('replay.floor', { who: personText(f.holder_name, f.holder_role) }) : t('replay.floorNone');
    if (text !== this.floorText) {
      this.floorText = text;
      $('gallery-floor').textContent = text; // a live region: said when it changes
    }
  }

  /** The speaker's time left (the floor's deadline), or the meeting timer the server sent. */
  renderTimer() {
    let remaining = null;
    if (this.timer?.remaining != null) remaining = this.timer.remaining;
    else if (this.timer?.deadline != null) remaining = this.timer.deadline - this.serverNow();
    else if (this.floor?.holder && this.floor.deadline != null) remaining = this.floor.deadline - this.serverNow();
    const text = remaining === null ? '' : t('gallery.timer', { time: formatClock(remaining) });
    if ($('gallery-timer').textContent !== text) $('gallery-timer').textContent = text;
  }

  renderAgenda() {
    const list = $('gallery-agenda');
    const items = this.agenda?.items ?? [];
    list.replaceChildren(
      ...items.map((it) => {
        const li = document.createElement('li');
        li.textContent = it.title ?? '';
        if (it.id === this.agenda.current) {
          li.setAttribute('aria-current', 'step');
          li.className = 'current';
        }
        return li;
      }),
    );
    $('gallery-agenda-empty').hidden = items.length > 0;
  }

  renderPolls() {
    const list = $('gallery-polls');
    list.replaceChildren(
      ...this.polls.map((p) => {
        const li = document.createElement('li');
        const q = document.createElement('p');
        q.className = 'poll-question';
        q.textContent = `${p.question ?? p.title ?? ''}${p.state === 'open' ? ` ${t('gallery.pollOpen')}` : ''}`;
        const ul = document.createElement('ul');
        const opts = p.options ?? [];
        opts.forEach((o, i) => {
          const row = document.createElement('li');
          const count = p.counts?.[i] ?? o.count ?? 0;
          const share = p.voters ? Math.round((1000 * count) / p.voters) / 10 : 0;
          row.textContent = t('gallery.pollRow', { option: typeof o === 'string' ? o : i18n.pick(o.label ?? o.text ?? o), count, share });
          ul.append(row);
        });
        li.append(q, ul);
        return li;
      }),
    );
    $('gallery-polls-empty').hidden = this.polls.length > 0;
  }

  renderCaptions() {
    const text = this.closed ? '' : this.captions.map((c) => (c.speaker_name ? `${c.speaker_name}: ${c.text}` : c.text)).join('\n');
    if ($('gallery-captions').textContent !== text) $('gallery-captions').textContent = text;
  }

  /** The chat, newest first (a phone shows the latest without scrolling); nothing while closed. */
  renderChat() {
    const shown = this.closed ? [] : this.chat;
    $('gallery-chat').replaceChildren(
      ...[...shown].reverse().map((m) => {
        const li = document.createElement('li');
        li.dataset.id = m.id;
        const what = document.createElement('span');
        what.className = 'what';
        what.textContent = m.text ?? '';
        li.append(nameWithRole(m.author_name || t('replay.someone'), m.author_role), what);
        return li;
      }),
    );
    $('gallery-chat-empty').hidden = shown.length > 0;
    $('gallery-chat-more').textContent = t('gallery.showItems', { n: shown.length });
  }

  /** The opinions as the room ranks them: category, status, text, author, supports, reply. */
  renderOpinions() {
    const shown = this.closed ? [] : this.opinions;
    $('gallery-opinions').replaceChildren(
      ...shown.map((o) => {
        const li = document.createElement('li');
        li.dataset.id = o.id;
        const meta = document.createElement('p');
        meta.className = 'meta';
        const badge = (text, cls) => {
          const b = document.createElement('span');
          b.className = cls;
          b.textContent = text;
          return b;
        };
        if (o.category) meta.append(badge(categoryLabel(o.category, this.categories), 'badge'), ' ');
        if (o.status) meta.append(badge(t(`opinion.status.${o.status}`), 'badge status'), ' ');
        meta.append(nameWithRole(o.author_name || t('replay.someone'), o.author_role, 'author'));
        const text = document.createElement('p');
        text.className = 'text';
        text.textContent = o.text ?? '';
        li.append(meta, text);
        if (o.response) {
          const r = document.createElement('p');
          r.className = 'response';
          const b = document.createElement('b');
          b.textContent = t('opinion.response');
          r.append(b, ' ', o.response);
          li.append(r);
        }
        li.append(badge(t('opinion.supports', { n: o.supports ?? 0 }), 'count'));
        return li;
      }),
    );
    $('gallery-opinions-empty').hidden = shown.length > 0;
    $('gallery-opinions-more').textContent = t('gallery.showItems', { n: shown.length });
  }

  renderCount() {
    $('gallery-count').textContent = t('gallery.count', { viewers: this.count.viewers, peak: this.count.peak });
  }
}
