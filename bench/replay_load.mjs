// The node half of bench/replay_load.py: time the replay page's motion-log loading.
import { readFileSync } from 'node:fs';
import { parseMotionLog } from '../web_client/src/replay/motionLog.js';
import { MotionTimeline } from '../web_client/src/replay/timeline.js';

const bytes = new Uint8Array(readFileSync(process.argv[2]));
const t0 = performance.now();
const log = await parseMotionLog(bytes);
const t1 = performance.now();
const timeline = new MotionTimeline(log);
const t2 = performance.now();
let avatars = 0;
for (let k = 0; k < 1000; k++) avatars += timeline.at(Math.random() * timeline.lastT).length;
const t3 = performance.now();
globalThis.gc?.();
const mem = process.memoryUsage();
const r = (v, d = 1) => Math.round(v * d) / d;
console.log(JSON.stringify({
  motion_bytes: bytes.length,
  chunks: log.chunks.length,
  parse_ms: r(t1 - t0),
  index_ms: r(t2 - t1),
  state_ms: r((t3 - t2) / 1000, 1000),
  avatars_per_state: r(avatars / 1000),
  heap_mb: r(mem.heapUsed / 1e6),
  buffers_mb: r(mem.arrayBuffers / 1e6),
}));
