/**
 * The speaker view's close-up (issue 18): a second camera in front of the speaker's face,
 * drawn by the same renderer into a scissored rectangle of the same canvas (the rectangle of
 * the page's #speaker-frame), after the room. It aims at the head position from the avatar
 * record (scene/avatars.js headPoint), not at any mesh, so it frames a VRM as well as the
 * built-in look. It sees layer 0 only: the name labels (avatar.js LABEL_LAYER) stay out of the
 * picture. Nothing is drawn while nobody is shown (`target` null).
 */
import * as THREE from 'three';

/** Metres from the face; with the field of view below this frames head and shoulders. */
const DISTANCE = 1.45;
const FOV = 30;
const LOOK_DOWN = 0.14; // aim a little under the head's centre: the shoulders show
const RISE = 0.12; // the camera a little above the eyes, looking slightly down

/** Where the close-up camera stands and looks for a head at {x, y, z, h} (pure). */
export function closeUp(head, distance = DISTANCE) {
  const fx = -Math.sin(head.h);
  const fz = -Math.cos(head.h); // the avatar's forward
  return {
    pos: { x: head.x + fx * distance, y: head.y + RISE, z: head.z + fz * distance },
    look: { x: head.x, y: head.y - LOOK_DOWN, z: head.z },
  };
}

/** A rectangle in CSS px (top-left origin, relative to the canvas) to WebGL's bottom-left. */
export function glRect(rect, canvasHeight) {
  return { x: Math.round(rect.x), y: Math.round(canvasHeight - rect.y - rect.h), w: Math.round(rect.w), h: Math.round(rect.h) };
}

export class SpeakerCam {
  constructor() {
    this.camera = new THREE.PerspectiveCamera(FOV, 4 / 3, 0.05, 40);
    this.camera.layers.set(0);
    this.target = null; // {x, y, z, h} of the head, or null: no pass
    this.rect = null; // {x, y, w, h} CSS px relative to the canvas
    this.stats = { calls: 0, triangles: 0, ms: 0 };
    this.look = new THREE.Vector3();
    this.pos = new THREE.Vector3();
    this.snap = true;
  }

  /** Aim at `head` (null: stop drawing). A new speaker is cut to; a moving one is followed. */
  aim(head, rect) {
    if (!head || !rect || rect.w < 8 || rect.h < 8) {
      this.target = null;
      this.snap = true;
      return;
    }
    this.target = head;
    this.rect = rect;
  }

  /** Draw the close-up into its rectangle; returns whether a pass was drawn. */
  render(renderer, scene, dt) {
    const r = this.rect;
    if (!this.target || !r) {
      this.stats = { calls: 0, triangles: 0, ms: 0 };
      return false;
    }
    const t0 = performance.now();
    const { pos, look } = closeUp(this.target);
    const k = this.snap ? 1 : 1 - Math.exp(-dt * 8);
    this.snap = false;
    this.pos.lerp(this.pos.clone().set(pos.x, pos.y, pos.z), k);
    this.look.lerp(this.look.clone().set(look.x, look.y, look.z), k);
    const cam = this.camera;
    cam.position.copy(this.pos);
    cam.lookAt(this.look);
    if (Math.abs(cam.aspect - r.w / r.h) > 0.01) {
      cam.aspect = r.w / r.h;
      cam.updateProjectionMatrix();
    }
    const size = renderer.getSize(new THREE.Vector2());
    const g = glRect(r, size.y);
    renderer.setScissorTest(true);
    renderer.setScissor(g.x, g.y, g.w, g.h);
    renderer.setViewport(g.x, g.y, g.w, g.h);
    renderer.render(scene, cam);
    renderer.setScissorTest(false);
    renderer.setViewport(0, 0, size.x, size.y);
    const info = renderer.info.render;
    this.stats = { calls: info.calls, triangles: info.triangles, ms: Math.round((performance.now() - t0) * 100) / 100 };
    return true;
  }
}
