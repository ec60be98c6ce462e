import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { I18n, format, pickLang, translate } from '../src/i18n.js';
import { KNOWN_REASONS } from '../src/ui/join.js';

const root = new URL('..', import.meta.url).pathname;
const load = (lang) => JSON.parse(readFileSync(join(root, 'i18n', `${lang}.json`), 'utf8'));
const ja = load('ja');
const en = load('en');

test('ja.json and en.json have exactly the same keys, all non-empty strings', () => {
  assert.deepEqual(Object.keys(en).sort(), Object.keys(ja).sort());
  for (const [lang, cat] of [['ja', ja], ['en', en]]) {
    for (const [k, v] of Object.entries(cat)) {
      assert.equal(typeof v, 'string', `${lang}:${k}`);
      assert.ok(v.trim().length > 0, `${lang}:${k} is empty`);
    }
  }
});

test('placeholders match between languages', () => {
  const ph = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
  for (const k of Object.keys(ja)) assert.deepEqual(ph(en[k]), ph(ja[k]), k);
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

test('I18n loads the chosen catalogue plus Japanese and survives a failed load', async () => {
  const asked = [];
  const i = new I18n(async (url) => {
    asked.push(url.split('/').pop());
    if (url.endsWith('en.json')) throw new Error('offline');
    return { hello: 'こんにちは' };
  }, new URL('http://x/app/i18n/'));
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

test('every key the UI uses exists in both catalogues', () => {
  const used = new Set();
  for (const f of walk(join(root, 'src')).filter((f) => f.endsWith('.js'))) {
    const src = readFileSync(f, 'utf8');
    for (const m of src.matchAll(/\bt\(\s*'([\w.]+)'/g)) used.add(m[1]);
    for (const m of src.matchAll(/'((?:hud|live|scene|error|status)\.[\w]+)'/g)) used.add(m[1]);
  }
  const html = readFileSync(join(root, 'index.html'), 'utf8');
  for (const m of html.matchAll(/data-i18n(?:-aria|-placeholder)?="([\w.]+)"/g)) used.add(m[1]);
  for (const r of KNOWN_REASONS) used.add(`error.${r}`);
  for (const k of ['plaza', 'consultation', 'committee']) used.add(`kind.${k}`);
  for (const k of ['joined', 'left', 'joinedMany', 'leftMany']) used.add(`live.${k}`);
  used.add('error.unknown');
  used.add('status.reconnecting');
  assert.ok(used.size > 40, `found only ${used.size} keys`);
  for (const k of used) {
    assert.ok(k in ja, `ja.json lacks ${k}`);
    assert.ok(k in en, `en.json lacks ${k}`);
  }
});
