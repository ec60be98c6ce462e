// Tracking that knows what the device can do (issue 20): the worker's capability probe,
// the reason a worker's error carries, when the server is offered, and the console's
// roster carrying the reason a participant reported.
import test from 'node:test';
import assert from 'node:assert/strict';
import { DEVICE_REASONS, REASONS, missingCapability, shouldOffer, workerFailure } from '../src/state/trackingMode.js';
import { StaffState } from '../src/console/state.js';

/** A worker global with what the test gives it. */
function scope({ wasm = true, canvas = true, gl = true, throws = false } = {}) {
  const lost = { n: 0 };
  const s = { lost };
  if (wasm) s.WebAssembly = {};
  if (canvas) {
    s.OffscreenCanvas = class {
      getContext(kind) {
        if (throws) throw new Error('no');
        if (kind !== 'webgl2' || !gl) return null;
        return { getExtension: (n) => (n === 'WEBGL_lose_context' ? { loseContext: () => lost.n++ } : null) };
      }
    };
  }
  return s;
}

test('the probe names what tracking in a worker lacks, and lets its test context go', () => {
  const ok = scope();
  assert.equal(missingCapability(ok), null);
  assert.equal(ok.lost.n, 1, 'the test WebGL context is released at once');
  assert.equal(missingCapability(scope({ wasm: false })), 'WebAssembly');
  assert.equal(missingCapability(scope({ canvas: false })), 'OffscreenCanvas');
  // WebKitGTK, Safari < 17: an OffscreenCanvas, but no WebGL2 context from it in a worker
  assert.equal(missingCapability(scope({ gl: false })), 'WebGL2 on an OffscreenCanvas');
  assert.equal(missingCapability(scope({ throws: true })), 'WebGL2 on an OffscreenCanvas');
});

test("a worker's error is unsupported only when its probe said so, else failed", () => {
  assert.equal(workerFailure({ type: 'error', reason: 'unsupported' }), 'unsupported');
  assert.equal(workerFailure({ type: 'error', reason: 'failed' }), 'failed');
  assert.equal(workerFailure({ type: 'error', message: 'x' }), 'failed');
  assert.equal(workerFailure({ type: 'error', reason: 'anything' }), 'failed');
  assert.equal(workerFailure(undefined), 'failed');
});

test('the server is offered after the device could not track, where allowed', () => {
  for (const reason of ['unsupported', 'failed', 'slow', 'model_unavailable']) {
    assert.ok(shouldOffer({ reason, mode: 'voice', serverAllowed: true }), reason);
    assert.ok(!shouldOffer({ reason, mode: 'voice', serverAllowed: false }), `${reason}: not this role`);
    assert.ok(!shouldOffer({ reason, mode: 'voice', serverAllowed: true, consent: true }), `${reason}: already agreed`);
    assert.ok(!shouldOffer({ reason, mode: 'voice', serverAllowed: true, serverFull: true }), `${reason}: full`);
    assert.ok(!shouldOffer({ reason, mode: 'server', serverAllowed: true }), `${reason}: on the server already`);
  }
  for (const reason of ['no_camera', 'no_mic', 'tracking_full', 'ended', null]) {
    assert.ok(!shouldOffer({ reason, mode: 'voice', serverAllowed: true }), String(reason));
  }
  assert.ok(DEVICE_REASONS.every((r) => REASONS.includes(r)));
});

test("the console's roster carries the reason a participant's page reported", () => {
  const s = new StaffState();
  s.load({
    lobby: [],
    people: [{ pid: 'p_1', name: 'あ', role: 'member', place: 'room', muted: false }],
    participants: [{ id: 'p_1', name: 'あ', tracking: 'none' }],
    audit: [],
  });
  s.applyDelta({ joined: [], left: [], tracking: [['p_1', 'voice', 'unsupported']] });
  const p = s.roster().find((x) => x.pid === 'p_1');
  assert.equal(p.tracking, 'voice');
  assert.equal(p.trackingReason, 'unsupported');
  // an older server's two-element entry: no reason
  s.applyDelta({ joined: [], left: [], tracking: [['p_1', 'browser']] });
  assert.equal(s.roster().find((x) => x.pid === 'p_1').trackingReason, null);
});
