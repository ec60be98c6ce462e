/** In-room HUD: room name, head count, connection status, view toggle, language, leave. */
import { i18n, t } from '../i18n.js';

const $ = (id) => document.getElementById(id);

export class Hud {
  /** handlers: onLeave(), onToggleView(), onLang(lang) */
  constructor(handlers) {
    this.h = handlers;
    this.room = null;
    this.count = 0;
    this.mode = 'follow';
    this.status = 'connected';
    $('hud-leave').addEventListener('click', () => this.h.onLeave());
    $('hud-view').addEventListener('click', () => this.h.onToggleView());
    $('hud-lang').addEventListener('change', (e) => this.h.onLang(e.target.value));
    // touch devices get the joystick; it is also shown after the first touch anywhere
    this.touch = matchMedia('(pointer: coarse)').matches || navigator.maxTouchPoints > 0;
    this.seated = false;
    this.#joystick();
    addEventListener(
      'touchstart',
      () => {
        this.touch = true;
        this.#joystick();
      },
      { once: true, passive: true },
    );
  }

  #joystick() {
    $('joystick').hidden = !this.touch || this.seated;
  }

  /** Seated members do not walk: no joystick for them. */
  setSeated(seated) {
    this.seated = seated;
    this.#joystick();
  }

  show(visible) {
    $('plaza').hidden = !visible;
  }

  setRoom(room) {
    this.room = room;
    $('hud-view').hidden = !room.stage;
    this.render();
  }

  setCount(n) {
    this.count = n;
    $('hud-count').textContent = t('hud.count', { count: n });
  }

  setMode(mode) {
    this.mode = mode;
    this.render();
  }

  setStatus(status) {
    this.status = status;
    $('hud-status').textContent = status === 'connected' ? '' : t(`status.${status}`);
  }

  /** Redraw everything that depends on the language. */
  render() {
    $('hud-lang').value = i18n.lang;
    if (this.room) $('hud-room').textContent = i18n.pick(this.room.name);
    this.setCount(this.count);
    this.setStatus(this.status);
    // the button names the view it switches to
    const next = this.mode === 'stage' ? 'hud.viewFollow' : 'hud.viewStage';
    $('hud-view').textContent = t(next);
  }
}
