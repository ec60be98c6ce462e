/**
 * The console's recordings panel: the room's recordings with their state, a published
 * switch (POST publish / unpublish with the CSRF token; the server refuses anything but a
 * stopped recording), the minutes (with or without the moderation actions) and a replay
 * link. docs/protocol.md "Recordings". A recording whose closed session (秘密会) was kept in
 * a staff-only record (``staff_records``, in the staff listing only) says so, with links to
 * that record's minutes and event log (``/api/staff-records``: staff only, each read
 * audited; never published). docs/recording.md "Closed sessions". Each stopped recording's
 * transcription job (``transcript`` in the staff listing: queued, running with tracks done
 * of all, done, failed with its reason) is one line, with a button that runs it again
 * (POST transcript/run); the list reloads itself every few seconds while a job is under
 * way. docs/recording.md "Transcripts".
 */
import { i18n, t } from '../i18n.js';
import { formatDuration } from '../ui/duration.js';
import { byId, el, fill } from '../ui/el.js';
import { formatDateTime, formatTime } from './times.js';

export class RecordingsPanel {
  /**
   * @param {import('./api.js').ConsoleApi} api
   * @param {(fn: () => Promise<any>) => Promise<any>} http runs a call, shows its error, null on failure
   * @param {(text: string) => void} say announces to screen readers
   */
  constructor(api, http, say) {
    this.api = api;
    this.http = http;
    this.say = say;
    this.room = null;
    this.list = [];
    /** Opens a recording's transcript for correction (set by the console: transcript.js). */
    this.onTranscript = null;
    /** The reload while a transcription job is under way (one at a time). */
    this.poll = null;
  }

  /** Reload the list (staff see every recording: ``?all=1``) and show ``room``'s. */
  async refresh(room) {
    this.room = room;
    const list = await this.http(() => this.api.get('/api/recordings?all=1'));
    if (Array.isArray(list)) this.list = list;
    this.render();
  }

  mine() {
    return this.list.filter((r) => r.room === this.room);
  }

  async setPublished(rec, published) {
    const body = await this.http(() =>
      this.api.post(`/api/recordings/${encodeURIComponent(rec.id)}/${published ? 'publish' : 'unpublish'}`, {}));
    if (body) {
      this.list = this.list.map((r) => (r.id === body.id ? { ...r, ...body } : r));
      this.say(t(published ? 'console.published' : 'console.unpublished', { title: rec.title || rec.room_name }));
    }
    this.render();
  }

  render() {
    const rows = this.mine();
    fill(byId('recording-list'), rows.length ? rows.map((r) => this.row(r)) : [el('li', { class: 'hint' }, t('console.recordingsEmpty'))]);
    clearTimeout(this.poll);
    this.poll = null;
    if (rows.some((r) => ['queued', 'running'].includes(r.transcript?.state))) {
      const room = this.room;
      this.poll = setTimeout(() => { if (this.room === room) this.refresh(room); }, 5000);
    }
  }

  async runTranscript(rec) {
    const body = await this.http(() =>
      this.api.post(`/api/recordings/${encodeURIComponent(rec.id)}/transcript/run`, {}));
    if (body) this.say(t('console.transcriptQueued', { title: rec.title || rec.room_name }));
    await this.refresh(this.room);
  }

  /** The transcription job's line (none before the recording stops or with it off). */
  transcript(rec) {
    const job = rec.transcript;
    if (!job) return null;
    const text = job.state === 'running' || job.state === 'queued'
      ? t(`console.transcript.${job.state}`, { done: job.done, total: job.tracks })
      : job.state === 'failed'
        ? t('console.transcript.failed', { reason: job.error })
        : job.error
          ? t('console.transcript.partly', { reason: job.error })
          : t('console.transcript.done');
    const busy = job.state === 'queued' || job.state === 'running';
    return el('div', { class: 'row wrap transcript-line', dataset: { transcript: job.state } },
      el('span', { class: job.state === 'failed' ? 'badge warn' : 'hint', role: 'status' }, text),
      !busy && el('button', { type: 'button', onclick: () => this.runTranscript(rec) }, t('console.transcriptRun')));
  }

  row(rec) {
    const title = rec.title || rec.room_name || rec.room;
    const when = formatDateTime(rec.started, i18n.lang);
    const toggle = el('input', {
      type: 'checkbox',
      checked: !!rec.published,
      disabled: rec.state !== 'stopped',
      'aria-label': t('console.publishOf', { title }),
      onchange: (e) => this.setPublished(rec, e.target.checked),
    });
    const md = rec.minutes?.md;
    return el('li', { class: 'recording-row', dataset: { id: rec.id } },
      el('b', {}, title), ' ',
      el('span', { class: 'hint' }, `${when} · ${formatDuration(rec.duration_ms)} · ${t(`console.recordingState.${rec.state}`)}`),
      el('div', { class: 'row wrap' },
        el('label', { class: 'check' }, toggle, ' ', el('span', {}, t('console.publishedOn'))),
        md && el('a', { href: md, download: '', 'data-minutes': 'md' }, t('console.minutesMd')),
        md && el('a', { href: `${md}&staff=1`, download: '', 'data-minutes': 'staff' }, t('console.minutesStaff')),
        el('a', { href: rec.replay, target: '_blank', rel: 'noopener' }, t('console.replay')),
        this.onTranscript && rec.state === 'stopped' && el('button', { type: 'button', class: 'open-transcript', 'aria-label': t('transcript.openOf', { title }), onclick: () => this.onTranscript(rec) }, t('transcript.open'))),
      this.transcript(rec),
      ...(rec.staff_records || []).map((s) => this.staffRecord(s)));
  }

  /** "A staff record exists": one closed part's staff-only record, with its downloads. */
  staffRecord(rec) {
    const base = `/api/staff-records/${encodeURIComponent(rec.id)}`;
    const to = rec.stopped == null ? '…' : formatTime(rec.stopped, i18n.lang);
    return el('div', { class: 'row wrap staff-record', dataset: { staffRecord: rec.id } },
      el('span', { class: 'badge' }, t('console.staffRecord', { from: formatTime(rec.started, i18n.lang), to })),
      el('a', { href: `${base}/minutes?format=md`, download: '', 'data-minutes': 'closed' }, t('console.staffRecordMinutes')),
      el('a', { href: `${base}/files/events.jsonl`, download: '' }, t('console.staffRecordEvents')));
  }
}
