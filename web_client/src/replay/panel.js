/**
 * The replay's side panel and controls: agenda chapters to jump to, the caption and chat
 * log up to the current time (it grows and scrolls as the meeting plays, and is rebuilt
 * after a seek back), the live caption line over the plaza, and the time display. DOM only;
 * what to show comes from replay/events.js.
 */
import { t } from '../i18n.js';
import { chapterAt, countUpTo } from './events.js';

const $ = (id) => document.getElementById(id);
/** A caption stays over the plaza this long after it was posted. */
export const CAPTION_MS = 8000;

export function clockText(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = h ? String(m).padStart(2, '0') : String(m);
  return `${h ? `${h}:` : ''}${mm}:${String(r).padStart(2, '0')}`;
}

/** Caption lines over the plaza at `tMs`: the last two posted in the last CAPTION_MS. */
export function visibleCaptions(captions, tMs) {
  const n = countUpTo(captions, tMs);
  return captions.slice(Math.max(0, n - 2), n).filter((c) => tMs - c.t < CAPTION_MS).map((c) => c.text);
}

export class ReplayPanel {
  constructor(digest, { onJump }) {
    this.d = digest;
    this.onJump = onJump;
    // captions and chat in one time line, as they happened
    this.items = [
      ...digest.captions.map((c) => ({ t: c.t, kind: 'caption', text: c.text })),
      ...digest.chat.map((m) => ({ t: m.t, kind: 'chat', name: m.name, text: m.text })),
    ].sort((a, b) => a.t - b.t);
    this.shown = -1;
    this.chapter = -2;
    this.captionText = null;
  }

  /** (Re)build what depends on the language. */
  render() {
    const list = $('replay-chapters');
    list.replaceChildren();
    $('replay-no-chapters').hidden = this.d.chapters.length > 0;
    this.d.chapters.forEach((c, i) => {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.type = 'button';
      b.dataset.chapter = String(i);
      b.textContent = `${clockText(c.t / 1000)} ${c.title}`;
      // The visible "0:01 開会" is the button's name (a label that does not contain it fails
      // WCAG 2.5.3, label in name: speech users say what they see); what it does is its
      // description.
      b.title = t('replay.jumpTo', { title: c.title, time: clockText(c.t / 1000) });
      b.addEventListener('click', () => this.onJump(c.t / 1000));
      li.append(b);
      list.append(li);
    });
    this.chapter = -2;
    this.shown = -1;
  }

  /** Per frame (cheap when nothing changed). */
  update(tMs, durationS) {
    const ch = chapterAt(this.d.chapters, tMs);
    if (ch !== this.chapter) {
      this.chapter = ch;
      for (const b of $('replay-chapters').querySelectorAll('button')) b.setAttribute('aria-current', String(Number(b.dataset.chapter) === ch));
    }
    const n = countUpTo(this.items, tMs);
    if (n !== this.shown) this.#log(n);
    const caps = visibleCaptions(this.d.captions, tMs).join('\n');
    if (caps !== this.captionText) {
      this.captionText = caps;
      $('replay-captions').textContent = caps;
    }
    $('replay-time').textContent = `${clockText(tMs / 1000)} / ${clockText(durationS)}`;
  }

  #log(n) {
    const list = $('replay-log');
    if (n < this.shown || this.shown < 0) {
      list.replaceChildren(); // a seek back: start over
      this.shown = 0;
    }
    for (const it of this.items.slice(this.shown, n)) {
      const li = document.createElement('li');
      li.className = it.kind;
      const at = document.createElement('span');
      at.className = 'at';
      at.textContent = clockText(it.t / 1000);
      const who = document.createElement('span');
      who.className = 'who';
      who.textContent = it.kind === 'caption' ? t('replay.caption') : it.name;
      li.append(at, who, document.createTextNode(it.text));
      list.append(li);
    }
    this.shown = n;
    list.scrollTop = list.scrollHeight;
  }
}
