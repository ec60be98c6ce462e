/**
 * Light procedural avatars. Each face part (eyes, brows, mouth) is its own child mesh so
 * that tracked poses can drive expressions through `setExpression`. Geometries and
 * materials are shared between all avatars.
 */
import * as THREE from 'three';
import { labelTexture } from './textures.js';

export const BODY_TOP = 1.15;
export const BODY_Y = 0.6; // centre of the body capsule
export const NECK_Y = 1.13;
export const HEAD_R = 0.22;
const LABEL_Y = 1.95;
/** A name label's height in metres when near (scene/avatars.js enlarges it with distance). */
export const LABEL_H = 0.2;
/**
 * The render layer of name labels: the room camera sees it, the speaker view's close-up
 * (scene/speakerCam.js) does not (a label would hang over the speaker's head).
 */
export const LABEL_LAYER = 1;
/** The speaker's name label: amber with a dark border (the floor holder's ring colour). */
const LABEL_HIGHLIGHT = Object.freeze({ bg: '#fde68a', fg: '#111827', border: '#92400e' });
const SEATED_DROP = 0.55; // the body sinks into the chair when seated
export const BLOB_SEATED_Y = SEATED_DROP + 0.47; // the shadow sits on the chair when seated
// A raised hand (a committee's show of hands): an arm pivoting at the right shoulder
// (+x, the avatar's own right as in setExpression) from hanging by the side to above the head.
const SHOULDER_X = 0.24;
const SHOULDER_Y = 1.0;
const ARM_LENGTH = 0.72; // the hand clears the top of the head (NECK_Y + 2 HEAD_R)
const ARM_DOWN = -(Math.PI - 0.15); // hanging, slightly away from the body
const ARM_UP = -0.18; // up, leaning a little outward so that it clears the head
/** The crowd's raised arm (scene/avatars.js): from the shoulder up, this long at scale 1. */
export const CROWD_ARM = Object.freeze({ x: SHOULDER_X, y: SHOULDER_Y, length: 0.75 });

/** How far a hair cap tilts back so the forehead shows. */
export function capTilt(hair) {
  return hair === 'cap' ? 0.22 : 0.38;
}

let geo = null;
function geometries() {
  if (geo) return geo;
  const cap = new THREE.SphereGeometry(HEAD_R + 0.018, 12, 6, 0, Math.PI * 2, 0, 1.3);
  geo = {
    body: new THREE.CapsuleGeometry(0.25, 0.6, 3, 10),
    head: new THREE.SphereGeometry(HEAD_R, 14, 10),
    // eyes readable at phone size: a white (a flattened sphere, so it has depth from the
    // side) and a dark pupil disc in front of it that moves with the gaze
    eye: new THREE.SphereGeometry(0.05, 8, 6).scale(1, 1.15, 0.5),
    pupil: new THREE.CircleGeometry(0.028, 10).rotateY(Math.PI),
    brow: new THREE.BoxGeometry(0.075, 0.016, 0.016),
    mouth: new THREE.BoxGeometry(0.085, 0.02, 0.016),
    cap,
    longBack: new THREE.BoxGeometry(0.4, 0.42, 0.1),
    bun: new THREE.SphereGeometry(0.09, 10, 8),
    brim: new THREE.CylinderGeometry(0.15, 0.15, 0.02, 12, 1, false, Math.PI / 2, Math.PI),
    lens: new THREE.TorusGeometry(0.042, 0.008, 5, 14),
    bridge: new THREE.BoxGeometry(0.05, 0.008, 0.008),
    scarf: new THREE.TorusGeometry(0.17, 0.055, 6, 14),
    tie: new THREE.BoxGeometry(0.07, 0.32, 0.02),
    blob: new THREE.PlaneGeometry(0.9, 0.9),
    arm: new THREE.CapsuleGeometry(0.065, ARM_LENGTH - 0.13, 1, 6).translate(0, ARM_LENGTH / 2, 0),
    hand: new THREE.SphereGeometry(0.075, 6, 4),
  };
  geo.blob.rotateX(-Math.PI / 2);
  return geo;
}

let crowd = null;
/**
 * Cheaper shapes for the crowd (scene/avatars.js merges many copies into one mesh): the
 * mid avatar (body, head and hair cap with few segments, one geometry whose vertices are
 * numbered by part: 0 body, 1 skin, 2 hair), the far pawn (a five-sided body and an
 * octahedron head, 17 vertices, 23 triangles, all part 0) and the ring under a speaking
 * avatar.
 */
export function crowdGeometries() {
  if (crowd) return crowd;
  const ring = new THREE.RingGeometry(0.42, 0.56, 24);
  ring.rotateX(-Math.PI / 2);
  const body = new THREE.CapsuleGeometry(0.25, 0.6, 2, 6).translate(0, BODY_Y, 0);
  const head = new THREE.SphereGeometry(HEAD_R, 8, 5).translate(0, NECK_Y + HEAD_R, 0);
  const cap = new THREE.SphereGeometry(HEAD_R + 0.018, 6, 3, 0, Math.PI * 2, 0, 1.3)
    .rotateX(capTilt('short'))
    .translate(0, NECK_Y + HEAD_R, 0);
  // the raised arm of a mid or far avatar: one upright shape (no turning needed), its foot
  // at the shoulder
  const arm = new THREE.CylinderGeometry(0.085, 0.065, CROWD_ARM.length, 6).translate(0, CROWD_ARM.length / 2, 0);
  crowd = { mid: mergeParts([body, head, cap]), far: pawn(), ring, arm };
  return crowd;
}

/** One indexed geometry from several, each vertex numbered with its part (`part`). */
function mergeParts(parts) {
  const pos = [];
  const nor = [];
  const part = [];
  const idx = [];
  parts.forEach((g, p) => {
    const base = pos.length / 3;
    pos.push(...g.attributes.position.array);
    nor.push(...g.attributes.normal.array);
    for (let i = 0; i < g.attributes.position.count; i++) part.push(p);
    for (const i of g.index.array) idx.push(base + i);
  });
  const out = new THREE.BufferGeometry();
  out.setAttribute('position', new THREE.Float32BufferAttribute(pos, 3));
  out.setAttribute('normal', new THREE.Float32BufferAttribute(nor, 3));
  out.setAttribute('part', new THREE.Uint8BufferAttribute(part, 1));
  out.setIndex(idx);
  return out;
}

/** The far shape: an indexed five-sided frustum (no bottom) with an octahedron on top. */
function pawn() {
  const pos = [];
  const idx = [];
  const sides = 5;
  for (const [r, y] of [[0.27, 0], [0.17, 1.1]]) {
    for (let i = 0; i < sides; i++) {
      const a = (i / sides) * Math.PI * 2;
      pos.push(Math.sin(a) * r, y, Math.cos(a) * r);
    }
  }
  pos.push(0, 1.1, 0); // the top's centre
  for (let i = 0; i < sides; i++) {
    const j = (i + 1) % sides;
    idx.push(i, j, sides + i, j, sides + j, sides + i, sides + i, sides + j, 2 * sides);
  }
  const base = pos.length / 3;
  const hy = NECK_Y + HEAD_R;
  const hr = 0.21;
  pos.push(hr, hy, 0, -hr, hy, 0, 0, hy + hr, 0, 0, hy - hr, 0, 0, hy, hr, 0, hy, -hr);
  const faces = [[0, 2, 4], [0, 5, 2], [0, 3, 5], [0, 4, 3], [1, 4, 2], [1, 2, 5], [1, 5, 3], [1, 3, 4]];
  for (const f of faces) idx.push(...f.map((k) => base + k));
  const g = new THREE.BufferGeometry();
  g.setAttribute('position', new THREE.Float32BufferAttribute(pos, 3));
  g.setIndex(idx);
  g.computeVertexNormals();
  g.setAttribute('part', new THREE.Uint8BufferAttribute(new Uint8Array(pos.length / 3), 1)); // all body colour
  return g;
}

const materials = new Map();
/** One shared Lambert material per colour. */
export function colorMaterial(hex) {
  let m = materials.get(hex);
  if (!m) {
    m = new THREE.MeshLambertMaterial({ color: hex });
    materials.set(hex, m);
  }
  return m;
}

let blobMat = null;
export function setBlobTexture(tex) {
  blobMat = new THREE.MeshBasicMaterial({ map: tex, transparent: true, depthWrite: false });
}

/** The shared ground-shadow geometry and material (null before setBlobTexture). */
export function blobParts() {
  return blobMat ? { geometry: geometries().blob, material: blobMat } : null;
}

function mesh(g, m, x = 0, y = 0, z = 0) {
  const o = new THREE.Mesh(g, m);
  o.position.set(x, y, z);
  return o;
}

function addHair(head, style, color) {
  const g = geometries();
  const m = colorMaterial(color);
  if (style === 'bald') return;
  const cap = mesh(g.cap, m, 0, HEAD_R, 0);
  cap.rotation.x = capTilt(style);
  head.add(cap);
  if (style === 'long') head.add(mesh(g.longBack, m, 0, HEAD_R - 0.12, 0.14));
  if (style === 'bun') head.add(mesh(g.bun, m, 0, HEAD_R + 0.2, 0.14));
  if (style === 'cap') head.add(mesh(g.brim, m, 0, HEAD_R + 0.1, -0.13));
}

function addAccessory(root, head, kind) {
  const g = geometries();
  if (kind === 'glasses') {
    const m = colorMaterial('#1f2937');
    const y = HEAD_R + 0.03;
    const l = mesh(g.lens, m, -0.075, y, -0.222);
    const r = mesh(g.lens, m, 0.075, y, -0.222);
    const b = mesh(g.bridge, m, 0, y, -0.226);
    for (const o of [l, r, b]) {
      o.userData.detail = true;
      head.add(o);
    }
  } else if (kind === 'scarf') {
    const s = mesh(g.scarf, colorMaterial('#c2410c'), 0, BODY_TOP, 0);
    s.rotation.x = Math.PI / 2;
    s.userData.part = 'scarf';
    root.userData.torso.add(s);
  } else if (kind === 'tie') {
    const tie = mesh(g.tie, colorMaterial('#7f1d1d'), 0, 0.76, -0.25);
    tie.userData.detail = true;
    root.userData.torso.add(tie);
  }
}

/**
 * Build an avatar for a participant. `style` is a normalised avatar style; the root faces
 * -z so that `root.rotation.y = h` follows the protocol's heading convention.
 */
export function createAvatar(style, name, { accent = null } = {}) {
  const g = geometries();
  const root = new THREE.Group();
  const torso = new THREE.Group(); // breathing scales this
  root.add(torso);
  const body = mesh(g.body, colorMaterial(style.body), 0, BODY_Y, 0);
  body.userData.part = 'body';
  torso.add(body);

  const head = new THREE.Group(); // pivot at the neck: yaw/pitch/roll turn the whole head
  head.position.y = NECK_Y;
  head.rotation.order = 'YXZ';
  torso.add(head);
  const skull = mesh(g.head, colorMaterial(style.skin), 0, HEAD_R, 0);
  skull.userData.part = 'head';
  head.add(skull);

  const dark = colorMaterial('#1b1b1f');
  const white = colorMaterial('#f8fafc');
  const faceY = HEAD_R + 0.03;
  // the whites stand out of the head's surface (which is at z -0.204 there)
  const eyeL = mesh(g.eye, white, -0.078, faceY, -0.196);
  const eyeR = mesh(g.eye, white, 0.078, faceY, -0.196);
  // the pupils are children of the whites: a blink (the white's y scale) closes both
  const pupilL = mesh(g.pupil, dark, 0, 0, -0.0265);
  const pupilR = mesh(g.pupil, dark, 0, 0, -0.0265);
  eyeL.add(pupilL);
  eyeR.add(pupilR);
  const browMat = colorMaterial(style.hair === 'bald' || style.hair === 'cap' ? '#3f3f46' : style.hair_color);
  const browL = mesh(g.brow, browMat, -0.078, HEAD_R + 0.1, -0.19);
  const browR = mesh(g.brow, browMat, 0.078, HEAD_R + 0.1, -0.19);
  const mouth = mesh(g.mouth, colorMaterial('#8a3b3b'), 0, HEAD_R - 0.085, -0.2);
  for (const o of [eyeL, eyeR, pupilL, pupilR, browL, browR, mouth]) o.userData.detail = true;
  for (const o of [eyeL, eyeR, browL, browR, mouth]) head.add(o);

  root.userData = {
    torso, head, body, eyeL, eyeR, pupilL, pupilR, browL, browR, mouth,
    base: { browY: browL.position.y, mouthY: mouth.position.y, eyeY: eyeL.position.y, eyeX: eyeR.position.x },
    idle: { phase: Math.random() * 10, nextBlink: 0, blinkEnd: 0 },
    posedUntil: 0,
    label: null,
    details: [],
  };
  addHair(head, style.hair, style.hair_color);
  addAccessory(root, head, style.accessory);
  addArm(root, style);

  if (blobMat) {
    const blob = new THREE.Mesh(g.blob, blobMat);
    blob.position.y = 0.02;
    blob.userData.part = 'blob';
    root.add(blob);
    root.userData.blob = blob;
  }
  setName(root, name, accent);
  root.traverse((o) => {
    if (o.userData.detail) root.userData.details.push(o);
  });
  return root;
}

/**
 * Both arms, hanging by the sides (baked into the near mesh like the other parts: no draw
 * call of their own). The right one is the arm a committee member raises in a show of hands.
 */
function addArm(root, style) {
  const g = geometries();
  const sleeveMat = colorMaterial(style.body);
  const skinMat = colorMaterial(style.skin);
  const side = (sign) => {
    const arm = new THREE.Group(); // pivot at the shoulder
    arm.position.set(sign * SHOULDER_X, SHOULDER_Y, 0);
    arm.rotation.z = sign * ARM_DOWN;
    const sleeve = mesh(g.arm, sleeveMat);
    const hand = mesh(g.hand, skinMat, 0, ARM_LENGTH, 0);
    sleeve.userData.part = 'arm';
    hand.userData.part = 'hand';
    arm.add(sleeve, hand);
    root.userData.torso.add(arm);
    return { arm, hand };
  };
  side(-1);
  const right = side(1);
  root.userData.arm = right.arm;
  root.userData.hand = right.hand;
  root.userData.handUp = false;
}

/**
 * Raise the hand by `w` (0 hanging by the side .. 1 above the head), eased by the caller
 * (state/gestures.js); `handUp` says whether it is raised at all.
 */
export function setHandRaised(avatar, w) {
  const u = avatar.userData;
  u.handUp = w > 0.001;
  u.arm.rotation.z = ARM_DOWN + (ARM_UP - ARM_DOWN) * Math.min(1, Math.max(0, w));
}

/** (Re)draw the name label sprite. */
export function setName(avatar, name, accent = null) {
  const u = avatar.userData;
  if (u.label) {
    u.label.material.map.dispose();
    u.label.material.dispose();
    avatar.remove(u.label);
  }
  const { texture, aspect } = labelTexture(name, { accent });
  const sprite = new THREE.Sprite(new THREE.SpriteMaterial({ map: texture, depthWrite: false, transparent: true }));
  sprite.scale.set(LABEL_H * aspect, LABEL_H, 1);
  sprite.position.y = LABEL_Y;
  sprite.renderOrder = 2;
  sprite.layers.set(LABEL_LAYER);
  avatar.add(sprite);
  u.label = sprite;
  u.labelText = name;
  u.labelAccent = accent;
  u.labelAspect = aspect;
  u.labelHighlight = false;
}

/**
 * Highlight (or no longer) the name label as the speaker's: its texture is redrawn (a
 * rare event: the floor changes), the sprite stays where it is.
 */
export function setLabelHighlight(avatar, on) {
  const u = avatar.userData;
  if (!u.label || u.labelHighlight === on) return;
  const { texture, aspect } = labelTexture(u.labelText, on ? { accent: u.labelAccent, ...LABEL_HIGHLIGHT } : { accent: u.labelAccent });
  u.label.material.map.dispose();
  u.label.material.map = texture;
  u.label.material.needsUpdate = true;
  u.labelAspect = aspect;
  u.labelHighlight = on;
}

/**
 * Drive the face. Weights 0..1: blinkL, blinkR, wideL, wideR, browUpL, browUpR (or browUp
 * for both), browInner, browDownL, browDownR, jawOpen, smileL, smileR (or smile), frownL,
 * frownR, pucker, funnel, stretch, press; -1..1: gazeX (toward the avatar's right), gazeY
 * (up), mouthShift; head angles in radians (headYaw left-positive, headPitch up-positive,
 * headRoll). L/R are the avatar's own sides. Missing fields are 0 (state/expression.js
 * makes these from a pose).
 */
export function setExpression(avatar, e = {}) {
  const u = avatar.userData;
  const w = (k) => Math.min(1, Math.max(0, Number(e[k]) || 0));
  const s = (k) => Math.min(1, Math.max(-1, Number(e[k]) || 0));
  const b = u.base;
  u.eyeL.scale.y = Math.max(0.08, (1 - w('blinkL')) * (1 + w('wideL') * 0.35));
  u.eyeR.scale.y = Math.max(0.08, (1 - w('blinkR')) * (1 + w('wideR') * 0.35));
  // the pupils look around inside the whites (the whites stay put)
  const gx = s('gazeX') * 0.016;
  const gy = s('gazeY') * 0.012;
  u.pupilL.position.x = u.pupilR.position.x = gx;
  u.pupilL.position.y = u.pupilR.position.y = gy;
  const inner = w('browInner');
  const upL = e.browUpL === undefined ? w('browUp') : w('browUpL');
  const upR = e.browUpR === undefined ? w('browUp') : w('browUpR');
  const downL = w('browDownL');
  const downR = w('browDownR');
  u.browL.position.y = b.browY + upL * 0.03 - downL * 0.018;
  u.browR.position.y = b.browY + upR * 0.03 - downR * 0.018;
  // Each brow's inner end is toward the middle: raised by browInner, lowered in a frown.
  u.browL.rotation.z = 0.35 * inner - 0.3 * downL;
  u.browR.rotation.z = -(0.35 * inner - 0.3 * downR);
  const jaw = w('jawOpen');
  const smileL = e.smileL === undefined ? w('smile') : w('smileL');
  const smileR = e.smileR === undefined ? w('smile') : w('smileR');
  const smile = (smileL + smileR) / 2;
  const frownL = w('frownL');
  const frownR = w('frownR');
  const pucker = w('pucker');
  const funnel = w('funnel');
  const width = 1 + smile * 0.45 + w('stretch') * 0.3 - pucker * 0.45 - funnel * 0.3 - jaw * 0.2;
  const height = 1 + jaw * 3.2 + funnel * 1.2 + pucker * 0.3 - w('press') * 0.5;
  u.mouth.scale.set(Math.max(0.3, width), Math.max(0.3, height), 1);
  u.mouth.position.x = s('mouthShift') * 0.012;
  u.mouth.position.y = b.mouthY - jaw * 0.018 + smile * 0.006 - (frownL + frownR) * 0.004;
  // A one-sided smile lifts that corner; a one-sided frown drops it (left end is -x).
  u.mouth.rotation.z = -(smileL - smileR) * 0.3 + (frownL - frownR) * 0.3;
  u.head.rotation.set(Number(e.headPitch) || 0, Number(e.headYaw) || 0, Number(e.headRoll) || 0);
}

/**
 * Mark an avatar as driven by a tracked pose until `untilMs`; idle blinking pauses
 * meanwhile so the two do not fight.
 */
export function markPosed(avatar, untilMs) {
  avatar.userData.posedUntil = untilMs;
}

/** Idle life: breathing always, blinks and a faint head sway when no pose drives the face. */
export function tickIdle(avatar, nowMs, reducedMotion = false) {
  const u = avatar.userData;
  const s = nowMs / 1000 + u.idle.phase;
  u.torso.scale.y = 1 + Math.sin(s * 1.6) * 0.012;
  if (nowMs < u.posedUntil) return;
  const idle = u.idle;
  if (nowMs >= idle.nextBlink) {
    idle.blinkEnd = nowMs + 130;
    idle.nextBlink = nowMs + 2200 + Math.random() * 4000;
  }
  const blink = nowMs < idle.blinkEnd ? 1 : 0;
  const sway = reducedMotion ? 0 : 1;
  setExpression(avatar, {
    blinkL: blink,
    blinkR: blink,
    headYaw: Math.sin(s * 0.37) * 0.12 * sway,
    headPitch: Math.sin(s * 0.23) * 0.04 * sway,
    smile: 0.15,
  });
}

/** Free the per-avatar resources (the label); shared geometry and materials stay. */
export function disposeAvatar(avatar) {
  const l = avatar.userData.label;
  if (l) {
    l.material.map.dispose();
    l.material.dispose();
  }
  avatar.removeFromParent();
}

export { SEATED_DROP };
