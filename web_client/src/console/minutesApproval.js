/**
 * The console's minutes-approval panel (会議録署名; docs/recording.md "Minutes approval",
 * docs/protocol.md "Minutes approval"). Staff pick a recording, save versions of its
 * minutes (the generated Markdown, or an edited text), compare any two versions, name the
 * signers (one chair, signing members) and publish the version every signer approved. A
 * signing account sees only the drafts naming it and approves or declines (with a reason)
 * the version it is asked to sign. Every list is real buttons and labelled fields; what
 * changed is announced through the console's live region.
 */
import { i18n, t } from '../i18n.js';
import { el, fill } from '../ui/el.js';
import { reasonText } from '../ui/join.js';
import { formatDateTime } from './times.js';

const base = (id) => `/api/recordings/${encodeURIComponent(id)}/minutes`;

export class MinutesApprovalPanel {
  /**
   * @param {import('./api.js').ConsoleApi} api
   * @param {(text: string) => void} say announces to screen readers
   * @param {() => Promise<void>} expired the login ended: back to the login form
   */
  constructor(api, say, expired) {
    this.api = api;
    this.say = say;
    this.expired = expired;
    this.error = el('p', { id: 'ma-error', class: 'error', role: 'alert' });
    this.kind = 'staff';
    this.current = null; // {recording, title, started, approval, versions}
    this.choices = []; // [{id, title, started}]
    this.shown = null; // {number, text} | {diff}
    this.root = el('section', { id: 'minutes-approval', class: 'card minutes-approval', 'aria-labelledby': 'ma-title' });
  }

  /** Put the panel into `parent` (once) and load what this account may see. */
  async mount(parent, kind) {
    this.kind = kind === 'signer' ? 'signer' : 'staff';
    if (this.root.parentElement !== parent) parent.append(this.root);
    this.current = null;
    this.shown = null;
    await this.refreshList();
  }

  /** Run an API call; on a refusal show its reason in the panel and give null. */
  async http(fn) {
    this.error.textContent = '';
    try {
      return await fn();
    } catch (e) {
      const reason = e?.reason || 'internal';
      this.error.textContent = reason === 'not_approved' ? t('minutesApproval.notApproved') : reasonText(reason);
      if (reason === 'session_expired') await this.expired();
      return null;
    }
  }

  async refreshList() {
    if (this.kind === 'signer') {
      const body = await this.http(() => this.api.get('/api/minutes/drafts'));
      this.choices = (body?.drafts || []).map((d) => ({ id: d.recording, title: d.title, started: d.started, approval: d.approval }));
    } else {
      const list = await this.http(() => this.api.get('/api/recordings?all=1'));
      this.choices = (Array.isArray(list) ? list : []).filter((r) => r.state === 'stopped').map((r) => ({ id: r.id, title: r.title || r.room_name, started: r.started }));
    }
    this.render();
  }

  async open(id) {
    const body = await this.http(() => this.api.get(`${base(id)}/versions`));
    if (!body) return;
    this.current = body;
    this.shown = null;
    this.render();
    this.root.querySelector('#ma-detail-title')?.focus();
  }

  async reload() {
    if (this.current) await this.open(this.current.recording);
  }

  title(item) {
    return `${item.title || item.recording || item.id} · ${formatDateTime(item.started, i18n.lang)}`;
  }

  // -- actions ----------------------------------------------------------------------------

  async showVersion(n) {
    const body = await this.http(() => this.api.get(`${base(this.current.recording)}/versions/${n}`));
    if (!body) return;
    this.shown = { number: n, text: body.text };
    this.render();
    this.root.querySelector('#ma-shown')?.focus();
  }

  async showDiff(from, to) {
    const body = await this.http(() => this.api.get(`${base(this.current.recording)}/diff?from=${from}&to=${to}`));
    if (!body) return;
    this.shown = { from, to, diff: body.diff };
    this.render();
    this.root.querySelector('#ma-shown')?.focus();
  }

  async save(text, note) {
    const payload = { note };
    if (text.trim()) payload.text = text;
    const body = await this.http(() => this.api.post(`${base(this.current.recording)}/versions`, payload));
    if (!body) return;
    this.say(t('minutesApproval.saved', { n: body.version }));
    await this.reload();
  }

  async loadLatestInto(area) {
    const latest = this.latest();
    if (!latest) return;
    const body = await this.http(() => this.api.get(`${base(this.current.recording)}/versions/${latest}`));
    if (body) {
      area.value = body.text;
      area.focus();
    }
  }

  async requestSigners(chair, members) {
    const signers = [{ account: chair.trim(), role: 'chair' }, ...members.split(/[,\s、]+/).filter(Boolean).map((a) => ({ account: a, role: 'member' }))];
    const body = await this.http(() => this.api.post(`${base(this.current.recording)}/signers`, { version: this.latest(), signers }));
    if (!body) return;
    this.say(t('minutesApproval.requested', { n: this.latest() }));
    await this.reload();
  }

  async decide(approve, reason = '') {
    const version = this.current.approval.version;
    const body = await this.http(() => this.api.post(`${base(this.current.recording)}/${approve ? 'approve' : 'decline'}`, approve ? { version } : { version, reason }));
    if (!body) return;
    this.say(t(approve ? 'minutesApproval.approvedByYou' : 'minutesApproval.declinedByYou', { n: version }));
    await this.reload();
  }

  async publish() {
    const version = this.current.approval.version;
    const body = await this.http(() => this.api.post(`${base(this.current.recording)}/publish`, { version }));
    if (!body) return;
    this.say(t('minutesApproval.publishedSay', { n: version }));
    await this.reload();
  }

  latest() {
    const v = this.current?.versions || [];
    return v.length ? v[v.length - 1].number : 0;
  }

  // -- drawing ----------------------------------------------------------------------------

  render() {
    const parts = [el('h2', { id: 'ma-title' }, t('minutesApproval.title'))];
    if (this.kind === 'signer') parts.push(el('p', { class: 'hint' }, t('minutesApproval.signerLead')));
    parts.push(this.pickList());
    if (this.current) parts.push(this.detail());
    parts.push(this.error);
    fill(this.root, parts);
  }

  pickList() {
    if (!this.choices.length) return el('p', { class: 'hint', id: 'ma-empty' }, t(this.kind === 'signer' ? 'minutesApproval.noneForYou' : 'minutesApproval.noRecordings'));
    return el('ul', { class: 'ma-choices', 'aria-label': t('minutesApproval.pick') },
      this.choices.map((c) => el('li', {},
        el('button', { type: 'button', class: 'ma-open', dataset: { id: c.id }, 'aria-current': this.current?.recording === c.id ? 'true' : null, onclick: () => this.open(c.id) }, this.title(c)))));
  }

  detail() {
    const cur = this.current;
    const a = cur.approval;
    return el('div', { class: 'ma-detail' },
      el('h3', { id: 'ma-detail-title', tabindex: '-1' }, this.title(cur)),
      el('p', { id: 'ma-status', role: 'status' }, this.statusText(a)),
      this.versionsList(cur.versions),
      cur.versions.length > 1 ? this.diffForm(cur.versions) : null,
      this.shownBlock(),
      a.version ? this.signersTable(a) : null,
      this.kind === 'signer' ? this.signerActions(a) : this.staffActions(a));
  }

  statusText(a) {
    if (!this.current.versions.length) return t('minutesApproval.noVersions');
    const parts = [];
    if (a.version) {
      const done = Object.values(a.decisions).filter((d) => d.approved).length;
      parts.push(a.approved ? t('minutesApproval.allApproved', { n: a.version }) : t('minutesApproval.waiting', { n: a.version, done, total: a.signers.length }));
    }
    if (a.published) parts.push(t('minutesApproval.publishedVersion', { n: a.published }));
    return parts.join(' · ') || t('minutesApproval.notRequested');
  }

  versionsList(versions) {
    if (!versions.length) return null;
    return el('div', {},
      el('h4', { id: 'ma-versions-h' }, t('minutesApproval.versions')),
      el('ol', { class: 'ma-versions', 'aria-labelledby': 'ma-versions-h' },
        versions.map((v) => el('li', { dataset: { n: v.number } },
          el('b', {}, t('minutesApproval.versionN', { n: v.number })), ' ',
          el('span', { class: 'hint' }, `${v.by} · ${formatDateTime(v.at, i18n.lang)}${v.note ? ` · ${v.note}` : ''}`), ' ',
          el('button', { type: 'button', class: 'ma-show', onclick: () => this.showVersion(v.number) }, t('minutesApproval.show', { n: v.number }))))));
  }

  diffForm(versions) {
    const opts = (sel) => versions.map((v) => el('option', { value: v.number, selected: v.number === sel }, t('minutesApproval.versionN', { n: v.number })));
    const last = versions[versions.length - 1].number;
    const from = el('select', { id: 'ma-diff-from' }, opts(last - 1));
    const to = el('select', { id: 'ma-diff-to' }, opts(last));
    return el('form', { class: 'row wrap ma-diff-form', onsubmit: (e) => { e.preventDefault(); this.showDiff(from.value, to.value); } },
      el('label', { for: 'ma-diff-from' }, t('minutesApproval.diffFrom')), from,
      el('label', { for: 'ma-diff-to' }, t('minutesApproval.diffTo')), to,
      el('button', { type: 'submit', id: 'ma-diff-show' }, t('minutesApproval.diffShow')));
  }

  shownBlock() {
    const s = this.shown;
    if (!s) return null;
    if (s.diff !== undefined) {
      const lines = s.diff ? s.diff.replace(/\n$/, '').split('\n') : [];
      return el('figure', { class: 'ma-shown' },
        el('figcaption', {}, t('minutesApproval.diffOf', { from: s.from, to: s.to })),
        el('pre', { id: 'ma-shown', class: 'ma-diff', tabindex: '0', 'aria-label': t('minutesApproval.diffOf', { from: s.from, to: s.to }) },
          lines.length ? lines.map((line) => el('span', { class: line.startsWith('+') && !line.startsWith('+++') ? 'add' : line.startsWith('-') && !line.startsWith('---') ? 'del' : '' }, `${line}\n`)) : t('minutesApproval.noChange')));
    }
    return el('figure', { class: 'ma-shown' },
      el('figcaption', {}, t('minutesApproval.versionN', { n: s.number })),
      el('pre', { id: 'ma-shown', class: 'ma-text', tabindex: '0', 'aria-label': t('minutesApproval.versionN', { n: s.number }) }, s.text));
  }

  signersTable(a) {
    return el('div', {},
      el('h4', { id: 'ma-signers-h' }, t('minutesApproval.signers', { n: a.version })),
      el('table', { class: 'ma-signers', 'aria-labelledby': 'ma-signers-h' },
        el('thead', {}, el('tr', {},
          el('th', { scope: 'col' }, t('minutesApproval.account')),
          el('th', { scope: 'col' }, t('minutesApproval.signsAs')),
          el('th', { scope: 'col' }, t('minutesApproval.state')))),
        el('tbody', {}, a.signers.map((s) => {
          const d = a.decisions[s.account];
          const state = !d ? t('minutesApproval.pending') : d.approved ? t('minutesApproval.approved') : t('minutesApproval.declined', { reason: d.reason });
          return el('tr', { dataset: { account: s.account } },
            el('td', {}, s.account), el('td', {}, t(`minutesApproval.role.${s.role}`)), el('td', { class: 'ma-state' }, state));
        }))));
  }

  signerActions(a) {
    if (!a.version) return null;
    const reason = el('input', { id: 'ma-reason', type: 'text', maxlength: '500', autocomplete: 'off' });
    return el('div', { class: 'ma-actions' },
      el('div', { class: 'row wrap' },
        el('button', { type: 'button', class: 'primary', id: 'ma-approve', onclick: () => this.decide(true) }, t('minutesApproval.approve', { n: a.version })),
        el('button', { type: 'button', id: 'ma-show-requested', onclick: () => this.showVersion(a.version) }, t('minutesApproval.show', { n: a.version }))),
      el('form', { class: 'field', onsubmit: (e) => { e.preventDefault(); this.decide(false, reason.value); } },
        el('label', { for: 'ma-reason' }, t('minutesApproval.reason')), reason,
        el('button', { type: 'submit', id: 'ma-decline' }, t('minutesApproval.decline', { n: a.version }))));
  }

  staffActions(a) {
    const text = el('textarea', { id: 'ma-text', rows: '6', spellcheck: 'false' });
    const note = el('input', { id: 'ma-note', type: 'text', maxlength: '200', autocomplete: 'off' });
    const saveForm = el('form', { class: 'ma-save', onsubmit: (e) => { e.preventDefault(); this.save(text.value, note.value); } },
      el('h4', {}, t('minutesApproval.saveHead')),
      el('div', { class: 'field' }, el('label', { for: 'ma-text' }, t('minutesApproval.text')), text,
        el('p', { class: 'hint' }, t('minutesApproval.textHint'))),
      el('div', { class: 'field' }, el('label', { for: 'ma-note' }, t('minutesApproval.note')), note),
      el('div', { class: 'row wrap' },
        el('button', { type: 'submit', class: 'primary', id: 'ma-save' }, t('minutesApproval.save')),
        this.latest() ? el('button', { type: 'button', id: 'ma-load', onclick: () => this.loadLatestInto(text) }, t('minutesApproval.loadLatest')) : null));
    if (!this.latest()) return saveForm;
    const chair = el('input', { id: 'ma-chair', type: 'text', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', value: a.signers.find((s) => s.role === 'chair')?.account || '' });
    const members = el('input', { id: 'ma-members', type: 'text', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', value: a.signers.filter((s) => s.role === 'member').map((s) => s.account).join(', ') });
    const signForm = el('form', { class: 'ma-request', onsubmit: (e) => { e.preventDefault(); this.requestSigners(chair.value, members.value); } },
      el('h4', {}, t('minutesApproval.requestHead', { n: this.latest() })),
      el('div', { class: 'field' }, el('label', { for: 'ma-chair' }, t('minutesApproval.chair')), chair),
      el('div', { class: 'field' }, el('label', { for: 'ma-members' }, t('minutesApproval.members')), members),
      el('button', { type: 'submit', id: 'ma-request' }, t('minutesApproval.request', { n: this.latest() })));
    const publish = a.version ? el('div', { class: 'row wrap' },
      el('button', { type: 'button', class: 'primary', id: 'ma-publish', disabled: !a.approved || a.published === a.version, 'aria-describedby': 'ma-status', onclick: () => this.publish() }, t('minutesApproval.publish', { n: a.version }))) : null;
    return el('div', { class: 'ma-actions' }, saveForm, signForm, publish);
  }
}
