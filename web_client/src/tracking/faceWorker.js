/**
 * Module worker: MediaPipe's FaceLandmarker (tasks-vision, WASM on the CPU) and the pose
 * pipeline, off the page's main thread. It receives camera frames (VideoFrame or
 * ImageBitmap, transferred) and answers with encoded pose records; frames are closed as
 * soon as they are tracked and never leave the device.
 *
 * Before it says ready it probes what tracking needs (WebGL2 on an OffscreenCanvas here,
 * the WASM loading, one blank frame processed), so a browser that cannot track is told
 * once, with a reason, rather than failing on every camera frame. After a frame throws
 * it tracks no more (the page stops its feed on the first error).
 *
 * Messages in: {type: 'init', modelUrl}, {type: 'frame', frame, t},
 * {type: 'close'}. Out: {type: 'ready'}, {type: 'error', message, reason, phase}
 * (reason `unsupported` or `failed`; phase `init` or `frame`),
 * {type: 'pose', record, found, ms, roll, pitch, yaw}, {type: 'blocked', uri, directive}.
 */
import { encodePose } from '../net/poseCodec.js';
import { FacePipeline } from '../state/faceSolver.js';
import { missingCapability } from '../state/trackingMode.js';
import { loadVision } from './vision.js';

let landmarker = null;
let pipeline = null;
let lastTs = -1;
let broken = false; // a frame threw: no more tracking in this worker

class ProbeError extends Error {
  constructor(reason, message) {
    super(message);
    this.reason = reason;
  }
}

// tasks-vision posts usage reports to a Google host every 60 s; the CSP (connect-src
// 'self') refuses them (docs/privacy.md). Tell the page, which shows it in its state.
self.addEventListener('securitypolicyviolation', (e) => {
  self.postMessage({ type: 'blocked', uri: e.blockedURI, directive: e.effectiveDirective });
});

// MediaPipe's WASM prints its informational log lines on stderr, which the browser shows
// as errors ("INFO: Created TensorFlow Lite XNNPACK delegate for CPU."): keep them info.
const consoleError = console.error.bind(console);
console.error = (...args) => (/^(INFO|I\d{4} )/.test(String(args[0])) ? console.info(...args) : consoleError(...args));

async function init(m) {
  // Checked before the WASM and the model are fetched: nothing is loaded for nothing.
  const missing = missingCapability(self);
  if (missing) throw new ProbeError('unsupported', `this browser has no ${missing} in workers`);
  const { vision, fileset } = await loadVision();
  landmarker = await vision.FaceLandmarker.createFromOptions(fileset, {
    baseOptions: { modelAssetPath: m.modelUrl, delegate: 'CPU' },
    runningMode: 'VIDEO',
    numFaces: 1,
    outputFaceBlendshapes: true,
    outputFacialTransformationMatrixes: true,
  });
  // A first frame, blank: where tasks-vision loads but cannot process one, it fails
  // here, once, and not on every camera frame.
  landmarker.detectForVideo(new ImageData(64, 64), 0);
  lastTs = 0;
  pipeline = new FacePipeline();
}

function track(frame, t) {
  const started = performance.now();
  try {
    const ts = Math.max(Math.round(t), lastTs + 1); // MediaPipe wants increasing times
    lastTs = ts;
    const w = frame.displayWidth ?? frame.width;
    const h = frame.displayHeight ?? frame.height;
    const result = landmarker.detectForVideo(frame, ts);
    const { pose, found } = pipeline.process(result, w, h, ts);
    const record = encodePose(pose);
    const ms = performance.now() - started;
    self.postMessage({ type: 'pose', record, found, ms, roll: pose.roll, pitch: pose.pitch, yaw: pose.yaw }, [record.buffer]);
  } finally {
    frame.close();
  }
}

self.onmessage = async (e) => {
  const m = e.data;
  try {
    if (m.type === 'init') {
      await init(m);
      self.postMessage({ type: 'ready' });
    } else if (m.type === 'frame') {
      if (!landmarker || broken) m.frame.close();
      else track(m.frame, m.t);
    } else if (m.type === 'close') {
      // Closing the task also flushes tasks-vision's usage report, which the page's CSP
      // refuses (docs/privacy.md); give that refusal a moment before the worker goes.
      landmarker?.close();
      landmarker = null;
      setTimeout(() => self.close(), 300);
    }
  } catch (err) {
    if (m.type === 'frame') broken = true;
    const reason = err instanceof ProbeError ? err.reason : 'failed';
    self.postMessage({ type: 'error', message: String(err?.message || err), reason, phase: m.type === 'frame' ? 'frame' : 'init' });
  }
};
