/**
 * Cross-language check of the gallery codec (run by
 * tests/integration/test_gallery_codec_crosscheck.py): decodes the messages of a fixture
 * that server/gallery/codec.py wrote (good frames, states, every cut and random corruptions)
 * with net/galleryCodec.js, encodes the uplinks the fixture asks for, and prints what it
 * found as JSON. Without an argument (`node --test` walking this folder) it does nothing.
 */
import { readFileSync } from 'node:fs';
import { STATE_NAMES } from '../../src/net/poseCodec.js';
import { decode, encodeAsk, encodeHand, GalleryFormatError } from '../../src/net/galleryCodec.js';

const path = process.argv[2];
if (path) {
  const fixture = JSON.parse(readFileSync(path, 'utf8'));
  const hex = (u8) => Buffer.from(u8).toString('hex');
  const plain = (m) => {
    if (m.kind === 'state') return m;
    return {
      ...m,
      entries: m.entries.map((e) => ({ ...e, pose: e.pose && { ...e.pose, state: STATE_NAMES[e.pose.state], weights: Array.from(e.pose.weights) } })),
      audio: m.audio.map((a) => ({ ...a, payload: hex(a.payload) })),
    };
  };
  const one = (h) => {
    try {
      return plain(decode(new Uint8Array(Buffer.from(h, 'hex'))));
    } catch (e) {
      if (e instanceof GalleryFormatError) return { error: e.message };
      return { crash: `${e.name}: ${e.message}` }; // never expected
    }
  };
  const uplinks = fixture.uplinks.map((u) => {
    try {
      return u.t === 'hand' ? encodeHand(u.up) : encodeAsk(u);
    } catch (e) {
      return { refused: e.name };
    }
  });
  process.stdout.write(JSON.stringify({ messages: fixture.messages.map(one), uplinks }));
}
