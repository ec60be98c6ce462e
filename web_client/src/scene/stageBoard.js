/**
 * The meeting board over the stage: scenery, like the sign in a council chamber, showing
 * the open agenda item's title on a canvas texture above the backdrop. The speaker, the
 * countdown and captions are deliberately not here: they have one readable place on the
 * screen (the banner and the captions bar), not two (issue 15, defect 6). Redrawn only
 * when the title changes.
 */
import * as THREE from 'three';
import { STAGE_HEIGHT } from './world.js';
import { FONT_STACK } from './textures.js';

const W = 1024;
const H = 160;

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
    this.key = null;
    this.update({});
  }

  /** @param {{agenda?: string}} texts the open item's title ('' hides the board) */
  update({ agenda = '' }) {
    if (agenda === this.key) return;
    this.key = agenda;
    const g = this.canvas.getContext('2d');
    g.clearRect(0, 0, W, H);
    this.mesh.visible = !!agenda;
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
    line(agenda, H / 2, 64, '#f9fafb');
    this.texture.needsUpdate = true;
  }

  dispose() {
    this.scene.remove(this.mesh);
    this.mesh.geometry.dispose();
    this.mesh.material.dispose();
    this.texture.dispose();
  }
}
