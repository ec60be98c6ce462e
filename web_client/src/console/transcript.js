/**
 * The console's transcript panel (issue 17; docs/recording.md "Correcting the transcript",
 * docs/protocol.md "Transcript correction"). Opened from a recording in the recordings
 * panel: every segment with its speaker, clock time (the city's zone) and text, a link to
 * the replay at that moment, and the corrections staff make: edit the text, merge with the
 * next segment of the same speaker, split at the cursor, mark inaudible. Each edit is sent
 * with the version the page shows, so two secretaries never overwrite each other (the
 * second is asked to reload). The history lists every edit (who, when, what) and shows the
 * diff between any two versions. Real buttons and labelled fields throughout; a save is
 * announced in the panel's own live region and the console's.
 */
import { i18n, t } from '../i18n.js';
import { el, fill } from '../ui/el.js';
import { reasonText } from '../ui/join.js';
import { formatDateTime, formatTime } from './times.js';

const base = (id) => `/api/recordings/${encodeURIComponent(id)}/transcript`;

export class TranscriptPanel {
  /**
   * @param {import('./api.js').ConsoleApi} api
   * @param {(text: string) => void} say announces to screen readers (the console's region)
   * @param {() => Promise<void>} expired the login ended: back to the login form
   */
  constructor(api, say, expired) {
    this.api = api;
    this.say = say;
    this.expired = expired;
    this.current = null; // {recording, title, started, version, segments, edits}
    this.diff = null; // {from, to, diff}
    this.error = el('p', { id: 'tr-error', class: 'error', role: 'alert' });
    this.status = el('p', { id: 'tr-status', class: 'hint', role: 'status', 'aria-live': 'polite' });
    this.root = el('section', { id: 'transcript-panel', class: 'panel wide transcript', 'aria-labelledby': 'tr-title', hidden: true });
  }

  /** Run an API call; on a refusal show its reason in the panel and give null. */
  async http(fn) {
    this.error.textContent = '';
    try {
      return await fn();
    } catch (e) {
      const reason = e?.reason || 'internal';
      this.error.textContent = `${reasonText(reason)}${e?.message && e.message !== reason ? ` (${e.message})` : ''}`;
      if (reason === 'session_expired') await this.expired();
      return null;
    }
  }

  /** Show the transcript of recording `id` after `anchor` (the recordings panel). */
  async open(id, anchor) {
    if (anchor && this.root.previousElementSibling !== anchor) anchor.after(this.root);
    const body = await this.http(() => this.api.get(`${base(id)}/edits`));
    if (!body) return;
    this.current = body;
    this.diff = null;
    this.root.hidden = false;
    this.render();
    this.root.querySelector('#tr-title')?.focus();
  }

  close() {
    this.root.hidden = true;
    this.current = null;
  }

  async reload() {
    if (this.current) {
      const body = await this.http(() => this.api.get(`${base(this.current.recording)}/edits`));
      if (body) this.current = body;
      this.render();
    }
  }

  /** Send one edit; on success draw the new segments and announce it. */
  async edit(payload, focusId) {
    const cur = this.current;
    const body = await this.http(() => this.api.post(`${base(cur.recording)}/edits`, { ...payload, version: cur.version }));
    if (!body) return;
    const text = t('transcript.saved', { n: body.version, kind: t(`transcript.kind.${body.edit.kind}`) });
    await this.reload();
    this.status.textContent = text;
    this.say(text);
    if (focusId) this.root.querySelector(`[data-seg="${focusId}"] textarea`)?.focus();
  }

  async showDiff(from, to) {
    const body = await this.http(() => this.api.get(`${base(this.current.recording)}/diff?from=${from}&to=${to}`));
    if (!body) return;
    this.diff = body;
    this.render();
    this.root.querySelector('#tr-diff')?.focus();
  }

  // -- drawing ----------------------------------------------------------------------------

  render() {
    const cur = this.current;
    if (!cur) return fill(this.root, []);
    const title = cur.title || cur.recording;
    fill(this.root, [
      el('div', { class: 'row wrap tr-head' },
        el('h3', { id: 'tr-title', tabindex: '-1' }, t('transcript.title', { title })),
        el('button', { type: 'button', id: 'tr-close', onclick: () => this.close() }, t('transcript.close'))),
      el('p', { class: 'hint' }, t('transcript.lead', { n: cur.version })),
      this.status,
      this.error,
      cur.segments.length
        ? el('ol', { class: 'tr-segments', 'aria-label': t('transcript.segments') }, cur.segments.map((s, i) => this.segment(s, cur.segments[i + 1])))
        : el('p', { class: 'hint', id: 'tr-empty' }, t('transcript.empty')),
      this.history(),
    ]);
  }

  segment(s, next) {
    const cur = this.current;
    const at = formatTime(cur.started + s.start, i18n.lang);
    const areaId = `tr-text-${s.id}`;
    const area = el('textarea', { id: areaId, rows: '2', maxlength: '2000', spellcheck: 'false', dataset: { original: s.text } });
    area.value = s.text;
    const who = `${s.name} ${at}`;
    const canMerge = next && next.pid === s.pid && next.track === s.track;
    const replay = `/replay?id=${encodeURIComponent(cur.recording)}&t=${Math.floor(s.start)}`;
    return el('li', { class: `tr-seg tr-${s.status}`, dataset: { seg: s.id } },
      el('div', { class: 'row wrap tr-meta' },
        el('b', {}, s.name),
        el('time', { datetime: new Date((cur.started + s.start) * 1000).toISOString() }, at),
        el('span', { class: `badge tr-status-${s.status}` }, t(`transcript.status.${s.status}`)),
        el('a', { href: replay, target: '_blank', rel: 'noopener', 'aria-label': t('transcript.playAtOf', { who }) }, t('transcript.playAt'))),
      el('label', { for: areaId, class: 'visually-hidden' }, t('transcript.textOf', { who })),
      area,
      el('div', { class: 'row wrap tr-actions' },
        el('button', { type: 'button', class: 'primary tr-save', onclick: () => this.edit({ kind: 'text', segment: s.id, text: area.value }, s.id) }, t('transcript.save')),
        el('button', { type: 'button', class: 'tr-merge', disabled: !canMerge, title: canMerge ? null : t('transcript.mergeNo'), onclick: () => this.edit({ kind: 'merge', segment: s.id }, s.id) }, t('transcript.merge')),
        el('button', { type: 'button', class: 'tr-split', onclick: () => this.split(s, area) }, t('transcript.split')),
        el('button', { type: 'button', class: 'tr-inaudible', disabled: s.status === 'inaudible', onclick: () => this.edit({ kind: 'inaudible', segment: s.id }, s.id) }, t('transcript.inaudible'))));
  }

  split(s, area) {
    if (area.value !== s.text) {
      this.error.textContent = t('transcript.saveFirst');
      return;
    }
    const at = area.selectionStart;
    if (!(at > 0 && at < s.text.length)) {
      this.error.textContent = t('transcript.splitWhere');
      area.focus();
      return;
    }
    this.edit({ kind: 'split', segment: s.id, at }, s.id);
  }

  history() {
    const edits = this.current.edits;
    const parts = [el('h4', { id: 'tr-history-h' }, t('transcript.history'))];
    if (!edits.length) {
      parts.push(el('p', { class: 'hint' }, t('transcript.noEdits')));
      return el('div', { class: 'tr-history' }, parts);
    }
    parts.push(el('ol', { class: 'tr-edits', 'aria-labelledby': 'tr-history-h' }, edits.map((e) => el('li', { dataset: { n: e.number } },
      el('b', {}, t('transcript.versionN', { n: e.number })), ' ',
      `${t(`transcript.kind.${e.kind}`)} · ${e.by} · ${formatDateTime(e.at, i18n.lang)}`,
      e.kind === 'text' ? el('span', { class: 'hint' }, ` — ${e.before[0]?.text ?? ''} → ${e.after[0]?.text ?? ''}`) : null))));
    const opts = (sel) => [0, ...edits.map((e) => e.number)].map((n) => el('option', { value: n, selected: n === sel }, t('transcript.versionN', { n })));
    const last = edits[edits.length - 1].number;
    const from = el('select', { id: 'tr-diff-from' }, opts(0));
    const to = el('select', { id: 'tr-diff-to' }, opts(last));
    parts.push(el('form', { class: 'row wrap tr-diff-form', onsubmit: (ev) => { ev.preventDefault(); this.showDiff(from.value, to.value); } },
      el('label', { for: 'tr-diff-from' }, t('transcript.diffFrom')), from,
      el('label', { for: 'tr-diff-to' }, t('transcript.diffTo')), to,
      el('button', { type: 'submit', id: 'tr-diff-show' }, t('transcript.diffShow'))));
    if (this.diff) {
      const d = this.diff;
      const lines = d.diff ? d.diff.replace(/\n$/, '').split('\n') : [];
      const label = t('transcript.diffOf', { from: d.from, to: d.to });
      parts.push(el('figure', { class: 'ma-shown' }, el('figcaption', {}, label),
        el('pre', { id: 'tr-diff', class: 'ma-diff', tabindex: '0', 'aria-label': label },
          lines.length ? lines.map((line) => el('span', { class: line.startsWith('+') && !line.startsWith('+++') ? 'add' : line.startsWith('-') && !line.startsWith('---') ? 'del' : '' }, `${line}\n`)) : t('transcript.noChange'))));
    }
    return el('div', { class: 'tr-history' }, parts);
  }
}
