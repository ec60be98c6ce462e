/**
 * The 3D view: renderer, scene, world, avatars and camera, sized to the window. Tuned for
 * phones: pixel ratio at most 2 (1.5 on small screens, lowered further while the frame
 * rate is low), no antialiasing on small screens, no shadow maps, avatars in levels of
 * detail (scene/avatars.js).
 */
import * as THREE from 'three';
import { AvatarLayer } from './avatars.js';
import { CameraRig } from './camera.js';
import { World } from './world.js';
import { LABEL_LAYER } from './avatar.js';
import { SpeakerCam } from './speakerCam.js';

const MAX_RATIO = 2;
const MAX_RATIO_SMALL = 1.5; // phones: 3x screens drawn at 1.5x look the same at arm's length
const MIN_RATIO_SMALL = 0.75; // a weak phone's last resort: a little blur beats a slideshow
const TARGET_FPS = 30;

export class Plaza {
  constructor(canvas) {
    const small = Math.min(screen.width, screen.height) < 600;
    this.small = small;
    this.renderer = new THREE.WebGLRenderer({ canvas, antialias: !small, powerPreference: 'high-performance' });
    this.pixelRatio = Math.min(devicePixelRatio || 1, small ? MAX_RATIO_SMALL : MAX_RATIO);
    this.renderer.setPixelRatio(this.pixelRatio);
    this.renderer.shadowMap.enabled = false;
    this.scene = new THREE.Scene();
    this.camera = new THREE.PerspectiveCamera(55, 1, 0.1, 220);
    this.camera.layers.enable(LABEL_LAYER); // the room sees the name labels
    this.rig = new CameraRig(this.camera);
    this.speakerCam = new SpeakerCam(); // the speaker view's close-up (ui/speakerView.js aims it)
    this.avatars = new AvatarLayer(this.scene);
    this.world = null;
    this.raycaster = new THREE.Raycaster();
    this.marker = this.#makeMarker();
    this.resize();
    addEventListener('resize', () => this.resize());
  }

  #makeMarker() {
    const m = new THREE.Mesh(
      new THREE.RingGeometry(0.25, 0.38, 20),
      new THREE.MeshBasicMaterial({ color: '#2563eb', transparent: true, opacity: 0.8, depthWrite: false }),
    );
    m.rotation.x = -Math.PI / 2;
    m.visible = false;
    this.scene.add(m);
    return m;
  }

  resize() {
    const c = this.renderer.domElement;
    const w = c.clientWidth || innerWidth;
    const h = c.clientHeight || innerHeight;
    this.renderer.setSize(w, h, false);
    this.camera.aspect = w / h;
    this.avatars.viewHeight = h;
    this.camera.fov = w < h ? 65 : 55; // a wider vertical angle on portrait phones
    this.camera.updateProjectionMatrix();
  }

  /** Build the room (after a join); `strings` are the language-dependent texts. */
  load(room, strings, cameraMode) {
    this.unload();
    this.world = new World(this.scene, room, strings);
    const audience = room.gallery || room.spawn || null;
    this.rig.reset(room.stage, cameraMode, audience && { x: audience.x, z: audience.z });
  }

  unload() {
    this.avatars.clear();
    if (this.world) this.world.dispose();
    this.world = null;
    this.marker.visible = false;
  }

  floorAt(x, z) {
    return this.world ? this.world.floorAt(x, z) : 0;
  }

  /** The ground (or stage top) point under a screen position, or null. */
  groundPoint(clientX, clientY) {
    const r = this.renderer.domElement.getBoundingClientRect();
    const ndc = new THREE.Vector2(((clientX - r.left) / r.width) * 2 - 1, -((clientY - r.top) / r.height) * 2 + 1);
    this.raycaster.setFromCamera(ndc, this.camera);
    const hit = new THREE.Vector3();
    if (!this.raycaster.ray.intersectPlane(new THREE.Plane(new THREE.Vector3(0, 1, 0), 0), hit)) return null;
    const y = this.floorAt(hit.x, hit.z);
    if (y > 0) this.raycaster.ray.intersectPlane(new THREE.Plane(new THREE.Vector3(0, 1, 0), -y), hit);
    return { x: hit.x, z: hit.z };
  }

  showMarker(p) {
    if (!p) {
      this.marker.visible = false;
      return;
    }
    this.marker.position.set(p.x, this.floorAt(p.x, p.z) + 0.03, p.z);
    this.marker.visible = true;
  }

  /**
   * Drop the resolution step by step while the frame rate stays under the 30 fps target
   * (weak phones, and SwiftShader, are fill-rate bound): 2 or 1.5, then 1, and on small
   * screens 0.75 as a last resort; never raised again, so it cannot oscillate.
   */
  adapt(fps, nowMs) {
    if (!this.adaptFrom) this.adaptFrom = nowMs + 3000; // let the first frames settle
    if (nowMs < this.adaptFrom) return;
    this.adaptFrom = nowMs + 2000;
    const floor = this.small ? MIN_RATIO_SMALL : 1;
    if (fps >= TARGET_FPS - 2 || this.pixelRatio <= floor) return;
    this.pixelRatio = Math.max(floor, this.pixelRatio - (this.pixelRatio > 1 ? 0.5 : 0.25));
    this.renderer.setPixelRatio(this.pixelRatio);
    this.resize();
  }

  render(nowMs, dt, self, selfId) {
    this.rig.update(dt, self);
    const own = this.avatars.get(selfId);
    if (own) own.visible = !this.rig.firstPerson(self);
    const t0 = performance.now();
    this.avatars.update(nowMs, this.camera);
    const t1 = performance.now();
    this.renderer.render(this.scene, this.camera);
    const t2 = performance.now();
    // main-thread milliseconds per frame, smoothed: placing avatars, and three.js's render
    this.avatarMs = ((this.avatarMs ?? 0) * 0.9) + (t1 - t0) * 0.1;
    this.renderMs = ((this.renderMs ?? 0) * 0.9) + (t2 - t1) * 0.1;
    const info = this.renderer.info.render;
    this.drawCalls = info.calls;
    this.triangles = info.triangles;
    // the speaker view's close-up, after the room (its own draw counts: renderStats.speaker)
    this.speakerCam.render(this.renderer, this.scene, dt);
  }

  /**
   * What the last frame cost (read-only, for `window.hiroba.state().render`): draw calls,
   * triangles, avatars per level of detail (`drawn`: of those, how many were in view), the
   * pixel ratio in use and the main thread's milliseconds per frame (smoothed) spent
   * placing avatars and in three.js's render call.
   */
  get renderStats() {
    const { near, mid, far, drawn } = this.avatars.levels;
    const ms = (v) => Math.round((v ?? 0) * 100) / 100;
    return {
      calls: this.drawCalls ?? 0, triangles: this.triangles ?? 0, near, mid, far, drawn,
      pixelRatio: this.pixelRatio, avatarMs: ms(this.avatarMs), renderMs: ms(this.renderMs),
      speaker: { ...this.speakerCam.stats }, // the close-up pass: {calls, triangles, ms}; 0 when not drawn
      // VRM models: {ready, loading, failed, drawn, calls (their share of `calls`), springs}
      vrm: this.avatars.vrmStats,
    };
  }
}
