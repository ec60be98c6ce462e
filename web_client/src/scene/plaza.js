/**
 * The 3D view: renderer, scene, world, avatars and camera, sized to the window. Tuned for
 * phones: pixel ratio at most 2, no antialiasing on small screens, no shadow maps.
 */
import * as THREE from 'three';
import { AvatarLayer } from './avatars.js';
import { CameraRig } from './camera.js';
import { World } from './world.js';

export class Plaza {
  constructor(canvas) {
    const small = Math.min(screen.width, screen.height) < 600;
    this.renderer = new THREE.WebGLRenderer({ canvas, antialias: !small, powerPreference: 'high-performance' });
    this.pixelRatio = Math.min(devicePixelRatio || 1, 2);
    this.renderer.setPixelRatio(this.pixelRatio);
    this.renderer.shadowMap.enabled = false;
    this.scene = new THREE.Scene();
    this.camera = new THREE.PerspectiveCamera(55, 1, 0.1, 220);
    this.rig = new CameraRig(this.camera);
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
   * Drop the resolution step by step while the frame rate stays low (weak phones are
   * fill-rate bound); never raised again, so it cannot oscillate.
   */
  adapt(fps, nowMs) {
    if (!this.adaptFrom) this.adaptFrom = nowMs + 3000; // let the first frames settle
    if (nowMs < this.adaptFrom) return;
    this.adaptFrom = nowMs + 2000;
    if (fps >= 24 || this.pixelRatio <= 1) return;
    this.pixelRatio = Math.max(1, this.pixelRatio - 0.5);
    this.renderer.setPixelRatio(this.pixelRatio);
    this.resize();
  }

  render(nowMs, dt, self, selfId) {
    this.rig.update(dt, self);
    const own = this.avatars.get(selfId);
    if (own) own.visible = !this.rig.firstPerson(self);
    this.avatars.update(nowMs, this.camera);
    this.renderer.render(this.scene, this.camera);
  }
}
