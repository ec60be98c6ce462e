/**
 * The face-tracking controls in the HUD: an on/off button, the consent to send the
 * camera to the server (only where the server offers it), and the mode in use.
 */
import { i18n, t } from '../i18n.js';
import { DEVICE_REASONS } from '../state/trackingMode.js';
import { store } from './dom.js';

const $ = (id) => document.getElementById(id);
const CONSENT_KEY = 'hiroba.faceServer';

/** The status line for a tracking status (tracking/manager.js). */
export function statusText(status) {
  if (!status.on) return t('face.status.off');
  if (status.phase === 'starting' || status.phase === 'measuring') return t('face.status.starting');
  const mode = t(`face.status.${status.mode}`);
  return status.reason ? `${mode} ${t(`face.reason.${status.reason}`)}` : mode;
}

/**
 * Why face tracking is not on this device, in plain words, when it fell back to voice (or
 * to nothing): the browser cannot do it, it stopped on an error, the server has no face
 * model, or the device tracks too slowly; then what happens instead. Empty when there is
 * nothing to explain.
 */
export function noticeText(status) {
  if (!status.on || (status.mode !== 'voice' && status.mode !== 'none')) return '';
  if (!DEVICE_REASONS.includes(status.reason)) return '';
  const why = t(`face.notice.${status.reason}`);
  const instead = status.offer ? t('face.notice.offer') : t(`face.notice.${status.mode}`);
  return `${why} ${instead}`;
}

export class FacePanel {
  /** handlers: onToggle(on), onAllowServer(allowed) */
  constructor(handlers) {
    this.h = handlers;
    this.status = { on: false, mode: 'none', phase: 'off', reason: null };
    this.allow = store.get(CONSENT_KEY) === 'yes';
    $('face-server').checked = this.allow;
    $('face-toggle').addEventListener('click', () => this.h.onToggle(!this.status.on));
    $('face-server').addEventListener('change', (e) => {
      this.allow = e.target.checked;
      store.set(CONSENT_KEY, this.allow ? 'yes' : 'no');
      this.h.onAllowServer(this.allow);
    });
    // The offer after a fallback: consenting here is consenting in the box above, and
    // the tracking manager switches to the server at once (tracking/manager.js).
    $('face-use-server').addEventListener('click', () => {
      const box = $('face-server');
      box.checked = true;
      box.dispatchEvent(new Event('change'));
    });
    this.notice = '';
    // the status line is text made here, not data-i18n: redraw it in a new language
    i18n.onChange(() => this.render());
  }

  /** Show the consent box only to those the server offers server-side tracking. */
  setServerOffered(offered) {
    $('face-server-field').hidden = !offered;
  }

  render(status = this.status) {
    this.status = status;
    const button = $('face-toggle');
    button.setAttribute('aria-pressed', status.on ? 'true' : 'false');
    button.dataset.mode = status.mode;
    $('face-status').textContent = statusText(status);
    const notice = noticeText(status);
    $('face-notice').hidden = !notice;
    $('face-notice-text').textContent = notice;
    $('face-use-server').hidden = !status.offer;
    // Said once through the page's live region (ui/announcer.js), not on every redraw.
    if (notice && notice !== this.notice) {
      const live = $('live');
      if (live) live.textContent = notice;
    }
    this.notice = notice;
  }
}
