/**
 * Browser-side twin of avatar/solver.py, avatar/filters.py and avatar/pipeline.py: turns
 * a MediaPipe FaceLandmarker result (tasks-vision) into the same pose the server makes,
 * smoothed by the same One Euro filters with the same default parameters. Pure: numbers
 * in, numbers out (the worker in tracking/ feeds it).
 */
import { N_BLENDSHAPES, STATE, W, emptyPose } from '../net/poseCodec.js';

/** Landmarks of the outer eye corners: the person's right eye (image left), left eye. */
export const RIGHT_EYE_OUTER = 33;
export const LEFT_EYE_OUTER = 263;
/** Roll comes from the eye line when the face is within this many degrees of frontal. */
export const FRONTAL_LIMIT = 25;

const DEG = 180 / Math.PI;

/** 4x4 row-major from MediaPipe's MatrixData (`data` column-major unless `rows`-major). */
export function matrixRows(m) {
  const d = m.data ?? m;
  const rows = [[], [], [], []];
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) rows[r][c] = d[c * 4 + r];
  return rows;
}

function det3(a) {
  return (
    a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1]) -
    a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0]) +
    a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0])
  );
}

/** Inverse transpose of a 3x3 (the cofactor matrix over the determinant). */
function invT(a) {
  const d = det3(a);
  const c = (r0, c0, r1, c1) => a[r0][c0] * a[r1][c1] - a[r0][c1] * a[r1][c0];
  return [
    [c(1, 1, 2, 2) / d, -c(1, 0, 2, 2) / d, c(1, 0, 2, 1) / d],
    [-c(0, 1, 2, 2) / d, c(0, 0, 2, 2) / d, -c(0, 0, 2, 1) / d],
    [c(0, 1, 1, 2) / d, -c(0, 0, 1, 2) / d, c(0, 0, 1, 1) / d],
  ];
}

/** The rotation nearest a 3x3 (polar decomposition by Newton iteration; removes scale). */
export function orthonormalise(a) {
  let r = a.slice(0, 3).map((row) => row.slice(0, 3));
  if (det3(r) < 0) r = r.map((row) => [row[0], row[1], -row[2]]);
  for (let i = 0; i < 8; i++) {
    const it = invT(r);
    r = r.map((row, i2) => row.map((v, j) => 0.5 * (v + it[i2][j])));
  }
  return r;
}

/** (roll, pitch, yaw) in degrees of a rotation, three.js order 'YXZ' (avatar/rotation.py). */
export function eulerFromMatrix(r) {
  const pitch = Math.asin(Math.max(-1, Math.min(1, -r[1][2])));
  let yaw, roll;
  if (Math.abs(r[1][2]) < 0.9999999) {
    yaw = Math.atan2(r[0][2], r[2][2]);
    roll = Math.atan2(r[1][0], r[1][1]);
  } else {
    yaw = Math.atan2(-r[2][0], r[0][0]);
    roll = 0;
  }
  return { roll: roll * DEG, pitch: pitch * DEG, yaw: yaw * DEG };
}

/** Head roll from the eye-corner line in the image (avatar sign convention). */
export function landmarkRoll(landmarks, width, height) {
  const r = landmarks[RIGHT_EYE_OUTER];
  const l = landmarks[LEFT_EYE_OUTER];
  return Math.atan2((l.y - r.y) * height, (l.x - r.x) * width) * DEG;
}

/** The 52 weights from MediaPipe's categories (by name; `_neutral` ignored). */
export function weightsFromCategories(categories) {
  const w = new Float32Array(N_BLENDSHAPES);
  for (const c of categories || []) {
    const i = W[c.categoryName];
    if (i !== undefined) w[i] = Math.min(1, Math.max(0, c.score));
  }
  return w;
}

/**
 * Solve one result into a raw pose (position camera-relative, metres), or null without a
 * face. `result` is tasks-vision's FaceLandmarkerResult.
 */
export function solve(result, width, height, t) {
  const lms = result?.faceLandmarks?.[0];
  const mat = result?.facialTransformationMatrixes?.[0];
  const cats = result?.faceBlendshapes?.[0]?.categories;
  if (!lms || !mat || !cats) return null;
  const m = matrixRows(mat);
  // CAMERA_TO_AVATAR = diag(-1, 1, -1), applied on both sides of the rotation.
  const o = orthonormalise(m);
  const s = [-1, 1, -1];
  const rot = o.map((row, i) => row.map((v, j) => s[i] * v * s[j]));
  let { roll, pitch, yaw } = eulerFromMatrix(rot);
  if (width > 0 && height > 0 && Math.abs(yaw) < FRONTAL_LIMIT && Math.abs(pitch) < FRONTAL_LIMIT) {
    roll = landmarkRoll(lms, width, height);
  }
  return {
    t,
    state: STATE.tracked,
    roll,
    pitch,
    yaw,
    x: -m[0][3] / 100,
    y: m[1][3] / 100,
    z: -m[2][3] / 100,
    weights: weightsFromCategories(cats),
  };
}

/** One Euro filter over n channels (Casiez et al. 2012), per-channel parameters. */
export class OneEuro {
  constructor(minCutoff, beta, dCutoff) {
    this.minCutoff = minCutoff;
    this.beta = beta;
    this.dCutoff = dCutoff;
    this.x = null;
    this.dx = null;
    this.t = 0;
  }

  reset() {
    this.x = null;
  }

  static alpha(cutoff, dt) {
    const tau = 1 / (2 * Math.PI * cutoff);
    return 1 / (1 + tau / dt);
  }

  /** Filter sample `v` (array) taken at `tS` seconds; returns a new array. */
  filter(v, tS) {
    if (this.x === null) {
      this.x = Float64Array.from(v);
      this.dx = new Float64Array(v.length);
      this.t = tS;
      return Float64Array.from(v);
    }
    const dt = tS - this.t;
    if (dt <= 0) return Float64Array.from(this.x);
    for (let i = 0; i < v.length; i++) {
      const d = (v[i] - this.x[i]) / dt;
      this.dx[i] += OneEuro.alpha(this.dCutoff[i], dt) * (d - this.dx[i]);
      const cutoff = this.minCutoff[i] + this.beta[i] * Math.abs(this.dx[i]);
      this.x[i] += OneEuro.alpha(cutoff, dt) * (v[i] - this.x[i]);
    }
    this.t = tS;
    return Float64Array.from(this.x);
  }
}

/** The server's defaults (settings tracking_*; docs/performance.md has what they give).
 * tests/integration/test_avatar_js.py fails when the two differ. */
export const FILTER_DEFAULTS = Object.freeze({
  head: { minCutoff: 0.5, beta: 0.1 },
  face: { minCutoff: 1.0, beta: 5.0 },
  dCutoff: 1.0,
});

const HEAD = 6;

/** Smooths poses: head channels (degrees, millimetres) and weights with their own params. */
export class PoseFilter {
  constructor(p = FILTER_DEFAULTS) {
    const n = HEAD + N_BLENDSHAPES;
    const arr = (head, face) => Float64Array.from({ length: n }, (_, i) => (i < HEAD ? head : face));
    this.f = new OneEuro(arr(p.head.minCutoff, p.face.minCutoff), arr(p.head.beta, p.face.beta), arr(p.dCutoff, p.dCutoff));
  }

  reset() {
    this.f.reset();
  }

  apply(pose) {
    const v = new Float64Array(HEAD + N_BLENDSHAPES);
    v.set([pose.roll, pose.pitch, pose.yaw, pose.x * 1000, pose.y * 1000, pose.z * 1000]);
    v.set(pose.weights, HEAD);
    const y = this.f.filter(v, pose.t / 1000);
    const weights = new Float32Array(N_BLENDSHAPES);
    for (let i = 0; i < N_BLENDSHAPES; i++) weights[i] = Math.min(1, Math.max(0, y[HEAD + i]));
    return { ...pose, roll: y[0], pitch: y[1], yaw: y[2], x: y[3] / 1000, y: y[4] / 1000, z: y[5] / 1000, weights };
  }
}

/** Where the head usually is (exponential average, 10 s), so poses carry offsets from it. */
export class RestPosition {
  constructor(timeConstantS = 10) {
    this.tau = timeConstantS;
    this.rest = null;
    this.t = 0;
  }

  offset(p, tS) {
    if (this.rest === null) {
      this.rest = [p.x, p.y, p.z];
      this.t = tS;
    } else {
      const k = 1 - Math.exp(-Math.max(0, tS - this.t) / this.tau);
      this.t = Math.max(this.t, tS);
      this.rest = this.rest.map((r, i) => r + k * ([p.x, p.y, p.z][i] - r));
    }
    return { ...p, x: p.x - this.rest[0], y: p.y - this.rest[1], z: p.z - this.rest[2] };
  }
}

/** Results to poses, as avatar/pipeline.py does: solve, offset from rest, filter; a lost
 * face holds the last pose and eases it to rest (state lost). */
export class FacePipeline {
  constructor({ filter = new PoseFilter(), rest = new RestPosition(), lostEaseS = 0.5 } = {}) {
    this.filter = filter;
    this.rest = rest;
    this.lostEaseS = lostEaseS;
    this.last = null;
  }

  process(result, width, height, t) {
    const raw = solve(result, width, height, t);
    let pose;
    if (!raw) {
      this.filter?.reset();
      pose = this.#lost(t);
    } else {
      pose = this.rest.offset(raw, t / 1000);
      if (this.filter) pose = this.filter.apply(pose);
    }
    this.last = pose;
    return { pose, found: !!raw };
  }

  #lost(t) {
    const last = this.last;
    if (!last) return emptyPose(t, STATE.lost);
    const k = Math.exp(-Math.max(0, (t - last.t) / 1000) / this.lostEaseS);
    return {
      t, state: STATE.lost, roll: last.roll * k, pitch: last.pitch * k, yaw: last.yaw * k,
      x: last.x * k, y: last.y * k, z: last.z * k, weights: last.weights.map((w) => w * k),
    };
  }
}
