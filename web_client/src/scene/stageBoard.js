/**
 * The chamber's screen on the stage's backdrop, behind the members and under the room's
 * name: the open agenda item and, while the speaker view does not show them, who holds the
 * floor (name and role) and their countdown, large. When the speaker view (ui/speakerView.js)
 * shows the speaker, the name and countdown are in its caption instead and the screen shows
 * the agenda only: the speaker and the countdown are on the screen once, never twice, and
 * never in a banner over the controls (issue 18). A canvas texture, redrawn only when one of
 * its texts changes (the countdown: once a second).
 */
import * as THREE from 'three';
import { BACKDROP_H, STAGE_HEIGHT } from './world.js';
import { FONT_STACK } from './textures.js';

const W = 1024;
const H = 320;

export class StageBoard {
  constructor(scene, room) {
    const st = room.stage;
    this.scene = scene;
    this.canvas = document.createElement('canvas');
    this.canvas.width = W;
    this.canvas.height = H;
    this.texture = new THREE.CanvasTexture(this.canvas);
    this.texture.colorSpace = THREE.SRGBColorSpace;
    this.texture.anisotropy = 2;
    const width = Math.min(st.width * 0.45, 6);
    const height = (width * H) / W;
    this.mesh = new THREE.Mesh(new THREE.PlaneGeometry(width, height), new THREE.MeshBasicMaterial({ map: this.texture }));
    // on the backdrop, below the room name (which ends ~1.45 m under the backdrop's top)
    const top = STAGE_HEIGHT + BACKDROP_H - 1.6;
    this.mesh.position.set(st.x, top - height / 2, st.z - st.depth / 2 - 0.015);
    this.mesh.name = 'meeting-board';
    scene.add(this.mesh);
    this.key = null;
    /** What the screen shows now (window.hiroba.meeting().screen): for tests. */
    this.texts = { agenda: '', speaker: '', clock: '' };
    this.update({});
  }

  /**
   * @param {{agenda?: string, speaker?: string, clock?: string, over?: boolean}} texts the
   *   open item's line, the speaker's name with role and the countdown ('' leaves each out;
   *   nothing at all hides the screen)
   */
  update({ agenda = '', speaker = '', clock = '', over = false }) {
    const key = `${agenda}\u0000${speaker}\u0000${clock}\u0000${over}`;
    if (key === this.key) return;
    this.key = key;
    this.texts = { agenda, speaker, clock };
    this.mesh.visible = !!(agenda || speaker);
    if (!this.mesh.visible) return;
    const g = this.canvas.getContext('2d');
    g.fillStyle = '#0f172a';
    g.fillRect(0, 0, W, H);
    g.strokeStyle = '#334155';
    g.lineWidth = 8;
    g.strokeRect(4, 4, W - 8, H - 8);
    g.textBaseline = 'middle';
    g.textAlign = 'left';
    const line = (text, x, y, px, color, maxW, weight = 700) => {
      g.font = `${weight} ${px}px ${FONT_STACK}`;
      g.fillStyle = color;
      g.fillText(text, x, y, maxW);
    };
    if (!speaker) {
      // the agenda alone, centred and as large as it fits
      g.textAlign = 'center';
      line(agenda, W / 2, H / 2, 76, '#f8fafc', W - 80);
    } else {
      if (agenda) line(agenda, 40, 62, 44, '#cbd5e1', W - 80, 600);
      line(speaker, 40, 200, 72, '#fde68a', clock ? W - 380 : W - 80);
      if (clock) {
        g.textAlign = 'right';
        line(clock, W - 40, 200, 112, over ? '#fca5a5' : '#f8fafc', 320);
      }
    }
    this.texture.needsUpdate = true;
  }

  dispose() {
    this.scene.remove(this.mesh);
    this.mesh.geometry.dispose();
    this.mesh.material.dispose();
    this.texture.dispose();
  }
}
