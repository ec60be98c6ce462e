/**
 * The meeting board over the stage: the current agenda item, who has the floor with the
 * countdown, and the latest caption, drawn on a canvas texture above the backdrop so that
 * everyone in the plaza sees them. Redrawn only when a text changes (about once a second
 * while a countdown runs).
 */
import * as THREE from 'three';
import { STAGE_HEIGHT } from './world.js';
import { FONT_STACK } from './textures.js';

const W = 1024;
const H = 288;

export class StageBoard {
  constructor(scene, room) {
    const st = room.stage;
    this.scene = scene;
    this.canvas = document.createElement('canvas');
    this.canvas.width = W;
    this.canvas.height = H;
    this.texture = new THREE.CanvasTexture(this.canvas);
    this.texture.colorSpace = THREE.SRGBColorSpace;
    const width = Math.min(st.width - 1, 11);
    this.mesh = new THREE.Mesh(
      new THREE.PlaneGeometry(width, (width * H) / W),
      new THREE.MeshBasicMaterial({ map: this.texture, transparent: true }),
    );
    // above the backdrop (which ends 3.2 m over the stage), facing the audience
    this.mesh.position.set(st.x, STAGE_HEIGHT + 3.35 + (width * H) / W / 2, st.z - st.depth / 2 - 0.05);
    this.mesh.name = 'meeting-board';
    scene.add(this.mesh);
    this.key = '';
    this.update({});
  }

  /** @param {{agenda?: string, floor?: string, caption?: string, over?: boolean}} texts */
  update({ agenda = '', floor = '', caption = '', over = false }) {
    const key = JSON.stringify([agenda, floor, caption, over]);
    if (key === this.key) return;
    this.key = key;
    const g = this.canvas.getContext('2d');
    g.clearRect(0, 0, W, H);
    this.mesh.visible = !!(agenda || floor || caption);
    if (!this.mesh.visible) return;
    g.fillStyle = 'rgba(17, 24, 39, 0.82)';
    g.beginPath();
    if (g.roundRect) g.roundRect(4, 4, W - 8, H - 8, 24);
    else g.rect(4, 4, W - 8, H - 8);
    g.fill();
    g.textBaseline = 'middle';
    const line = (text, y, px, color) => {
      if (!text) return;
      g.font = `700 ${px}px ${FONT_STACK}`;
      g.fillStyle = color;
      g.fillText(text, 32, y, W - 64);
    };
    line(agenda, 56, 44, '#e5e7eb');
    line(floor, 140, 60, over ? '#fca5a5' : '#fde68a');
    line(caption, 226, 44, '#ffffff');
    this.texture.needsUpdate = true;
  }

  dispose() {
    this.scene.remove(this.mesh);
    this.mesh.geometry.dispose();
    this.mesh.material.dispose();
    this.texture.dispose();
  }
}
