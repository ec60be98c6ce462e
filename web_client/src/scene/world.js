/**
 * The static plaza of a room: sky, lights, paved ground inside a low fence, the raised
 * stage with its seats and banner, the gallery marking and the notice boards. Low polygon
 * counts; repeated pieces (fence posts, seats, trees) are instanced.
 */
import * as THREE from 'three';
import { bannerTexture, boardTexture, nameplateAtlas, pavingTexture, FONT_STACK } from './textures.js';

export const STAGE_HEIGHT = 0.6;
/** The stage's backdrop: tall enough for the room name above the chamber's screen. */
export const BACKDROP_H = 5;
/** The members' low desks: their top above the stage, and how far in front of the seat. */
const DESK_TOP = 0.45;
const DESK_AHEAD = 0.55;
const PLATE = Object.freeze({ w: 0.86, h: 0.2 });
const PLATE_COLS = 4; // nameplates per row of the atlas texture
export const SKY = '#bfe1f2';

const mat = (color, extra = {}) => new THREE.MeshLambertMaterial({ color, ...extra });

/** Instanced copies of one geometry at the given matrices. */
function instanced(geometry, material, matrices) {
  const m = new THREE.InstancedMesh(geometry, material, Math.max(1, matrices.length));
  matrices.forEach((mx, i) => m.setMatrixAt(i, mx));
  m.count = matrices.length;
  m.computeBoundingSphere();
  return m;
}

const tmp = new THREE.Object3D();
function matrixAt(x, y, z, ry = 0, sx = 1, sy = 1, sz = 1) {
  tmp.position.set(x, y, z);
  tmp.rotation.set(0, ry, 0);
  tmp.scale.set(sx, sy, sz);
  tmp.updateMatrix();
  return tmp.matrix.clone();
}

function groundText(text, w = 512, h = 96) {
  const c = document.createElement('canvas');
  c.width = w;
  c.height = h;
  const g = c.getContext('2d');
  g.fillStyle = 'rgba(30,58,95,0.75)';
  g.font = `700 56px ${FONT_STACK}`;
  g.textAlign = 'center';
  g.textBaseline = 'middle';
  g.fillText(text, w / 2, h / 2, w - 16);
  const tex = new THREE.CanvasTexture(c);
  tex.colorSpace = THREE.SRGBColorSpace;
  return tex;
}

export class World {
  /**
   * @param {THREE.Scene} scene
   * @param {object} room  the snapshot's Room
   * @param {{roomName:string, boardHeading:string, boardEmpty:string, gallery:string}} strings
   */
  constructor(scene, room, strings) {
    this.scene = scene;
    this.room = room;
    this.group = new THREE.Group();
    this.disposables = [];
    scene.add(this.group);
    scene.background = new THREE.Color(SKY);
    scene.fog = new THREE.Fog(SKY, 45, 140);
    this.#lights();
    this.#ground();
    this.#fence();
    this.#trees();
    if (room.gallery) this.#gallery(room.gallery);
    if (room.stage) this.#stage(room.stage, room.seats || []);
    this.boardMeshes = [];
    this.#boards(room.boards || []);
    this.setStrings(strings);
  }

  #add(o) {
    this.group.add(o);
    return o;
  }

  #lights() {
    this.#add(new THREE.HemisphereLight('#e0f0ff', '#8c8068', 2.2));
    // The sun stands low on the audience's side (+z), so the members on the stage have lit
    // faces: a light of its own for the stage cost software WebGL (an old phone without a
    // usable GPU) about a quarter more per frame, the sun's new angle nothing.
    const sun = new THREE.DirectionalLight('#fff4e0', 2.3);
    sun.position.set(8, 18, 22);
    this.#add(sun);
  }

  #ground() {
    const b = this.room.bounds;
    const w = b.max_x - b.min_x;
    const d = b.max_z - b.min_z;
    const cx = (b.min_x + b.max_x) / 2;
    const cz = (b.min_z + b.max_z) / 2;
    const grass = new THREE.Mesh(new THREE.PlaneGeometry(w + 160, d + 160), mat('#86ad6b'));
    grass.rotation.x = -Math.PI / 2;
    grass.position.set(cx, -0.02, cz);
    // The ground is drawn after the other opaque things (renderOrder sorts first), so the
    // depth test skips its pixels under avatars and buildings: less fill on weak devices.
    grass.renderOrder = 1;
    this.#add(grass);
    const tex = pavingTexture();
    tex.repeat.set(w / 3, d / 3);
    this.disposables.push(tex);
    const paving = new THREE.Mesh(new THREE.PlaneGeometry(w + 1, d + 1), new THREE.MeshLambertMaterial({ map: tex }));
    paving.rotation.x = -Math.PI / 2;
    paving.position.set(cx, 0, cz);
    paving.renderOrder = 1;
    this.ground = this.#add(paving);
  }

  #fence() {
    const b = this.room.bounds;
    const posts = [];
    const rails = [];
    const step = 2.5;
    const sides = [
      [b.min_x, b.min_z, b.max_x, b.min_z],
      [b.max_x, b.min_z, b.max_x, b.max_z],
      [b.max_x, b.max_z, b.min_x, b.max_z],
      [b.min_x, b.max_z, b.min_x, b.min_z],
    ];
    for (const [x0, z0, x1, z1] of sides) {
      const len = Math.hypot(x1 - x0, z1 - z0);
      const n = Math.max(1, Math.round(len / step));
      for (let i = 0; i < n; i++) {
        const f = i / n;
        posts.push(matrixAt(x0 + (x1 - x0) * f, 0.3, z0 + (z1 - z0) * f));
      }
      const ry = Math.atan2(x1 - x0, z1 - z0);
      for (const y of [0.25, 0.5]) rails.push(matrixAt((x0 + x1) / 2, y, (z0 + z1) / 2, ry, 1, 1, len));
    }
    const wood = mat('#7c5a3a');
    this.#add(instanced(new THREE.BoxGeometry(0.1, 0.6, 0.1), wood, posts));
    this.#add(instanced(new THREE.BoxGeometry(0.05, 0.06, 1), wood, rails));
  }

  #trees() {
    const b = this.room.bounds;
    const trunks = [];
    const crowns = [];
    const ring = 5;
    for (let x = b.min_x; x <= b.max_x; x += 9) {
      for (const z of [b.min_z - ring, b.max_z + ring]) {
        trunks.push(matrixAt(x, 0.8, z));
        crowns.push(matrixAt(x, 2.6, z, 0, 1, 1 + ((x * 7) % 3) * 0.12, 1));
      }
    }
    for (let z = b.min_z + 4; z <= b.max_z - 4; z += 9) {
      for (const x of [b.min_x - ring, b.max_x + ring]) {
        trunks.push(matrixAt(x, 0.8, z));
        crowns.push(matrixAt(x, 2.6, z));
      }
    }
    this.#add(instanced(new THREE.CylinderGeometry(0.15, 0.2, 1.6, 6), mat('#6b4f35'), trunks));
    this.#add(instanced(new THREE.ConeGeometry(1.3, 2.8, 7), mat('#3f7d4a'), crowns));
  }

  #gallery(gz) {
    const area = new THREE.Mesh(
      new THREE.PlaneGeometry(gz.width, gz.depth),
      new THREE.MeshLambertMaterial({ color: '#5b7db1', transparent: true, opacity: 0.18, depthWrite: false }),
    );
    area.rotation.x = -Math.PI / 2;
    area.position.set(gz.x, 0.01, gz.z);
    this.#add(area);
    const line = mat('#f8fafc');
    const t = 0.12;
    const edges = [
      matrixAt(gz.x, 0.015, gz.z - gz.depth / 2, 0, gz.width, 1, t),
      matrixAt(gz.x, 0.015, gz.z + gz.depth / 2, 0, gz.width, 1, t),
      matrixAt(gz.x - gz.width / 2, 0.015, gz.z, 0, t, 1, gz.depth),
      matrixAt(gz.x + gz.width / 2, 0.015, gz.z, 0, t, 1, gz.depth),
    ];
    this.#add(instanced(new THREE.BoxGeometry(1, 0.01, 1), line, edges));
    this.galleryLabel = new THREE.Mesh(
      new THREE.PlaneGeometry(Math.min(gz.width * 0.6, 8), Math.min(gz.width * 0.6, 8) * 96 / 512),
      new THREE.MeshBasicMaterial({ transparent: true, depthWrite: false }),
    );
    this.galleryLabel.rotation.x = -Math.PI / 2;
    this.galleryLabel.position.set(gz.x, 0.02, gz.z - gz.depth / 2 + 1.2);
    this.#add(this.galleryLabel);
  }

  #stage(st, seats) {
    const H = STAGE_HEIGHT;
    const deck = new THREE.Mesh(new THREE.BoxGeometry(st.width, H, st.depth), mat('#a47551'));
    deck.position.set(st.x, H / 2, st.z);
    this.#add(deck);
    const carpet = new THREE.Mesh(new THREE.PlaneGeometry(st.width - 0.6, st.depth - 0.6), mat('#8c2f39'));
    carpet.rotation.x = -Math.PI / 2;
    carpet.position.set(st.x, H + 0.005, st.z);
    this.#add(carpet);
    // two steps at the front, toward the audience (+z)
    const front = st.z + st.depth / 2;
    const steps = [
      matrixAt(st.x, H / 3, front + 0.15, 0, 2.4, (2 * H) / 3, 0.3),
      matrixAt(st.x, H / 6, front + 0.45, 0, 2.4, H / 3, 0.3),
    ];
    this.#add(instanced(new THREE.BoxGeometry(1, 1, 1), mat('#8f6445'), steps));
    // backdrop with the room name at its top; the chamber's screen (scene/stageBoard.js)
    // hangs on it below the name, above the seated members' heads
    const back = new THREE.Mesh(new THREE.BoxGeometry(st.width, BACKDROP_H, 0.15), mat('#e8e2d6'));
    back.position.set(st.x, H + BACKDROP_H / 2, st.z - st.depth / 2 - 0.1);
    this.#add(back);
    const bw = Math.min(st.width - 1, 10);
    this.banner = new THREE.Mesh(new THREE.PlaneGeometry(bw, bw / 8), new THREE.MeshBasicMaterial());
    this.banner.position.set(st.x, H + BACKDROP_H - 0.2 - bw / 16, st.z - st.depth / 2 - 0.02);
    this.#add(this.banner);
    this.#chamber(st, seats);
  }

  /**
   * A council chamber's furniture: a chair at every seat (the chair's taller, in red), a
   * low desk in front of each with a nameplate facing the audience. Four draws however many
   * seats: seats and backs instanced (coloured per instance), desks instanced, and every
   * nameplate one merged mesh on one atlas texture (redrawn when the occupants change).
   */
  #chamber(st, seats) {
    if (!seats.length) return;
    const H = STAGE_HEIGHT;
    const seatM = [];
    const backM = [];
    const deskM = [];
    const plates = [];
    for (const s of seats) {
      const fx = -Math.sin(s.h), fz = -Math.cos(s.h);
      const tall = s.chair ? 1.5 : 1;
      seatM.push(matrixAt(s.x, H + 0.42, s.z, s.h));
      backM.push(matrixAt(s.x - fx * 0.24, H + 0.42 + 0.33 * tall, s.z - fz * 0.24, s.h, 1, tall, 1));
      deskM.push(matrixAt(s.x + fx * DESK_AHEAD, H + DESK_TOP / 2, s.z + fz * DESK_AHEAD, s.h, s.chair ? 1.25 : 1, 1, 1));
      // the plate stands on the desk's front edge, facing the audience
      const d = DESK_AHEAD + 0.2;
      plates.push({ x: s.x + fx * d, y: H + DESK_TOP + PLATE.h / 2, z: s.z + fz * d, h: s.h });
    }
    const chair = mat('#ffffff');
    const seatMesh = this.#add(instanced(new THREE.BoxGeometry(0.55, 0.08, 0.5), chair, seatM));
    const backMesh = this.#add(instanced(new THREE.BoxGeometry(0.55, 0.66, 0.06), chair, backM));
    const member = new THREE.Color('#374151');
    const presiding = new THREE.Color('#7f1d1d');
    seats.forEach((s, i) => {
      seatMesh.setColorAt(i, s.chair ? presiding : member);
      backMesh.setColorAt(i, s.chair ? presiding : member);
    });
    this.#add(instanced(new THREE.BoxGeometry(0.95, DESK_TOP, 0.4), mat('#6b4a2f'), deskM));
    this.seats = seats;
    this.plates = this.#plateMesh(plates, Math.ceil(seats.length / PLATE_COLS));
    this.plateKey = null;
  }

  /** One mesh of quads, the i-th showing the i-th cell of the nameplate atlas. */
  #plateMesh(plates, rows) {
    const pos = [];
    const uv = [];
    const idx = [];
    plates.forEach((p, i) => {
      // the quad's own x axis: to the right as seen from the front (facing -sin h, -cos h)
      const rx = -Math.cos(p.h), rz = Math.sin(p.h);
      const fx = -Math.sin(p.h), fz = -Math.cos(p.h);
      const tilt = 0.04; // leans back a little
      const u0 = (i % PLATE_COLS) / PLATE_COLS, u1 = u0 + 1 / PLATE_COLS;
      const v1 = 1 - Math.floor(i / PLATE_COLS) / rows, v0 = v1 - 1 / rows;
      const w = PLATE.w / 2, hh = PLATE.h / 2;
      const base = pos.length / 3;
      for (const [sx, sy, u, v] of [[-1, -1, u0, v0], [1, -1, u1, v0], [1, 1, u1, v1], [-1, 1, u0, v1]]) {
        pos.push(p.x + rx * w * sx - fx * tilt * sy, p.y + hh * sy, p.z + rz * w * sx - fz * tilt * sy);
        uv.push(u, v);
      }
      idx.push(base, base + 1, base + 2, base, base + 2, base + 3);
    });
    const g = new THREE.BufferGeometry();
    g.setAttribute('position', new THREE.Float32BufferAttribute(pos, 3));
    g.setAttribute('uv', new THREE.Float32BufferAttribute(uv, 2));
    g.setIndex(idx);
    const m = new THREE.Mesh(g, new THREE.MeshBasicMaterial({ side: THREE.DoubleSide }));
    m.name = 'nameplates';
    return this.#add(m);
  }

  /**
   * The nameplates: `bySeat` maps a seat id to the text on its plate (the member's name and
   * role; the chair's reads 委員長 first). Redrawn only when the texts change.
   */
  setNameplates(bySeat) {
    if (!this.plates) return;
    const texts = this.seats.map((s) => bySeat[s.id] ?? '');
    const key = texts.join('\u0000');
    if (key === this.plateKey) return;
    this.plateKey = key;
    this.plateTexts = texts;
    this.#swapMap(this.plates.material, nameplateAtlas(texts, this.seats.map((s) => !!s.chair), PLATE_COLS));
  }

  #boards(boards) {
    const post = new THREE.CylinderGeometry(0.06, 0.06, 3.6, 6);
    const panel = new THREE.BoxGeometry(2.5, 3.05, 0.08);
    const face = new THREE.PlaneGeometry(2.3, 2.875);
    const wood = mat('#5b4636');
    for (const b of boards) {
      const g = new THREE.Group();
      g.position.set(b.x, 0, b.z);
      g.rotation.y = b.h || 0;
      for (const px of [-1.3, 1.3]) {
        const p = new THREE.Mesh(post, wood);
        p.position.set(px, 1.8, 0);
        g.add(p);
      }
      const pm = new THREE.Mesh(panel, wood);
      pm.position.y = 2.05;
      g.add(pm);
      // readable from both sides, so the board's facing convention does not matter
      const m = new THREE.MeshBasicMaterial();
      for (const side of [-1, 1]) {
        const f = new THREE.Mesh(face, m);
        f.position.set(0, 2.05, side * 0.045);
        if (side < 0) f.rotation.y = Math.PI;
        g.add(f);
      }
      this.#add(g);
      this.boardMeshes.push({ board: b, material: m });
    }
  }

  /** Redraw the texts that depend on the UI language. */
  setStrings(strings) {
    this.strings = strings;
    if (this.banner) this.#swapMap(this.banner.material, bannerTexture(strings.roomName));
    if (this.galleryLabel) this.#swapMap(this.galleryLabel.material, groundText(strings.gallery));
    for (const { board, material } of this.boardMeshes) {
      this.#swapMap(material, boardTexture(board.notices || [], { heading: strings.boardHeading, empty: strings.boardEmpty }));
    }
  }

  #swapMap(material, tex) {
    if (material.map) material.map.dispose();
    material.map = tex;
    material.needsUpdate = true;
  }

  /** Floor height at (x, z): on the stage or on the ground. */
  floorAt(x, z) {
    const st = this.room.stage;
    if (st && Math.abs(x - st.x) < st.width / 2 && Math.abs(z - st.z) < st.depth / 2) return STAGE_HEIGHT;
    return 0;
  }

  dispose() {
    this.group.traverse((o) => {
      if (o.geometry) o.geometry.dispose();
      if (o.material) {
        if (o.material.map) o.material.map.dispose();
        o.material.dispose();
      }
    });
    for (const d of this.disposables) d.dispose();
    this.scene.remove(this.group);
  }
}
