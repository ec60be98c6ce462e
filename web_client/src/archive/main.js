/**
 * The public archive (/archive): the published meetings, newest first, each with its
 * date, title, length, minutes and a replay link. Plain DOM, no framework: it must open
 * fast on a phone over a weak network. Only published recordings are ever listed: the
 * server decides (GET /api/recordings, docs/protocol.md "Recordings").
 */
import { i18n, pickLang, t } from '../i18n.js';
import { applyTranslations, KEYS, store } from '../ui/dom.js';
import { formatDuration } from '../ui/duration.js';
import { byId, el, fill } from '../ui/el.js';

/** BCP 47 tags for dates and numbers in each UI language. */
const LOCALES = { ja: 'ja-JP', en: 'en-GB', zh: 'zh-CN', ko: 'ko-KR' };

let recordings = null;
let failed = false;

function formatDate(seconds) {
  const date = new Date(seconds * 1000);
  try {
    return new Intl.DateTimeFormat(LOCALES[i18n.lang] || 'ja-JP', { dateStyle: 'long', timeStyle: 'short' }).format(date);
  } catch {
    return date.toISOString().slice(0, 16).replace('T', ' ');
  }
}

/** A same-origin path from the API, or null (never follow a link elsewhere). */
function localPath(path) {
  return typeof path === 'string' && path.startsWith('/') && !path.startsWith('//') ? path : null;
}

function withLang(path) {
  return path && `${path}${path.includes('?') ? '&' : '?'}lang=${encodeURIComponent(i18n.lang)}`;
}

function item(rec) {
  const title = rec.title || rec.room_name || rec.room;
  const date = formatDate(rec.started);
  const meta = [el('span', {}, el('time', { datetime: new Date(rec.started * 1000).toISOString() }, date))];
  meta.push(el('span', {}, t('archive.length', { duration: formatDuration(rec.duration_ms) })));
  if (rec.room_name && rec.room_name !== title) meta.push(el('span', {}, rec.room_name));
  const replay = localPath(rec.replay);
  const html = withLang(localPath(rec.minutes?.html));
  const md = withLang(localPath(rec.minutes?.md));
  const links = [
    replay && el('a', { class: 'primary', href: replay, 'aria-label': t('archive.replayOf', { title }) }, t('archive.replay')),
    html && el('a', { href: html, 'aria-label': t('archive.minutesOf', { title }) }, t('archive.minutes')),
    md && el('a', { href: md, download: '', 'aria-label': t('archive.minutesMdOf', { title }) }, t('archive.minutesMd')),
  ];
  return el(
    'li',
    { class: 'archive-item', dataset: { id: rec.id } },
    el('h2', {}, title),
    el('p', { class: 'archive-meta' }, meta),
    el('p', { class: 'archive-links' }, links),
  );
}

function render() {
  applyTranslations();
  document.title = t('archive.title');
  const status = byId('archive-status');
  if (failed) status.textContent = t('archive.failed');
  else if (recordings === null) status.textContent = t('archive.loading');
  else if (recordings.length === 0) status.textContent = t('archive.empty');
  else status.textContent = t('archive.count', { n: recordings.length });
  fill(byId('archive-list'), (recordings || []).map(item));
}

async function load() {
  try {
    const r = await fetch('/api/recordings', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    const body = await r.json();
    recordings = Array.isArray(body) ? body : [];
    failed = false;
  } catch (e) {
    failed = true;
    console.warn('archive: could not load the list', e);
  }
  render();
}

async function start() {
  const select = byId('archive-lang');
  const lang = pickLang(store.get(KEYS.lang));
  select.value = lang;
  await i18n.setLang(lang);
  render();
  select.addEventListener('change', async () => {
    store.set(KEYS.lang, select.value);
    await i18n.setLang(select.value);
    render();
  });
  await load();
}

start();
