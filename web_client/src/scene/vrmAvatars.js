/**
 * VRM avatars (issue 18): a near participant whose record names an approved model (`vrm`,
 * its sha256) is drawn as that model instead of the procedural avatar, driven by the same
 * inputs (the pose stream's head angles and 52 ARKit weights, idle blinking, the committee's
 * gestures). scene/avatars.js asks `draw(rec, ...)` every frame for such a record while it
 * is near and in view; until the model is loaded, or if it fails, it draws the procedural
 * avatar as before.
 *
 * - Loading: `GET /avatars/<sha256>.vrm` (immutable, so a second participant with the same
 *   model comes from the HTTP cache), parsed by three's GLTFLoader with three-vrm's plugin,
 *   one at a time (parsing is main-thread work: twelve members arriving at once must not
 *   freeze the page). Both modules are imported on the first VRM only: pages without one
 *   never download them. A failed model is not retried for the rest of the page's life.
 * - Memory: one instance per participant (poses differ); a demoted one (the person walked
 *   away) stays in a small LRU of `cacheSize` and is disposed (geometries, materials,
 *   textures) when it falls out of it or when the participant leaves.
 * - Pose: neck 40 % and head 60 % of the pose's rotation (normalized humanoid bones),
 *   expressions by state/vrmExpressions.js's plan, the gaze to `vrm.lookAt` (yaw/pitch),
 *   idle blinks and a faint sway without a pose; arms down; seated on the stage (thighs
 *   forward, knees bent, the hips on the seat); the right arm raised for a show of hands;
 *   standing up for a standing vote (state/gestures.js weights).
 * - Cost: spring bones (hair, clothes), node constraints and material animation at 30 Hz and
 *   only within SPRING_DISTANCE of the camera; every other VRM is posed but not simulated.
 *   A model is drawn one call per mesh primitive (`stats` counts them), so at most
 *   MAX_DRAWN of them are drawn a frame, the nearest; the rest stay procedural.
 * - Crowd colours: once loaded, the model's main colours (materials' base colours weighted by
 *   the parts' size: the body's below the neck, the skin's and hair's above) paint its mid
 *   and far levels.
 */
import * as THREE from 'three';
import { HAND, STAND } from '../state/gestures.js';
import { applyPlan, gazeOf, planExpressions } from '../state/vrmExpressions.js';
import { W } from '../net/poseCodec.js';
import { blinkCurve } from '../state/expression.js';
import { BLOB_SEATED_Y, SEATED_DROP } from './avatar.js';

const HASH = /^[0-9a-f]{64}$/;
export const SPRING_DISTANCE = 8; // metres from the camera within which spring bones move
// VRMs drawn in one frame at most (a full committee stage and a few more): each costs a draw
// call per mesh primitive, where the procedural near avatars share one
export const MAX_DRAWN = 16;
// From the head bone (where the head meets the neck) to the middle of a human head, metres.
const HEAD_JOINT_TO_MIDDLE = 0.1;
const SPRING_MS = 1000 / 30;
const SEAT_Y = BLOB_SEATED_Y - SEATED_DROP; // the seat's top above the floor (avatar.js)
const HIP_ABOVE_SEAT = 0.1; // the hip joint sits this far above the seat
const ARM_DOWN = 1.25; // radians from the T-pose, toward the body (not quite touching it)
const ARM_UP = -1.35; // the right arm above the head, leaning a little outward
const NECK_SHARE = 0.4; // the neck takes 40 % of the head's rotation, the head the rest
const MIN_HEIGHT = 1.2; // a model is scaled into this range of heights (metres)
const MAX_HEIGHT = 2.0;
const RAD = Math.PI / 180;

const tmpQ = new THREE.Quaternion();
const tmpQ2 = new THREE.Quaternion();
const tmpE = new THREE.Euler(0, 0, 0, 'YXZ');
const IDENTITY = new THREE.Quaternion();

let modules = null;
/** three-vrm and the GLTFLoader, imported once, on the first VRM. */
function loadModules() {
  modules ??= Promise.all([import('three/addons/loaders/GLTFLoader.js'), import('@pixiv/three-vrm')]).then(
    ([{ GLTFLoader }, vrm]) => ({ GLTFLoader, ...vrm }),
  );
  return modules;
}

/**
 * A GLTFLoader plugin that loads the model's images through <img> elements. A GLB's
 * images become blob: URLs, which GLTFLoader's default ImageBitmapLoader fetch()es; the
 * page's CSP keeps connect-src to 'self' (nothing the page knows leaves it, docs/privacy.md)
 * and refuses that, while img-src allows blob:.
 */
function imagesAsElements(parser) {
  const loader = new THREE.TextureLoader(parser.options.manager);
  loader.setCrossOrigin(parser.options.crossOrigin);
  parser.textureLoader = loader;
  return { name: 'HIROBA_images_as_elements' };
}

/** Runs async jobs one at a time, in order. */
class Queue {
  constructor() {
    this.tail = Promise.resolve();
  }

  run(job) {
    const next = this.tail.then(job, job);
    this.tail = next.catch(() => {});
    return next;
  }
}

/**
 * The main colours of a loaded model for the crowd levels: [body, skin, hair] as
 * THREE.Color, from the meshes' materials' base colours weighted by the surface of each
 * mesh's bounding box, a mesh counting for the head when its centre is above the neck
 * bone (the skin is the head's first colour, the hair its second). Null when the model
 * has no coloured mesh.
 */
export function modelColors(root, neckY) {
  const regions = { body: new Map(), head: new Map() };
  const box = new THREE.Box3();
  const centre = new THREE.Vector3();
  const size = new THREE.Vector3();
  root.updateMatrixWorld(true);
  root.traverse((o) => {
    if (!o.isMesh || !o.geometry) return;
    if (!o.geometry.attributes.position?.count) return;
    box.setFromObject(o).getCenter(centre);
    // a part counts by how much of it shows: its box's surface (eyes and buttons, dense in
    // triangles, are small)
    const s = box.getSize(size);
    const area = 2 * (s.x * s.y + s.y * s.z + s.z * s.x);
    if (!(area > 0)) return;
    const region = centre.y >= neckY ? regions.head : regions.body;
    for (const m of Array.isArray(o.material) ? o.material : [o.material]) {
      const c = m?.color;
      if (!c?.isColor) continue;
      const hex = c.getHexString();
      region.set(hex, (region.get(hex) ?? 0) + area / (Array.isArray(o.material) ? o.material.length : 1));
    }
  });
  const ranked = (m) => [...m.entries()].sort((a, b) => b[1] - a[1]).map(([hex]) => new THREE.Color(`#${hex}`));
  const body = ranked(regions.body);
  const head = ranked(regions.head);
  if (!body.length && !head.length) return null;
  const b = body[0] ?? head[0];
  const skin = head[0] ?? b;
  return [b, skin, head[1] ?? skin];
}

/** One participant's model: loading, then posed every frame it is drawn. */
class Instance {
  constructor(hash) {
    this.hash = hash;
    this.status = 'loading';
    this.vrm = null;
    this.root = new THREE.Group(); // placed and turned like the procedural avatar (faces -z)
    this.root.visible = false;
    this.root.matrixAutoUpdate = true;
    this.inner = new THREE.Group(); // turns the model (+z) to face -z
    this.inner.rotation.y = Math.PI;
    this.root.add(this.inner);
    this.plan = null;
    this.expressions = {}; // as applied in the last frame drawn
    this.weights = new Float32Array(52);
    this.idle = { phase: Math.random() * 10, nextBlink: 0, blinkEnd: 0 };
    this.lastSpring = 0;
    this.lastFrame = 0;
    this.calls = 0; // draw calls of one drawing (mesh × material)
    this.colors = null;
    this.disposed = false;
  }

  /** Take the parsed model: clean it, measure it, keep its rest pose for the readback. */
  adopt(gltf, VRMUtils) {
    const vrm = gltf.userData.vrm;
    if (!vrm?.humanoid) throw new Error('not a VRM');
    VRMUtils.removeUnnecessaryVertices(gltf.scene);
    VRMUtils.combineSkeletons(gltf.scene);
    VRMUtils.rotateVRM0(vrm); // a 0.x model faces -z: turned to +z like a 1.0 one
    this.v0 = vrm.meta?.metaVersion === '0';
    const h = vrm.humanoid;
    this.bones = {};
    for (const name of ['hips', 'neck', 'head', 'leftUpperArm', 'rightUpperArm', 'leftUpperLeg', 'rightUpperLeg', 'leftLowerLeg', 'rightLowerLeg']) {
      this.bones[name] = h.getNormalizedBoneNode(name);
    }
    this.rawHead = h.getRawBoneNode('head');
    let calls = 0;
    vrm.scene.traverse((o) => {
      if (!o.isMesh) return;
      // skinned bounds are the rest pose's; the layer culls whole avatars itself
      o.frustumCulled = false;
      calls += Array.isArray(o.material) ? o.material.length : 1;
    });
    this.calls = calls;
    this.inner.add(vrm.scene);
    this.root.updateMatrixWorld(true);
    const box = new THREE.Box3().setFromObject(vrm.scene);
    const height = box.max.y - box.min.y;
    const s = height > 0 ? Math.min(MAX_HEIGHT, Math.max(MIN_HEIGHT, height)) / height : 1;
    this.inner.scale.setScalar(s); // an absurdly small or tall model drawn at a human size
    this.inner.position.y = -box.min.y * s; // feet on the floor
    this.root.updateMatrixWorld(true);
    const p = new THREE.Vector3();
    this.hipsY = (this.bones.hips?.getWorldPosition(p).y ?? 0.9 * s);
    const neckY = (this.bones.neck ?? this.bones.head)?.getWorldPosition(p).y ?? 1.3;
    this.colors = modelColors(vrm.scene, neckY);
    // the head's rest orientation in the root's frame: "as drawn" is the turn from it
    this.restHead = this.#headInRoot(new THREE.Quaternion());
    const names = vrm.expressionManager ? vrm.expressionManager.expressions.map((e) => e.expressionName) : [];
    this.plan = planExpressions(names);
    this.vrm = vrm;
    this.status = 'ready';
  }

  #headInRoot(out) {
    this.rawHead.getWorldQuaternion(out);
    return out.premultiply(this.root.getWorldQuaternion(tmpQ2).invert());
  }

  /** Set a normalized bone from Euler angles given in the 1.0 frame (+z forward). */
  #bone(name, x, y, z) {
    const b = this.bones[name];
    if (!b) return;
    // a 0.x model's normalized bones keep its own frame (-z forward): x and z turn the other way
    if (this.v0) b.rotation.set(-x, y, -z, 'YXZ');
    else b.rotation.set(x, y, z, 'YXZ');
  }

  /**
   * Pose for this frame: `head` {roll, pitch, yaw} in degrees (the protocol's: pitch up,
   * yaw toward the avatar's left, roll toward its left shoulder) or null to idle, `weights`
   * the 52 ARKit weights (null to idle), `seat` 0 standing .. 1 seated, `hand` 0 .. 1.
   */
  pose(nowMs, head, weights, seat, hand, reducedMotion) {
    const vrm = this.vrm;
    const w = this.weights;
    let roll = 0;
    let pitch = 0;
    let yaw = 0;
    if (head && weights) {
      w.set(weights);
      // MediaPipe seldom reports a full blink (as for the procedural face, state/expression.js)
      w[W.eyeBlinkLeft] = blinkCurve(w[W.eyeBlinkLeft]);
      w[W.eyeBlinkRight] = blinkCurve(w[W.eyeBlinkRight]);
      roll = head.roll * RAD;
      pitch = head.pitch * RAD;
      yaw = head.yaw * RAD;
    } else {
      // idle: blinks every few seconds, a faint smile and head sway (none with reduced motion)
      const idle = this.idle;
      if (nowMs >= idle.nextBlink) {
        idle.blinkEnd = nowMs + 130;
        idle.nextBlink = nowMs + 2200 + Math.random() * 4000;
      }
      w.fill(0);
      const blink = nowMs < idle.blinkEnd ? 1 : 0;
      w[W.eyeBlinkLeft] = blink;
      w[W.eyeBlinkRight] = blink;
      w[W.mouthSmileLeft] = w[W.mouthSmileRight] = 0.15;
      if (!reducedMotion) {
        const s = nowMs / 1000 + idle.phase;
        yaw = Math.sin(s * 0.37) * 0.12;
        pitch = Math.sin(s * 0.23) * 0.04;
      }
    }
    // The 1.0 frame faces +z: pitching up is a negative turn about x, a roll toward the
    // avatar's left shoulder (+x) a negative turn about z; yaw to its left (+x) is positive.
    tmpQ.setFromEuler(tmpE.set(-pitch, yaw, -roll, 'YXZ'));
    const neck = tmpQ2.copy(IDENTITY).slerp(tmpQ, NECK_SHARE);
    tmpE.setFromQuaternion(neck, 'YXZ');
    this.#bone('neck', tmpE.x, tmpE.y, tmpE.z);
    // head = neck⁻¹ · full, so that the two together make the whole turn
    const rest = neck.invert().multiply(tmpQ);
    tmpE.setFromQuaternion(rest, 'YXZ');
    if (this.bones.neck) this.#bone('head', tmpE.x, tmpE.y, tmpE.z);
    else this.#bone('head', -pitch, yaw, -roll);
    this.#bone('leftUpperArm', 0, 0, -ARM_DOWN);
    this.#bone('rightUpperArm', 0, 0, ARM_DOWN + (ARM_UP - ARM_DOWN) * hand);
    this.#bone('leftUpperLeg', (-Math.PI / 2) * seat, 0, 0);
    this.#bone('rightUpperLeg', (-Math.PI / 2) * seat, 0, 0);
    this.#bone('leftLowerLeg', (Math.PI / 2) * seat, 0, 0);
    this.#bone('rightLowerLeg', (Math.PI / 2) * seat, 0, 0);
    const out = applyPlan(this.plan, w);
    const em = vrm.expressionManager;
    if (em) for (const name in out) em.setValue(name, out[name]);
    this.expressions = out;
    if (vrm.lookAt) {
      const g = gazeOf(w);
      vrm.lookAt.yaw = g.yaw;
      vrm.lookAt.pitch = g.pitch;
    }
  }

  /** Bones, look-at and expressions into the model; spring bones when asked. */
  update(nowMs, springs) {
    const vrm = this.vrm;
    const dt = this.lastFrame ? Math.min(0.1, (nowMs - this.lastFrame) / 1000) : 0;
    this.lastFrame = nowMs;
    vrm.humanoid.update();
    vrm.lookAt?.update(dt);
    vrm.expressionManager?.update();
    if (!springs || nowMs - this.lastSpring < SPRING_MS) return;
    const step = this.lastSpring ? Math.min(0.1, (nowMs - this.lastSpring) / 1000) : SPRING_MS / 1000;
    this.lastSpring = nowMs;
    this.root.updateMatrixWorld(true); // the simulation reads the bones' world matrices
    vrm.nodeConstraintManager?.update();
    vrm.springBoneManager?.update(step);
    for (const m of vrm.materials ?? []) m.update?.(step);
  }

  /** The head as drawn, degrees in the protocol's convention (the procedural avatar's). */
  headAngles() {
    if (this.status !== 'ready') return null;
    this.root.updateMatrixWorld(true);
    const now = this.#headInRoot(new THREE.Quaternion());
    const turn = now.multiply(tmpQ.copy(this.restHead).invert());
    // the root faces -z like the procedural avatar: its x is pitch up, y yaw left, z roll left
    tmpE.setFromQuaternion(turn, 'YXZ');
    const r = (v) => Math.round((v / RAD) * 100) / 100 + 0;
    return { roll: r(tmpE.z), pitch: r(tmpE.x), yaw: r(tmpE.y) };
  }

  dispose(VRMUtils) {
    this.disposed = true;
    this.root.removeFromParent();
    if (this.vrm) VRMUtils?.deepDispose(this.vrm.scene);
    this.vrm = null;
  }
}

/** The VRMs of one avatar layer (scene/avatars.js). */
export class VrmAvatars {
  constructor(scene, { cacheSize = 4, maxDrawn = MAX_DRAWN, url = (hash) => `/avatars/${hash}.vrm` } = {}) {
    this.scene = scene;
    this.cacheSize = cacheSize;
    this.maxDrawn = maxDrawn;
    this.url = url;
    /** @type {Map<string, Instance>} participant id -> model, active or cached */
    this.instances = new Map();
    this.cached = []; // demoted ids, oldest first
    this.failed = new Set(); // hashes that failed: not fetched again
    this.queue = new Queue();
    this.drawnNow = new Set();
    this.stats = { ready: 0, loading: 0, failed: 0, drawn: 0, calls: 0, springs: 0 };
    this.VRMUtils = null;
  }

  /** Is `hash` a model reference this page may fetch? */
  static valid(hash) {
    return typeof hash === 'string' && HASH.test(hash);
  }

  /** `rec` is near: start loading its model (or take it back from the LRU). */
  want(rec) {
    this.#instance(rec);
  }

  #instance(rec) {
    let inst = this.instances.get(rec.id);
    if (inst && inst.hash !== rec.vrm) {
      this.forget(rec.id);
      inst = null;
    }
    if (!inst) {
      inst = new Instance(rec.vrm);
      this.instances.set(rec.id, inst);
      if (this.failed.has(rec.vrm)) inst.status = 'failed';
      else this.#load(inst, rec);
    }
    const i = this.cached.indexOf(rec.id);
    if (i >= 0) this.cached.splice(i, 1);
    return inst;
  }

  #load(inst, rec) {
    this.queue.run(async () => {
      if (inst.disposed) return;
      try {
        const mods = await loadModules();
        this.VRMUtils = mods.VRMUtils;
        const r = await fetch(this.url(inst.hash), { credentials: 'same-origin' });
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        const data = await r.arrayBuffer();
        if (inst.disposed) return;
        const loader = new mods.GLTFLoader();
        loader.register(imagesAsElements);
        loader.register((parser) => new mods.VRMLoaderPlugin(parser));
        const gltf = await loader.parseAsync(data, '');
        if (inst.disposed) {
          mods.VRMUtils.deepDispose(gltf.scene);
          return;
        }
        inst.adopt(gltf, mods.VRMUtils);
        this.scene.add(inst.root);
        if (inst.colors && !rec.gone) rec.colors = inst.colors;
      } catch (e) {
        console.warn('VRM avatar failed', inst.hash, e);
        inst.status = 'failed';
        this.failed.add(inst.hash);
      }
    });
  }

  /** Start of a frame: nothing drawn yet. */
  begin() {
    this.drawnNow.clear();
    this.calls = 0;
    this.springs = 0;
  }

  /**
   * Draw `rec` (a near, visible, in-view record of scene/avatars.js with `rec.vrm`) as its
   * model this frame; false while it loads or if it failed (draw the procedural avatar).
   */
  draw(rec, nowMs, cam, reducedMotion) {
    const inst = this.#instance(rec);
    // records come nearest first: beyond the budget, the farther ones stay procedural
    if (inst.status !== 'ready' || this.drawnNow.size >= this.maxDrawn) return false;
    const seat = rec.seated ? (rec.gestureKind === STAND ? 1 - rec.gestureW : 1) : 0;
    const hand = rec.gestureKind === HAND ? rec.gestureW : 0;
    const posed = rec.pose && nowMs < rec.posedUntil;
    inst.pose(nowMs, posed ? rec.pose : null, posed ? rec.pose.weights : null, seat, hand, reducedMotion);
    const root = inst.root;
    // seated: the hips on the seat (the procedural body sinks by `drop` instead)
    const seatedY = SEAT_Y + HIP_ABOVE_SEAT - inst.hipsY;
    root.position.set(rec.x, rec.y + seatedY * seat, rec.z);
    root.rotation.y = rec.h;
    root.visible = true;
    const d = rec.isSelf ? 0 : Math.hypot(rec.x - cam.x, rec.z - cam.z);
    const springs = d < SPRING_DISTANCE;
    inst.update(nowMs, springs);
    if (springs) this.springs++;
    this.drawnNow.add(rec.id);
    this.calls += inst.calls;
    return true;
  }

  /** End of a frame: hide the models not drawn (out of view, demoted, first person). */
  end() {
    let ready = 0;
    let loading = 0;
    let failed = 0;
    for (const [id, inst] of this.instances) {
      if (!this.drawnNow.has(id)) inst.root.visible = false;
      if (inst.status === 'ready') ready++;
      else if (inst.status === 'loading') loading++;
      else failed++;
    }
    this.stats = { ready, loading, failed, drawn: this.drawnNow.size, calls: this.calls, springs: this.springs };
  }

  /**
   * The middle of `id`'s model's head in the world this frame, or null unless it is drawn
   * as its model (the speaker view aims there: a model's head is not where the procedural
   * avatar's is, nor at the same height seated).
   */
  headPosition(id) {
    const inst = this.instances.get(id);
    if (!inst || inst.status !== 'ready' || !inst.root.visible) return null;
    const p = inst.rawHead.getWorldPosition(new THREE.Vector3());
    return p.setY(p.y + HEAD_JOINT_TO_MIDDLE * inst.inner.scale.y);
  }

  /** `id` is no longer near: its model waits in the LRU (the oldest beyond it disposed). */
  release(id) {
    const inst = this.instances.get(id);
    if (!inst) return;
    inst.root.visible = false;
    if (!this.cached.includes(id)) this.cached.push(id);
    while (this.cached.length > this.cacheSize) this.forget(this.cached[0]);
  }

  /** `id` left (or changed model): its model is disposed now. */
  forget(id) {
    const inst = this.instances.get(id);
    const i = this.cached.indexOf(id);
    if (i >= 0) this.cached.splice(i, 1);
    if (!inst) return;
    this.instances.delete(id);
    inst.dispose(this.VRMUtils);
  }

  clear() {
    for (const id of [...this.instances.keys()]) this.forget(id);
    this.cached = [];
  }

  /**
   * For the page state: null without a model, else {hash, status, head (degrees, as drawn,
   * null until drawn), expressions (as applied in the last frame drawn)}.
   */
  state(rec) {
    if (!rec?.vrm) return null;
    const inst = this.instances.get(rec.id);
    const status = inst?.status ?? (this.failed.has(rec.vrm) ? 'failed' : 'loading');
    return {
      hash: rec.vrm, status,
      head: inst?.status === 'ready' && inst.lastFrame ? inst.headAngles() : null,
      expressions: inst ? { ...inst.expressions } : {},
    };
  }
}

export { Instance as VrmModel }; // for node tests of the posing (test/vrmAvatars.test.js)
