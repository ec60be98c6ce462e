import test from 'node:test';
import assert from 'node:assert/strict';
import { BLENDSHAPE_NAMES, W } from '../src/net/poseCodec.js';
import { ARKIT_TO_PRESET, applyPlan, gazeOf, planExpressions } from '../src/state/vrmExpressions.js';

const PRESETS = ['aa', 'ih', 'ou', 'ee', 'oh', 'blink', 'blinkLeft', 'blinkRight', 'happy', 'angry', 'sad', 'relaxed', 'surprised'];
const pascal = (n) => n[0].toUpperCase() + n.slice(1);
const weights = (set) => {
  const w = new Float32Array(BLENDSHAPE_NAMES.length);
  for (const [k, v] of Object.entries(set)) w[W[k]] = v;
  return w;
};

test('a perfect-sync model (PascalCase) gets every ARKit shape directly and no overlapping preset', () => {
  const plan = planExpressions([...BLENDSHAPE_NAMES.map(pascal), ...PRESETS]);
  assert.equal(Object.keys(plan.direct).length, 52);
  assert.equal(plan.direct.jawOpen, 'JawOpen');
  assert.deepEqual(plan.presets, {}, 'each preset has a directly matched source');
  const out = applyPlan(plan, weights({ jawOpen: 0.7, eyeBlinkLeft: 1 }));
  assert.ok(Math.abs(out.JawOpen - 0.7) < 1e-6);
  assert.equal(out.EyeBlinkLeft, 1);
  assert.equal(out.aa, undefined, 'the mouth is not opened twice');
  assert.equal(Object.keys(out).length, 52);
});

test('MediaPipe camelCase names match as they are', () => {
  const plan = planExpressions(['jawOpen', 'eyeBlinkLeft', 'aa', 'blink']);
  assert.deepEqual(plan.direct, { jawOpen: 'jawOpen', eyeBlinkLeft: 'eyeBlinkLeft' });
  // aa's only source is matched; blink's right eye is not, but its left one is
  assert.deepEqual(plan.presets, {});
});

test('a presets-only model is driven by the means of the sources', () => {
  const plan = planExpressions(PRESETS);
  assert.deepEqual(plan.direct, {});
  assert.deepEqual(Object.keys(plan.presets), ['aa', 'ih', 'ou', 'ee', 'oh', 'blinkLeft', 'blinkRight', 'happy', 'sad', 'angry', 'surprised']);
  assert.ok(!('relaxed' in plan.presets), 'relaxed is not driven from the face');
  assert.ok(!('blink' in plan.presets), 'both eyes have their own blink');
  const out = applyPlan(plan, weights({ jawOpen: 0.5, mouthSmileLeft: 1, mouthSmileRight: 0.5, eyeBlinkRight: 0.9 }));
  assert.equal(out.aa, 0.5);
  assert.equal(out.happy, 0.75);
  assert.ok(Math.abs(out.blinkRight - 0.9) < 1e-6);
  assert.equal(out.blinkLeft, 0);
  assert.equal(out.sad, 0, 'planned expressions are named at 0 so that they are released');
});

test('blink is driven only when the model lacks a one-eyed blink', () => {
  assert.deepEqual(planExpressions(['blink']).presets, { blink: ['eyeBlinkLeft', 'eyeBlinkRight'] });
  assert.deepEqual(Object.keys(planExpressions(['blink', 'blinkLeft']).presets), ['blinkLeft', 'blink']);
  const out = applyPlan(planExpressions(['blink']), weights({ eyeBlinkLeft: 1, eyeBlinkRight: 0.5 }));
  assert.equal(out.blink, 0.75);
});

test('a partly perfect-sync model mixes direct shapes and the presets they leave', () => {
  const plan = planExpressions(['JawOpen', 'aa', 'happy', 'MouthSmileLeft', 'ou']);
  assert.deepEqual(plan.direct, { jawOpen: 'JawOpen', mouthSmileLeft: 'MouthSmileLeft' });
  assert.deepEqual(plan.presets, { ou: ['mouthPucker'] });
});

test('weights are clamped to 0..1, NaN and missing entries are 0', () => {
  const plan = planExpressions(['JawOpen', 'aa', 'oh', 'ou']);
  const w = weights({ jawOpen: 1.7, mouthFunnel: -0.3 });
  w[W.mouthPucker] = NaN;
  assert.deepEqual(applyPlan(plan, w), { JawOpen: 1, oh: 0, ou: 0 });
  assert.deepEqual(applyPlan(plan, []), { JawOpen: 0, oh: 0, ou: 0 });
});

test('unknown names and non-strings are ignored; the presets table is the shared one', () => {
  const plan = planExpressions(['Jawopen', 'JAWOPEN', 42, null, 'lookUp']);
  assert.deepEqual(plan, { direct: {}, presets: {} });
  assert.deepEqual(Object.keys(ARKIT_TO_PRESET), ['aa', 'ih', 'ou', 'ee', 'oh', 'blinkLeft', 'blinkRight', 'blink', 'happy', 'sad', 'angry', 'surprised']);
  for (const sources of Object.values(ARKIT_TO_PRESET)) for (const s of sources) assert.ok(s in W, s);
});

test('gaze: looking to the person\'s right is a negative three-vrm yaw, looking up a negative pitch', () => {
  assert.deepEqual(gazeOf(weights({})), { yaw: 0, pitch: 0 });
  const right = gazeOf(weights({ eyeLookInLeft: 1, eyeLookOutRight: 1 }));
  assert.equal(right.yaw, -25);
  assert.equal(right.pitch, 0);
  assert.equal(gazeOf(weights({ eyeLookOutLeft: 1, eyeLookInRight: 1 })).yaw, 25);
  assert.equal(gazeOf(weights({ eyeLookUpLeft: 1, eyeLookUpRight: 1 })).pitch, -20);
  assert.equal(gazeOf(weights({ eyeLookDownLeft: 0.5, eyeLookDownRight: 0.5 })).pitch, 10);
});

test('a participant record keeps a model reference only when it is a sha256', async () => {
  const { ParticipantStore } = await import('../src/state/participants.js');
  const sha = 'ab'.repeat(32);
  const s = new ParticipantStore();
  s.applySnapshot('p_a', {
    room: { id: 'r', kind: 'plaza', name: { ja: 'r' }, capacity: 9, bounds: { min_x: -1, max_x: 1, min_z: -1, max_z: 1 }, stage: null, seats: [], gallery: null, boards: [], spawn: { x: 0, z: 0, radius: 1 } },
    participants: [
      { id: 'p_a', name: 'a', role: 'member', avatar: {}, vrm: sha },
      { id: 'p_b', name: 'b', role: 'member', avatar: {}, vrm: '../../api/x' },
      { id: 'p_c', name: 'c', role: 'citizen', avatar: {} },
    ],
    tick: 1, t: 0, tick_hz: 10, max_speed: 4,
  });
  assert.deepEqual(['p_a', 'p_b', 'p_c'].map((id) => s.get(id).vrm), [sha, null, null]);
});

test('the replay keeps the model each member wore, from the recording\'s join lines', async () => {
  const { digest, parseEvents } = await import('../src/replay/events.js');
  const sha = 'cd'.repeat(32);
  const lines = [
    { t: 0, kind: 'join', type: 'meeting.present', pid: 'a', pid_name: '田中', pid_role: 'member', slot: 1, avatar: {}, vrm: sha },
    { t: 5, kind: 'join', type: 'avatar.entered', pid: 'b', pid_name: 'さくら', pid_role: 'citizen', slot: 2, avatar: {}, vrm: null },
  ];
  const d = digest(parseEvents(lines.map((l) => `${JSON.stringify(l)}\n`).join('')));
  assert.equal(d.people.get('a').vrm, sha);
  assert.equal(d.people.get('b').vrm, undefined);
});
