/**
 * The committee tab of the meeting panel (委員会), for the three people who open the
 * plaza page of a committee room:
 * - a member: the quorum, the roll-call answer and their own status, their camera for the
 *   identity check (to the chair and staff only, said on screen, with a stop button), the
 *   motion in question and their vote (or the recusal note in its place);
 * - the chair: the same read-out plus committeeChair.js's controls;
 * - the public gallery: the quorum, the motion, the vote's progress and, once closed, the
 *   results by name (the public record) — read-only, never a camera control.
 *
 * main.js feeds it every `committee:state` with `update(state, self)`. Changes that matter
 * are returned by `update` to be said (roll call opened, vote opened / closed with the result,
 * quorum lost / regained). When a roll call or a vote opens for a member, `attention()`
 * brings the tab into view (a phone's panel may be closed).
 */
import { i18n, t } from '../i18n.js';
import * as E from '../net/events.js';
import { publishCamera } from '../net/identity.js';
import { committeeAnnouncements, committeeView } from '../state/committee.js';
import { el, byId } from './el.js';
import { reasonText } from './join.js';
import { renderVote, methodText, outcomeText } from './committeeVote.js';
import { CommitteeChair } from './committeeChair.js';

/** The children that are there: DOM's replaceChildren would write a null as the text "null". */
const present = (...nodes) => nodes.filter((n) => n !== null && n !== undefined && n !== false);

export class CommitteePanel {
  /**
   * @param {{net: () => object, announce: (text: string) => void, attention: () => void}} hooks
   */
  constructor(hooks) {
    this.hooks = hooks;
    this.state = null;
    this.self = null;
    this.view = null;
    this.camera = null; // the own identity camera while it is sent
    this.cameraBusy = false;
    this.askedBy = null; // who asked for this member's camera (identity:asked), until it is on
    this.cameraNeeded = false; // a ballot was refused camera_required
    this.chair = null;
    this.root = byId('panel-committee');
    this.error = el('p', { id: 'committee-error', class: 'error', role: 'alert' });
    this.head = el('div', { id: 'committee-head', class: 'cm-head' });
    this.mine = el('div', { id: 'committee-mine', class: 'cm-mine-box' });
    this.cam = el('div', { id: 'committee-camera', class: 'cm-camera' });
    this.vote = el('section', { id: 'committee-vote', class: 'cm-vote', 'aria-labelledby': 'committee-vote-heading' });
    this.motions = el('ol', { id: 'committee-motions', class: 'plain-list cm-motions' });
    this.motionsHead = el('h3', { id: 'committee-motions-heading' });
    this.root.replaceChildren(this.error, this.head, this.mine, this.cam, this.vote, this.motionsHead, this.motions);
    i18n.onChange(() => this.render());
  }

  /**
   * A new committee state (or the page's `self` after a join); null: not a committee room.
   * Returns what to say about the change ('' for nothing): the caller says it with what
   * else it has to say (one live-region message, so neither replaces the other).
   */
  update(state, self = this.self) {
    this.state = state;
    this.self = self;
    const before = this.view;
    this.view = committeeView(state, self);
    if (!this.view) return;
    const said = committeeAnnouncements(before, this.view).map((a) => t(a.key, this.#params(a.params)));
    if (before && this.view.kind === 'member' && ((this.view.me?.canAnswer && !before.me?.canAnswer) || (this.view.vote?.controls && !before.vote?.controls))) {
      this.hooks.attention?.();
    }
    this.render();
    return said.join(' ');
  }

  #params(p) {
    if (!p) return {};
    const out = { ...p };
    if (p.method) out.method = methodText(p.method);
    if ('outcome' in p) out.outcome = p.outcome ? t(`committee.outcome.${p.outcome}`) : '';
    return out;
  }

  /**
   * The chair (or staff) asked for this member's camera (`identity:asked`): say who asked
   * (aria-live), bring the tab into view and light the camera button.
   */
  asked(msg) {
    if (!this.view || this.view.kind === 'public') return;
    this.askedBy = String(msg?.by || '');
    this.hooks.announce?.(t('committee.camera.asked', { by: this.askedBy }));
    if (this.camera) return; // already sent: nothing to light
    this.hooks.attention?.();
    this.render();
  }

  /** Leaving the room: stop the camera and the viewer, forget the state. */
  reset() {
    this.askedBy = null;
    this.cameraNeeded = false;
    this.camera?.stop();
    this.camera = null;
    this.chair?.stop();
    this.chair?.node.remove();
    this.chair = null;
    this.state = null;
    this.view = null;
  }

  async act(event, payload, doneText = '') {
    this.error.textContent = '';
    let ack;
    try {
      ack = await this.hooks.net().request(event, payload);
    } catch {
      ack = { ok: false, reason: 'timeout' };
    }
    if (!ack || ack.ok !== true) {
      if (ack?.reason === 'camera_required') {
        // the committee votes on camera: say so and offer the camera button, lit
        this.error.textContent = t('error.camera_required');
        this.cameraNeeded = true;
        this.render(this.camera ? null : 'committee-camera-start');
        return false;
      }
      this.error.textContent = reasonText(ack?.reason || 'internal');
      return false;
    }
    if (doneText) this.hooks.announce?.(doneText);
    return ack;
  }

  render(focusId = null) {
    const v = this.view;
    if (!v) return;
    const focused = document.activeElement;
    const fk = focused && this.root.contains(focused) ? focused.id : null;
    this.#head(v);
    this.#mine(v);
    this.#camera(v);
    this.vote.replaceChildren(el('h3', { id: 'committee-vote-heading', text: t('committee.vote.heading') }),
      ...present(...renderVote({ ...v, cameraOn: !!this.camera }, (...a) => this.act(...a), (id) => this.render(id))));
    this.motionsHead.textContent = t('committee.motions');
    this.motions.replaceChildren(...(v.motions.length ? v.motions : [null]).map((m) => (m
      ? el('li', { dataset: { motion: m.id } }, m.amends != null ? t('committee.amendmentOf', { title: m.title, of: m.amendsTitle }) : m.title,
        m.outcome ? el('span', { class: 'cm-outcome-tag', text: ` — ${t(`committee.motionOutcome.${m.outcome}`)}` }) : null)
      : el('li', { class: 'cm-muted', text: t('committee.noMotion') }))));
    if (v.kind === 'chair') {
      if (!this.chair) {
        this.chair = new CommitteeChair({ net: this.hooks.net(), act: (...a) => this.act(...a), error: (r) => (this.error.textContent = reasonText(r)) });
        this.root.append(this.chair.node);
      }
      this.chair.render(v);
    }
    // the control that had the focus was redrawn: give it back (same id), or the one asked for
    const target = (focusId && byId(focusId)) || (fk && byId(fk));
    if (target && target !== document.activeElement && !target.closest('[hidden]')) target.focus({ preventScroll: true });
  }

  #head(v) {
    const q = v.quorum;
    this.head.replaceChildren(...present(
      el('p', { id: 'committee-quorum', class: q.met ? 'cm-ok' : 'cm-warn' },
        el('strong', { text: t(q.met ? 'committee.quorum.met' : 'committee.quorum.lost') }), ' ',
        t('committee.quorum.counts', { counted: q.counted, needed: q.needed, seats: q.seats })),
      v.rollcall ? el('p', { id: 'committee-rollcall-open', class: 'cm-banner', text: t('committee.rollcallOpen') }) : null,
      v.closedSession ? el('p', { id: 'committee-closed', class: 'cm-banner', text: t('committee.closedSession', { reason: v.closedSession.reason || '' }) }) : null,
      v.vote?.results && v.kind === 'public' ? el('p', { class: 'visually-hidden', text: outcomeText(v.vote.results) }) : null,
    ));
  }

  #mine(v) {
    const me = v.me;
    if (!me) return this.mine.replaceChildren();
    this.mine.replaceChildren(...present(
      el('p', { id: 'committee-my-status' }, t('committee.myStatus', { status: t(`committee.status.${me.status}`) }), ' ',
        el('span', { class: me.verified ? 'cm-ok' : 'cm-muted', text: me.verified ? t('committee.youVerified') : t('committee.unverified') })),
      me.canAnswer
        ? el('button', { type: 'button', class: 'primary cm-big', id: 'committee-present', onclick: () => this.act(E.COMMITTEE_PRESENT, {}, t('committee.answered')), text: t('committee.present') })
        : null,
    ));
  }

  /** The own camera for the identity check: members only (the chair views, and may send too). */
  #camera(v) {
    if (v.kind === 'public') return this.cam.replaceChildren();
    const on = !!this.camera;
    const rollcall = !on && v.rollcall && !v.me?.verified;
    // asked by the chair, or needed for the vote now: the button is lit and says why
    const asked = !on && !!this.askedBy;
    const forVote = !on && !!v.vote?.open && (v.vote.cameraRequired || this.cameraNeeded);
    const ask = rollcall || asked || forVote;
    this.cam.classList.toggle('cm-asked', asked || forVote);
    this.cam.replaceChildren(...present(
      on ? el('p', { id: 'committee-camera-notice', class: 'cm-notice', role: 'status', text: t('identity.camera.on') }) : null,
      asked ? el('p', { id: 'committee-camera-asked', class: 'cm-banner', text: t('committee.camera.asked', { by: this.askedBy }) }) : null,
      rollcall && !asked ? el('p', { class: 'cm-muted', text: t('committee.camera.ask') }) : null,
      el('button', { type: 'button', id: on ? 'committee-camera-stop' : 'committee-camera-start', class: on ? '' : ask ? 'primary cm-big' : '',
        disabled: this.cameraBusy, onclick: () => (on ? this.stopCamera() : this.#startCamera()),
        text: t(on ? 'committee.camera.stop' : 'committee.camera.start') }),
    ));
  }

  async #startCamera() {
    if (this.camera || this.cameraBusy) return;
    this.cameraBusy = true;
    this.error.textContent = '';
    this.render();
    try {
      this.camera = await publishCamera(this.hooks.net(), {
        onEnded: () => {
          this.camera = null;
          this.render();
        },
      });
      this.askedBy = null;
      this.cameraNeeded = false;
      this.hooks.announce?.(t('identity.camera.on'));
    } catch (e) {
      const key = e.reason === 'denied' ? 'identity.camera.denied' : e.reason === 'no_camera' ? 'identity.camera.none' : null;
      this.error.textContent = key ? t(key) : reasonText(e.reason || 'internal');
    }
    this.cameraBusy = false;
    this.render(this.camera ? 'committee-camera-stop' : 'committee-camera-start');
  }

  stopCamera() {
    this.camera?.stop();
    this.camera = null;
    this.hooks.announce?.(t('committee.camera.stopped'));
    this.render('committee-camera-start');
  }

  /** For tests and debugging (window.hiroba.committee()). */
  snapshot() {
    const v = this.view;
    return v ? { kind: v.kind, quorum: v.quorum, rollcall: v.rollcall, me: v.me, vote: v.vote, camera: !!this.camera, viewing: !!this.chair?.viewer, askedBy: this.askedBy } : null;
  }
}
