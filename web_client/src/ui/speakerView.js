/**
 * The speaker view (issue 18): a close-up of whoever holds the floor (or of the chair while
 * the chair speaks), with their name, role and countdown underneath. A picture-in-picture
 * on a wide screen, a view across the top on a phone; the citizen chooses the room view,
 * the speaker view or automatic (the close-up comes and goes with the floor), remembered
 * on the device. The picture itself is drawn by scene/speakerCam.js into the rectangle of
 * #speaker-frame (transparent: the canvas shows through); this module decides who is shown
 * and where, and keeps the caption (the meeting's #floor-banner, ui/meetingViews.js) as the
 * one visible place of the speaker and the countdown while the close-up is shown; otherwise
 * the chamber's screen in 3D carries them (scene/stageBoard.js) and the caption is read by
 * screen readers only.
 */
import { i18n, t } from '../i18n.js';
import { store } from './dom.js';
import { byId } from './el.js';

export const MODES = Object.freeze(['auto', 'speaker', 'room']);
export const MODE_KEY = 'hiroba.speakerView';
/** How long the chair stays in the close-up after their voice stops (no flicker). */
export const CHAIR_HOLD_MS = 3000;

/** A stored mode, or 'auto'. */
export function modeFrom(value) {
  return MODES.includes(value) ? value : 'auto';
}

/**
 * Who the close-up shows: the floor holder, else the chair while speaking (and a little
 * after), else nobody; nobody in the room view. Automatic never shows the page's own
 * person (`self`): a member given the floor needs the microphone and the room, not a
 * picture of themselves (the speaker mode still shows them, if they ask for it).
 */
export function speakerChoice({ mode, holder = null, chair = null, chairSpokeAt = -Infinity, now = 0, self = null }) {
  if (mode === 'room') return null;
  let pick = null;
  if (holder) pick = holder;
  else if (chair && now - chairSpokeAt < CHAIR_HOLD_MS) pick = chair;
  return mode === 'auto' && pick !== null && pick === self ? null : pick;
}

/** Whether the view is on the screen: always in the speaker mode, with a speaker in auto. */
export function viewShown(mode, pid) {
  return mode === 'speaker' || (mode === 'auto' && !!pid);
}

export class SpeakerView {
  /**
   * @param {object} hooks holder(): the floor holder's pid or null (null outside a
   *   meeting); active(): a meeting is on; person(pid): the participant record;
   *   labelOf(p): a name with its role; announce(text): the polite live region;
   *   selfId(): the page's own participant id (or null);
   *   shown(on): whether the caption (not the 3D screen) now carries the speaker.
   */
  constructor(hooks) {
    this.hooks = hooks;
    this.mode = modeFrom(store.get(MODE_KEY));
    this.showing = null;
    this.name = '';
    this.on = false;
    this.chairSpokeAt = -Infinity;
    this.root = byId('speaker-view');
    this.frameEl = byId('speaker-frame');
    this.select = byId('speaker-mode');
    this.select.value = this.mode;
    this.select.addEventListener('change', () => this.setMode(this.select.value, true));
    this.modeBox = this.select.closest('.speaker-mode');
    this.#apply();
    i18n.onChange(() => this.#apply());
  }

  setMode(mode, announce = false) {
    this.mode = modeFrom(mode);
    this.select.value = this.mode;
    store.set(MODE_KEY, this.mode);
    this.#apply();
    if (announce) this.hooks.announce?.(t('speaker.modeChanged', { mode: t(`speaker.mode.${this.mode}`) }));
  }

  /**
   * Per frame, before the room is drawn: pick the speaker, show or hide the view, aim the
   * close-up (plaza.speakerCam) at the speaker's head from the avatar record and mark
   * the speaker's name label (plaza.avatars.highlight).
   */
  frame(plaza, now) {
    const active = !!this.hooks.active();
    if (this.modeBox.hidden === active) this.modeBox.hidden = !active;
    const holder = active ? this.hooks.holder() : null;
    const chair = active ? this.#chair(plaza) : null;
    if (chair && plaza.avatars.isSpeaking(chair)) this.chairSpokeAt = now;
    const self = this.hooks.selfId?.() ?? null;
    const pid = active ? speakerChoice({ mode: this.mode, holder, chair, chairSpokeAt: this.chairSpokeAt, now, self }) : null;
    const p = pid ? this.hooks.person(pid) : null;
    const showing = p ? pid : null;
    const on = active && viewShown(this.mode, showing);
    if (showing !== this.showing || on !== this.on) {
      this.showing = showing;
      this.on = on;
      this.name = p ? this.hooks.labelOf(p) : '';
      this.#apply();
    }
    // the floor holder's label is highlighted in every mode
    plaza.avatars.highlight = active ? holder ?? showing : null;
    // not the own avatar while the camera sits in its head (a seated member's own view: it
    // is hidden); the frame is then plain, its caption still says who speaks
    const hidden = showing !== null && plaza.avatars.get(showing)?.visible === false;
    const head = on && showing && !hidden ? plaza.avatars.headPoint(showing) : null;
    if (this.root.classList.contains('blank') !== (on && !head)) this.root.classList.toggle('blank', on && !head);
    plaza.speakerCam.aim(head, head ? this.#rect(plaza.renderer.domElement) : null);
  }

  #chair(plaza) {
    for (const rec of plaza.avatars.records.values()) {
      if (this.hooks.person(rec.id)?.role === 'chair') return rec.id;
    }
    return null;
  }

  #rect(canvas) {
    const f = this.frameEl.getBoundingClientRect();
    const c = canvas.getBoundingClientRect();
    // the frame's inside (its border is drawn by the page, not over the picture)
    const b = 2;
    return { x: f.left - c.left + b, y: f.top - c.top + b, w: f.width - 2 * b, h: f.height - 2 * b };
  }

  #apply() {
    const r = this.root;
    r.dataset.mode = this.mode;
    r.classList.toggle('on', this.on);
    r.classList.toggle('empty', this.on && !this.showing);
    this.hooks.shown?.(this.on && !!this.showing);
    this.frameEl.setAttribute('aria-label', this.showing ? t('speaker.closeUp', { name: this.name }) : t('speaker.nobody'));
    byId('speaker-empty').hidden = !(this.on && !this.showing);
  }

  /** For window.hiroba.state().speakerView. */
  state() {
    return { mode: this.mode, showing: this.on ? this.showing : null, name: this.on && this.showing ? this.name : null, on: this.on };
  }
}
