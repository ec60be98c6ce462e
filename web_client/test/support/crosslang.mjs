/**
 * Cross-language check of the pose codec (run by tests/integration/test_codec_js.py):
 * reads a fixture that Python's avatar/codec.py and avatar/frame.py wrote, decodes it with
 * net/poseCodec.js, re-encodes it, and prints what it found as JSON. Without an argument
 * (e.g. when `node --test` walks this folder) it does nothing.
 */
import { readFileSync } from 'node:fs';
import { decodeFrame, decodePose, encodeFrame, encodePose, STATE_NAMES } from '../../src/net/poseCodec.js';

const path = process.argv[2];
if (path) {
  const fixture = JSON.parse(readFileSync(path, 'utf8'));
  const hex = (u8) => Buffer.from(u8).toString('hex');
  const plain = (p) => ({ ...p, state: STATE_NAMES[p.state], weights: Array.from(p.weights) });
  const records = fixture.records.map((h) => {
    const pose = decodePose(Buffer.from(h, 'hex'));
    return { pose: plain(pose), reencoded: hex(encodePose(pose)) };
  });
  const entries = decodeFrame(Buffer.from(fixture.frame, 'hex'));
  const frame = {
    entries: entries.map(({ slot, pose }) => ({ slot, pose: plain(pose) })),
    reencoded: hex(encodeFrame(entries)),
  };
  const refused = fixture.bad.map((h) => {
    try {
      decodePose(Buffer.from(h, 'hex'));
      return false;
    } catch (e) {
      return e.name === 'PoseFormatError';
    }
  });
  process.stdout.write(JSON.stringify({ records, frame, refused }));
}
