/**
 * Cross-language check of the replay's motion-log reader (run by
 * tests/integration/test_replay_motion_js.py): parses a `motion.bin` that Python's
 * server/recording/motion_log.py wrote with replay/motionLog.js, indexes it with
 * replay/timeline.js and prints, as JSON, every record, the torn bytes and the pose and
 * positions at the times asked for. Without an argument (`node --test` walks this
 * folder) it does nothing.
 */
import { readFileSync } from 'node:fs';
import { bodyRecords, parseMotionLog } from '../../src/replay/motionLog.js';
import { POSE_SIZE } from '../../src/net/poseCodec.js';
import { MotionTimeline } from '../../src/replay/timeline.js';

const [path, timesJson] = process.argv.slice(2);
if (path) {
  const log = await parseMotionLog(new Uint8Array(readFileSync(path)));
  const hex = (u8) => Buffer.from(u8).toString('hex');
  const records = [];
  for (const c of log.chunks) {
    for (const r of bodyRecords(c.body)) {
      if (r.at !== undefined) records.push([r.kind, r.t, r.slot, hex(c.body.subarray(r.at, r.at + POSE_SIZE))]);
      else if (r.entries) records.push([r.kind, r.t, 0, r.entries]);
      else records.push([r.kind, r.t, r.slot, '']);
    }
  }
  const timeline = new MotionTimeline(log);
  const samples = JSON.parse(timesJson || '[]').map((t) => {
    const at = {};
    for (const slot of timeline.slots.keys()) {
      const pose = timeline.poseAt(slot, t);
      at[slot] = {
        pose: pose && { roll: pose.roll, pitch: pose.pitch, yaw: pose.yaw, jawOpen: pose.weights[24] },
        pos: timeline.positionAt(slot, t),
      };
    }
    return { t, at };
  });
  const chunks = log.chunks.map((c) => [c.t0, c.keyframe]);
  console.log(JSON.stringify({ chunks, records, tornBytes: log.tornBytes, stage: timeline.stageSlots, samples }));
}
