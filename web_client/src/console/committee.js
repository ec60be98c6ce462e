/**
 * The staff console's committee panel (issue 16): what the secretariat (議会事務局) sees and
 * does in a committee room. Attendance per member with status and times, identity checks
 * (who, when, how) and the members' cameras, the quorum rule and the live quorum, roll call,
 * motions and votes with results by name, recusals, closed sessions, gallery counts, and
 * corrections with reasons. Everything shown comes from `committee:state` (docs/protocol.md)
 * and, for who made a correction and why, from the audit entries the console receives:
 * the server audits every correction, so the panel shows the same record the audit log has.
 *
 * Staff send the same socket actions as the chair (the policy decides; a tie is the chair's
 * to decide, 委員長裁決, so the panel only says it waits). Forms are built once and only their
 * option lists change, so a redraw never takes away what staff are typing or the focus.
 */
import { i18n, t } from '../i18n.js';
import * as E from '../net/events.js';
import { IdentityViewer } from '../net/identity.js';
import { renderIdentityTiles } from '../ui/identityTiles.js';
import { el, fillKeyed } from '../ui/el.js';
import { formatTime } from './times.js';

export const STATUSES = ['present', 'late', 'left', 'disconnected', 'absent', 'unknown'];
export const VOTE_METHODS = ['hands', 'standing', 'named', 'assent'];
const FRACTION = /^([1-9][0-9]{0,2})\/([1-9][0-9]{0,2})$/;
/** The audit actions whose entries are corrections or marks made by hand (shown with reason). */
export const CORRECTIONS = ['committee.attendance', 'committee.verify', 'committee.recuse'];

const k = (key, vars) => t(`console.committee.${key}`, vars);
const time = (at) => formatTime(at, i18n.lang);

/**
 * Validate the quorum rule form's values: `{rule}` for POST /api/rooms/{room}/settings'
 * `committee`, or `{error, field}` (an i18n key and which input is wrong). Pure.
 */
export function readRule({ fraction, strict, chairCounts, seats, cameraDuringVote }) {
  const f = String(fraction || '').trim();
  const m = FRACTION.exec(f);
  if (!m || Number(m[1]) > Number(m[2])) return { error: 'console.committee.badFraction', field: 'fraction' };
  const s = String(seats ?? '').trim();
  let n = null;
  if (s) {
    n = Number(s);
    if (!Number.isInteger(n) || n < 1 || n > 999) return { error: 'console.committee.badSeats', field: 'seats' };
  }
  return { rule: { fraction: f, strict: !!strict, chair_counts: !!chairCounts, seats: n, camera_during_vote: !!cameraDuringVote } };
}

/** The rule in words ("定数の1/2以上、委員長を含む"). */
export function ruleText(rule) {
  if (!rule) return '';
  return [k(rule.strict ? 'ruleMore' : 'ruleAtLeast', { fraction: rule.fraction }),
    k(rule.chair_counts ? 'chairIn' : 'chairOut'),
    rule.seats ? k('seatsFixed', { seats: rule.seats }) : k('seatsRoster'),
    ...(rule.camera_during_vote ? [k('cameraDuringVote')] : [])].join(t('console.committee.sep'));
}

/**
 * The corrections and marks made by hand, newest first, from audit entries: who made it
 * (name and role), when, on whom, what and why. Refusals (details.refused) are left out.
 */
export function correctionsOf(audit, names) {
  return (audit || []).filter((e) => CORRECTIONS.includes(e.action) && !e.details?.refused)
    .map((e) => ({
      at: e.at, by: e.actor_name || e.actor, role: e.actor_role, action: e.action, reason: e.reason || '',
      member: names.get(e.details?.member) || e.details?.member || '', status: e.details?.status,
      method: e.details?.method, motion: e.details?.motion, recused: e.details?.recused,
    })).reverse();
}

export class CommitteePanel {
  /**
   * `act(event, payload)` sends a socket action (null when refused; the console shows why),
   * `say(text)` announces in the console's live region, `socket()` gives the room socket
   * (for the identity viewer), `people()` the staff roster (to name who verified).
   */
  constructor({ act, say, socket, people }) {
    this.act = act;
    this.say = say;
    this.socket = socket;
    this.people = people;
    this.state = null;
    this.audit = [];
    this.viewer = null;
    this.section = null;
    this.ruleBox = null;
    this.lang = null;
  }

  /** Put the (hidden) section first in the console grid and the rule fields in the settings form. */
  mount(grid, settingsForm) {
    this.grid = grid;
    this.form = settingsForm;
  }

  /**
   * Build the section and the rule fields in the current language: first when a room
   * opens (the translations are loaded by then), again when the language changes (the
   * rule's values are kept; the cameras are reopened).
   */
  #ensure() {
    if (this.section && this.lang === i18n.lang) return;
    this.lang = i18n.lang;
    const old = this.section;
    const oldRule = this.ruleBox;
    const kept = oldRule ? this.#ruleValues() : null;
    const watching = !!this.viewer;
    if (watching) this.stopVideo();
    this.section = this.#build();
    this.section.hidden = old ? old.hidden : true;
    if (old) old.replaceWith(this.section);
    else this.grid.prepend(this.section);
    const box = this.#ruleFields();
    box.hidden = oldRule ? oldRule.hidden : true;
    if (oldRule) oldRule.replaceWith(box);
    else this.form.querySelector('button[type=submit]').before(box);
    if (kept) this.#setRuleValues(kept);
    if (watching) this.startVideo();
  }

  #ruleValues() {
    const q = (id) => this.ruleBox.querySelector(`#${id}`);
    return { fraction: q('settings-fraction').value, strict: q('settings-strict').value === 'true',
      chairCounts: q('settings-chair-counts').checked, seats: q('settings-seats').value,
      cameraDuringVote: q('settings-camera-vote').checked };
  }

  #setRuleValues(v) {
    const q = (id) => this.ruleBox.querySelector(`#${id}`);
    q('settings-fraction').value = v.fraction;
    q('settings-strict').value = String(!!v.strict);
    q('settings-chair-counts').checked = !!v.chairCounts;
    q('settings-seats').value = v.seats ?? '';
    q('settings-camera-vote').checked = !!v.cameraDuringVote;
  }

  /** Show the panel (and the rule fields) only in a committee room. */
  setRoom(kind) {
    this.#ensure();
    const on = kind === 'committee';
    this.section.hidden = !on;
    this.ruleBox.hidden = !on;
    if (!on) {
      this.state = null;
      this.stopVideo();
    }
  }

  /** A whole `committee:state` (or the join ack's `meeting.committee`). */
  load(state) {
    const before = this.state;
    this.state = state || null;
    if (before && state) this.#announce(before, state);
    this.render();
  }

  /** The staff audit entries (for the corrections' log). */
  setAudit(entries) {
    this.audit = entries || [];
    this.#renderCorrections();
  }

  #announce(a, b) {
    if (a.quorum !== b.quorum) this.say(k(b.quorum ? 'liveQuorumMet' : 'liveQuorumLost', { counted: b.counted, needed: b.needed }));
    if (a.rollcall !== b.rollcall) this.say(k(b.rollcall ? 'liveRollcallOpen' : 'liveRollcallClosed'));
    const va = a.vote;
    const vb = b.vote;
    if (vb && (!va || va.id !== vb.id) && vb.state === 'open') this.say(k('liveVoteOpened', { title: this.#title(vb.motion) }));
    else if (vb && va?.id === vb.id && va.state !== vb.state && vb.results) {
      this.say(k('liveVoteClosed', { title: this.#title(vb.motion), outcome: this.#outcome(vb.results) }));
    }
  }

  #names() {
    return new Map((this.state?.members || []).map((m) => [m.member, m.name]));
  }

  #title(id) {
    return this.state?.motions?.find((m) => String(m.id) === String(id))?.title ?? `#${id}`;
  }

  /** Who a verification's `by` is: a staff account or a participant id, by name. */
  #byName(by) {
    for (const p of this.people().values()) if (p.account === by || p.pid === by) return p.name;
    return this.state?.members?.find((m) => m.pid === by)?.name ?? by;
  }

  #outcome(r) {
    return `${k(`voteOutcome.${r.outcome}`)}${r.chair_decided ? ` (${k('chairDecided')})` : ''}`;
  }

  // -- building (once) ----------------------------------------------------------------------

  #select(id, label, options = []) {
    const s = el('select', { id }, options);
    return [el('label', { for: id, text: label }), s];
  }

  #build() {
    const reason = (id) => [el('label', { for: id, text: k('reason') }), el('input', { id, type: 'text', maxlength: 500, autocomplete: 'off' })];
    const form = (id, onsubmit, ...children) => el('form', { id, class: 'cm-form', novalidate: true, onsubmit: (e) => {
      e.preventDefault();
      onsubmit();
    } }, ...children);
    const sec = el('section', { id: 'sec-committee', class: 'panel wide committee', 'aria-labelledby': 'h-committee', hidden: true },
      el('h3', { id: 'h-committee', text: k('heading') }),
      el('div', { class: 'cm-summary' },
        el('p', { id: 'cm-quorum', class: 'big' }),
        el('p', { id: 'cm-rule', class: 'hint' }),
        el('p', { id: 'cm-gallery' }),
        el('p', { id: 'cm-closed' })),
      el('div', { class: 'row wrap' },
        el('button', { id: 'cm-rollcall', type: 'button', class: 'primary', 'aria-pressed': 'false', onclick: () => this.act(E.COMMITTEE_ROLLCALL, { open: !this.state?.rollcall }) })),
      el('h4', { id: 'h-cm-attendance', text: k('attendance') }),
      el('ul', { id: 'cm-members', class: 'cm-members', 'aria-labelledby': 'h-cm-attendance' }),
      el('h4', { text: k('correct') }),
      form('cm-correct', () => this.#correct(),
        ...this.#select('cm-correct-member', k('member')),
        ...this.#select('cm-correct-status', k('status')),
        ...reason('cm-correct-reason'),
        el('button', { type: 'submit', id: 'cm-correct-submit', text: k('correctSubmit') })),
      form('cm-verify', () => this.#verify(),
        ...this.#select('cm-verify-member', k('member')),
        ...this.#select('cm-verify-method', k('method')),
        ...reason('cm-verify-reason'),
        el('button', { type: 'submit', id: 'cm-verify-submit', text: k('verifySubmit') })),
      el('p', { id: 'cm-form-error', class: 'error', role: 'alert' }),
      el('h4', { id: 'h-cm-corrections', text: k('corrections') }),
      // tabindex: a keyboard can scroll a long log (it has a height limit)
      el('ul', { id: 'cm-corrections', class: 'plain-list cm-corrections', 'aria-labelledby': 'h-cm-corrections', tabindex: 0 }),
      el('h4', { text: k('video') }),
      el('div', { class: 'row wrap' },
        el('button', { id: 'cm-video', type: 'button', 'aria-pressed': 'false', onclick: () => (this.viewer ? this.stopVideo() : this.startVideo()) })),
      el('div', { id: 'cm-tiles', hidden: true }),
      el('h4', { id: 'h-cm-motions', text: k('motions') }),
      form('cm-motion', () => this.#motion(),
        el('label', { for: 'cm-motion-title', text: k('motionTitle') }),
        el('input', { id: 'cm-motion-title', type: 'text', maxlength: 200, autocomplete: 'off' }),
        ...this.#select('cm-motion-amends', k('amends')),
        el('button', { type: 'submit', text: k('motionAdd') })),
      el('ol', { id: 'cm-motions', class: 'plain-list cm-motions', 'aria-labelledby': 'h-cm-motions' }),
      el('div', { id: 'cm-vote', class: 'cm-vote' }),
      el('h4', { text: k('recuse') }),
      form('cm-recuse', () => this.#recuse(),
        ...this.#select('cm-recuse-member', k('member')),
        ...this.#select('cm-recuse-motion', k('recuseMotion')),
        ...this.#select('cm-recuse-on', k('recuseAction')),
        ...reason('cm-recuse-reason'),
        el('button', { type: 'submit', text: k('recuseSubmit') })),
      el('h4', { text: k('closedHeading') }),
      form('cm-closed-form', () => this.#closed(),
        ...reason('cm-closed-reason'),
        el('button', { type: 'submit', id: 'cm-closed-toggle' })));
    return sec;
  }

  #ruleFields() {
    const box = el('fieldset', { id: 'settings-committee', class: 'field', hidden: true, 'aria-describedby': 'settings-rule-error' },
      el('legend', { text: k('ruleHeading') }),
      el('label', { for: 'settings-fraction', text: k('fraction') }),
      el('input', { id: 'settings-fraction', type: 'text', inputmode: 'numeric', maxlength: 7, autocomplete: 'off', 'aria-describedby': 'settings-rule-error' }),
      el('label', { for: 'settings-strict', text: k('strictLabel') }),
      el('select', { id: 'settings-strict' },
        el('option', { value: 'false', text: k('strictFalse') }), el('option', { value: 'true', text: k('strictTrue') })),
      el('label', { class: 'check' }, el('input', { id: 'settings-chair-counts', type: 'checkbox' }), el('span', { text: k('chairCountsLabel') })),
      el('label', { for: 'settings-seats', text: k('seats') }),
      el('input', { id: 'settings-seats', type: 'number', min: 1, max: 999, inputmode: 'numeric', 'aria-describedby': 'settings-rule-error' }),
      el('label', { class: 'check' }, el('input', { id: 'settings-camera-vote', type: 'checkbox' }), el('span', { text: k('cameraDuringVoteLabel') })),
      el('p', { id: 'settings-rule-error', class: 'error', role: 'alert' }));
    this.ruleBox = box;
    return box;
  }

  /** Show the stored rule in the settings form (GET /settings' `committee`). */
  fillRule(rule) {
    this.#ensure();
    const r = rule || { fraction: '1/2', strict: false, chair_counts: true, seats: null };
    this.#setRuleValues({ fraction: r.fraction, strict: r.strict, chairCounts: r.chair_counts, seats: r.seats, cameraDuringVote: r.camera_during_vote });
    this.#ruleError(null);
  }

  /**
   * The settings payload's `committee` part: `{}` outside a committee room, `{committee}`,
   * or null after showing a validation message (the form is then not sent).
   */
  rulePayload() {
    if (!this.ruleBox || this.ruleBox.hidden) return {};
    const q = (id) => this.ruleBox.querySelector(`#${id}`);
    const read = readRule(this.#ruleValues());
    this.#ruleError(read.error ? read : null);
    if (read.error) {
      q(`settings-${read.field}`).focus();
      return null;
    }
    return { committee: read.rule };
  }

  #ruleError(read) {
    const box = this.ruleBox;
    box.querySelector('#settings-rule-error').textContent = read ? t(read.error) : '';
    for (const f of ['fraction', 'seats']) {
      box.querySelector(`#settings-${f}`).setAttribute('aria-invalid', read?.field === f ? 'true' : 'false');
    }
  }

  // -- actions -------------------------------------------------------------------------------

  #error(key) {
    this.section.querySelector('#cm-form-error').textContent = key ? k(key) : '';
  }

  #value(id) {
    return this.section.querySelector(`#${id}`).value;
  }

  async #correct() {
    const reason = this.#value('cm-correct-reason').trim();
    if (!reason) {
      this.#error('reasonNeeded');
      return this.section.querySelector('#cm-correct-reason').focus();
    }
    this.#error(null);
    const ack = await this.act(E.COMMITTEE_ATTENDANCE, { member: this.#value('cm-correct-member'), status: this.#value('cm-correct-status'), reason });
    if (ack) {
      this.section.querySelector('#cm-correct-reason').value = '';
      this.say(k('liveCorrected'));
    }
  }

  async #verify() {
    const method = this.#value('cm-verify-method');
    const reason = this.#value('cm-verify-reason').trim();
    if (method === 'other' && !reason) {
      this.#error('reasonNeeded');
      return this.section.querySelector('#cm-verify-reason').focus();
    }
    this.#error(null);
    const ack = await this.act(E.COMMITTEE_VERIFY, { member: this.#value('cm-verify-member'), method, ...(reason ? { reason } : {}) });
    if (ack) {
      this.section.querySelector('#cm-verify-reason').value = '';
      this.say(k('liveVerified'));
    }
  }

  async #motion() {
    const title = this.#value('cm-motion-title').trim();
    if (!title) return this.section.querySelector('#cm-motion-title').focus();
    const amends = Number(this.#value('cm-motion-amends')) || null;
    if (await this.act(E.COMMITTEE_MOTION, { title, ...(amends ? { amends } : {}) })) {
      this.section.querySelector('#cm-motion-title').value = '';
      this.say(k('liveMotion', { title }));
    }
  }

  async #recuse() {
    const reason = this.#value('cm-recuse-reason').trim();
    const motion = Number(this.#value('cm-recuse-motion'));
    if (!motion) return;
    const ack = await this.act(E.COMMITTEE_RECUSE, { member: this.#value('cm-recuse-member'), motion,
      recused: this.#value('cm-recuse-on') === 'on', ...(reason ? { reason } : {}) });
    if (ack) this.section.querySelector('#cm-recuse-reason').value = '';
  }

  async #closed() {
    const closing = !this.state?.closed_session;
    const reason = this.#value('cm-closed-reason').trim();
    if (await this.act(E.COMMITTEE_CLOSED_SESSION, { closed: closing, ...(reason ? { reason } : {}) })) {
      this.section.querySelector('#cm-closed-reason').value = '';
    }
  }

  // -- the members' cameras (staff may view, docs/protocol.md "identity:view") ---------------

  async startVideo() {
    const socket = this.socket();
    if (!socket) return;
    const tiles = this.section.querySelector('#cm-tiles');
    const net = { socket, connected: socket.connected,
      request: (event, payload, ms) => socket.timeout(ms).emitWithAck(event, payload) };
    const slots = Math.max(1, Math.min(16, this.state?.members?.length || 4));
    this.viewer = new IdentityViewer(net, { slots, onChange: () => this.viewer && renderIdentityTiles(tiles, this.viewer) });
    tiles.hidden = false;
    this.#videoButton();
    try {
      await this.viewer.start();
      renderIdentityTiles(tiles, this.viewer);
    } catch (e) {
      this.stopVideo();
      this.#error(null);
      this.section.querySelector('#cm-form-error').textContent = k('videoFailed', { reason: e?.reason || e?.message || '' });
    }
  }

  stopVideo() {
    const v = this.viewer;
    this.viewer = null;
    v?.stop();
    if (!this.section) return;
    const tiles = this.section.querySelector('#cm-tiles');
    tiles.hidden = true;
    tiles.replaceChildren();
    this.#videoButton();
  }

  #videoButton() {
    const b = this.section.querySelector('#cm-video');
    b.textContent = k(this.viewer ? 'videoHide' : 'videoShow');
    b.setAttribute('aria-pressed', this.viewer ? 'true' : 'false');
  }

  // -- drawing ---------------------------------------------------------------------------------

  /** Replace a select's options only when they changed, keeping the chosen value. */
  #options(id, options) {
    const s = this.section.querySelector(`#${id}`);
    const kept = s.value;
    const rebuilt = fillKeyed(s, JSON.stringify([options, i18n.lang]),
      () => options.map(([value, label]) => el('option', { value, text: label })));
    if (rebuilt && options.some(([v]) => v === kept)) s.value = kept;
  }

  render() {
    if (!this.grid || !this.state) return;
    this.#ensure();
    const s = this.state;
    const sec = this.section;
    const q = (id) => sec.querySelector(`#${id}`);
    q('cm-quorum').textContent = k(s.quorum ? 'quorumMet' : 'quorumLost', { counted: s.counted, needed: s.needed, seats: s.seats });
    q('cm-quorum').classList.toggle('over', !s.quorum);
    q('cm-rule').textContent = `${k('rule')}: ${ruleText(s.rule)}`;
    const g = s.gallery || { now: 0, peak: 0, total: 0 };
    q('cm-gallery').textContent = k('gallery', g);
    const closed = s.closed_session;
    q('cm-closed').textContent = closed ? k('closedOn', { time: time(closed.since), reason: closed.reason || '' }) : k('closedOff');
    q('cm-closed-toggle').textContent = k(closed ? 'closedEnd' : 'closedStart');
    const roll = q('cm-rollcall');
    roll.textContent = k(s.rollcall ? 'rollcallClose' : 'rollcallOpen');
    roll.setAttribute('aria-pressed', s.rollcall ? 'true' : 'false');
    this.#videoButton();

    const members = s.members || [];
    const memberOpts = members.map((m) => [m.member, m.name]);
    this.#options('cm-correct-member', memberOpts);
    this.#options('cm-verify-member', memberOpts);
    this.#options('cm-recuse-member', memberOpts);
    this.#options('cm-correct-status', STATUSES.map((x) => [x, k(`status.${x}`)]));
    this.#options('cm-verify-method', ['video', 'other'].map((x) => [x, k(`method.${x}`)]));
    this.#options('cm-recuse-on', [['on', k('recuseOn')], ['off', k('recuseOff')]]);
    const motions = s.motions || [];
    this.#options('cm-motion-amends', [['', k('amendsNone')], ...motions.filter((m) => !m.amends && !m.outcome).map((m) => [String(m.id), m.title])]);
    this.#options('cm-recuse-motion', motions.map((m) => [String(m.id), m.title]));

    fillKeyed(q('cm-members'), JSON.stringify([members, motions.map((m) => [m.id, m.title]), i18n.lang]), () => members.map((m) => this.#member(m)));
    this.#renderMotions();
    this.#renderVote();
    this.#renderCorrections();
  }

  #member(m) {
    const v = m.verified;
    const recused = (m.recused_for || []).map((id) => this.#title(id));
    return el('li', { class: `cm-member status-${m.status}`, dataset: { member: m.member } },
      el('span', { class: 'cm-name' }, m.name, m.role === 'chair' ? el('span', { class: 'badge role-badge', text: t('role.chair') }) : null,
        m.pid ? null : el('span', { class: 'badge', text: k('offline') })),
      el('span', { class: 'cm-status' }, el('span', { class: `badge cm-st-${m.status}`, text: k(`status.${m.status}`) }),
        m.since ? ` ${k('since', { time: time(m.since) })}` : ''),
      el('span', { class: 'cm-verified' }, v ? k('verified', { method: k(`method.${v.method}`), by: this.#byName(v.by), time: time(v.at) }) : k('notVerified')),
      recused.length ? el('span', { class: 'cm-recused' }, k('recusedFor', { motions: recused.join(', ') })) : null,
      !v && m.pid ? el('button', { type: 'button', class: 'small', 'aria-label': k('verifyVideoName', { name: m.name }),
        onclick: () => this.act(E.COMMITTEE_VERIFY, { member: m.member, method: 'video' }).then((ack) => ack && this.say(k('liveVerified'))) }, k('verifyVideo')) : null,
      // "please turn on your camera": told to that member's page only (identity:asked)
      m.pid ? el('button', { type: 'button', class: 'small', 'data-ask': m.member, 'aria-label': k('askCameraName', { name: m.name }),
        onclick: () => this.act(E.IDENTITY_ASK, { member: m.member }).then((ack) => ack && this.say(k('askedCamera', { name: m.name }))) }, k('askCamera')) : null);
  }

  #renderMotions() {
    const s = this.state;
    const list = this.section.querySelector('#cm-motions');
    const motions = s.motions || [];
    const open = s.vote?.state === 'open' || s.vote?.state === 'tie';
    fillKeyed(list, JSON.stringify([motions, open, s.quorum, i18n.lang]), () => (motions.length ? motions.map((m) => {
      const method = el('select', { 'aria-label': k('voteMethodFor', { title: m.title }) },
        VOTE_METHODS.map((x) => el('option', { value: x, text: k(`vm.${x}`) })));
      return el('li', { class: 'cm-motion', dataset: { motion: m.id } },
        el('span', { class: 'cm-title' }, `#${m.id} `, m.title),
        m.amends ? el('span', { class: 'hint' }, ` ${k('amendmentOf', { title: this.#title(m.amends) })}`) : null,
        ' ', el('span', { class: 'badge', text: m.outcome ? k(`outcome.${m.outcome}`) : k('pending') }),
        m.outcome || open ? null : el('span', { class: 'row wrap' }, method,
          el('button', { type: 'button', class: 'small primary', 'aria-label': k('voteOpenFor', { title: m.title }),
            onclick: () => this.act(E.COMMITTEE_VOTE_OPEN, { motion: m.id, method: method.value }) }, k('voteOpen'))));
    }) : [el('li', { class: 'empty', text: k('noMotions') })]));
  }

  #renderVote() {
    const s = this.state;
    const box = this.section.querySelector('#cm-vote');
    const v = s.vote;
    const names = this.#names();
    fillKeyed(box, JSON.stringify([v, [...names], i18n.lang]), () => {
      if (!v) return [];
      const title = this.#title(v.motion);
      const castN = Object.keys(v.cast || {}).length;
      const out = [el('h4', { id: 'h-cm-vote', text: k('voteHeading', { title, method: k(`vm.${v.method}`) }) }),
        el('p', { id: 'cm-vote-state' }, el('span', { class: 'badge', text: k(`voteState.${v.state}`) }),
          v.state === 'open' ? ` ${k('cast', { n: castN })}` : '',
          (v.disconnected || []).length ? ` ${k('disconnectedIn', { names: v.disconnected.map((m) => names.get(m) || m).join(', ') })}` : '')];
      if (v.state === 'open') out.push(el('div', { class: 'row wrap' }, el('button', { id: 'cm-vote-close', type: 'button', class: 'primary', onclick: () => this.act(E.COMMITTEE_VOTE_CLOSE, { vote: v.id }) }, k('voteClose'))));
      if (v.state === 'open' || v.state === 'tie') {
        const reason = el('input', { id: 'cm-rerun-reason', type: 'text', maxlength: 500, autocomplete: 'off' });
        out.push(el('form', { class: 'row wrap cm-form', novalidate: true, onsubmit: (e) => {
          e.preventDefault();
          if (!reason.value.trim()) return reason.focus();
          this.act(E.COMMITTEE_VOTE_RERUN, { vote: v.id, reason: reason.value.trim() });
        } }, el('label', { for: 'cm-rerun-reason', text: k('rerunReason') }), reason, el('button', { type: 'submit', text: k('rerun') })));
      }
      if (v.void_reason) out.push(el('p', { class: 'hint', text: k('voided', { reason: v.void_reason }) }));
      const r = v.results;
      // whether each ballot was cast with the member's identity camera live
      const cams = v.camera || {};
      const camCol = !!v.camera_required || Object.keys(cams).length > 0;
      const camCell = (m) => (m in cams ? k(cams[m] ? 'cameraYes' : 'cameraNo') : '—');
      if (v.camera_required) out.push(el('p', { id: 'cm-vote-camera', class: 'hint', text: k('cameraRequired') }));
      if (r) {
        out.push(el('p', { id: 'cm-vote-outcome', class: 'big', text: r.outcome ? this.#outcome(r) : k('voteState.tie') }),
          el('p', { text: v.method === 'assent' ? k('objections', { n: r.objections }) : k('totals', r) }),
          el('p', { class: 'hint', text: k('quorumAt', r.quorum) }),
          el('table', { id: 'cm-results', class: 'cm-results' },
            el('caption', { text: k('results') }),
            el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: k('member') }), el('th', { scope: 'col', text: k('resultHeading') }),
              camCol ? el('th', { scope: 'col', text: k('cameraCol') }) : null)),
            el('tbody', {}, Object.entries(r.by_member || {}).map(([m, res]) => el('tr', { dataset: { member: m } },
              el('th', { scope: 'row', text: names.get(m) || m }), el('td', { text: k(`result.${res}`) }),
              camCol ? el('td', { class: 'cm-camera-cell', text: camCell(m) }) : null)))));
      }
      return out;
    });
  }

  #renderCorrections() {
    if (!this.section) return;
    const list = this.section.querySelector('#cm-corrections');
    const rows = correctionsOf(this.audit, this.#names());
    fillKeyed(list, JSON.stringify([rows, i18n.lang]), () => (rows.length ? rows.map((c) => {
      let what;
      if (c.action === 'committee.attendance') what = k('corrAttendance', { member: c.member, status: k(`status.${c.status}`) });
      else if (c.action === 'committee.verify') what = k('corrVerify', { member: c.member, method: k(`method.${c.method}`) });
      else what = k(c.recused ? 'corrRecuse' : 'corrUnrecuse', { member: c.member, title: this.#title(c.motion) });
      return el('li', { class: 'cm-correction', dataset: { action: c.action } },
        el('span', { class: 'when', text: time(c.at) }), ' ', what, ' — ',
        el('span', { class: 'cm-by', text: k('by', { name: c.by, role: t(`role.${c.role}`) }) }),
        c.reason ? el('span', { class: 'cm-reason', text: ` ${k('because', { reason: c.reason })}` }) : null);
    }) : [el('li', { class: 'empty', text: k('noCorrections') })]));
  }
}
