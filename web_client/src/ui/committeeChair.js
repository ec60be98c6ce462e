/**
 * The chair's part of the committee panel (委員長): roll call, attendance with times and
 * the identity check (the members' cameras in tiles, a "verified" button per member, or
 * another method with a reason), recusal per member for the chosen motion, motions and
 * amendments, vote controls (open with a method — refused without quorum, and the reason
 * shown —, close, 委員長裁決 on a tie, re-run) and the closed session.
 *
 * The forms are built once (what the chair types survives every state change); lists are
 * patched in place by key (el.js `keyed`), so a redraw never takes a button from under a
 * finger or the focus.
 */
import { i18n, t } from '../i18n.js';
import * as E from '../net/events.js';
import { IdentityViewer } from '../net/identity.js';
import { renderIdentityTiles } from './identityTiles.js';
import { el, keyed } from './el.js';
import { methodText } from './committeeVote.js';
import { METHODS } from '../state/committee.js';

const time = (s) => (s ? new Date(s * 1000).toLocaleTimeString(i18n.lang, { hour: '2-digit', minute: '2-digit' }) : '');

export class CommitteeChair {
  /** @param {{net: object, act: Function}} deps act(event, payload, doneText) → Promise<ack|false> */
  constructor(deps) {
    this.deps = deps;
    this.viewer = null;
    this.view = null;
    const id = (x) => `committee-${x}`;
    const field = (name, label, input) => el('div', { class: 'field' }, el('label', { for: id(name), text: label }), input);
    this.rollcall = el('button', { type: 'button', id: id('rollcall'), class: 'primary', onclick: () => this.#rollcall() });
    this.cams = el('button', { type: 'button', id: id('cameras'), onclick: () => this.#cameras() });
    this.tiles = el('div', { id: id('tiles'), class: 'identity-tiles', hidden: true });
    this.list = el('ol', { id: id('attendance'), class: 'cm-attendance plain-list' });
    this.motionTitle = el('input', { id: id('motion-title'), type: 'text', maxlength: 200, autocomplete: 'off' });
    this.amends = el('select', { id: id('motion-amends') });
    this.openMotion = el('select', { id: id('open-motion') });
    this.openMotion.addEventListener('change', () => this.view && this.render(this.view));
    this.openMethod = el('select', { id: id('open-method') }, ...METHODS.map((m) => el('option', { value: m })));
    this.openBtn = el('button', { type: 'button', id: id('vote-open'), class: 'primary', 'aria-describedby': id('open-why'), onclick: () => this.#open() });
    this.openWhy = el('p', { id: id('open-why'), class: 'cm-warn', role: 'status' });
    this.closeBtn = el('button', { type: 'button', id: id('vote-close'), class: 'primary', onclick: () => this.#thenResults(this.#send(E.COMMITTEE_VOTE_CLOSE, { vote: this.view.vote.id })) });
    this.passBtn = el('button', { type: 'button', id: id('decide-passed'), class: 'primary', onclick: () => this.#decide('passed') });
    this.rejectBtn = el('button', { type: 'button', id: id('decide-rejected'), onclick: () => this.#decide('rejected') });
    this.rerunReason = el('input', { id: id('rerun-reason'), type: 'text', maxlength: 500, autocomplete: 'off' });
    this.rerunBtn = el('button', { type: 'button', id: id('vote-rerun'), onclick: () => this.#rerun() });
    this.closedReason = el('input', { id: id('closed-reason'), type: 'text', maxlength: 500, autocomplete: 'off' });
    this.closedBtn = el('button', { type: 'button', id: id('closed-session'), onclick: () => this.#closed() });
    this.decide = el('div', { class: 'row wrap', id: id('decide'), role: 'group' }, this.passBtn, this.rejectBtn);
    this.openForm = el('div', { id: id('open-form') },
      field('open-motion', '', this.openMotion), field('open-method', '', this.openMethod), this.openBtn, this.openWhy);
    this.running = el('div', { id: id('running') }, el('div', { class: 'row wrap' }, this.closeBtn), this.decide,
      el('details', { class: 'cm-more' }, el('summary', { id: id('rerun-summary') }),
        field('rerun-reason', '', this.rerunReason), this.rerunBtn));
    this.node = el('section', { id: id('chair'), class: 'cm-chair', 'aria-labelledby': id('chair-h') },
      el('h3', { id: id('chair-h') }),
      el('div', { class: 'row wrap' }, this.rollcall, this.cams),
      this.tiles,
      el('h4', { id: id('attendance-h') }), this.list,
      el('h4', { id: id('vote-h') }), this.openForm, this.running,
      el('details', { class: 'cm-more', id: id('motion-form') }, el('summary', { id: id('motion-summary') }),
        field('motion-title', '', this.motionTitle), field('motion-amends', '', this.amends),
        el('button', { type: 'button', id: id('motion-add'), onclick: () => this.#motion() })),
      el('details', { class: 'cm-more', id: id('closed-form') }, el('summary', { id: id('closed-summary') }),
        field('closed-reason', '', this.closedReason), this.closedBtn));
  }

  /** Labels that do not depend on the state (called on a language change too). */
  #labels() {
    const n = this.node;
    const set = (sel, key) => (n.querySelector(sel).textContent = t(key));
    set('#committee-chair-h', 'committee.chair.heading');
    set('#committee-attendance-h', 'committee.chair.attendance');
    set('#committee-vote-h', 'committee.chair.vote');
    set('label[for="committee-open-motion"]', 'committee.motion');
    set('label[for="committee-open-method"]', 'committee.chair.method');
    set('label[for="committee-rerun-reason"]', 'committee.chair.reason');
    set('label[for="committee-closed-reason"]', 'committee.chair.reason');
    set('label[for="committee-motion-title"]', 'committee.chair.motionTitle');
    set('label[for="committee-motion-amends"]', 'committee.chair.amends');
    set('#committee-motion-summary', 'committee.chair.newMotion');
    set('#committee-motion-add', 'committee.chair.addMotion');
    set('#committee-rerun-summary', 'committee.chair.rerun');
    set('#committee-vote-rerun', 'committee.chair.rerunDo');
    set('#committee-closed-summary', 'committee.chair.closedSession');
    set('#committee-vote-open', 'committee.chair.open');
    set('#committee-vote-close', 'committee.chair.close');
    set('#committee-decide-passed', 'committee.chair.decidePassed');
    set('#committee-decide-rejected', 'committee.chair.decideRejected');
    this.decide.setAttribute('aria-label', t('committee.chair.decide'));
    for (const o of this.openMethod.options) o.textContent = methodText(o.value);
  }

  render(view) {
    this.view = view;
    this.#labels();
    const v = view.vote;
    this.rollcall.textContent = t(view.rollcall ? 'committee.chair.rollcallClose' : 'committee.chair.rollcallOpen');
    this.cams.textContent = t(this.viewer ? 'committee.chair.camerasOff' : 'committee.chair.camerasOn');
    this.cams.setAttribute('aria-expanded', this.viewer ? 'true' : 'false');
    this.closedBtn.textContent = t(view.closedSession ? 'committee.chair.closedOff' : 'committee.chair.closedOn');
    options(this.openMotion, view.votable.map((m) => [m.id, m.amends != null ? t('committee.amendmentOf', { title: m.title, of: m.amendsTitle }) : m.title]));
    options(this.amends, [['', t('committee.chair.notAmendment')], ...view.motions.filter((m) => m.amends == null && !m.outcome).map((m) => [m.id, m.title])]);
    this.openForm.hidden = !view.canOpen;
    const why = !view.votable.length ? t('committee.chair.noMotion') : view.openBlocked ? t('committee.chair.noQuorum', { counted: view.quorum.counted, needed: view.quorum.needed }) : '';
    this.openBtn.disabled = !!why;
    if (this.openWhy.textContent !== why) this.openWhy.textContent = why;
    this.running.hidden = !v || !(v.open || v.tie);
    this.closeBtn.hidden = !v?.open;
    this.decide.hidden = !v?.tie;
    keyed(this.list, view.members.map((m) => ({ key: m.member, sig: JSON.stringify([m, this.#recusalMotion(), i18n.lang]), build: () => this.#row(m) })));
    this.#showResults(view);
  }

  /** The motion a recusal is for: the vote's, else the one chosen to open. */
  #recusalMotion() {
    const v = this.view?.vote;
    if (v && (v.open || v.tie)) return v.motion;
    const chosen = this.openMotion.value;
    return chosen === '' ? null : Number(chosen);
  }

  #row(m) {
    const motion = this.#recusalMotion();
    const title = this.view.motions.find((x) => x.id === motion)?.title ?? '';
    const recused = motion != null && m.recusedFor.includes(motion);
    const status = t(`committee.status.${m.status}`) + (m.since ? ` ${time(m.since)}` : '');
    // `by` is the verifier's participant id: shown as their name when they are on the roster (the chair)
    const by = m.verified && (this.view.members.find((x) => x.pid && x.pid === m.verified.by)?.name ?? m.verified.by);
    const verified = m.verified ? t(`committee.verified.${m.verified.method}`, { by, at: time(m.verified.at) }) : t('committee.unverified');
    const reason = el('input', { type: 'text', maxlength: 500, autocomplete: 'off', id: `committee-reason-${m.member}`, 'aria-label': t('committee.chair.reasonFor', { name: m.name }) });
    const verify = (method) => this.#send(E.COMMITTEE_VERIFY, { member: m.member, method, ...(reason.value.trim() ? { reason: reason.value.trim() } : {}) });
    return el('li', { class: `cm-member${m.connected ? '' : ' offline'}`, dataset: { member: m.member } },
      el('p', { class: 'cm-who' }, el('strong', { text: m.name }), m.role === 'chair' ? el('span', { class: 'role-badge', text: t('committee.role.chair') }) : null,
        ' ', el('span', { class: `cm-status cm-s-${m.status}`, text: status }),
        ' ', el('span', { class: m.verified ? 'cm-ok' : 'cm-muted', text: verified }),
        recused ? el('span', { class: 'cm-recused', text: ` ${t('committee.recusedFor', { title })}` }) : null),
      el('div', { class: 'row wrap' },
        m.verified ? null : el('button', { type: 'button', class: 'primary', 'data-verify': m.member, 'aria-label': t('committee.chair.verifyVideoFor', { name: m.name }), onclick: () => verify('video'), text: t('committee.chair.verifyVideo') }),
        // "please turn on your camera": their page is told who asked (identity:asked)
        m.connected && m.role !== 'chair' ? el('button', { type: 'button', 'data-ask': m.member, 'aria-label': t('committee.chair.askCameraFor', { name: m.name }),
          onclick: () => this.#send(E.IDENTITY_ASK, { member: m.member }, t('committee.chair.askedCamera', { name: m.name })), text: t('committee.chair.askCamera') }) : null,
        el('details', { class: 'cm-more' }, el('summary', { text: t('committee.chair.more') }), reason,
          el('div', { class: 'row wrap' },
            el('button', { type: 'button', 'aria-label': t('committee.chair.verifyOtherFor', { name: m.name }), onclick: () => verify('other'), text: t('committee.chair.verifyOther') }),
            motion == null || m.role === 'chair' ? null : el('button', { type: 'button', 'data-recuse': m.member,
              'aria-label': t(recused ? 'committee.chair.unrecuseFor' : 'committee.chair.recuseFor', { name: m.name, title }),
              onclick: () => this.#send(E.COMMITTEE_RECUSE, { member: m.member, motion, recused: !recused, ...(reason.value.trim() ? { reason: reason.value.trim() } : {}) }),
              text: t(recused ? 'committee.chair.unrecuse' : 'committee.chair.recuse') })))));
  }

  #send(event, payload, done = '') {
    return this.deps.act(event, payload, done);
  }

  #rollcall() {
    return this.#send(E.COMMITTEE_ROLLCALL, { open: !this.view.rollcall });
  }

  async #open() {
    const motion = Number(this.openMotion.value);
    await this.#send(E.COMMITTEE_VOTE_OPEN, { motion, method: this.openMethod.value });
  }

  #decide(outcome) {
    return this.#thenResults(this.#send(E.COMMITTEE_DECIDE, { vote: this.view.vote.id, outcome }));
  }

  /** After the chair closes or decides a vote, bring its results into view when they
   * arrive: they are drawn above this panel, and on a desktop the chair's controls sit
   * far enough below them that the outcome would appear out of sight. */
  async #thenResults(sent) {
    const ack = await sent;
    if (ack) {
      this.resultsWanted = true;
      if (this.view) this.#showResults(this.view);
    }
    return ack;
  }

  #showResults(view) {
    const v = view.vote;
    if (!this.resultsWanted || !v?.results || v.tie) return;
    this.resultsWanted = false;
    // After the vote view has drawn them (the same state update, later in the frame).
    requestAnimationFrame(() => document.getElementById('committee-results')?.scrollIntoView({ block: 'start' }));
  }

  async #rerun() {
    const reason = this.rerunReason.value.trim();
    if (await this.#send(E.COMMITTEE_VOTE_RERUN, { vote: this.view.vote.id, reason })) this.rerunReason.value = '';
  }

  async #motion() {
    const title = this.motionTitle.value.trim();
    if (!title) return;
    const amends = this.amends.value === '' ? undefined : Number(this.amends.value);
    if (await this.#send(E.COMMITTEE_MOTION, { title, ...(amends != null ? { amends } : {}) })) this.motionTitle.value = '';
  }

  async #closed() {
    const closed = !this.view.closedSession;
    const reason = this.closedReason.value.trim();
    if (await this.#send(E.COMMITTEE_CLOSED_SESSION, { closed, ...(reason ? { reason } : {}) })) this.closedReason.value = '';
  }

  /** The members' cameras (本人確認), chair and staff only: one slot per seat. */
  async #cameras() {
    if (this.viewer) return this.stop();
    const viewer = new IdentityViewer(this.deps.net, {
      slots: Math.max(1, this.view.members.length),
      onChange: () => renderIdentityTiles(this.tiles, viewer),
    });
    this.viewer = viewer;
    this.tiles.hidden = false;
    renderIdentityTiles(this.tiles, viewer);
    this.render(this.view);
    try {
      await viewer.start();
    } catch (e) {
      console.warn('identity view', e?.reason, e?.message);
      this.stop();
      this.deps.error?.(e.reason || 'internal');
    }
  }

  /** Stop viewing (leaving the room, or the chair's button). */
  stop() {
    const v = this.viewer;
    this.viewer = null;
    v?.stop();
    this.tiles.hidden = true;
    this.tiles.replaceChildren();
    if (this.view) this.render(this.view);
  }
}

/** Replace a select's options only if they changed, keeping the chosen value. */
function options(select, pairs) {
  const sig = JSON.stringify(pairs);
  if (select.dataset.sig === sig) return;
  const keep = select.value;
  select.dataset.sig = sig;
  select.replaceChildren(...pairs.map(([value, text]) => el('option', { value: String(value), text })));
  if (pairs.some(([value]) => String(value) === keep)) select.value = keep;
}
