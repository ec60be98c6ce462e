import test from 'node:test';
import assert from 'node:assert/strict';
import { MeetingState } from '../src/state/meeting.js';

// Automatic captions (issue 17): the room's mode from the join and from caption.mode; an
// automatic line corrected by a captioner keeps both texts.
test('the captions mode follows the join and staff switching it', () => {
  const m = new MeetingState();
  m.load({ room: 'r', kind: 'committee', server_time: 1, captions: [], captions_mode: { auto: true, lang: 'ja' } });
  assert.deepEqual(m.captionsMode, { auto: true, lang: 'ja' });
  const r = m.applyEvent({ type: 'caption.mode', auto: false, lang: 'en' });
  assert.equal(r.what, 'captions');
  assert.deepEqual(m.captionsMode, { auto: false, lang: 'en' });
  m.load({ room: 'r', kind: 'plaza', server_time: 1 }); // an older server says nothing
  assert.deepEqual(m.captionsMode, { auto: false, lang: 'ja' });
});

test('a corrected automatic line replaces the shown text and keeps the recognised one', () => {
  const m = new MeetingState();
  m.load({ room: 'r', kind: 'committee', server_time: 1, captions: [] });
  m.applyEvent({ type: 'caption.posted', line: { seq: 1, text: 'ぎあん', auto: true, speaker_name: '山田委員' } });
  m.applyEvent({ type: 'caption.corrected', line: { seq: 1, text: '議案', auto: true, auto_text: 'ぎあん', corrected: true } });
  assert.equal(m.captions.length, 1);
  assert.equal(m.captions[0].text, '議案');
  assert.equal(m.captions[0].auto_text, 'ぎあん');
});
