/**
 * All avatars of a room: creation from participants, per-frame placement, idle life and
 * level of detail. With many people present the bodies, heads and ground shadows are drawn
 * as InstancedMeshes (three draw calls instead of three per avatar).
 */
import * as THREE from 'three';
import { normaliseStyle } from '../state/avatarStyle.js';
import { createAvatar, disposeAvatar, markPosed, setBlobTexture, setExpression, tickIdle, SEATED_DROP } from './avatar.js';
import { blobTexture } from './textures.js';

export const INSTANCING_THRESHOLD = 50;
const LABEL_DISTANCE = 18;
const DETAIL_DISTANCE = 12;
const INSTANCED_PARTS = ['body', 'head', 'blob'];
const HIDDEN = new THREE.Matrix4().makeScale(0, 0, 0); // an instance drawn as nothing

class InstancedPart {
  constructor(scene, geometry, material, capacity) {
    this.scene = scene;
    this.geometry = geometry;
    this.material = material;
    this.mesh = null;
    this.ensure(capacity);
  }

  ensure(capacity) {
    if (this.mesh && this.capacity >= capacity) return;
    const cap = Math.max(64, 2 ** Math.ceil(Math.log2(capacity)));
    if (this.mesh) {
      this.scene.remove(this.mesh);
      this.mesh.dispose();
    }
    this.capacity = cap;
    this.mesh = new THREE.InstancedMesh(this.geometry, this.material, cap);
    this.mesh.frustumCulled = false; // instances spread over the whole plaza
    this.mesh.count = 0;
    this.scene.add(this.mesh);
  }

  dispose() {
    this.scene.remove(this.mesh);
    this.mesh.dispose();
  }
}

export class AvatarLayer {
  constructor(scene) {
    this.scene = scene;
    this.avatars = new Map();
    this.instanced = null;
    this.reducedMotion = false;
    setBlobTexture(blobTexture());
    this.tmpColor = new THREE.Color();
  }

  get count() {
    return this.avatars.size;
  }

  has(id) {
    return this.avatars.has(id);
  }

  get(id) {
    return this.avatars.get(id) ?? null;
  }

  /** Add (or rebuild) the avatar of participant p. */
  add(p, isSelf = false) {
    this.remove(p.id);
    const accent = isSelf ? '#2563eb' : p.role === 'chair' || p.role === 'member' ? '#b45309' : p.role === 'staff' || p.role === 'captioner' ? '#047857' : null;
    const a = createAvatar(normaliseStyle(p.avatar), p.name, { accent });
    a.userData.id = p.id;
    a.userData.isSelf = isSelf;
    this.scene.add(a);
    this.avatars.set(p.id, a);
    return a;
  }

  remove(id) {
    const a = this.avatars.get(id);
    if (!a) return;
    disposeAvatar(a);
    this.avatars.delete(id);
  }

  clear() {
    for (const id of [...this.avatars.keys()]) this.remove(id);
    this.#setInstancing(false);
  }

  /** Drive an avatar's face (state/expression.js controls) until `untilMs`, then idle. */
  pose(id, expression, untilMs) {
    const a = this.avatars.get(id);
    if (!a) return;
    setExpression(a, expression);
    markPosed(a, untilMs);
  }

  /** The head angles as drawn, in degrees ({roll, pitch, yaw}), or null. */
  headAngles(id) {
    const r = this.avatars.get(id)?.userData.head.rotation;
    if (!r) return null;
    const deg = 180 / Math.PI;
    return { roll: r.z * deg, pitch: r.x * deg, yaw: r.y * deg };
  }

  /** Place an avatar; y is the floor height under it (stage or ground). */
  place(id, x, z, h, y = 0, seated = false) {
    const a = this.avatars.get(id);
    if (!a) return;
    a.position.set(x, y - (seated ? SEATED_DROP : 0), z);
    a.rotation.y = h;
    if (a.userData.blob) a.userData.blob.position.y = seated ? SEATED_DROP + 0.47 : 0.02;
  }

  /** Per-frame: idle animation, level of detail, instanced parts. */
  update(nowMs, camera) {
    const cam = camera.position;
    for (const a of this.avatars.values()) {
      tickIdle(a, nowMs, this.reducedMotion);
      const d = a.userData.isSelf ? 0 : Math.hypot(a.position.x - cam.x, a.position.z - cam.z);
      const near = d < DETAIL_DISTANCE;
      for (const o of a.userData.details) o.visible = near;
      if (a.userData.label) a.userData.label.visible = d < LABEL_DISTANCE;
    }
    const want = this.avatars.size > INSTANCING_THRESHOLD;
    if (want !== !!this.instanced) this.#setInstancing(want);
    if (this.instanced) this.#fillInstances();
  }

  #setInstancing(on) {
    if (on && !this.instanced) {
      const any = this.avatars.values().next().value;
      if (!any) return;
      const white = new THREE.MeshLambertMaterial({ color: '#ffffff' });
      const cap = this.avatars.size;
      this.instanced = {
        body: new InstancedPart(this.scene, any.userData.body.geometry, white, cap),
        head: new InstancedPart(this.scene, findPart(any, 'head').geometry, white, cap),
        blob: any.userData.blob ? new InstancedPart(this.scene, any.userData.blob.geometry, any.userData.blob.material, cap) : null,
      };
    } else if (!on && this.instanced) {
      for (const k of INSTANCED_PARTS) this.instanced[k]?.dispose();
      this.instanced = null;
    }
    for (const a of this.avatars.values()) {
      for (const k of INSTANCED_PARTS) {
        const o = findPart(a, k);
        if (o) o.visible = !on;
      }
    }
  }

  #fillInstances() {
    const n = this.avatars.size;
    for (const k of INSTANCED_PARTS) this.instanced[k]?.ensure(n);
    let i = 0;
    for (const a of this.avatars.values()) {
      a.updateMatrixWorld(true);
      for (const k of INSTANCED_PARTS) {
        const part = this.instanced[k];
        const o = findPart(a, k);
        if (!part || !o) continue;
        o.visible = false; // new avatars arrive visible
        part.mesh.setMatrixAt(i, a.visible ? o.matrixWorld : HIDDEN);
        if (k !== 'blob') part.mesh.setColorAt(i, o.material.color);
      }
      i++;
    }
    for (const k of INSTANCED_PARTS) {
      const part = this.instanced[k];
      if (!part) continue;
      part.mesh.count = n;
      part.mesh.instanceMatrix.needsUpdate = true;
      if (part.mesh.instanceColor) part.mesh.instanceColor.needsUpdate = true;
    }
  }
}

function findPart(a, name) {
  const u = a.userData;
  if (name === 'body') return u.body;
  if (name === 'blob') return u.blob ?? null;
  if (!u.skull) u.skull = u.head.children.find((c) => c.userData.part === 'head') ?? null;
  return u.skull;
}
