import test from 'node:test';
import assert from 'node:assert/strict';
import { CHAT_SHOWN, OPINIONS_SHOWN, chatAfter, opinionsAfter, rankOpinions } from '../src/gallery/panel.js';

const msg = (id, text = `m${id}`) => ({ id, author: 'p1', author_name: 'あおい', author_role: 'citizen', text, at: id, hidden: false });

test('the gallery chat: posted in order, a hidden message gone, restored in its place', () => {
  let list = [];
  list = chatAfter(list, { t: 'chat', change: 'chat.posted', message: msg(2) });
  list = chatAfter(list, { t: 'chat', change: 'chat.posted', message: msg(1) });
  assert.deepEqual(list.map((m) => m.id), [1, 2]);
  list = chatAfter(list, { t: 'chat', change: 'chat.hidden', message: { id: 1, hidden: true } });
  assert.deepEqual(list.map((m) => m.id), [2]);
  list = chatAfter(list, { t: 'chat', change: 'chat.restored', message: msg(1) });
  assert.deepEqual(list.map((m) => m.id), [1, 2]);
  // a repeat replaces, never doubles
  list = chatAfter(list, { t: 'chat', change: 'chat.posted', message: msg(2, 'again') });
  assert.deepEqual(list.map((m) => m.text), ['m1', 'again']);
  assert.equal(chatAfter(list, { t: 'chat' }), list); // nothing usable: unchanged
});

test('the gallery chat keeps the latest few only', () => {
  let list = [];
  for (let i = 1; i <= CHAT_SHOWN + 5; i++) list = chatAfter(list, { change: 'chat.posted', message: msg(i) });
  assert.equal(list.length, CHAT_SHOWN);
  assert.equal(list.at(-1).id, CHAT_SHOWN + 5);
});

test('the gallery opinions: ranked as the room ranks them; hidden and merged ones leave', () => {
  const op = (id, supports, extra = {}) => ({ id, supports, text: `o${id}`, category: '遊具', hidden: false, merged_into: null, ...extra });
  let list = rankOpinions([op(1, 0), op(2, 3), op(3, 0)]);
  assert.deepEqual(list.map((o) => o.id), [2, 1, 3]);
  list = opinionsAfter(list, { change: 'supported', opinion: op(3, 5) });
  assert.deepEqual(list.map((o) => o.id), [3, 2, 1]);
  list = opinionsAfter(list, { change: 'hidden', opinion: { id: 2, hidden: true } });
  assert.deepEqual(list.map((o) => o.id), [3, 1]);
  list = opinionsAfter(list, { change: 'merged', opinion: op(1, 0, { merged_into: 3, status: 'merged' }) });
  assert.deepEqual(list.map((o) => o.id), [3]);
  for (let i = 10; i < 10 + OPINIONS_SHOWN + 3; i++) list = opinionsAfter(list, { change: 'submitted', opinion: op(i, 0) });
  assert.equal(list.length, OPINIONS_SHOWN);
  assert.equal(list[0].id, 3);
});
