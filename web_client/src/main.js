/**
 * Entry point: wires the join screen, the socket adapter, the pure state (participants,
 * interpolation, local movement) and the 3D plaza, and exposes `window.hiroba.state()`.
 */
import { i18n, pickLang, t } from './i18n.js';
import { HirobaSocket, JoinError } from './net/socket.js';
import { ParticipantStore } from './state/participants.js';
import { RemoteMotion } from './state/interp.js';
import { LocalMover } from './state/movement.js';
import { MoveGate } from './state/sendgate.js';
import { applyTranslations, KEYS, store as storage } from './ui/dom.js';
import { JoinScreen, reasonText } from './ui/join.js';
import { Hud } from './ui/hud.js';
import { Announcer } from './ui/announcer.js';

const $ = (id) => document.getElementById(id);
const reducedMotion = matchMedia('(prefers-reduced-motion: reduce)');

const participants = new ParticipantStore();
const motion = new RemoteMotion();
const rendered = new Map(); // id -> {x, z, h} as drawn this frame
let net = null;
let plaza = null;
let controls = null;
let mover = null;
let gate = null;
let joined = false;
let cameraMode = 'follow';
let running = false;
let lastFrame = 0;
const frameTimes = [];

const announcer = new Announcer($('live'));
const join = new JoinScreen(doJoin, setLang);
const hud = new Hud({
  onLeave: doLeave,
  onToggleView: () => {
    cameraMode = cameraMode === 'stage' ? 'follow' : 'stage';
    plaza?.rig.setMode(cameraMode);
    hud.setMode(cameraMode);
  },
  onLang: setLang,
});

async function setLang(lang) {
  await i18n.setLang(lang);
  storage.set(KEYS.lang, i18n.lang);
  // a rejoin after a reconnect should use the language chosen since
  if (net?.joinPayload) net.joinPayload = { ...net.joinPayload, lang: i18n.lang };
  applyTranslations();
  join.setLang(i18n.lang);
  hud.render();
  if (plaza?.world) plaza.world.setStrings(sceneStrings());
}

function sceneStrings() {
  const room = participants.room;
  return {
    roomName: room ? i18n.pick(room.name) : '',
    boardHeading: t('scene.boardHeading'),
    boardEmpty: t('scene.boardEmpty'),
    gallery: t('scene.gallery'),
  };
}

/** Lazily load three.js and the scene code: the join screen does not need them. */
async function ensurePlaza() {
  if (plaza) return;
  const [{ Plaza }, { Controls }] = await Promise.all([import('./scene/plaza.js'), import('./scene/controls.js')]);
  plaza = new Plaza($('scene'));
  plaza.avatars.reducedMotion = reducedMotion.matches;
  controls = new Controls($('scene'), $('joystick'), onTap);
}

function ensureSocket() {
  if (net) return;
  net = new HirobaSocket({
    onDelta,
    onStatus: (s) => hud.setStatus(s === 'connected' ? 'connected' : 'reconnecting'),
    onRejoin: ({ self, snapshot }) => enterRoom(self, snapshot),
    onRejoinFailed: (err) => {
      exitRoom();
      join.showError(reasonText(err.reason));
    },
  });
}

async function doJoin(payload) {
  ensureSocket();
  // load the 3D code while the server answers; a device without WebGL cannot stay
  const view = ensurePlaza().then(
    () => null,
    (e) => e,
  );
  const res = await net.join(payload);
  const viewError = await view;
  if (viewError) {
    console.error('3D view unavailable', viewError);
    await net.leave();
    throw new JoinError('no_webgl');
  }
  enterRoom(res.self, res.snapshot);
}

function enterRoom(selfId, snapshot) {
  const now = performance.now();
  participants.applySnapshot(selfId, snapshot);
  const room = participants.room;
  const me = participants.self;
  motion.configure(participants.tickHz);
  motion.clear();
  motion.clock.observe(participants.t, now);
  rendered.clear();
  announcer.clear();
  if (!joined) cameraMode = room.kind === 'plaza' || !room.stage ? 'follow' : 'stage';
  plaza.load(room, sceneStrings(), cameraMode);
  for (const p of participants.list()) addAvatar(p, participants.t);
  const seat = participants.seatOf(me);
  mover = new LocalMover({
    x: seat ? seat.x : me.x,
    z: seat ? seat.z : me.z,
    h: seat ? seat.h : me.h,
    maxSpeed: participants.maxSpeed,
    bounds: room.bounds,
    blocked: !snapshot.self_may?.enter_stage && room.stage ? [room.stage] : [],
    seated: !!seat,
  });
  gate = new MoveGate(participants.tickHz);
  net.setTickHz(participants.tickHz);
  joined = true;
  document.body.dataset.joined = 'true';
  join.show(false);
  hud.show(true);
  plaza.resize();
  hud.setRoom(room);
  hud.setSeated(!!seat);
  hud.setMode(plaza.rig.mode);
  hud.setCount(participants.size);
  hud.setStatus('connected');
  controls.enabled = true;
  // the submit button just disappeared: move focus to the room heading
  if (!document.activeElement || document.activeElement === document.body || $('join-screen').contains(document.activeElement)) {
    $('hud-room').focus({ preventScroll: true });
  }
  announcer.say(t('live.youJoined', { room: i18n.pick(room.name), count: participants.size }));
  if (!running) {
    running = true;
    lastFrame = now;
    requestAnimationFrame(frame);
  }
}

function addAvatar(p, t0) {
  const isSelf = p.id === participants.selfId;
  plaza.avatars.add(p, isSelf);
  if (!isSelf) motion.place(p.id, t0, p.x, p.z, p.h);
}

function onDelta(d) {
  if (!joined) return;
  const out = participants.applyDelta(d);
  if (!out) return;
  const now = performance.now();
  for (const p of out.joined) {
    addAvatar(p, out.t);
    if (p.id !== participants.selfId) announcer.joined(p.name);
  }
  for (const p of out.left) {
    plaza.avatars.remove(p.id);
    motion.remove(p.id);
    rendered.delete(p.id);
    announcer.left(p.name);
  }
  const others = [];
  for (const [p, x, z, h] of out.moved) {
    if (p.id === participants.selfId) mover.reconcile(x, z, now);
    else others.push([p.id, x, z, h]);
  }
  motion.onMoved(out.t, others, now);
  if (out.joined.length || out.left.length) hud.setCount(participants.size);
}

function onTap(clientX, clientY) {
  if (!mover || mover.seated) return;
  const p = plaza.groundPoint(clientX, clientY);
  if (!p) return;
  mover.setTarget(p.x, p.z);
  plaza.showMarker(mover.target);
}

async function doLeave() {
  const n = net;
  exitRoom();
  announcer.say(t('live.youLeft'));
  await n?.leave();
}

function exitRoom() {
  joined = false;
  running = false;
  document.body.dataset.joined = 'false';
  controls?.reset();
  if (controls) controls.enabled = false;
  plaza?.unload();
  participants.reset();
  motion.clear();
  rendered.clear();
  mover = null;
  hud.show(false);
  join.show(true);
  $('join-submit').focus({ preventScroll: true });
}

function frame(now) {
  if (!running) return;
  requestAnimationFrame(frame);
  const dt = Math.min(0.25, (now - lastFrame) / 1000);
  lastFrame = now;
  frameTimes.push(now);
  while (frameTimes.length && now - frameTimes[0] > 1000) frameTimes.shift();

  if (!mover.seated) {
    mover.step(dt, controls.read());
    const msg = gate.poll(now, mover.x, mover.z, mover.h);
    if (msg) {
      if (net.move(msg.x, msg.z, msg.h, now)) mover.markSent(now, msg.x, msg.z, msg.h);
      else gate.reset(); // not sent (reconnecting, throttled): offer it again next frame
    }
    if (!mover.target) plaza.showMarker(null);
  } else controls.read();

  let selfPose = null;
  for (const p of participants.byId.values()) {
    const seat = participants.seatOf(p);
    let pose;
    if (p.id === participants.selfId) pose = seat ? { x: seat.x, z: seat.z, h: seat.h } : { x: mover.x, z: mover.z, h: mover.h };
    else if (seat) pose = { x: seat.x, z: seat.z, h: seat.h };
    else pose = motion.sample(p.id, now) || { x: p.x, z: p.z, h: p.h };
    const y = plaza.floorAt(pose.x, pose.z);
    plaza.avatars.place(p.id, pose.x, pose.z, pose.h, y, !!seat);
    rendered.set(p.id, pose);
    if (p.id === participants.selfId) selfPose = { ...pose, y, seated: !!seat };
  }
  plaza.render(now, dt, selfPose, participants.selfId);
  plaza.adapt(frameTimes.length, now);
}

/** Test and debugging hook; the e2e tests depend on this exact shape. */
window.hiroba = {
  state() {
    return {
      joined,
      selfId: joined ? participants.selfId : null,
      room: joined ? participants.roomId : null,
      tickHz: joined ? participants.tickHz : 0,
      fps: running ? frameTimes.length : 0,
      participants: joined
        ? participants.list().map((p) => {
            const r = rendered.get(p.id) || p;
            return { id: p.id, name: p.name, role: p.role, x: r.x, z: r.z, h: r.h, seat: p.seat ?? null };
          })
        : [],
    };
  },
};

reducedMotion.addEventListener?.('change', (e) => {
  if (plaza) plaza.avatars.reducedMotion = e.matches;
});

await setLang(pickLang(storage.get(KEYS.lang)));
join.show(true);
