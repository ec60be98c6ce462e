/**
 * Dynamic meshes that draw many avatars in one call each, refilled every frame with only
 * what is in view (scene/avatars.js decides what goes where): an InstancedMesh (`Batch`),
 * copies of one small shape merged on the CPU (`Merged`), and the near avatars' parts
 * baked into one mesh (`NearMesh`).
 */
import * as THREE from 'three';

/** A growable InstancedMesh filled from scratch every frame with the visible instances. */
export class Batch {
  constructor(scene, geometry, material, colored, renderOrder = 0) {
    this.scene = scene;
    this.renderOrder = renderOrder;
    this.geometry = geometry;
    this.material = material;
    this.colored = colored;
    this.mesh = null;
    this.capacity = 0;
    this.n = 0;
    this.ensure(64);
  }

  ensure(n) {
    if (this.mesh && n <= this.capacity) return;
    const cap = Math.max(64, 2 ** Math.ceil(Math.log2(n)));
    if (this.mesh) {
      this.scene.remove(this.mesh);
      this.mesh.dispose();
    }
    const m = new THREE.InstancedMesh(this.geometry, this.material, cap);
    m.instanceMatrix.setUsage(THREE.DynamicDrawUsage);
    if (this.colored) m.instanceColor = new THREE.InstancedBufferAttribute(new Float32Array(cap * 3), 3).setUsage(THREE.DynamicDrawUsage);
    m.frustumCulled = false; // culled per instance while filling
    m.renderOrder = this.renderOrder;
    m.count = 0;
    m.visible = false;
    this.scene.add(m);
    this.mesh = m;
    this.capacity = cap;
  }

  begin(max) {
    this.ensure(Math.max(1, max));
    this.n = 0;
  }

  /** Grow while filling, keeping the instances put so far. */
  grow(max) {
    const m = this.mesh;
    const n = this.n;
    const matrices = m.instanceMatrix.array.slice(0, n * 16);
    const colors = m.instanceColor ? m.instanceColor.array.slice(0, n * 3) : null;
    this.ensure(Math.max(max, n + 1));
    this.mesh.instanceMatrix.array.set(matrices);
    if (colors) this.mesh.instanceColor.array.set(colors);
  }

  /** An instance translated to (x, y, z), scaled by s, no rotation. */
  put(x, y, z, s = 1, color = null) {
    const i = this.n++;
    const a = this.mesh.instanceMatrix.array;
    const o = i * 16;
    a[o] = s; a[o + 1] = 0; a[o + 2] = 0; a[o + 3] = 0;
    a[o + 4] = 0; a[o + 5] = s; a[o + 6] = 0; a[o + 7] = 0;
    a[o + 8] = 0; a[o + 9] = 0; a[o + 10] = s; a[o + 11] = 0;
    a[o + 12] = x; a[o + 13] = y; a[o + 14] = z; a[o + 15] = 1;
    if (color) color.toArray(this.mesh.instanceColor.array, i * 3);
  }

  putMatrix(matrix, color = null) {
    const i = this.n++;
    matrix.toArray(this.mesh.instanceMatrix.array, i * 16);
    if (color) color.toArray(this.mesh.instanceColor.array, i * 3);
  }

  end() {
    const m = this.mesh;
    m.count = this.n;
    m.visible = this.n > 0;
    if (!this.n) return;
    m.instanceMatrix.clearUpdateRanges();
    m.instanceMatrix.addUpdateRange(0, this.n * 16);
    m.instanceMatrix.needsUpdate = true;
    if (m.instanceColor) {
      m.instanceColor.clearUpdateRanges();
      m.instanceColor.addUpdateRange(0, this.n * 3);
      m.instanceColor.needsUpdate = true;
    }
  }

  dispose() {
    this.scene.remove(this.mesh);
    this.mesh.dispose();
  }
}

/**
 * Many copies of one small shape merged into a single dynamic mesh, rewritten on the CPU
 * every frame: one draw however many copies. (Software renderers such as SwiftShader
 * process each instance of an InstancedMesh almost like a draw call of its own, so for
 * hundreds of copies one merged buffer is far cheaper; on a GPU both are cheap.)
 * `template` is an indexed geometry whose vertices carry a part number in `part` (which
 * of a copy's colours they take).
 */
export class Merged {
  constructor(scene, template, material, rotate) {
    this.scene = scene;
    this.material = material;
    this.rotate = rotate;
    this.tPos = template.attributes.position.array;
    this.tNor = template.attributes.normal.array;
    this.tPart = template.attributes.part.array;
    this.tIdx = template.index.array;
    this.V = this.tPos.length / 3;
    this.mesh = null;
    this.capacity = 0;
    this.n = 0;
    this.ensure(32);
  }

  ensure(n) {
    if (this.mesh && n <= this.capacity) return;
    const cap = Math.max(32, 2 ** Math.ceil(Math.log2(n)));
    if (this.mesh) {
      this.scene.remove(this.mesh);
      this.mesh.geometry.dispose();
    }
    const V = this.V;
    const I = this.tIdx.length;
    const g = new THREE.BufferGeometry();
    const attr = (k) => new THREE.BufferAttribute(new Float32Array(cap * V * k), k).setUsage(THREE.DynamicDrawUsage);
    g.setAttribute('position', attr(3));
    g.setAttribute('normal', attr(3));
    g.setAttribute('color', attr(3));
    const index = cap * V > 65535 ? new Uint32Array(cap * I) : new Uint16Array(cap * I);
    for (let k = 0; k < cap; k++) for (let i = 0; i < I; i++) index[k * I + i] = this.tIdx[i] + k * V;
    g.setIndex(new THREE.BufferAttribute(index, 1));
    if (!this.rotate) { // normals never change: fill them once
      const nor = g.attributes.normal.array;
      for (let k = 0; k < cap; k++) nor.set(this.tNor, k * V * 3);
    }
    const m = new THREE.Mesh(g, this.material);
    m.frustumCulled = false; // culled per copy while filling
    m.visible = false;
    this.scene.add(m);
    this.mesh = m;
    this.capacity = cap;
  }

  begin(max) {
    this.ensure(Math.max(1, max));
    this.n = 0;
  }

  /** A copy at (x, y, z), turned by h about y when rotating, coloured by `colors[part]`. */
  put(x, y, z, h, colors) {
    const k = this.n++;
    const g = this.mesh.geometry;
    const pos = g.attributes.position.array;
    const col = g.attributes.color.array;
    const nor = g.attributes.normal.array;
    const { tPos, tNor, tPart, V } = this;
    const c = this.rotate ? Math.cos(h) : 1;
    const s = this.rotate ? Math.sin(h) : 0;
    let o = k * V * 3;
    for (let v = 0; v < V; v++, o += 3) {
      const tx = tPos[v * 3], ty = tPos[v * 3 + 1], tz = tPos[v * 3 + 2];
      pos[o] = x + tx * c + tz * s;
      pos[o + 1] = y + ty;
      pos[o + 2] = z - tx * s + tz * c;
      if (this.rotate) {
        const nx = tNor[v * 3], nz = tNor[v * 3 + 2];
        nor[o] = nx * c + nz * s;
        nor[o + 1] = tNor[v * 3 + 1];
        nor[o + 2] = -nx * s + nz * c;
      }
      const color = colors[tPart[v]];
      col[o] = color.r;
      col[o + 1] = color.g;
      col[o + 2] = color.b;
    }
  }

  end() {
    const m = this.mesh;
    const g = m.geometry;
    m.visible = this.n > 0;
    if (!this.n) return;
    g.setDrawRange(0, this.n * this.tIdx.length);
    const names = this.rotate ? ['position', 'normal', 'color'] : ['position', 'color'];
    for (const name of names) {
      const a = g.attributes[name];
      a.clearUpdateRanges();
      a.addUpdateRange(0, this.n * this.V * 3);
      a.needsUpdate = true;
    }
  }

  dispose() {
    this.scene.remove(this.mesh);
    this.mesh.geometry.dispose();
  }
}

/**
 * The near avatars' Lambert parts, each baked with its matrixWorld and colour into one
 * dynamic mesh every frame: one draw for all their bodies, heads, hair and faces.
 */
export class NearMesh {
  constructor(scene, material) {
    this.scene = scene;
    this.material = material;
    this.mesh = null;
    this.vcap = 0;
    this.icap = 0;
    this.v = 0;
    this.i = 0;
    this.#alloc(8192, 16384);
  }

  #alloc(vcap, icap) {
    const old = this.mesh?.geometry;
    const g = new THREE.BufferGeometry();
    for (const name of ['position', 'normal', 'color']) {
      const a = new Float32Array(vcap * 3);
      if (old) a.set(old.attributes[name].array.subarray(0, this.v * 3));
      g.setAttribute(name, new THREE.BufferAttribute(a, 3).setUsage(THREE.DynamicDrawUsage));
    }
    const index = new Uint32Array(icap);
    if (old) index.set(old.index.array.subarray(0, this.i));
    g.setIndex(new THREE.BufferAttribute(index, 1).setUsage(THREE.DynamicDrawUsage));
    if (this.mesh) {
      this.scene.remove(this.mesh);
      old.dispose();
    }
    this.mesh = new THREE.Mesh(g, this.material);
    this.mesh.frustumCulled = false;
    this.mesh.visible = false;
    this.scene.add(this.mesh);
    this.vcap = vcap;
    this.icap = icap;
  }

  begin() {
    this.v = 0;
    this.i = 0;
  }

  /** Bake one part (an indexed mesh whose matrixWorld is up to date). */
  add(part) {
    const src = part.geometry;
    const sp = src.attributes.position.array;
    const sn = src.attributes.normal.array;
    const si = src.index.array;
    const nv = sp.length / 3;
    if (this.v + nv > this.vcap || this.i + si.length > this.icap) {
      this.#alloc(Math.max(this.vcap * 2, this.v + nv), Math.max(this.icap * 2, this.i + si.length));
    }
    const g = this.mesh.geometry;
    const pos = g.attributes.position.array;
    const nor = g.attributes.normal.array;
    const col = g.attributes.color.array;
    const e = part.matrixWorld.elements;
    const { r, g: gr, b } = part.material.color;
    let o = this.v * 3;
    for (let k = 0; k < nv * 3; k += 3, o += 3) {
      const x = sp[k], y = sp[k + 1], z = sp[k + 2];
      pos[o] = e[0] * x + e[4] * y + e[8] * z + e[12];
      pos[o + 1] = e[1] * x + e[5] * y + e[9] * z + e[13];
      pos[o + 2] = e[2] * x + e[6] * y + e[10] * z + e[14];
      const nx = sn[k], ny = sn[k + 1], nz = sn[k + 2];
      const tx = e[0] * nx + e[4] * ny + e[8] * nz;
      const ty = e[1] * nx + e[5] * ny + e[9] * nz;
      const tz = e[2] * nx + e[6] * ny + e[10] * nz;
      const l = Math.hypot(tx, ty, tz) || 1;
      nor[o] = tx / l;
      nor[o + 1] = ty / l;
      nor[o + 2] = tz / l;
      col[o] = r;
      col[o + 1] = gr;
      col[o + 2] = b;
    }
    const idx = g.index.array;
    for (let k = 0; k < si.length; k++) idx[this.i + k] = si[k] + this.v;
    this.v += nv;
    this.i += si.length;
  }

  end() {
    const m = this.mesh;
    const g = m.geometry;
    m.visible = this.i > 0;
    if (!this.i) return;
    g.setDrawRange(0, this.i);
    for (const a of [g.attributes.position, g.attributes.normal, g.attributes.color]) {
      a.clearUpdateRanges();
      a.addUpdateRange(0, this.v * 3);
      a.needsUpdate = true;
    }
    g.index.clearUpdateRanges();
    g.index.addUpdateRange(0, this.i);
    g.index.needsUpdate = true;
  }

  dispose() {
    this.scene.remove(this.mesh);
    this.mesh.geometry.dispose();
  }
}
