import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { keyed } from '../src/ui/el.js';
import { ChatAnnouncer } from '../src/ui/announcer.js';
import { i18n } from '../src/i18n.js';

/**
 * Just enough of the DOM for `keyed`: elements in a tree, a document whose focus, like
 * Chromium's, is dropped when the focused node is moved or removed, and a count of the
 * nodes created, moved and removed.
 */
class FakeDocument {
  constructor() {
    this.activeElement = null;
    this.body = new FakeElement(this, 'body');
    this.body.connected = true;
    this.moves = 0;
  }
}

class FakeElement {
  constructor(doc, tag, text = '') {
    this.ownerDocument = doc;
    this.tag = tag;
    this.text = text;
    this.children = [];
    this.parentNode = null;
    this.dataset = {};
    this.connected = false;
  }

  get isConnected() {
    let n = this;
    while (n.parentNode) n = n.parentNode;
    return n === this.ownerDocument.body;
  }

  get firstElementChild() {
    return this.children[0] ?? null;
  }

  get nextElementSibling() {
    const sibs = this.parentNode?.children ?? [];
    return sibs[sibs.indexOf(this) + 1] ?? null;
  }

  contains(other) {
    for (let n = other; n; n = n.parentNode) if (n === this) return true;
    return false;
  }

  #detach() {
    if (!this.parentNode) return;
    const doc = this.ownerDocument;
    if (doc.activeElement && this.contains(doc.activeElement)) doc.activeElement = doc.body;
    const sibs = this.parentNode.children;
    sibs.splice(sibs.indexOf(this), 1);
    this.parentNode = null;
  }

  remove() {
    this.#detach();
  }

  insertBefore(node, ref) {
    if (node.parentNode) this.ownerDocument.moves += 1;
    node.#detach();
    const i = ref ? this.children.indexOf(ref) : this.children.length;
    this.children.splice(i, 0, node);
    node.parentNode = this;
    return node;
  }

  replaceWith(node) {
    const parent = this.parentNode;
    const next = this.nextElementSibling;
    this.#detach();
    parent.insertBefore(node, next);
  }

  append(node) {
    this.insertBefore(node, null);
  }

  focus() {
    this.ownerDocument.activeElement = this;
  }
}

function setup() {
  const doc = new FakeDocument();
  const list = new FakeElement(doc, 'ol');
  doc.body.append(list);
  let built = 0;
  const entry = (id, text) => ({
    key: id,
    sig: text,
    build: () => {
      built += 1;
      const li = new FakeElement(doc, 'li', text);
      li.append(new FakeElement(doc, 'input'));
      return li;
    },
  });
  return { doc, list, entry, built: () => built };
}

const texts = (list) => list.children.map((c) => c.text);
const keys = (list) => list.children.map((c) => c.dataset.key);

test('keyed builds each item once and leaves unchanged ones alone', () => {
  const { list, entry, built } = setup();
  keyed(list, [entry(1, 'a'), entry(2, 'b'), entry(3, 'c')]);
  assert.deepEqual(texts(list), ['a', 'b', 'c']);
  const nodes = [...list.children];
  keyed(list, [entry(1, 'a'), entry(2, 'b'), entry(3, 'c')]);
  assert.equal(built(), 3);
  assert.deepEqual(list.children, nodes, 'the very same nodes');
});

test('keyed replaces only the changed item, adds and removes by key', () => {
  const { list, entry, built } = setup();
  keyed(list, [entry(1, 'a'), entry(2, 'b'), entry(3, 'c')]);
  const [one, , three] = list.children;
  keyed(list, [entry(1, 'a'), entry(2, 'B'), entry(4, 'd')]);
  assert.deepEqual(texts(list), ['a', 'B', 'd']);
  assert.deepEqual(keys(list), ['1', '2', '4']);
  assert.equal(list.children[0], one);
  assert.ok(!three.parentNode, 'the removed item is gone');
  assert.equal(built(), 5);
});

test('keyed patches in place with update, keeping the node and what is inside it', () => {
  const { doc, list } = setup();
  const card = (sig) => ({
    key: 'p1', sig,
    build: () => {
      const li = new FakeElement(doc, 'li', sig);
      li.append(new FakeElement(doc, 'input'));
      return li;
    },
    update: (li) => { li.text = sig; },
  });
  keyed(list, [card('0 votes')]);
  const li = list.children[0];
  const input = li.children[0];
  input.focus();
  input.checked = true; // picked, not sent
  keyed(list, [card('1 vote')]);
  assert.equal(list.children[0], li);
  assert.equal(li.text, '1 vote');
  assert.equal(li.children[0].checked, true);
  assert.equal(doc.activeElement, input);
});

test('keyed reorders with few moves and gives the focus back to a moved item', () => {
  const { doc, list, entry } = setup();
  keyed(list, [entry(1, 'a'), entry(2, 'b'), entry(3, 'c'), entry(4, 'd')]);
  const input = list.children[3].children[0];
  input.focus();
  doc.moves = 0;
  // Item 4 gains support and rises to the top.
  keyed(list, [entry(4, 'd'), entry(1, 'a'), entry(2, 'b'), entry(3, 'c')]);
  assert.deepEqual(keys(list), ['4', '1', '2', '3']);
  assert.equal(doc.moves, 1, 'one node moved, not the whole list');
  assert.equal(doc.activeElement, input, 'the focus is given back');
});

test('keyed turns an empty placeholder into items and drops strays without keys', () => {
  const { doc, list, entry } = setup();
  list.append(new FakeElement(doc, 'li', 'stray'));
  keyed(list, [entry('empty', 'nothing yet')]);
  assert.deepEqual(texts(list), ['nothing yet']);
  keyed(list, [entry(7, 'first')]);
  assert.deepEqual(texts(list), ['first']);
});

test('keyed copes with many items and a random mix of changes', () => {
  const { list, entry } = setup();
  let items = Array.from({ length: 300 }, (_, i) => [i, `t${i}`]);
  keyed(list, items.map(([k, v]) => entry(k, v)));
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let round = 0; round < 20; round++) {
    items = items.filter(() => rnd() > 0.05).map(([k, v]) => [k, rnd() < 0.1 ? `${v}!` : v]);
    items.push([1000 + round, `n${round}`]);
    items.sort(() => rnd() - 0.5);
    keyed(list, items.map(([k, v]) => entry(k, v)));
    assert.deepEqual(texts(list), items.map(([, v]) => v));
    assert.deepEqual(keys(list), items.map(([k]) => String(k)));
  }
});

const ja = JSON.parse(readFileSync(new URL('../i18n/ja.json', import.meta.url), 'utf8'));

function announcer() {
  i18n.catalogues.ja = ja;
  i18n.lang = 'ja';
  const said = [];
  let clock = 0;
  const timers = [];
  const a = new ChatAnnouncer((s) => said.push(s), {
    intervalMs: 3000,
    now: () => clock,
    schedule: (fn, ms) => timers.push({ fn, at: clock + ms }),
  });
  const advance = (ms) => {
    clock += ms;
    for (const x of timers.splice(0)) {
      if (x.at <= clock) x.fn();
      else timers.push(x);
    }
  };
  return { a, said, advance };
}

test('chat announcements: author and text only, the first at once, then throttled', () => {
  const { a, said, advance } = announcer();
  a.add('ひかる', 'こんにちは');
  assert.deepEqual(said, ['ひかる:こんにちは']);
  a.add('あおい', '一つ目');
  a.add('佐藤', '二つ目', 'member');
  assert.equal(said.length, 1, 'nothing more within the interval');
  advance(3000);
  assert.deepEqual(said.slice(1), ['あおい:一つ目 佐藤(委員):二つ目']);
  for (let i = 0; i < 5; i++) a.add('x', `m${i}`);
  advance(3000);
  assert.equal(said.length, 3);
  assert.equal(said[2], '新しいチャットが5件。最新は x:m4');
  assert.ok(!said.join(' ').includes(ja['chat.report']));
});
