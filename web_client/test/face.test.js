import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  BLENDSHAPE_NAMES, POSE_SIZE, STATE, W, decodePose, emptyPose, encodePose,
} from '../src/net/poseCodec.js';
import { FacePipeline, OneEuro, eulerFromMatrix, landmarkRoll, orthonormalise, solve } from '../src/state/faceSolver.js';
import { PoseTrack, RemotePoses, lerpPose } from '../src/state/poseTrack.js';
import { blinkCurve, expressionOf } from '../src/state/expression.js';
import { candidates, needsWarmup, preferenceFrom } from '../src/state/trackingMode.js';
import { VoiceAnimator, levelDbov } from '../src/state/voicePose.js';

const close = (a, b, eps = 1e-6) => assert.ok(Math.abs(a - b) <= eps, `${a} ≉ ${b}`);
const DEG = Math.PI / 180;

function pose(over = {}) {
  return { ...emptyPose(0, STATE.tracked), ...over };
}

test('a pose record is 69 bytes and round-trips within the quantisation', () => {
  const w = new Float32Array(52).map((_, i) => i / 51);
  const p = pose({ t: 2 ** 32 + 5, roll: -12.345, pitch: 95, yaw: 190, x: 0.0123, y: -40, z: 0.5, weights: w });
  const rec = encodePose(p);
  assert.equal(rec.length, POSE_SIZE);
  assert.equal(rec[0], 0x10, 'version 1, state tracked');
  const back = decodePose(rec);
  assert.equal(back.t, 5, 'modulo 2^32');
  close(back.roll, -12.345, 0.006);
  assert.equal(back.pitch, 90, 'pitch is clamped');
  close(back.yaw, -170, 1e-9); // wrapped into (-180, 180]
  close(back.x, 0.012, 1e-9);
  assert.equal(back.y, -32.767, 'position clamps to ±32767 mm');
  for (let i = 0; i < 52; i++) close(back.weights[i], w[i], 1 / 510 + 1e-6);
  assert.equal(decodePose(encodePose(pose({ roll: -180 }))).roll, 180);
});

test('malformed records are refused', () => {
  const rec = encodePose(pose());
  const bad = [rec.slice(0, 68), new Uint8Array(70), Uint8Array.of(0x20, ...rec.slice(1)), Uint8Array.of(0x14, ...rec.slice(1))];
  for (const b of bad) assert.throws(() => decodePose(b), { name: 'PoseFormatError' });
  const angle = rec.slice();
  new DataView(angle.buffer).setInt16(5, 18001, true);
  assert.throws(() => decodePose(angle), /angle/);
  for (const at of [11, 13, 15]) {
    const far = rec.slice();
    new DataView(far.buffer).setInt16(at, -32768, true); // no encoder writes it
    assert.throws(() => decodePose(far), /position/);
  }
  assert.throws(() => decodePose('x'), { name: 'PoseFormatError' });
});

test('the blendshape names are the 52 of the record, in its order', () => {
  assert.equal(BLENDSHAPE_NAMES.length, 52);
  assert.equal(W.tongueOut, 51);
});

/** A MediaPipe-like matrix (column-major data) for a head at yaw/pitch/roll degrees. */
function mpMatrix(roll, pitch, yaw, t = [1, 2, -40], scale = 1) {
  const [r, p, y] = [roll * DEG, pitch * DEG, yaw * DEG];
  const rz = [[Math.cos(r), -Math.sin(r), 0], [Math.sin(r), Math.cos(r), 0], [0, 0, 1]];
  const rx = [[1, 0, 0], [0, Math.cos(p), -Math.sin(p)], [0, Math.sin(p), Math.cos(p)]];
  const ry = [[Math.cos(y), 0, Math.sin(y)], [0, 1, 0], [-Math.sin(y), 0, Math.cos(y)]];
  const mul = (a, b) => a.map((row) => b[0].map((_, j) => row.reduce((s, v, k) => s + v * b[k][j], 0)));
  const avatar = mul(mul(ry, rx), rz);
  const s = [-1, 1, -1]; // back to MediaPipe's camera frame
  const cam = avatar.map((row, i) => row.map((v, j) => s[i] * v * s[j] * scale));
  const data = new Array(16).fill(0);
  for (let rr = 0; rr < 3; rr++) for (let c = 0; c < 3; c++) data[c * 4 + rr] = cam[rr][c];
  data[12] = t[0];
  data[13] = t[1];
  data[14] = t[2];
  data[15] = 1;
  return { rows: 4, columns: 4, data };
}

function result(roll, pitch, yaw, opts = {}) {
  const lms = Array.from({ length: 478 }, () => ({ x: 0.5, y: 0.5, z: 0 }));
  const a = (opts.eyeRoll ?? roll) * DEG;
  // the eye line turns clockwise on the image when the person tilts to their left
  lms[33] = { x: 0.4, y: 0.4, z: 0 };
  lms[263] = { x: 0.4 + 0.2 * Math.cos(a), y: 0.4 + (0.2 * Math.sin(a) * 640) / 480, z: 0 };
  const categories = [{ categoryName: '_neutral', score: 0.9 }, { categoryName: 'jawOpen', score: 0.7 }, { categoryName: 'eyeBlinkLeft', score: 1.2 }];
  return {
    faceLandmarks: [lms],
    facialTransformationMatrixes: [mpMatrix(roll, pitch, yaw, undefined, opts.scale ?? 1)],
    faceBlendshapes: [{ categories }],
  };
}

test('the solver reads angles from the matrix and roll from the eyes near frontal', () => {
  let p = solve(result(10, 5, -8, { eyeRoll: 12 }), 640, 480, 100);
  close(p.roll, 12, 1e-6); // eye line wins when frontal
  close(p.pitch, 5, 1e-6);
  close(p.yaw, -8, 1e-6);
  p = solve(result(10, 5, 40, { eyeRoll: 30, scale: 1.3 }), 640, 480, 100);
  close(p.roll, 10, 1e-6); // turned away: the matrix's roll, scale removed
  close(p.yaw, 40, 1e-6);
  close(p.x, -0.01);
  close(p.z, 0.4);
  assert.equal(p.weights[W.jawOpen].toFixed(3), '0.700');
  assert.equal(p.weights[W.eyeBlinkLeft], 1, 'scores are clamped');
  assert.equal(solve({ faceLandmarks: [] }, 640, 480, 0), null);
});

test('matrix helpers: orthonormalise and Euler order YXZ', () => {
  const r = orthonormalise([[2, 0, 0], [0, 2, 0], [0, 0, 2]]);
  close(r[0][0], 1);
  const e = eulerFromMatrix([[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
  assert.deepEqual([e.roll, e.pitch, e.yaw].map((v) => Math.abs(v)), [0, 0, 0]);
  close(landmarkRoll(result(0, 0, 0, { eyeRoll: -7 }).faceLandmarks[0], 640, 480), -7);
});

test('the pipeline filters a still head and eases a lost face to rest', () => {
  const pipe = new FacePipeline();
  let last;
  for (let i = 0; i < 30; i++) last = pipe.process(result(10 + (i % 2 ? 0.5 : -0.5), 0, 0), 640, 480, i * 33).pose;
  assert.ok(Math.abs(last.roll - 10) < 0.3, `filtered roll ${last.roll}`);
  assert.ok(Math.abs(last.x) < 1e-9, 'position is an offset from rest');
  const lost = pipe.process({}, 640, 480, 30 * 33 + 500);
  assert.equal(lost.found, false);
  assert.equal(lost.pose.state, STATE.lost);
  assert.ok(Math.abs(lost.pose.roll) < Math.abs(last.roll) * 0.5);
  const f = new OneEuro(Float64Array.of(1), Float64Array.of(0), Float64Array.of(1));
  assert.deepEqual(Array.from(f.filter([5], 0)), [5]);
  assert.ok(f.filter([10], 0.1)[0] < 10);
});

test('remote poses render one tick behind, interpolated, on the sender clock', () => {
  const tr = new PoseTrack();
  // sender clock starts near the 2^32 wrap; poses every 50 ms arrive 30 ms later
  const t0 = 2 ** 32 - 60;
  for (let i = 0; i < 6; i++) tr.push(pose({ t: (t0 + i * 50) % 2 ** 32, roll: i * 10 }), 1000 + i * 50 + 30);
  const at = (now) => tr.sample(now, 90).roll;
  close(at(1000 + 30 + 90 + 100), 20); // exactly the third pose
  close(at(1000 + 30 + 90 + 125), 25); // halfway to the fourth
  close(at(5000), 50); // holds the newest
  const mid = lerpPose(pose({ roll: 170, yaw: -170 }), pose({ roll: -170, yaw: 170 }), 0.5);
  close(Math.abs(mid.roll), 180);
  const faces = new RemotePoses({ tickMs: 50, staleMs: 1000 });
  faces.push('a', pose({ t: 1, roll: 3 }), 0);
  close(faces.sample('a', 200).roll, 3);
  assert.equal(faces.sample('a', 2000), null, 'a silent sender is released');
  assert.equal(faces.sample('b', 0), null);
  for (let i = 0; i < 30; i++) faces.observeFrame(100 + i * 100);
  assert.ok(Math.abs(faces.tickMs - 100) <= 6, `learnt tick ${faces.tickMs}`);
});

test('expressions map weights to the avatar\'s own sides and angles to radians', () => {
  const w = new Float32Array(52);
  w[W.eyeBlinkLeft] = 0.9;
  w[W.mouthSmileRight] = 0.8;
  w[W.eyeLookOutLeft] = 1; // both eyes look to the person's left
  w[W.eyeLookInRight] = 1;
  w[W.browInnerUp] = 0.6;
  const e = expressionOf(pose({ roll: 90, yaw: -45, weights: w }));
  assert.equal(e.blinkL, 1);
  assert.equal(e.blinkR, 0);
  assert.equal(e.smileR, w[W.mouthSmileRight]);
  assert.equal(e.gazeX, -1, 'the person\'s left is the avatar\'s -x');
  close(e.headRoll, Math.PI / 2);
  close(e.headYaw, -Math.PI / 4);
  close(e.browInner, 0.6);
  assert.equal(blinkCurve(0.1), 0);
});

test('mode choice: browser when fast enough, then server if allowed, then voice, then none', () => {
  assert.deepEqual(candidates({ browserFps: 24, serverAllowed: true }), ['browser', 'server', 'voice', 'none']);
  assert.deepEqual(candidates({ browserFps: 9, serverAllowed: true }), ['server', 'voice', 'none']);
  assert.deepEqual(candidates({ browserFps: 9, serverAllowed: true, serverFull: true }), ['voice', 'none']);
  assert.deepEqual(candidates({ camera: false, serverAllowed: true }), ['voice', 'none']);
  assert.deepEqual(candidates({ camera: false, mic: false }), ['none']);
  assert.deepEqual(candidates({ preference: 'server', serverAllowed: true }), ['server', 'voice', 'none']);
  assert.deepEqual(candidates({ preference: 'browser' }), ['browser', 'voice', 'none']);
  assert.deepEqual(candidates({ preference: 'voice', browserFps: 30 }), ['voice', 'browser', 'none']);
  assert.equal(needsWarmup({}), true);
  assert.equal(needsWarmup({ preference: 'server' }), false);
  assert.equal(needsWarmup({ preference: 'browser' }), false);
  assert.equal(needsWarmup({ camera: false }), false);
  assert.equal(preferenceFrom('?room=x&tracking=server'), 'server');
  assert.equal(preferenceFrom('?tracking=evil'), 'auto');
});

test('voice: the mouth opens with the level and closes after it', () => {
  assert.equal(levelDbov(new Float32Array(100)), -127);
  assert.equal(levelDbov(new Float32Array(100).fill(1)), 0);
  const v = new VoiceAnimator(undefined, () => 0.5);
  let p;
  for (let t = 0; t <= 300; t += 50) p = v.update(-20, t);
  assert.ok(p.weights[W.jawOpen] > 0.55, `open ${p.weights[W.jawOpen]}`);
  assert.equal(p.state, STATE.voice);
  for (let t = 350; t <= 1000; t += 50) p = v.update(-90, t);
  assert.ok(p.weights[W.jawOpen] < 0.05);
  const rec = decodePose(encodePose(p));
  assert.equal(rec.state, STATE.voice);
});

test('every face status and reason the UI can show is in every catalogue', () => {
  const dir = new URL('../i18n/', import.meta.url).pathname;
  const keys = ['face.toggle', 'face.allowServer', 'face.status.off', 'face.status.starting'];
  for (const m of ['browser', 'server', 'voice', 'none']) keys.push(`face.status.${m}`);
  for (const r of ['tracking_full', 'no_camera', 'no_mic', 'slow', 'ended', 'failed']) keys.push(`face.reason.${r}`);
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const cat = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    for (const k of keys) assert.ok(typeof cat[k] === 'string' && cat[k], `${f} lacks ${k}`);
  }
});
