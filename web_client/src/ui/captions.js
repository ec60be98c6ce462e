/**
 * Captions in the plaza page (issue 15, defect 2): the latest lines in a bar that covers no
 * control, faded out after a quiet spell, and the whole history of the stay in the meeting
 * panel's captions tab, one tap away (the bar's history button). Cleared on leaving a room,
 * so a caption never follows someone into another.
 *
 * The bar is a polite live region (a log): new lines are appended and corrections change a
 * line in place, so a screen reader reads each line once. Fading only hides it visually.
 *
 * Automatic captions (issue 17, speech recognition) are labelled 自動字幕 beside the bar
 * while the room has them on (the log is described by that label, so a screen reader says
 * it too), and each automatic line in the history says so and who spoke.
 */
import { i18n } from '../i18n.js';
import { byId, el } from './el.js';

/** Quiet time after which the bar fades (ms): long enough to read two lines twice. */
export const CAPTION_FADE_MS = 8000;

export class Captions {
  /** @param {{onHistory?: () => void, fadeMs?: number}} opts */
  constructor({ onHistory, fadeMs = CAPTION_FADE_MS } = {}) {
    this.fadeMs = fadeMs;
    this.timer = null;
    byId('captions-more').addEventListener('click', () => onHistory?.());
    this.clear();
  }

  /** Draw the state's captions; anything new or corrected shows the bar again. */
  show(state, keep = 2) {
    const box = byId('captions');
    let changed = false;
    for (const c of state.captions.slice(-keep)) {
      const line = box.querySelector(`[data-seq="${Number(c.seq)}"]`);
      if (line) {
        if (line.textContent !== c.text) {
          line.textContent = c.text;
          changed = true;
        }
      } else {
        box.append(el('span', { class: 'line', dataset: { seq: c.seq } }, c.text));
        changed = true;
      }
    }
    while (box.children.length > keep) box.firstElementChild.remove();
    this.#log(state.captions);
    const auto = !!state.captionsMode?.auto;
    byId('captions-auto').hidden = !auto;
    byId('captions-auto-note').hidden = !auto;
    byId('captions-more').hidden = !state.captions.length;
    if (changed) this.#wake();
  }

  /** Forget everything shown (leaving the room). */
  clear() {
    clearTimeout(this.timer);
    this.timer = null;
    byId('captions').replaceChildren();
    byId('captions').classList.remove('faded');
    byId('captions-log').replaceChildren();
    byId('captions-more').hidden = true;
    byId('captions-auto').hidden = true;
    byId('captions-auto-note').hidden = true;
  }

  /** True while the bar shows text (not faded, not empty). */
  get visible() {
    const box = byId('captions');
    return box.children.length > 0 && !box.classList.contains('faded');
  }

  #wake() {
    const box = byId('captions');
    box.classList.remove('faded');
    clearTimeout(this.timer);
    this.timer = setTimeout(() => box.classList.add('faded'), this.fadeMs);
  }

  /** The history: appended and corrected in place, never rebuilt (keeps scroll and focus). */
  #log(captions) {
    const list = byId('captions-log');
    const seen = new Set();
    for (const c of captions) {
      seen.add(String(c.seq));
      const time = new Date(c.at * 1000).toLocaleTimeString(i18n.lang, { hour: '2-digit', minute: '2-digit' });
      const li = list.querySelector(`[data-seq="${Number(c.seq)}"]`);
      if (li) {
        const text = li.querySelector('.text');
        if (text.textContent !== c.text) text.textContent = c.text;
      } else {
        const auto = c.auto ? el('span', { class: 'auto', text: `${i18n.t('captions.auto')}${c.speaker_name ? ` · ${c.speaker_name}` : ''}` }) : null;
        list.append(el('li', { dataset: { seq: c.seq, auto: c.auto ? '1' : '' } }, el('span', { class: 'at', text: time }), auto, el('span', { class: 'text', text: c.text })));
      }
    }
    for (const li of [...list.children]) if (!seen.has(li.dataset.seq)) li.remove();
  }
}
