/**
 * All avatars of a room, in three levels of detail (state/lod.js decides who is where):
 * - near: the full expressive avatar (face driven by poses, hair, accessories, name label),
 *   for the own avatar, everyone on the stage and the few others nearest to the camera.
 *   Their scene graphs are posed as usual but not added to the scene: every frame their
 *   parts are baked (matrixWorld, colour) into one dynamic mesh, so all of them cost one
 *   draw, plus one for their ground shadows and one per name label;
 * - mid: a low-poly body, head and hair cap in the person's colours, no face, no shadow,
 *   at most `midCount` of them, all merged into one mesh rewritten every frame: one draw;
 * - far: a 23-triangle pawn in the body colour, all merged likewise: one draw.
 * The levels are re-bucketed four times a second, not every frame, with hysteresis.
 * Instances outside the camera's view are left out of the instance buffers, and the rest
 * are drawn nearest first so that the depth test skips hidden pixels in a dense crowd
 * (SwiftShader and weak phones pay for every vertex, fragment and draw call). A ring
 * under an avatar shows who is speaking, at every level.
 * In a committee's show of hands (挙手) a near avatar raises its own arm (baked with its
 * other parts) and a mid or far one gets an upright arm from one instanced batch (one draw
 * for all of them, none when no hand is up); in a standing vote (起立) a seated avatar
 * rises from its chair to its standing height (state/gestures.js eases both).
 * A near participant with an approved VRM model (`p.vrm`) is drawn as that model once it
 * has loaded (scene/vrmAvatars.js), its procedural parts left out of the bake but for the
 * shadow; mid and far it stays in the crowd batches, in the model's colours.
 */
import * as THREE from 'three';
import { t } from '../i18n.js';
import { normaliseStyle } from '../state/avatarStyle.js';
import { FAR, LodBuckets, MID, NEAR } from '../state/lod.js';
import { GestureAnimator, HAND, STAND } from '../state/gestures.js';
import {
  BLOB_SEATED_Y, CROWD_ARM, SEATED_DROP,
  blobParts, createAvatar, crowdGeometries, disposeAvatar, markPosed, setBlobTexture, setExpression,
  setHandRaised, tickIdle,
} from './avatar.js';
import { HEAD_CENTRE, labelLook } from './labels.js';
import { Batch, Merged, NearMesh } from './batches.js';
import { VrmAvatars } from './vrmAvatars.js';
import { blobTexture } from './textures.js';

/**
 * The text of a name label: a member's, chair's or staff's name carries its role
 * (委員, 委員長, 事務局...), so that a citizen who takes the same name is told apart.
 */
export function labelText(p) {
  return p.role && p.role !== 'citizen' ? t('role.withName', { name: p.name, role: t(`role.${p.role}`) }) : p.name;
}

const REBUCKET_MS = 250;
const REBUCKET_SOON_MS = 80; // after joins and leaves
const LABEL_DISTANCE = 24;
const STAGE_LABEL_DISTANCE = 45; // the members on the stage are named from across the plaza
const DETAIL_DISTANCE = 12;
const OUT_OF_VIEW = 40; // metres added to the distance of avatars outside the view
const SPEAKING_COLOR = '#f59e0b';
const FAR_ARM_SCALE = 1.4; // a far avatar's raised arm, thicker and longer to stay visible

const sphere = new THREE.Sphere(new THREE.Vector3(), 1.2);
const tmpMatrix = new THREE.Matrix4();

export class AvatarLayer {
  constructor(scene, lodOptions = {}) {
    this.scene = scene;
    /** @type {Map<string, object>} id -> record (position, style, level, full avatar if near) */
    this.records = new Map();
    this.order = []; // records nearest to the camera first (as of the last re-bucketing)
    this.speaking = new Set();
    this.reducedMotion = false;
    this.lod = new LodBuckets(lodOptions);
    this.nextBucket = 0;
    this.frustum = new THREE.Frustum();
    this.drawn = { near: 0, mid: 0, far: 0 };
    this.gestures = new GestureAnimator();
    this.hands = { near: 0, mid: 0, far: 0 }; // raised hands drawn in the last frame, per level
    setBlobTexture(blobTexture());
    const g = crowdGeometries();
    const white = new THREE.MeshLambertMaterial({ color: '#ffffff' });
    const painted = new THREE.MeshLambertMaterial({ color: '#ffffff', vertexColors: true });
    const blob = blobParts();
    this.mid = new Merged(scene, g.mid, painted, true);
    this.near = new NearMesh(scene, painted);
    this.far = new Merged(scene, g.far, painted, false);
    this.batches = {
      blob: new Batch(scene, blob.geometry, blob.material, false),
      ring: new Batch(scene, g.ring, new THREE.MeshBasicMaterial({ color: SPEAKING_COLOR, transparent: true, opacity: 0.9, depthWrite: false }), false, 1),
      arm: new Batch(scene, g.arm, white, true), // the raised hands of mid and far avatars
    };
    this.white = white;
    /** @type {Map<THREE.BufferGeometry, Batch>} the near avatars' parts, by geometry */
    this.parts = new Map([[blob.geometry, this.batches.blob]]); // one call for all shadows
    this.labels = new THREE.Group(); // the near avatars' name labels
    scene.add(this.labels);
    this.vrms = new VrmAvatars(scene); // near participants' VRM models (scene/vrmAvatars.js)
    this.highlight = null; // the speaker's pid: its name label is highlighted (scene/labels.js)
    this.viewHeight = 800; // the canvas height in CSS px (plaza.js): labels keep a minimum size
  }

  #partBatch(mesh) {
    let b = this.parts.get(mesh.geometry);
    if (!b) {
      const colored = mesh.material.isMeshLambertMaterial === true;
      b = new Batch(this.scene, mesh.geometry, colored ? this.white : mesh.material, colored);
      b.begin(1);
      this.parts.set(mesh.geometry, b);
    }
    return b;
  }

  get count() {
    return this.records.size;
  }

  has(id) {
    return this.records.has(id);
  }

  /** The full avatar (a THREE.Group) of `id` while it is drawn near, else null. */
  get(id) {
    return this.records.get(id)?.group ?? null;
  }

  /** Counts per level after the last re-bucketing, and how many of each were drawn. */
  get levels() {
    return { ...this.lod.counts, drawn: { ...this.drawn } };
  }

  /** Add (or rebuild) the avatar of participant p. */
  add(p, isSelf = false) {
    this.#drop(p.id);
    const style = normaliseStyle(p.avatar);
    const accent = isSelf ? '#2563eb' : p.role === 'chair' || p.role === 'member' ? '#b45309' : p.role === 'staff' || p.role === 'captioner' ? '#047857' : null;
    const rec = {
      id: p.id, style, name: p.name, label: labelText(p), accent, isSelf,
      x: p.x ?? 0, y: 0, z: p.z ?? 0, h: p.h ?? 0, seated: false,
      level: FAR, group: null, expression: null, posedUntil: 0,
      gestureKind: null, gestureW: 0, // this frame's committee gesture (state/gestures.js)
      vrm: VrmAvatars.valid(p.vrm) ? p.vrm : null, pose: null, // the model and the raw pose driving it
    };
    const skin = new THREE.Color(style.skin);
    // body, skin, hair: the crowd shapes' part colours (a bald head's cap is skin)
    rec.colors = [new THREE.Color(style.body), skin, style.hair === 'bald' ? skin : new THREE.Color(style.hair_color)];
    this.records.set(p.id, rec);
    this.order.push(rec);
    if (isSelf) this.#promote(rec); // never waits for a re-bucketing
    this.nextBucket = Math.min(this.nextBucket, performance.now() + REBUCKET_SOON_MS);
    return rec.group;
  }

  remove(id) {
    this.#drop(id);
    this.speaking.delete(id);
  }

  #drop(id) {
    const rec = this.records.get(id);
    if (!rec) return;
    this.#demote(rec);
    this.vrms.forget(id);
    rec.gone = true;
    this.records.delete(id);
    this.lod.forget(id);
    this.nextBucket = Math.min(this.nextBucket, performance.now() + REBUCKET_SOON_MS);
  }

  clear() {
    for (const rec of this.records.values()) this.#demote(rec);
    this.vrms.clear();
    this.records.clear();
    this.order = [];
    this.speaking.clear();
    this.gestures.clear();
    this.lod.clear();
    for (const b of new Set([...Object.values(this.batches), ...this.parts.values(), this.mid, this.far, this.near])) {
      b.begin(0);
      b.end();
    }
  }

  /**
   * Show (or stop showing) that `id` is speaking: a ring under the avatar at every level
   * of detail, gently pulsing unless reduced motion is asked for.
   */
  setSpeaking(id, on) {
    if (on) this.speaking.add(id);
    else this.speaking.delete(id);
  }

  isSpeaking(id) {
    return this.speaking.has(id);
  }

  /**
   * The gestures of a committee vote from now on: pid -> 'hand' | 'stand' (gesturesOf in
   * state/gestures.js); everyone else lowers their hand or sits down, eased.
   */
  setGestures(wanted, nowMs = performance.now()) {
    this.gestures.set(wanted, nowMs);
  }

  /**
   * The gestures as drawn in the last frame: pid -> {gesture, up (rising, not lowering),
   * weight, level ('near', 'mid', 'far'), hand (near only, else null), drop}; for tests
   * and debugging.
   */
  gestureState() {
    const out = {};
    const names = ['near', 'mid', 'far'];
    for (const [pid, { gesture, up }] of Object.entries(this.gestures.targets())) {
      const rec = this.records.get(pid);
      const a = rec?.group;
      const hand = a?.userData.hand;
      // the renderer refreshes world matrices only when it draws; a state read between an
      // avatar's (re)build or a weight change and the next frame would see a stale one
      if (a?.userData.handUp) hand.updateWorldMatrix(true, false);
      out[pid] = {
        gesture, up, weight: rec?.gestureW ?? 0, level: rec ? names[rec.level] : null,
        // the hand's height above the avatar's feet, and how far the avatar is sunk into
        // its chair (0 standing)
        hand: a?.userData.handUp ? hand.matrixWorld.elements[13] - a.position.y : null,
        drop: rec ? this.#seatDrop(rec) : null,
      };
    }
    return out;
  }

  /**
   * Drive an avatar's face (state/expression.js controls) until `untilMs`, then idle;
   * `pose` (the decoded pose: head angles and 52 weights) drives a VRM model.
   */
  pose(id, expression, untilMs, pose = null) {
    const rec = this.records.get(id);
    if (!rec) return;
    rec.expression = expression; // kept for when the avatar comes near
    rec.pose = pose;
    rec.posedUntil = untilMs;
    if (!rec.group) return;
    setExpression(rec.group, expression);
    markPosed(rec.group, untilMs);
  }

  /** The head angles as drawn, in degrees ({roll, pitch, yaw}); null unless drawn near. */
  headAngles(id) {
    const r = this.records.get(id)?.group?.userData.head.rotation;
    if (!r) return null;
    const deg = 180 / Math.PI;
    return { roll: r.z * deg, pitch: r.x * deg, yaw: r.y * deg };
  }

  /**
   * Where `id`'s head is (the centre, in metres) and which way the avatar faces: from its
   * model's head bone while drawn as a VRM, else from its record: the speaker view aims at it.
   */
  headPoint(id) {
    const rec = this.records.get(id);
    if (!rec) return null;
    const model = rec.vrm ? this.vrms.headPosition(id) : null;
    if (model) return { x: model.x, y: model.y, z: model.z, h: rec.h };
    return { x: rec.x, y: rec.y - this.#seatDrop(rec) + HEAD_CENTRE, z: rec.z, h: rec.h };
  }

  /** The name labels drawn in the last frame: [{id, px (CSS px tall), opacity, highlight}]. */
  labelState() {
    const out = [];
    for (const rec of this.records.values()) {
      const l = rec.group?.userData.label;
      if (l?.visible) out.push({ id: rec.id, px: Math.round(l.userData.px * 10) / 10, opacity: Math.round(l.material.opacity * 100) / 100, highlight: !!rec.group.userData.labelHighlight });
    }
    return out;
  }

  /** Place an avatar; y is the floor height under it (stage or ground). */
  place(id, x, z, h, y = 0, seated = false) {
    const rec = this.records.get(id);
    if (!rec) return;
    rec.x = x;
    rec.y = y;
    rec.z = z;
    rec.h = h;
    rec.seated = seated;
    if (rec.group) this.#placeGroup(rec);
  }

  /** How far the avatar sinks into its chair: less while it stands up for a vote. */
  #seatDrop(rec) {
    if (!rec.seated) return 0;
    return rec.gestureKind === STAND ? SEATED_DROP * (1 - rec.gestureW) : SEATED_DROP;
  }

  #placeGroup(rec) {
    const a = rec.group;
    const drop = this.#seatDrop(rec);
    a.position.set(rec.x, rec.y - drop, rec.z);
    a.rotation.y = rec.h;
    // the shadow stays on the seat (or the floor) while the body rises from it
    if (a.userData.blob) a.userData.blob.position.y = rec.seated ? BLOB_SEATED_Y - SEATED_DROP + drop : 0.02;
    const label = a.userData.label;
    if (label) label.position.set(a.position.x, a.position.y + a.userData.labelY, a.position.z);
  }

  #promote(rec) {
    rec.level = NEAR;
    if (rec.group) return;
    const a = createAvatar(rec.style, rec.label, { accent: rec.accent });
    const u = a.userData;
    u.id = rec.id;
    u.isSelf = rec.isSelf;
    u.meshes = [];
    a.traverse((o) => {
      if (o.isMesh) u.meshes.push(o);
    });
    if (u.label) {
      u.labelY = u.label.position.y;
      this.labels.add(u.label); // drawn from the scene; the avatar itself is not in it
    }
    rec.group = a;
    if (rec.vrm) this.vrms.want(rec); // its model loads while it is near, in view or not
    this.#placeGroup(rec);
    setHandRaised(a, rec.gestureKind === HAND ? rec.gestureW : 0);
    if (rec.expression && performance.now() < rec.posedUntil) {
      setExpression(a, rec.expression);
      markPosed(a, rec.posedUntil);
    }
  }

  /** `id`'s VRM model for the page state (scene/vrmAvatars.js `state`), null without one. */
  vrmState(id) {
    return this.vrms.state(this.records.get(id));
  }

  /** The VRM models: how many are ready, loading, failed, drawn, and their draw calls. */
  get vrmStats() {
    return { ...this.vrms.stats };
  }

  #demote(rec) {
    this.vrms.release(rec.id);
    if (!rec.group) return;
    rec.group.userData.label?.removeFromParent();
    disposeAvatar(rec.group);
    rec.group = null;
  }

  #rebucket(cam) {
    const entries = [];
    for (const rec of this.records.values()) {
      rec.d = Math.hypot(rec.x - cam.x, rec.z - cam.z);
      const d = rec.d + (this.#inView(rec) ? 0 : OUT_OF_VIEW);
      entries.push({ id: rec.id, d, self: rec.isSelf, stage: rec.seated || rec.y > 0.01 });
    }
    // Instances are drawn in this order: front to back lets the depth test skip hidden
    // pixels in a dense crowd (software renderers and weak GPUs are fill-bound).
    this.order = [...this.records.values()].sort((a, b) => a.d - b.d);
    for (const [id, , to] of this.lod.update(entries)) {
      const rec = this.records.get(id);
      if (!rec) continue;
      if (to === NEAR) this.#promote(rec);
      else {
        this.#demote(rec);
        rec.level = to;
      }
    }
  }

  /**
   * A mid or far avatar's raised hand: an upright arm at its right shoulder, rising out of
   * it as `w` goes to 1 (no turning: the shape is round, only its foot follows the heading).
   */
  #crowdArm(rec, drop, w) {
    const far = rec.level === FAR;
    const s = far ? FAR_ARM_SCALE : 1;
    const arm = this.batches.arm;
    if (arm.n >= arm.capacity) arm.grow(arm.capacity * 2);
    const c = Math.cos(rec.h);
    const sn = Math.sin(rec.h);
    const lift = CROWD_ARM.length * s * (1 - w);
    arm.put(rec.x + CROWD_ARM.x * c, rec.y - drop + CROWD_ARM.y - lift, rec.z - CROWD_ARM.x * sn, s, rec.colors[0]);
    this.hands[far ? 'far' : 'mid']++;
  }

  #inView(rec) {
    sphere.center.set(rec.x, rec.y + 0.9, rec.z);
    return this.frustum.intersectsSphere(sphere);
  }

  /** Per frame: re-bucket when due, idle life of the near avatars, fill the instances. */
  update(nowMs, camera) {
    camera.updateMatrixWorld();
    this.frustum.setFromProjectionMatrix(tmpMatrix.multiplyMatrices(camera.projectionMatrix, camera.matrixWorldInverse));
    const cam = camera.position;
    if (nowMs >= this.nextBucket) {
      this.nextBucket = nowMs + REBUCKET_MS;
      this.#rebucket(cam);
    }
    const n = this.records.size;
    const b = this.batches;
    for (const part of Object.values(b)) part.begin(n);
    this.mid.begin(this.lod.counts.mid + 1);
    this.near.begin();
    this.far.begin(n);
    const nearMax = 2 * (this.lod.counts.near + 2); // eyes and lenses come in pairs
    for (const part of this.parts.values()) if (part !== b.blob) part.begin(nearMax);
    const drawn = { near: 0, mid: 0, far: 0 };
    const hands = this.hands;
    hands.near = hands.mid = hands.far = 0;
    const pulse = this.reducedMotion ? 1 : 1 + 0.08 * Math.sin(nowMs / 160);
    this.vrms.begin();
    this.gestures.instant = this.reducedMotion;
    for (const rec of this.order) {
      if (rec.gone) continue;
      rec.gestureW = this.gestures.weight(rec.id, nowMs); // before kind: a waiting gesture may start
      rec.gestureKind = rec.gestureW > 0 ? this.gestures.kind(rec.id) : null;
      const raised = rec.gestureKind === HAND ? rec.gestureW : 0;
      const drop = this.#seatDrop(rec);
      if (rec.group) {
        const a = rec.group;
        tickIdle(a, nowMs, this.reducedMotion);
        setHandRaised(a, raised);
        if (rec.seated) this.#placeGroup(rec); // standing up for a vote moves it every frame
        const d = rec.isSelf ? 0 : Math.hypot(rec.x - cam.x, rec.z - cam.z);
        const detail = d < DETAIL_DISTANCE || rec.id === this.highlight; // the close-up shows the face
        for (const o of a.userData.details) o.visible = detail;
        const label = a.userData.label;
        const onStage = rec.seated || rec.y > 0.01;
        if (label) label.visible = a.visible && d < (onStage ? STAGE_LABEL_DISTANCE : LABEL_DISTANCE);
        if (label?.visible) labelLook(a, camera, this.viewHeight, rec.id === this.highlight, onStage || rec.isSelf);
        if (!a.visible) continue;
        if (this.#inView(rec) || rec.id === this.highlight) { // the speaker: the close-up sees it
          drawn.near++;
          if (raised > 0) hands.near++;
          a.updateMatrixWorld(true);
          // drawn as its VRM model: of the procedural parts only the shadow is baked
          const model = rec.vrm !== null && this.vrms.draw(rec, nowMs, cam, this.reducedMotion);
          for (const o of a.userData.meshes) {
            if (!o.visible || (model && o !== a.userData.blob)) continue;
            if (o.material.isMeshLambertMaterial && o.geometry.index) {
              this.near.add(o);
              continue;
            }
            const batch = this.#partBatch(o);
            if (batch.n >= batch.capacity) batch.grow(nearMax * 2);
            batch.putMatrix(o.matrixWorld, batch.colored ? o.material.color : null);
          }
        }
      } else {
        if (!this.#inView(rec) && rec.id !== this.highlight) continue;
        if (rec.level === MID) {
          drawn.mid++;
          if (this.mid.n >= this.mid.capacity) continue; // a level change not yet counted
          this.mid.put(rec.x, rec.y - drop, rec.z, rec.h, rec.colors);
        } else {
          drawn.far++;
          this.far.put(rec.x, rec.y - drop, rec.z, 0, rec.colors);
        }
        if (raised > 0) this.#crowdArm(rec, drop, raised);
      }
      if (this.speaking.has(rec.id)) {
        const s = (rec.level === FAR ? 2 : 1) * pulse; // far rings must stay visible
        b.ring.put(rec.x, rec.y + (rec.seated ? BLOB_SEATED_Y - drop : 0) + 0.03, rec.z, s);
      }
    }
    this.vrms.end();
    for (const part of Object.values(b)) part.end();
    this.mid.end();
    this.far.end();
    this.near.end();
    for (const part of this.parts.values()) if (part !== b.blob) part.end();
    this.drawn = drawn;
  }
}
