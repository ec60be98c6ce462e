/**
 * The public archive (/archive): the published meetings, newest first, each with its
 * date, title, length, minutes and a replay link. Plain DOM, no framework: it must open
 * fast on a phone over a weak network. Only published recordings are ever listed: the
 * server decides (GET /api/recordings, docs/protocol.md "Recordings"). A search box finds
 * words in what was said and in the minutes (GET /api/search, published recordings only);
 * each hit links to the replay at that moment. The matched words are marked by splitting
 * the snippet on the server's marks and drawing each piece as text, never as HTML.
 */
import { i18n, pickLang, t } from '../i18n.js';
import { applyTranslations, KEYS, store } from '../ui/dom.js';
import { formatDuration } from '../ui/duration.js';
import { byId, el, fill } from '../ui/el.js';

/** BCP 47 tags for dates and numbers in each UI language. */
const LOCALES = { ja: 'ja-JP', en: 'en-GB', zh: 'zh-CN', ko: 'ko-KR' };

let recordings = null;
let failed = false;
/** The city's time zone (GET /api/rooms: every room carries it), in which the archive
 * shows dates as the minutes and the console do; the browser's own until it is known. */
let cityZone;

function formatDate(seconds) {
  const date = new Date(seconds * 1000);
  try {
    return new Intl.DateTimeFormat(LOCALES[i18n.lang] || 'ja-JP', { dateStyle: 'long', timeStyle: 'short', timeZone: cityZone }).format(date);
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

// -- search ---------------------------------------------------------------------------

/** The server's marks around the matched words in a snippet. */
const MARK_OPEN = '\u0002';
const MARK_CLOSE = '\u0003';
let search = null; // {q, hits} | {q, failed} | {q, busy}

/** A snippet as text nodes, the matched words in <mark>. */
function snippetNodes(text) {
  const out = [];
  for (const part of String(text).split(MARK_OPEN)) {
    const end = part.indexOf(MARK_CLOSE);
    if (end < 0) out.push(part.replaceAll(MARK_CLOSE, ''));
    else out.push(el('mark', {}, part.slice(0, end)), part.slice(end + 1).replaceAll(MARK_CLOSE, ''));
  }
  return out;
}

function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const hms = [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60];
  return `${hms[0]}:${String(hms[1]).padStart(2, '0')}:${String(hms[2]).padStart(2, '0')}`;
}

function hitItem(hit) {
  const title = hit.title || hit.recording;
  const at = clock(hit.at);
  const replay = localPath(hit.replay);
  return el('li', { class: 'archive-hit', dataset: { recording: hit.recording, kind: hit.kind } },
    el('h3', {}, title),
    el('p', { class: 'archive-meta' },
      el('span', {}, el('time', { datetime: new Date(hit.started * 1000).toISOString() }, formatDate(hit.started))),
      el('span', {}, t(`archive.search.kind.${hit.kind === 'minutes' ? 'minutes' : 'segment'}`)),
      hit.kind === 'segment' ? el('span', {}, at) : null),
    el('blockquote', {}, snippetNodes(hit.snippet)),
    replay && el('p', { class: 'archive-links' },
      el('a', { class: 'primary', href: replay, 'aria-label': t('archive.search.playAtOf', { title, time: at }) }, t('archive.search.playAt'))));
}

function renderSearch() {
  const box = byId('archive-results');
  box.hidden = !search;
  if (!search) return;
  const status = byId('archive-search-status');
  if (search.busy) status.textContent = t('archive.search.searching');
  else if (search.failed) status.textContent = t('archive.search.failed');
  else if (!search.hits.length) status.textContent = t('archive.search.none', { q: search.q });
  else status.textContent = t('archive.search.count', { q: search.q, n: search.hits.length });
  fill(byId('archive-hits'), (search.hits || []).map(hitItem));
}

async function runSearch(q) {
  q = q.trim();
  if (!q) return clearSearch();
  search = { q, busy: true };
  renderSearch();
  try {
    const r = await fetch(`/api/search?q=${encodeURIComponent(q)}`, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    const body = await r.json();
    search = { q, hits: Array.isArray(body.hits) ? body.hits : [] };
  } catch (e) {
    search = { q, failed: true };
    console.warn('archive: search failed', e);
  }
  renderSearch();
  byId('archive-results-title').focus();
}

function clearSearch() {
  search = null;
  byId('archive-q').value = '';
  renderSearch();
  byId('archive-q').focus();
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
  renderSearch();
}

async function loadZone() {
  try {
    const r = await fetch('/api/rooms', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    const zone = r.ok ? (await r.json()).rooms?.[0]?.time_zone : null;
    if (typeof zone === 'string' && zone) cityZone = zone;
  } catch (e) {
    console.warn('archive: the city time zone is not known; dates in the browser zone', e);
  }
}

async function load() {
  await loadZone();
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
  byId('archive-search').addEventListener('submit', (e) => {
    e.preventDefault();
    runSearch(byId('archive-q').value);
  });
  byId('archive-search-clear').addEventListener('click', clearSearch);
  await load();
}

start();
