/**
 * Cross-language check of the pose and motion codecs (run by
 * tests/integration/test_codec_js.py): reads a fixture that Python's avatar/codec.py and
 * server/motion/codec.py wrote, decodes it with net/poseCodec.js and net/motionCodec.js,
 * re-encodes the records, encodes the uplinks the fixture asks for, and prints what it
 * found as JSON. Without an argument (e.g. when `node --test` walks this folder) it does
 * nothing.
 */
import { readFileSync } from 'node:fs';
import { decodePose, encodePose, STATE_NAMES } from '../../src/net/poseCodec.js';
import { decodeFrame, encodeUplink } from '../../src/net/motionCodec.js';

const path = process.argv[2];
if (path) {
  const fixture = JSON.parse(readFileSync(path, 'utf8'));
  const hex = (u8) => Buffer.from(u8).toString('hex');
  const plain = (p) => ({ ...p, state: STATE_NAMES[p.state], weights: Array.from(p.weights) });
  const records = fixture.records.map((h) => {
    const pose = decodePose(Buffer.from(h, 'hex'));
    return { pose: plain(pose), reencoded: hex(encodePose(pose)) };
  });
  const { tick, entries } = decodeFrame(Buffer.from(fixture.frame, 'hex'), (n) => n * 50);
  const frame = { tick, entries: entries.map((e) => ({ ...e, pose: e.pose && plain(e.pose) })) };
  const uplinks = fixture.uplinks.map(([x, z, h, rec]) =>
    hex(encodeUplink(x, z, h, rec === null ? null : new Uint8Array(Buffer.from(rec, 'hex')))));
  const badFrames = fixture.bad_frames.map((h) => {
    try {
      decodeFrame(Buffer.from(h, 'hex'));
      return false;
    } catch (e) {
      return e.name === 'PoseFormatError';
    }
  });
  const refused = fixture.bad.map((h) => {
    try {
      decodePose(Buffer.from(h, 'hex'));
      return false;
    } catch (e) {
      return e.name === 'PoseFormatError';
    }
  });
  process.stdout.write(JSON.stringify({ records, frame, uplinks, refused, badFrames }));
}
