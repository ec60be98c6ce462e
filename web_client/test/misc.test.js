import test from 'node:test';
import assert from 'node:assert/strict';
import { AnnounceBatcher } from '../src/state/announce.js';
import { DEFAULT_STYLE, nameProblem, normaliseStyle } from '../src/state/avatarStyle.js';
import { tokenize, wrapText } from '../src/state/wrap.js';

test('announcements are batched and rate limited', () => {
  const b = new AnnounceBatcher(4000, 2);
  assert.equal(b.flush(0), null);
  b.add('joined', 'あや');
  assert.deepEqual(b.flush(0), [{ kind: 'joined', names: ['あや'] }]);
  for (let i = 0; i < 500; i++) b.add('joined', `p${i}`);
  b.add('left', 'Ben');
  assert.equal(b.flush(1000), null, 'too soon after the last message');
  assert.deepEqual(b.flush(4000), [{ kind: 'joined', count: 500 }, { kind: 'left', names: ['Ben'] }]);
  assert.equal(b.flush(9000), null, 'queue emptied');
});

test('avatar styles are normalised and invalid values dropped', () => {
  assert.deepEqual(normaliseStyle(null), DEFAULT_STYLE);
  const s = normaliseStyle({ body: '#AABBCC', skin: 'red', hair: 'mohawk', hair_color: '#123456', accessory: 'tie', extra: 1 });
  assert.deepEqual(s, { body: '#aabbcc', skin: DEFAULT_STYLE.skin, hair: 'short', hair_color: '#123456', accessory: 'tie' });
  assert.ok(!('extra' in s));
});

test('display names are pre-checked like the server does', () => {
  assert.equal(nameProblem('   '), 'bad_name');
  assert.equal(nameProblem('さくら'), null);
  assert.equal(nameProblem('あ'.repeat(24)), null);
  assert.equal(nameProblem('あ'.repeat(25)), 'bad_name');
  assert.equal(nameProblem('a  b\n'), null);
});

const mono = (s) => [...s].length; // every character one unit wide

test('Japanese wraps between characters and keeps closing punctuation', () => {
  const lines = wrapText('市役所からのお知らせです。ご確認ください。', 6, mono);
  for (const l of lines) assert.ok(mono(l) <= 7, `${l} too long`);
  assert.equal(lines.join(''), '市役所からのお知らせです。ご確認ください。');
  for (const l of lines) assert.ok(!/^[、。]/.test(l), `line starts with punctuation: ${l}`);
});

test('Latin text wraps at spaces, long words are cut, lines are capped', () => {
  assert.deepEqual(wrapText('the quick brown fox', 10, mono), ['the quick', 'brown fox']);
  assert.deepEqual(wrapText('abcdefghijkl', 5, mono), ['abcde', 'fghij', 'kl']);
  assert.deepEqual(wrapText('a\nb', 10, mono), ['a', 'b']);
  const capped = wrapText('one two three four five six', 5, mono, 2);
  assert.equal(capped.length, 2);
  assert.ok(capped[1].endsWith('…'));
  assert.deepEqual(tokenize('AB 市役所。'), ['AB ', '市', '役', '所。']);
});

test('peer connections take the ICE servers of the last join, and nothing malformed', async () => {
  const { setIceServers, rtcConfiguration } = await import('../src/net/ice.js');
  assert.deepEqual(rtcConfiguration(), { iceServers: [] }, 'no third party by default');
  const turn = { urls: ['turns:turn.example.jp:443?transport=tcp'], username: '1:p_1', credential: 'x' };
  setIceServers([turn, null, { nourls: 1 }, 'junk']);
  assert.deepEqual(rtcConfiguration(), { iceServers: [turn] });
  rtcConfiguration().iceServers[0].username = 'changed';
  assert.equal(rtcConfiguration().iceServers[0].username, '1:p_1', 'callers get a copy');
  setIceServers(undefined);
  assert.deepEqual(rtcConfiguration(), { iceServers: [] });
});
