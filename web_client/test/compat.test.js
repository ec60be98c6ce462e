// compat.js (issue 20): its texts are the catalogues' compat.title and compat.body, word
// for word; it is ES5 that an old browser parses (no let/const, arrows, classes, template
// strings, modules); every page loads it before anything else that runs; and it finds
// what is missing.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import vm from 'node:vm';

const root = new URL('..', import.meta.url).pathname;
const source = readFileSync(join(root, 'compat.js'), 'utf8');
const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');

test('its texts are the catalogues\' compat.title and compat.body', () => {
  for (const lang of ['ja', 'en', 'zh', 'ko']) {
    const cat = JSON.parse(readFileSync(join(root, 'i18n', `${lang}.json`), 'utf8'));
    const line = source.split('\n').find((l) => l.trim().startsWith(`${lang}: [`));
    assert.ok(line, `compat.js has ${lang}`);
    const [title, body] = JSON.parse(line.trim().replace(/^\w+: /, '').replace(/,$/, '').replace(/'/g, '"'));
    assert.equal(title, cat['compat.title'], `${lang} title`);
    assert.equal(body, cat['compat.body'], `${lang} body`);
  }
});

test('it is ES5: no syntax an old browser cannot parse', () => {
  for (const [pattern, what] of [[/=>/, 'arrow'], [/\b(let|const|class)\s/, 'let/const/class'], [/`/, 'template'],
    [/^\s*(import|export)\s/m, 'module'], [/\.\.\./, 'spread'], [/\?\.|\?\?/, 'optional chaining']]) {
    assert.ok(!pattern.test(code), `compat.js uses ${what}`);
  }
});

test('every page loads it first, before the import map and any module', () => {
  for (const page of ['index', 'console', 'archive', 'replay', 'gallery']) {
    const html = readFileSync(join(root, `${page}.html`), 'utf8');
    const at = html.indexOf('<script src="/app/compat.js"></script>');
    assert.ok(at > 0, `${page}.html loads compat.js`);
    for (const later of ['<!-- hiroba:importmap -->', '<script type="module"']) {
      const i = html.indexOf(later);
      assert.ok(i === -1 || i > at, `${page}.html: compat.js before ${later}`);
    }
  }
});

function run(window) {
  const elements = [];
  const document = {
    documentElement: { className: '', getAttribute: () => 'ja' },
    body: null,
    createElement: (tag) => (tag === 'script' ? { noModule: false } : { tag }),
    addEventListener: () => {},
    getElementById: () => null,
  };
  vm.runInNewContext(source, { window, document, elements });
  const found = window.hirobaUnsupported;
  return found === null ? null : [...found]; // (an array of the script's own realm)
}

test('it names what is missing, and nothing when all is there', () => {
  const modern = { HTMLScriptElement: { supports: (t) => t === 'importmap' }, WebSocket: function () {}, Promise, fetch: () => {} };
  assert.equal(run({ ...modern }), null);
  assert.deepEqual(run({ ...modern, HTMLScriptElement: {} }), ['import maps']);
  assert.deepEqual(run({ ...modern, WebSocket: undefined, fetch: undefined }), ['WebSocket', 'fetch']);
});
