import test from 'node:test';
import assert from 'node:assert/strict';
import { COMPACT_HEAD, PLAIN_SIZE } from '../src/net/motionCodec.js';
import {
  AUDIO_HEAD, FRAME_HEAD, GalleryFormatError, KIND_FRAME, KIND_STATE, MAX_ASK_NAME, decode, encodeAsk, encodeHand,
} from '../src/net/galleryCodec.js';

/** A frame by hand: one posed entry (slot 3, roll 12.5, one weight), one plain, two packets. */
function frameBytes({ closed = false } = {}) {
  const compact = COMPACT_HEAD + 1;
  const payloads = [new Uint8Array([0xfc, 0xff, 0xfe]), new Uint8Array(40).fill(7)];
  const n = FRAME_HEAD + PLAIN_SIZE + compact + PLAIN_SIZE + payloads.reduce((s, p) => s + AUDIO_HEAD + p.length, 0);
  const out = new Uint8Array(n);
  const v = new DataView(out.buffer);
  v.setUint8(0, KIND_FRAME);
  v.setUint8(1, closed ? 1 : 0);
  v.setUint32(2, 77, true);
  v.setUint32(6, 123456, true);
  v.setUint16(10, 1, true);
  v.setUint16(12, 1, true);
  v.setUint32(14, 812, true);
  v.setUint8(18, payloads.length);
  let at = FRAME_HEAD;
  v.setUint16(at, 3, true);
  v.setInt16(at + 2, -100, true);
  v.setInt16(at + 4, 150, true);
  v.setInt16(at + 6, 3000, true);
  at += PLAIN_SIZE;
  v.setUint8(at, 1); // tracking state: browser
  v.setInt16(at + 1, 1250, true); // roll 12.5 degrees
  v.setUint8(at + 10 + 3, 1 << 1); // weight 25 present
  v.setUint8(at + COMPACT_HEAD, 15); // ... and 15/15
  at += compact;
  v.setUint16(at, 40, true);
  v.setInt16(at + 2, 300, true);
  at += PLAIN_SIZE;
  payloads.forEach((p, i) => {
    v.setUint16(at, 3, true);
    v.setUint32(at + 2, 960 * (i + 1), true);
    v.setUint16(at + 6, 10 - i, true);
    v.setUint16(at + 8, p.length, true);
    out.set(p, at + AUDIO_HEAD);
    at += AUDIO_HEAD + p.length;
  });
  return out;
}

test('a frame decodes: stage pose, crowd entry, audio packets', () => {
  const m = decode(frameBytes().buffer);
  assert.equal(m.kind, 'frame');
  assert.deepEqual([m.seq, m.closed, m.serverMs, m.crowd], [77, false, 123456, 812]);
  assert.equal(m.entries.length, 2);
  const [posed, plain] = m.entries;
  assert.deepEqual([posed.slot, posed.x, posed.z, posed.h], [3, -1, 1.5, 0.3]);
  assert.equal(posed.pose.roll, 12.5);
  assert.equal(posed.pose.weights[25], 1);
  assert.equal(posed.pose.t, 123456);
  assert.deepEqual([plain.slot, plain.x, plain.pose], [40, 3, null]);
  assert.deepEqual(m.audio.map((a) => [a.slot, a.rtpTs, a.ageMs, a.payload.length]), [[3, 960, 10, 3], [3, 1920, 9, 40]]);
  assert.deepEqual([...m.audio[0].payload], [0xfc, 0xff, 0xfe]);
});

test('every cut of a frame, and a byte too many, is refused as a format error', () => {
  const good = frameBytes();
  for (let n = 0; n < good.length; n++) assert.throws(() => decode(good.subarray(0, n)), GalleryFormatError, `cut at ${n}`);
  const long = new Uint8Array(good.length + 1);
  long.set(good);
  assert.throws(() => decode(long), GalleryFormatError);
  const flags = good.slice();
  flags[1] = 2;
  assert.throws(() => decode(flags), GalleryFormatError);
  const kind = good.slice();
  kind[0] = 0x99;
  assert.throws(() => decode(kind), GalleryFormatError);
});

test('random corruption never raises anything but a format error', () => {
  const good = frameBytes();
  let seed = 11;
  const rnd = (n) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  for (let i = 0; i < 2000; i++) {
    const bad = good.slice();
    for (let k = 0; k <= rnd(4); k++) bad[rnd(bad.length)] = rnd(256);
    try {
      decode(bad);
    } catch (e) {
      assert.ok(e instanceof GalleryFormatError, e);
    }
  }
});

test('state messages are JSON objects with t', () => {
  const body = new TextEncoder().encode(JSON.stringify({ t: 'count', viewers: 12, peak: 30, 名: '傍聴' }));
  const raw = new Uint8Array(6 + body.length);
  raw.set([KIND_STATE, 0, 5, 0, 0, 0]);
  raw.set(body, 6);
  assert.deepEqual(decode(raw), { kind: 'state', seq: 5, msg: { t: 'count', viewers: 12, peak: 30, 名: '傍聴' } });
  for (const bad of ['{', '[1]', '{"x":1}', '\xff']) {
    const b = new TextEncoder().encode(bad);
    const r = new Uint8Array(6 + b.length);
    r.set([KIND_STATE, 0, 0, 0, 0, 0]);
    r.set(b, 6);
    assert.throws(() => decode(r), GalleryFormatError, bad);
  }
  assert.throws(() => decode(new Uint8Array([KIND_STATE, 0, 0, 0, 0, 0, 0xff])), GalleryFormatError);
  assert.throws(() => decode('text'), GalleryFormatError);
});

test('uplinks: hand and ask, names checked before sending', () => {
  assert.equal(encodeHand(true), '{"t":"hand","up":true}');
  assert.equal(encodeHand(false), '{"t":"hand","up":false}');
  assert.deepEqual(JSON.parse(encodeAsk({ name: ' 佐藤 ' })), { t: 'ask', name: '佐藤' });
  assert.deepEqual(JSON.parse(encodeAsk({ name: '', text: '質問' })), { t: 'ask', name: '', text: '質問' });
  assert.deepEqual(JSON.parse(encodeAsk({ cancel: true })), { t: 'ask', cancel: true });
  assert.doesNotThrow(() => encodeAsk({ name: 'あ'.repeat(MAX_ASK_NAME) }));
  assert.throws(() => encodeAsk({ name: 'あ'.repeat(MAX_ASK_NAME + 1) }), RangeError);
  assert.throws(() => encodeAsk({ text: 'x'.repeat(201) }), RangeError);
});
