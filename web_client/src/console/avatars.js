/**
 * The console's VRM avatars panel (issue 18; docs/avatars.md "Uploads and approval",
 * docs/protocol.md "VRM avatars"). Staff upload a member's VRM file (bound to the name
 * their invitation gives them) or their own, see what the server's check found (title,
 * authors, the licence and who may wear it, in plain words; triangles, morph targets,
 * textures, perfect-sync shapes, main colours), or why it refused the file (which limit,
 * in words, with the figures), then approve or withdraw it. A file whose licence allows
 * only licensed people needs the licence box ticked; one only its author may wear can be
 * bound only to oneself. Real buttons and labelled fields; each outcome is announced in
 * the panel's live region and the console's.
 */
import { i18n, t } from '../i18n.js';
import { byId, el, fill } from '../ui/el.js';
import { reasonText } from '../ui/join.js';
import { formatDateTime } from './times.js';

/** Limits the server names (``limit`` of a refusal); anything else is said generically. */
const LIMITS = new Set([
  'size', 'glb', 'json', 'triangles', 'morph_targets', 'textures', 'texture_size', 'nodes',
  'node_depth', 'extensions', 'external_uri', 'not_vrm', 'accessors', 'humanoid', 'licence', 'busy',
]);
const PERMISSIONS = new Set(['only_author', 'licensed_person', 'everyone']);

export class AvatarsPanel {
  /**
   * @param {import('./api.js').ConsoleApi} api
   * @param {(text: string) => void} say announces to screen readers (the console's region)
   * @param {() => Promise<void>} expired the login ended: back to the login form
   */
  constructor(api, say, expired) {
    this.api = api;
    this.say = say;
    this.expired = expired;
    this.list = [];
    this.limits = null;
    /** The last refusal, for tests: {limit, message} or null. */
    this.refusal = null;
    byId('avatar-form')?.addEventListener('submit', (e) => {
      e.preventDefault();
      this.upload();
    });
    for (const radio of document.querySelectorAll('input[name="avatar-for"]')) {
      radio.addEventListener('change', () => this.syncFor());
    }
    this.syncFor();
  }

  /** The member's name field is needed only when the file is for a member. */
  syncFor() {
    const forMember = this.target() === 'member';
    const name = byId('avatar-member');
    if (name) {
      name.disabled = !forMember;
      name.required = forMember;
    }
  }

  target() {
    return document.querySelector('input[name="avatar-for"]:checked')?.value || 'member';
  }

  showError(text) {
    byId('avatar-error').textContent = text;
  }

  /** The status line and the console's live region. */
  announce(text) {
    byId('avatar-status').textContent = text;
    this.say(text);
  }

  /** Words for a refusal: the limit it broke, then the server's figures. */
  refusalText(body) {
    const limit = LIMITS.has(body?.limit) ? t(`avatars.limit.${body.limit}`) : reasonText(body?.reason || 'internal');
    return t('avatars.refused', { limit, message: body?.message || '' });
  }

  async call(fn) {
    this.showError('');
    try {
      return await fn();
    } catch (e) {
      const reason = e?.reason || 'internal';
      this.showError(reasonText(reason));
      if (reason === 'session_expired') await this.expired();
      return null;
    }
  }

  async refresh() {
    const body = await this.call(() => this.api.get('/api/avatars'));
    if (!body) return;
    this.list = body.avatars || [];
    this.limits = body.limits || null;
    this.render();
  }

  async upload() {
    const file = byId('avatar-file').files?.[0];
    const member = byId('avatar-member').value.trim();
    this.showError('');
    if (!file) return this.showError(t('avatars.needFile'));
    const forMember = this.target() === 'member';
    if (forMember && !member) {
      byId('avatar-member').focus();
      return this.showError(t('avatars.needName'));
    }
    const params = new URLSearchParams();
    params.set('for', forMember ? `member:${member}` : `staff:${this.api.account?.name || ''}`);
    const label = byId('avatar-label').value.trim();
    if (label) params.set('label', label);
    if (byId('avatar-licence').checked) params.set('licence_confirmed', '1');
    const button = byId('avatar-upload');
    button.disabled = true;
    this.announce(t('avatars.checking', { name: file.name }));
    let r;
    let body = null;
    try {
      r = await this.api.fetch(`/api/avatars?${params}`, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'model/gltf-binary', 'X-CSRF-Token': this.api.csrf || '' },
        body: file,
      });
      body = await r.json().catch(() => null);
    } catch {
      body = { reason: 'internal' };
    } finally {
      button.disabled = false;
    }
    if (!r?.ok || !body || body.ok === false) {
      this.refusal = body?.limit ? { limit: body.limit, message: body.message || '' } : null;
      const text = body?.limit ? this.refusalText(body) : reasonText(body?.reason || 'internal');
      this.showError(text);
      this.announce(text);
      if (body?.reason === 'session_expired') await this.expired();
      return;
    }
    this.refusal = null;
    byId('avatar-form').reset();
    this.syncFor();
    await this.refresh();
    this.announce(t('avatars.uploaded', { title: body.report?.title || file.name }));
    byId(`avatar-${body.sha256}`)?.querySelector('button')?.focus();
  }

  async change(row, what) {
    const body = await this.call(() => this.api.post(`/api/avatars/${row.sha256}/${what}`, {}));
    if (!body) return;
    await this.refresh();
    this.announce(t(what === 'approve' ? 'avatars.approvedSaid' : 'avatars.withdrawnSaid', { title: titleOf(row) }));
  }

  render() {
    const list = byId('avatar-list');
    if (!list) return;
    const l = this.limits;
    byId('avatar-limits').textContent = l
      ? t('avatars.limits', { mb: (l.bytes / (1024 * 1024)).toFixed(0), triangles: l.triangles.toLocaleString(i18n.lang), morphs: l.morph_targets, textures: l.textures, px: l.texture_px })
      : '';
    fill(list, this.list.length ? this.list.map((row) => this.row(row)) : [el('li', { class: 'hint' }, t('avatars.empty'))]);
  }

  row(row) {
    const r = row.report || {};
    const title = titleOf(row);
    const who = row.for.startsWith('member:') ? t('avatars.forMemberNamed', { name: row.for.slice(7) }) : t('avatars.forStaffNamed', { name: row.for.slice(6) });
    const permission = PERMISSIONS.has(r.permission) ? t(`avatars.permission.${r.permission}`) : t('avatars.permission.unknown');
    const colours = (r.colors || []).map((c) => el('span', { class: 'av-swatch-item' }, swatch(c), ` ${c}`));
    const facts = [
      [t('avatars.authors'), (r.authors || []).join(', ') || '—'],
      [t('avatars.permissionLabel'), permission],
      [t('avatars.commercial'), t(r.commercial ? 'avatars.yes' : 'avatars.no')],
      [t('avatars.licence'), r.licence || '—'],
      [t('avatars.version'), r.version || '—'],
      [t('avatars.triangles'), Number(r.triangles ?? 0).toLocaleString(i18n.lang)],
      [t('avatars.morphs'), String(r.morph_targets ?? 0)],
      [t('avatars.textures'), t('avatars.texturesValue', { n: r.textures ?? 0, px: r.max_texture_px ?? 0 })],
      [t('avatars.perfectSync'), t('avatars.perfectSyncValue', { n: r.perfect_sync ?? 0 })],
      [t('avatars.size'), `${((r.bytes ?? 0) / (1024 * 1024)).toFixed(1)} MB`],
    ];
    const actions = [];
    if (row.status !== 'approved') {
      actions.push(el('button', { type: 'button', class: 'primary', 'aria-label': t('avatars.approveOf', { title }), onclick: () => this.change(row, 'approve') }, t('avatars.approve')));
    }
    if (row.status !== 'withdrawn') {
      actions.push(el('button', { type: 'button', 'aria-label': t('avatars.withdrawOf', { title }), onclick: () => this.change(row, 'withdraw') }, t('avatars.withdraw')));
    }
    actions.push(el('a', { href: `/api/avatars/${row.sha256}.vrm`, download: `${row.sha256.slice(0, 12)}.vrm` }, t('avatars.download')));
    return el('li', { id: `avatar-${row.sha256}`, class: 'avatar-row', dataset: { sha: row.sha256, status: row.status } },
      el('div', { class: 'row wrap' },
        el('b', {}, title), ' ',
        el('span', { class: `badge ${row.status === 'approved' ? 'ok' : row.status === 'withdrawn' ? 'warn' : ''}` }, t(`avatars.status.${row.status}`)),
        el('span', { class: 'hint' }, `${who} · ${formatDateTime(row.created_at, i18n.lang)}${row.label ? ` · ${row.label}` : ''}`)),
      el('dl', { class: 'avatar-report' }, ...facts.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]),
        el('dt', {}, t('avatars.colours')), el('dd', {}, ...(colours.length ? colours : ['—']))),
      el('div', { class: 'row wrap' }, ...actions));
  }

  /** For tests: the uploads as the panel shows them. */
  state() {
    return { avatars: this.list.map((a) => ({ sha256: a.sha256, status: a.status, for: a.for, title: a.report?.title ?? '' })), refusal: this.refusal };
  }
}

/** A square of colour ``c``, set through the style object (the CSP allows no inline style). */
function swatch(c) {
  const square = el('span', { class: 'av-swatch', 'aria-hidden': 'true' });
  square.style.backgroundColor = /^#[0-9a-f]{6}$/i.test(c) ? c : '#888';
  return square;
}

function titleOf(row) {
  return row.report?.title || row.label || row.sha256.slice(0, 12);
}
