import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CATALOGUE_URLS, I18n, LANGS, format, pickLang, translate } from '../src/i18n.js';
import { KNOWN_REASONS } from '../src/ui/join.js';

const root = new URL('..', import.meta.url).pathname;
const load = (lang) => JSON.parse(readFileSync(join(root, 'i18n', `${lang}.json`), 'utf8'));
const ja = load('ja');
const en = load('en');
const CATALOGUES = Object.fromEntries(LANGS.map((l) => [l, load(l)]));

test('every language of the pickers has a catalogue', () => {
  assert.deepEqual(LANGS, ['ja', 'en', 'zh', 'ko']);
  for (const page of ['index.html', 'console.html', 'archive.html']) {
    const html = readFileSync(join(root, page), 'utf8');
    for (const lang of LANGS) assert.ok(html.includes(`value="${lang}"`), `${page} offers ${lang}`);
  }
});

test('all catalogues have exactly the same keys, all non-empty strings', () => {
  for (const lang of LANGS) assert.deepEqual(Object.keys(CATALOGUES[lang]).sort(), Object.keys(ja).sort(), lang);
  for (const [lang, cat] of Object.entries(CATALOGUES)) {
    for (const [k, v] of Object.entries(cat)) {
      assert.equal(typeof v, 'string', `${lang}:${k}`);
      assert.ok(v.trim().length > 0, `${lang}:${k} is empty`);
    }
  }
});

test('placeholders match between languages', () => {
  const ph = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
  for (const lang of LANGS) {
    for (const k of Object.keys(ja)) assert.deepEqual(ph(CATALOGUES[lang][k]), ph(ja[k]), `${lang}:${k}`);
  }
});

test('translate falls back to Japanese, then to the key, and formats params', () => {
  const cats = { ja: { a: 'あ{n}', b: 'い' }, en: { a: 'A{n}' } };
  assert.equal(translate(cats, 'en', 'a', { n: 1 }), 'A1');
  assert.equal(translate(cats, 'en', 'b'), 'い');
  assert.equal(translate(cats, 'en', 'missing.key'), 'missing.key');
  assert.equal(translate(cats, 'fr', 'a', { n: 2 }), 'あ2');
  assert.equal(translate({}, 'en', 'x'), 'x');
  assert.equal(format('{a} {b}', { a: 'x' }), 'x {b}', 'unknown placeholders stay visible');
});

test('Japanese is the default language', () => {
  assert.equal(pickLang(null), 'ja');
  assert.equal(pickLang('de'), 'ja');
  assert.equal(pickLang('en'), 'en');
});

test('every language has its catalogue URL, one literal each (the build hashes them)', () => {
  assert.deepEqual(Object.keys(CATALOGUE_URLS), LANGS);
  for (const lang of LANGS) assert.ok(CATALOGUE_URLS[lang].endsWith(`/i18n/${lang}.json`), lang);
});

test('I18n loads the chosen catalogue plus Japanese and survives a failed load', async () => {
  const asked = [];
  const i = new I18n(async (url) => {
    asked.push(url.split('/').pop());
    if (url.endsWith('en.json')) throw new Error('offline');
    return { hello: 'こんにちは' };
  }, Object.fromEntries(LANGS.map((l) => [l, `http://x/app/i18n/${l}.json`])));
  await i.setLang('en');
  assert.deepEqual(asked.sort(), ['en.json', 'ja.json']);
  assert.equal(i.lang, 'en');
  assert.equal(i.t('hello'), 'こんにちは');
  assert.equal(i.pick({ ja: '広場', en: 'Plaza' }), 'Plaza');
  await i.setLang('xx');
  assert.equal(i.lang, 'ja');
  assert.equal(i.pick({ ja: '広場', en: 'Plaza' }), '広場');
});

function walk(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

test('every key the UI uses exists in every catalogue', () => {
  const used = new Set();
  for (const f of walk(join(root, 'src')).filter((f) => f.endsWith('.js'))) {
    const src = readFileSync(f, 'utf8');
    for (const m of src.matchAll(/\bt\(\s*'([\w.]+)'/g)) used.add(m[1]);
    for (const m of src.matchAll(/'((?:hud|live|scene|error|status)\.[\w]+)'/g)) used.add(m[1]);
  }
  for (const page of ['index.html', 'console.html', 'archive.html']) {
    const html = readFileSync(join(root, page), 'utf8');
    for (const m of html.matchAll(/data-i18n(?:-aria|-placeholder)?="([\w.]+)"/g)) used.add(m[1]);
  }
  for (const st of ['recording', 'stopped', 'failed']) used.add(`console.recordingState.${st}`);
  for (const r of KNOWN_REASONS) used.add(`error.${r}`);
  for (const k of ['plaza', 'consultation', 'committee']) used.add(`kind.${k}`);
  for (const k of ['joined', 'left', 'joinedMany', 'leftMany']) used.add(`live.${k}`);
  // keys the meeting UI builds at run time (ui/meeting.js, ui/meetingViews.js)
  for (const kind of ['muted', 'unmuted', 'auto_muted', 'removed', 'banned', 'refused']) {
    used.add(`notice.${kind}.title`);
    used.add(`notice.${kind}.text`);
  }
  for (const st of ['submitted', 'under_review', 'adopted', 'partly_adopted', 'not_adopted', 'noted', 'merged']) {
    used.add(`opinion.status.${st}`);
  }
  for (const st of ['open', 'answered', 'dismissed']) used.add(`question.state.${st}`);
  for (const st of ['open', 'closed']) used.add(`poll.state.${st}`);
  for (const k of ['meeting.open', 'meeting.close', 'opinion.support', 'opinion.supported', 'question.vote',
    'question.voted', 'poll.vote', 'poll.change', 'banner.agenda', 'banner.agendaOver']) used.add(k);
  for (const r of ['citizen', 'member', 'chair', 'staff', 'captioner', 'observer']) used.add(`role.${r}`);
  for (const p of ['room', 'lobby', 'gallery']) used.add(`place.${p}`);
  for (const m of ['browser', 'server', 'voice', 'none']) used.add(`tracking.${m}`);
  for (const k of ['mute', 'remove', 'ban']) used.add(`sanction.${k}`);
  for (const k of ['unused', 'used', 'expired', 'revoked']) used.add(`invite.${k}`);
  for (const k of ['chat', 'opinions', 'questions', 'polls', 'audit', 'sanctions', 'attendance']) used.add(`export.${k}`);
  for (const k of ['console.show', 'console.hide', 'console.noReports', 'console.lobbyEmpty']) used.add(k);
  used.add('error.unknown');
  used.add('status.reconnecting');
  assert.ok(used.size > 40, `found only ${used.size} keys`);
  for (const k of used) {
    for (const lang of LANGS) assert.ok(k in CATALOGUES[lang], `${lang}.json lacks ${k}`);
  }
});
