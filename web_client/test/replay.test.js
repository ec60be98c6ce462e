import test from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { encodePose, emptyPose, W } from '../src/net/poseCodec.js';
import { crc32, KIND_GONE, KIND_POSE, KIND_POSITIONS, parseMotionLog } from '../src/replay/motionLog.js';
import { lastAtOrBefore, MAX_POSE_GAP_MS, MotionTimeline } from '../src/replay/timeline.js';
import { chapterAt, digest, floorAt, parseEvents } from '../src/replay/events.js';
import { ReplayClock } from '../src/replay/clock.js';
import { clockText, visibleCaptions } from '../src/replay/panel.js';
import { replayRoom } from '../src/replay/layout.js';

const close = (a, b, eps = 1e-6) => assert.ok(Math.abs(a - b) <= eps, `${a} ≉ ${b}`);

function pose(t, roll, jaw = 0) {
  const p = emptyPose(t, 0);
  p.roll = roll;
  p.yaw = -roll;
  p.weights[W.jawOpen] = jaw;
  return encodePose(p);
}

/** A motion log as server/recording/motion_log.py frames it (records → chunks). */
function logBytes(chunks) {
  const parts = [Uint8Array.from([0x48, 0x52, 0x42, 0x4d, 1, 0, 0, 0])];
  for (const { t0, keyframe, records, zlib } of chunks) {
    const body = Buffer.concat(records.map((r) => {
      const head = Buffer.alloc(7);
      head[0] = r.kind;
      head.writeUInt32LE(r.t, 1);
      if (r.kind === KIND_POSE) {
        head.writeUInt16LE(r.slot, 5);
        return Buffer.concat([head, Buffer.from(r.rec)]);
      }
      if (r.kind === KIND_POSITIONS) {
        head.writeUInt16LE(r.entries.length, 5);
        const e = Buffer.alloc(8 * r.entries.length);
        r.entries.forEach(([s, x, z, h], i) => {
          e.writeUInt16LE(s, 8 * i);
          e.writeInt16LE(x, 8 * i + 2);
          e.writeInt16LE(z, 8 * i + 4);
          e.writeInt16LE(h, 8 * i + 6);
        });
        return Buffer.concat([head, e]);
      }
      head.writeUInt16LE(r.slot, 5);
      return head;
    }));
    const packed = zlib ? deflateSync(body) : body;
    const tail = Buffer.alloc(5);
    tail.writeUInt32LE(t0, 0);
    tail[4] = (zlib ? 1 : 0) | (keyframe ? 2 : 0);
    const crcd = Buffer.concat([tail, packed]);
    const head = Buffer.alloc(8);
    head.writeUInt32LE(packed.length, 0);
    head.writeUInt32LE(crc32(crcd), 4);
    parts.push(head, crcd);
  }
  return new Uint8Array(Buffer.concat(parts));
}

test('crc32 is zlib\'s', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
});

test('a log parses, keyframe restatements are not duplicated, a torn tail is skipped', async () => {
  const recs1 = [];
  for (let t = 0; t < 1000; t += 50) recs1.push({ kind: KIND_POSE, t, slot: 4, rec: pose(t, t / 100) });
  recs1.push({ kind: KIND_POSITIONS, t: 500, entries: [[4, 120, -300, 15708], [9, 0, 500, 0]] });
  const recs2 = [{ kind: KIND_POSE, t: 950, slot: 4, rec: pose(950, 9.5) }]; // keyframe restates
  for (let t = 1000; t < 2000; t += 50) recs2.push({ kind: KIND_POSE, t, slot: 4, rec: pose(t, t / 100) });
  recs2.push({ kind: KIND_POSITIONS, t: 1500, entries: [[4, 120, -300, 15708], [9, 100, 500, 0]] });
  recs2.push({ kind: KIND_GONE, t: 1960, slot: 4 });
  const good = logBytes([{ t0: 0, keyframe: true, records: recs1, zlib: true }, { t0: 950, keyframe: true, records: recs2, zlib: false }]);
  const torn = new Uint8Array([...good, ...good.subarray(8, 30)]);
  const log = await parseMotionLog(torn);
  assert.equal(log.chunks.length, 2);
  assert.equal(log.tornBytes, 22);
  const tl = new MotionTimeline(log);
  assert.equal(tl.slots.get(4).poseT.length, 40, 'the restated pose at 950 is indexed once');
  assert.equal(tl.slots.get(4).poseRef.length, 40);
  assert.deepEqual(tl.stageSlots, [4]);

  // interpolation between records
  close(tl.poseAt(4, 1025).roll, 10.25, 0.006);
  close(tl.poseAt(4, 1025).yaw, -10.25, 0.006);
  close(tl.poseAt(4, 1000).roll, 10);
  assert.equal(tl.poseAt(4, -1), null, 'nothing before the first record');
  assert.equal(tl.poseAt(4, 1970), null, 'gone at 1960');
  close(tl.poseAt(4, 1955).roll, 19.5, 1e-9);
  // positions: metres, radians, interpolated, a gone ends them too
  const p = tl.positionAt(9, 1000);
  close(p.x, 0.5);
  close(p.z, 5);
  close(tl.positionAt(4, 700).h, 1.5708);
  assert.equal(tl.positionAt(4, 1970), null);
  assert.deepEqual(tl.at(1970).map((e) => e.slot), [9]);
});

test('a long pause is held, not morphed across', async () => {
  const recs = [
    { kind: KIND_POSE, t: 0, slot: 1, rec: pose(0, 0) },
    { kind: KIND_POSE, t: 3000, slot: 1, rec: pose(3000, 30) },
  ];
  const tl = new MotionTimeline(await parseMotionLog(logBytes([{ t0: 0, keyframe: true, records: recs }])));
  assert.ok(3000 > MAX_POSE_GAP_MS);
  assert.equal(tl.poseAt(1, 1500).roll, 0);
  assert.equal(tl.poseAt(1, 3500).roll, 30);
});

test('a chunk with a bad CRC ends the log there', async () => {
  const recs = [{ kind: KIND_POSE, t: 0, slot: 1, rec: pose(0, 1) }];
  const bytes = logBytes([{ t0: 0, keyframe: true, records: recs }, { t0: 1000, keyframe: false, records: recs }]);
  bytes[bytes.length - 1] ^= 0xff;
  const log = await parseMotionLog(bytes);
  assert.equal(log.chunks.length, 1);
  assert.ok(log.tornBytes > 0);
  await assert.rejects(parseMotionLog(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9])), /not a Hiroba motion log/);
});

test('lastAtOrBefore', () => {
  assert.equal(lastAtOrBefore([], 3), -1);
  assert.equal(lastAtOrBefore([1, 2, 2, 5], 2), 2);
  assert.equal(lastAtOrBefore([1, 2, 2, 5], 0), -1);
  assert.equal(lastAtOrBefore([1, 2, 2, 5], 9), 3);
});

test('events: chapters, corrected captions, hidden chat, floor, slots', () => {
  const lines = [
    { t: 0, seq: 0, kind: 'recording', action: 'started' },
    { t: 5, seq: 1, kind: 'join', type: 'meeting.present', pid: 'a', pid_name: '田中', pid_role: 'member', slot: 3 },
    { t: 100, seq: 2, kind: 'agenda', type: 'agenda.opened', item_id: 1, title: '開会' },
    { t: 200, seq: 3, kind: 'caption', type: 'caption.posted', line: { seq: 1, text: 'こんにちわ' } },
    { t: 300, seq: 4, kind: 'caption', type: 'caption.corrected', line: { seq: 1, text: 'こんにちは' } },
    { t: 400, seq: 5, kind: 'chat', type: 'chat.posted', message: { id: 7, author_name: 'さくら', text: 'hi' } },
    { t: 410, seq: 6, kind: 'chat', type: 'chat.posted', message: { id: 8, author_name: 'x', text: 'spam' } },
    { t: 420, seq: 7, kind: 'chat', type: 'chat.hidden', message: { id: 8, hidden: true } },
    { t: 500, seq: 8, kind: 'floor', type: 'floor.given', pid: 'a' },
    { t: 900, seq: 9, kind: 'floor', type: 'floor.ended', pid: 'a' },
  ];
  const text = lines.map((l) => JSON.stringify(l)).join('\n') + '\nnot json\n{"t": 1000, "seq": 10, "kind": "ch';
  const d = digest(parseEvents(text));
  assert.deepEqual(d.chapters, [{ t: 100, id: 1, title: '開会' }]);
  assert.deepEqual(d.captions, [{ t: 200, seq: 1, text: 'こんにちは' }]);
  assert.deepEqual(d.chat.map((m) => m.text), ['hi']);
  assert.equal(floorAt(d.floor, 600), 'a');
  assert.equal(floorAt(d.floor, 950), null);
  assert.equal(d.slots.get(3), 'a');
  assert.equal(d.people.get('a').name, '田中');
  assert.equal(chapterAt(d.chapters, 50), -1);
  assert.equal(chapterAt(d.chapters, 150), 0);
  assert.deepEqual(visibleCaptions(d.captions, 1000), ['こんにちは']);
  assert.deepEqual(visibleCaptions(d.captions, 9000), []);
  assert.equal(clockText(3725), '1:02:05');
  assert.equal(clockText(65.9), '1:05');
});

class FakeMedia {
  constructor() {
    this.currentTime = 0;
    this.playbackRate = 1;
    this.paused = true;
    this.seeking = false;
  }
  async play() {
    this.paused = false;
  }
  pause() {
    this.paused = true;
  }
}

test('clock: audio is the master, rate on every element, a straying one is re-synced', async () => {
  let now = 0;
  const a = new FakeMedia(), b = new FakeMedia();
  const c = new ReplayClock({ duration: 60, media: [a, b], now: () => now });
  c.seek(10);
  assert.equal(a.currentTime, 10);
  assert.equal(b.currentTime, 10);
  await c.play();
  c.setRate(2);
  assert.equal(a.playbackRate, 2);
  assert.equal(b.playbackRate, 2);
  now += 1000;
  a.currentTime = 12.03; // the audio ran 30 ms ahead of the monotonic clock
  b.currentTime = 11.9; // and the second file 130 ms behind it: re-synced
  assert.equal(c.tick(), 12.03);
  close(c.driftMs, 130, 1e-6); // the second voice against the clock drawn (the master)
  close(c.wallDriftMs, 100, 1e-6); // and against the monotonic clock
  assert.equal(b.currentTime, 12.03);
  assert.equal(c.resyncs, 1);
  c.setRate(3); // not offered: ignored
  assert.equal(c.rate, 2);
  c.pause();
  assert.ok(a.paused && b.paused);
  assert.equal(c.time(), 12.03);
});

test('clock without audio runs on the monotonic clock and stops at the end', async () => {
  let now = 0;
  const c = new ReplayClock({ duration: 2, now: () => now });
  await c.play();
  now += 1500;
  close(c.tick(), 1.5);
  now += 1000;
  assert.equal(c.tick(), 2);
  assert.equal(c.playing, false);
});

test('without a layout the room is rebuilt around the stage avatars', async () => {
  const recs = [
    { kind: KIND_POSE, t: 0, slot: 1, rec: pose(0, 0) },
    { kind: KIND_POSITIONS, t: 0, entries: [[1, 0, -1000, 0], [2, 300, 500, 0]] },
  ];
  const tl = new MotionTimeline(await parseMotionLog(logBytes([{ t0: 0, keyframe: true, records: recs }])));
  const { room } = replayRoom({ room: 'r', room_name: { ja: '委員会', en: 'Committee' } }, tl);
  assert.equal(room.seats.length, 1);
  assert.deepEqual([room.seats[0].x, room.seats[0].z], [0, -10]);
  assert.ok(room.stage.width >= 6);
  assert.ok(room.bounds.min_z <= -18 && room.bounds.max_z >= 13);
  const given = replayRoom({ room: 'r', room_layout: { bounds: { min_x: -1, max_x: 1, min_z: -1, max_z: 1 }, seats: [] } }, tl).room;
  assert.deepEqual(given.bounds, { min_x: -1, max_x: 1, min_z: -1, max_z: 1 });
});
