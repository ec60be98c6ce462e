/**
 * The microphone control in the HUD: one on/off button and a status line. The microphone
 * is asked for only when the person presses the button, and stops when they press it
 * again, leave, or the server ends it (the floor ended, muted).
 */
import { i18n, t } from '../i18n.js';

const $ = (id) => document.getElementById(id);

/** The status line for a reason (`VoiceError.reason`, a server reason code, or a state). */
export function voiceStatusText(status) {
  switch (status) {
    case 'on':
      return t('voice.status.on');
    case 'starting':
      return t('voice.status.starting');
    case 'denied':
      return t('voice.status.denied');
    case 'no_mic':
      return t('voice.status.noMic');
    case 'wrong_state':
      return t('voice.status.needFloor');
    case 'ended':
      return t('voice.status.ended');
    case 'muted':
      return t('voice.status.muted');
    case 'forbidden':
      return t('voice.status.forbidden');
    // Refused for a limit (issue 14, finding 9): say what to do, not that it failed.
    case 'rate_limited':
      return t('voice.status.busy');
    case 'audio_full':
      return t('voice.status.full');
    case 'address_limit':
      return t('voice.status.addressLimit');
    case 'listen:audio_full':
      return t('voice.status.listenFull');
    case 'listen:address_limit':
      return t('voice.status.listenAddressLimit');
    case 'off':
      return '';
    default:
      return t('voice.status.failed');
  }
}

export class VoicePanel {
  /** handlers: onToggle(on) → Promise (rejects with a VoiceError) */
  constructor(handlers) {
    this.h = handlers;
    this.on = false;
    this.status = 'off';
    $('voice-toggle').addEventListener('click', () => this.#toggle());
    i18n.onChange(() => this.render()); // the status line is made here: redraw it in a new language
  }

  async #toggle() {
    const want = !this.on;
    if (want) this.render(true, 'starting');
    try {
      await this.h.onToggle(want);
      this.render(want, want ? 'on' : 'off');
    } catch (e) {
      this.render(false, e?.reason || 'failed');
    }
  }

  /** The server refused to send voices (a full server, a crowded network): show why. */
  listenRefused(reason) {
    this.render(this.on, `listen:${reason}`);
  }

  /** The server or the connection ended the microphone: show why. */
  ended(reason) {
    this.render(false, reason === 'wrong_state' ? 'ended' : reason);
  }

  render(on = this.on, status = this.status) {
    this.on = on;
    this.status = status;
    const button = $('voice-toggle');
    button.setAttribute('aria-pressed', on ? 'true' : 'false');
    $('voice-status').textContent = voiceStatusText(status);
  }
}
