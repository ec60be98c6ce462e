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
import { W } from './net/poseCodec.js';
import { MotionLink } from './net/motion.js';
import { RemotePoses } from './state/poseTrack.js';
import { expressionOf } from './state/expression.js';
import { preferenceFrom } from './state/trackingMode.js';
import { FaceTracking } from './tracking/manager.js';
import { FacePanel } from './ui/facePanel.js';
import { MeetingUi } from './ui/meeting.js';
import { Voice } from './net/voice.js';
import { setIceServers } from './net/ice.js';
import { VoicePanel } from './ui/voicePanel.js';
import { COMMITTEE_STATE, IDENTITY_ASKED, MEETING_ADMITTED } from './net/events.js';
import { gesturesOf, tallyAnnouncement, tallyOf } from './state/gestures.js';
import { CommitteePanel } from './ui/committee.js';
import { SpeakerView } from './ui/speakerView.js';

const $ = (id) => document.getElementById(id);
const reducedMotion = matchMedia('(prefers-reduced-motion: reduce)');

const participants = new ParticipantStore();
const motion = new RemoteMotion();
const rendered = new Map(); // id -> {x, z, h} as drawn this frame
const faces = new RemotePoses(); // id -> poses from motion frames, interpolated
const drawnFaces = new Map(); // id -> the pose drawn this frame
let selfFace = null; // {pose, at}: own pose made on this device (browser or voice mode)
let tracking = null;
let facePanel = null;
let voice = null; // the audio plane: listening on entry, the microphone on demand
let voicePanel = null;
let net = null;
let link = null; // MotionLink: own position and pose up, everyone's down
let plaza = null;
let controls = null;
let mover = null;
let gate = null;
let joined = false;
let cameraMode = 'follow';
let committee = null; // the room's last committee:state (a vote by show of hands / standing)
let tally = null; // the hands / standing count last said (state/gestures.js tallyOf)
let running = false;
let lastFrame = 0;
const frameTimes = [];

const announcer = new Announcer($('live'));
const meeting = new MeetingUi({
  enter: (self, snapshot, motionInfo, audioInfo, ice) => enterRoom(self, snapshot, motionInfo, audioInfo, ice),
  back: (message) => {
    exitRoom();
    join.showError(message);
  },
  announce: (text) => announcer.say(text),
  leave: () => doLeave(),
  reopened: (n) => reopened(n),
  // the floor holder's role for the banner's badge (the floor view names only the person)
  roleOf: (pid) => (pid ? participants.get(pid)?.role ?? null : null),
});
// the committee tab (roll call, quorum, votes): a roll call or a vote opening for a member
// brings it into view
const committeePanel = new CommitteePanel({
  net: () => net,
  announce: (text) => announcer.say(text),
  attention: () => meeting.show('committee'),
});
// the speaker view: a close-up of the floor holder (or the speaking chair), the citizen's choice
const speakerView = new SpeakerView({
  active: () => meeting.state.active && meeting.closedSince === null,
  holder: () => meeting.state.floor?.holder ?? null,
  person: (pid) => participants.get(pid),
  selfId: () => participants.selfId ?? null,
  labelOf: (p) => (p.role && p.role !== 'citizen' ? t('role.withName', { name: p.name, role: t(`role.${p.role}`) }) : p.name),
  announce: (text) => announcer.say(text),
  shown: (on) => meeting.setSpeakerShown(on),
});
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
    onRejoin: (res) => {
      takeCommittee(res);
      if (!meeting.joined(res)) return exitRoom(false); // back in the lobby
      enterRoom(res.self, res.snapshot, res.motion, res.audio, res.ice);
      tracking?.rejoined();
    },
    onRtcClosed: () => tracking?.onServerClosed(),
    onRejoinFailed: (err) => {
      exitRoom();
      join.showError(reasonText(err.reason));
    },
  });
  meeting.attach(net);
  net.socket.on(COMMITTEE_STATE, onCommittee);
  // the chair (or staff) asked for this member's camera: the committee tab says who, lit
  net.socket.on(IDENTITY_ASKED, (msg) => committeePanel.asked(msg));
  // admitted from the lobby: the room was entered (meeting.js) with the ack's committee
  net.socket.on(MEETING_ADMITTED, (ack) => ack?.meeting && onCommittee(ack.meeting.committee ?? null));
  link = new MotionLink({
    onFrame: onMotionFrame,
    signal: (event, payload) => net.request(event, payload),
    // ?motion=datachannel starts on the WebRTC fallback (tests, diagnosis)
    prefer: new URLSearchParams(location.search).get('motion') === 'datachannel' ? 'datachannel' : 'websocket',
  });
  voicePanel = new VoicePanel({ onToggle: (on) => voice.setMic(on) });
  voice = new Voice(net, {
    onActive: (id, on) => plaza?.avatars.setSpeaking?.(id, on),
    onMicEnded: (reason) => voicePanel.ended(reason),
    onListenRefused: (reason) => voicePanel.listenRefused(reason),
  });
}

async function doJoin(payload) {
  ensureSocket();
  voice.unlock(); // within the join click: browsers let audio start after a gesture
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
  takeCommittee(res);
  if (meeting.joined(res)) enterRoom(res.self, res.snapshot, res.motion, res.audio, res.ice);
}

/** A join ack's committee state (committee rooms), drawn once the room is entered. */
function takeCommittee(ack) {
  if (ack?.meeting) committee = ack.meeting.committee ?? null;
}

/** The face-tracking controls and manager, made on first entry to a room. */
function ensureTracking() {
  if (tracking) return;
  facePanel = new FacePanel({
    onToggle: (on) => tracking.setOn(on),
    onAllowServer: (allowed) => tracking.setAllowServer(allowed),
  });
  tracking = new FaceTracking({
    net,
    sendPose: (record) => link.setPose(record),
    preference: preferenceFrom(location.search),
    onSelfPose: (pose) => (selfFace = pose ? { pose, at: performance.now() } : null),
    onChange: (status) => facePanel.render(status),
  });
  tracking.setAllowServer(facePanel.allow);
  facePanel.render();
}

/**
 * A motion frame: each entry's slot names a participant of the room (unknown slots are
 * people whose `joined` has not arrived yet). The frame's tick is the server's clock for
 * both positions and poses. The own entry comes only with poses made on the server
 * (server-side tracking); the own position is never echoed, so there is none to reconcile.
 */
function onMotionFrame({ tick, entries }) {
  if (!joined) return;
  const now = performance.now();
  const moved = [];
  for (const { slot, x, z, h, pose } of entries) {
    const p = participants.bySlotOf(slot);
    if (!p) continue;
    if (pose) faces.push(p.id, pose, now);
    if (p.id !== participants.selfId) moved.push([p.id, x, z, h]);
  }
  motion.onMoved(link.tickMs(tick), moved, now);
}

function enterRoom(selfId, snapshot, motionInfo, audioInfo, ice) {
  const now = performance.now();
  setIceServers(ice?.iceServers); // before any peer connection of this stay is made
  participants.applySnapshot(selfId, snapshot);
  ensureTracking();
  tracking.setServerAllowed(!!snapshot.self_may?.track_on_server);
  facePanel.setServerOffered(!!snapshot.self_may?.track_on_server);
  faces.clear();
  drawnFaces.clear();
  const room = participants.room;
  const me = participants.self;
  // A new token (and, after a server restart, a new tick count): a new clock too.
  link.open(motionInfo);
  motion.configure(link.hz);
  motion.reset();
  faces.configure(1000 / link.hz);
  rendered.clear();
  announcer.clear();
  // A portrait phone starts behind the own avatar (it sees the stage ahead): the fixed stage
  // view left the avatar out of the frame under half a screen of paving (issue 15, defect 10).
  const portrait = innerWidth < innerHeight;
  if (!joined) cameraMode = room.kind === 'plaza' || !room.stage || portrait ? 'follow' : 'stage';
  plaza.load(room, sceneStrings(), cameraMode);
  drawPeople();
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
  gate = new MoveGate(link.hz);
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
  // the first-time pointer to the meeting panel is said with the welcome (one message, so
  // neither replaces the other in the live region)
  const hint = $('meeting-hint').hidden ? '' : ` ${t('hint.meetingPanel')}`;
  announcer.say(t('live.youJoined', { room: i18n.pick(room.name), count: participants.size }) + hint);
  meeting.entered(plaza.scene, room);
  voicePanel.render(false, 'off');
  voice.enter(audioInfo ?? { slots: 3, mode: room.kind === 'plaza' ? 'proximity' : 'floor' });
  if (!running) {
    running = true;
    lastFrame = now;
    requestAnimationFrame(frame);
  }
}

/**
 * The room's people drawn afresh from the participant store, just given a snapshot (a join,
 * or a closed session reopening), and the committee's last state: avatars, gestures, the
 * committee tab.
 */
function drawPeople() {
  plaza.avatars.clear();
  motion.clear();
  rendered.clear();
  faces.clear();
  drawnFaces.clear();
  for (const p of participants.list()) addAvatar(p);
  tally = tallyOf(committee); // said with the vote's opening, not again on entering
  committeePanel.reset();
  committeePanel.update(committee, meeting.state.self);
  plaza.avatars.setGestures(gesturesOf(committee));
}

/**
 * A closed session (秘密会) this page was held out of reopened: meeting.js has loaded the
 * notice's `meeting` as a join's; the avatars (no delta came meanwhile) and the committee
 * come from its `snapshot` and `meeting.committee` the same way as on entering.
 */
function reopened(n) {
  if (!joined || !n?.snapshot) return;
  takeCommittee(n);
  participants.applySnapshot(participants.selfId, n.snapshot);
  drawPeople();
  hud.setCount(participants.size);
}

function addAvatar(p) {
  const isSelf = p.id === participants.selfId;
  plaza.avatars.add(p, isSelf);
  // drawn at p.x, p.z until motion frames place them (their clock is the motion tick's)
}

function onDelta(d) {
  if (!joined) return;
  const out = participants.applyDelta(d);
  if (!out) return;
  for (const p of out.joined) {
    addAvatar(p);
    if (p.id !== participants.selfId) announcer.joined(p.name);
  }
  for (const p of out.left) {
    plaza.avatars.remove(p.id);
    motion.remove(p.id);
    rendered.delete(p.id);
    faces.remove(p.id);
    drawnFaces.delete(p.id);
    announcer.left(p.name);
  }
  if (out.joined.length || out.left.length) hud.setCount(participants.size);
}

/**
 * A committee's state (sent on joining and on every change): the avatars of the members
 * voting yes in an open show of hands / standing vote raise a hand / stand, everyone else
 * lowers it / sits, seen by every page; screen readers hear the count when it changes.
 */
function onCommittee(state) {
  committee = state && typeof state === 'object' ? state : null;
  if (!joined) return; // kept for entering: it may come just before the join's answer
  plaza.avatars.setGestures(gesturesOf(committee));
  const said = committeePanel.update(committee, meeting.state.self);
  const next = tallyOf(committee);
  const say = tallyAnnouncement(tally, next);
  tally = next;
  const text = [said, say ? t(say.key, { count: say.count }) : ''].filter(Boolean).join(' ');
  if (text) announcer.say(text);
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

function exitRoom(showJoin = true) {
  joined = false;
  meeting.exited();
  tracking?.shutdown();
  link?.close();
  voice?.exit();
  voicePanel?.render(false, 'off');
  faces.clear();
  drawnFaces.clear();
  running = false;
  document.body.dataset.joined = 'false';
  controls?.reset();
  if (controls) controls.enabled = false;
  plaza?.unload();
  participants.reset();
  motion.clear();
  rendered.clear();
  committee = null;
  tally = null;
  committeePanel.reset();
  mover = null;
  hud.show(false);
  if (!showJoin) return;
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
  // held out of a closed session (秘密会): the room is not shown, so not drawn (or moved)
  if (meeting.closedSince !== null) return;

  if (!mover.seated) {
    mover.step(dt, controls.read());
    const msg = gate.poll(now, mover.x, mover.z, mover.h);
    if (link.send(now, mover.x, mover.z, mover.h, !!msg)) {
      if (msg) mover.markSent(now, msg.x, msg.z, msg.h);
    } else if (msg) gate.reset(); // not sent (connecting, a pose just went): offer it again
    if (!mover.target) plaza.showMarker(null);
  } else {
    controls.read();
    const seat = participants.seatOf(participants.self);
    if (seat) link.send(now, seat.x, seat.z, seat.h, false); // own pose only, if any
  }

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
  drawFaces(now);
  speakerView.frame(plaza, now);
  if (now >= nameplatesAt) {
    nameplatesAt = now + 500;
    plaza.world?.setNameplates(nameplates());
  }
  voice.frame(voicePosition, selfPose, now);
  plaza.render(now, dt, selfPose, participants.selfId);
  plaza.adapt(frameTimes.length, now);
}

let nameplatesAt = 0;
/** The chamber's nameplates: seat id -> the name (and role) of who sits there. */
function nameplates() {
  const out = {};
  for (const p of participants.byId.values()) {
    const seat = participants.seatOf(p);
    if (!seat) continue;
    const role = p.role && p.role !== 'citizen' ? t(`role.${p.role}`) : '';
    // the chair's plate reads its office first, as in a council chamber (委員長 山田)
    out[seat.id] = p.role === 'chair' ? `${role} ${p.name}` : role ? `${p.name} ${role}` : p.name;
  }
  return out;
}

/** Where a voice comes from: the avatar as drawn this frame. */
function voicePosition(id) {
  const r = rendered.get(id);
  return r ? { x: r.x, y: plaza.floorAt(r.x, r.z), z: r.z } : null;
}

/** Faces driven by poses: own (made here) or from motion frames, else the avatar idles. */
function drawFaces(now) {
  drawnFaces.clear();
  for (const p of participants.byId.values()) {
    let pose = null;
    if (p.id === participants.selfId && selfFace && now - selfFace.at < 500) pose = selfFace.pose;
    else pose = faces.sample(p.id, now);
    if (!pose) continue;
    plaza.avatars.pose(p.id, expressionOf(pose), now + 250, pose);
    drawnFaces.set(p.id, pose);
  }
}

/** Where the own avatar's chest is drawn on the screen (framing checks in the e2e tests). */
function selfOnScreen() {
  const r = rendered.get(participants.selfId);
  if (!r) return null;
  const v = plaza.camera.position.clone().set(r.x, plaza.floorAt(r.x, r.z) + 1.1, r.z).project(plaza.camera);
  const c = $('scene').getBoundingClientRect();
  return { x: Math.round(((v.x + 1) / 2) * c.width), y: Math.round(((1 - v.y) / 2) * c.height) };
}

const FACE_KEYS = ['eyeBlinkLeft', 'eyeBlinkRight', 'jawOpen', 'mouthSmileLeft', 'mouthSmileRight', 'browInnerUp', 'mouthPucker'];

/** Head angles as drawn (degrees) and a few key weights of the pose drawn, if any. */
function faceState(id) {
  const head = plaza?.avatars.headAngles(id) ?? { roll: 0, pitch: 0, yaw: 0 };
  const pose = drawnFaces.get(id);
  const face = {};
  for (const k of FACE_KEYS) face[k] = pose ? Math.round(pose.weights[W[k]] * 1000) / 1000 : 0;
  return { roll: head.roll, pitch: head.pitch, yaw: head.yaw, posed: !!pose, face };
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
            return {
              id: p.id, name: p.name, role: p.role, x: r.x, z: r.z, h: r.h, seat: p.seat ?? null, tracking: p.tracking, ...faceState(p.id),
              // null, or {hash, status: loading|ready|failed, head (degrees, as drawn), expressions}
              vrm: plaza?.avatars.vrmState(p.id) ?? null,
            };
          })
        : [],
      tracking: tracking ? { ...tracking.status, fps: tracking.fps, sent: tracking.sent, blocked: tracking.blocked } : null,
      motion: link ? { transport: link.transport, ready: link.ready } : null,
      render: running && plaza ? plaza.renderStats : null, // {calls, triangles, near, mid, far, drawn, pixelRatio}
      selfOnScreen: running && plaza ? selfOnScreen() : null, // {x, y} of the own avatar's chest, CSS px
      audio: voice ? voice.state() : { listening: false, publishing: false, slots: [], level: 0, active: [] },
      // committee vote gestures: {pids: {pid: {gesture, up, weight, level, hand}}, drawn:
      // raised hands drawn last frame per level of detail}
      gestures: running && plaza ? { pids: plaza.avatars.gestureState(), drawn: { ...plaza.avatars.hands } } : null,
      // the speaker view: {mode ('auto' | 'speaker' | 'room'), showing (pid or null), name, on}
      speakerView: speakerView.state(),
      // name labels drawn last frame: [{id, px (on-screen height, CSS px), opacity, highlight}]
      labels: running && plaza ? plaza.avatars.labelState() : [],
      nameplates: plaza?.world?.plateTexts ?? null, // the chamber's nameplates, in seat order
    };
  },
  meeting: () => meeting.snapshot(),
  committee: () => committeePanel.snapshot(),
};

reducedMotion.addEventListener?.('change', (e) => {
  if (plaza) plaza.avatars.reducedMotion = e.matches;
});

await setLang(pickLang(storage.get(KEYS.lang)));
join.show(true);
