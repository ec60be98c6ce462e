import test from 'node:test';
import assert from 'node:assert/strict';
import { POSE_SIZE, STATE, decodePose, emptyPose, encodePose } from '../src/net/poseCodec.js';
import { FRAME_HEADER, PLAIN_SIZE, decodeFrame, encodeUplink } from '../src/net/motionCodec.js';
import { MotionLink, PHASE_WINDOW, UPLINK_LEAD_MS, motionUrl } from '../src/net/motion.js';

test('an uplink is 8 bytes, or 77 with the own pose record', () => {
  const plain = encodeUplink(1.234, -5.678, Math.PI / 2);
  assert.equal(plain.length, 8);
  const v = new DataView(plain.buffer);
  assert.deepEqual([v.getUint8(0), v.getUint8(1), v.getInt16(2, true), v.getInt16(4, true), v.getInt16(6, true)], [1, 0, 123, -568, 15708]);
  const record = encodePose({ ...emptyPose(7, STATE.voice), roll: 12 });
  const posed = encodeUplink(0, 0, 0, record);
  assert.equal(posed.length, 8 + POSE_SIZE);
  assert.equal(posed[1], 1);
  assert.deepEqual(posed.slice(8), record);
  // a pose object is written with the record encoder itself
  assert.deepEqual(encodeUplink(0, 0, 0, decodePose(record)).slice(8), record);
  // beyond the wire's range: clamped; headings wrapped into (-pi, pi]
  const far = new DataView(encodeUplink(1000, -1000, 3 * Math.PI - 0.5).buffer);
  assert.deepEqual([far.getInt16(2, true), far.getInt16(4, true), far.getInt16(6, true)], [32767, -32767, Math.round((Math.PI - 0.5) * 10000)]);
  assert.throws(() => encodeUplink(0, 0, 0, new Uint8Array(5)), { name: 'PoseFormatError' });
});

/** A frame by hand: one posed entry (roll 12.5, jawOpen 1, offset x 8 mm), one plain. */
function frameBytes() {
  const compact = 17 + 1; // one non-zero weight: one byte of nibbles
  const out = new Uint8Array(FRAME_HEADER + PLAIN_SIZE + compact + PLAIN_SIZE);
  const v = new DataView(out.buffer);
  v.setUint8(0, 1);
  v.setUint32(2, 4000, true);
  v.setUint16(6, 1, true);
  v.setUint16(8, 1, true);
  let at = FRAME_HEADER;
  v.setUint16(at, 7, true);
  v.setInt16(at + 2, 150, true);
  v.setInt16(at + 4, -250, true);
  v.setInt16(at + 6, 5000, true);
  at += PLAIN_SIZE;
  v.setUint8(at, STATE.tracked);
  v.setInt16(at + 1, 1250, true);
  v.setInt8(at + 7, 2);
  v.setUint8(at + 10 + 3, 1); // weight 24 (jawOpen): byte 3, bit 0
  v.setUint8(at + 17, 15);
  at += compact;
  v.setUint16(at, 65535, true);
  v.setInt16(at + 2, -32767, true);
  return out;
}

test('a frame decodes into positions and render poses on the tick clock', () => {
  const { tick, entries } = decodeFrame(frameBytes(), (n) => n * 50);
  assert.equal(tick, 4000);
  assert.equal(entries.length, 2);
  const [posed, plain] = entries;
  assert.deepEqual([posed.slot, posed.x, posed.z, posed.h], [7, 1.5, -2.5, 0.5]);
  assert.equal(posed.pose.t, 200000);
  assert.equal(posed.pose.roll, 12.5);
  assert.equal(posed.pose.x, 0.008);
  assert.equal(posed.pose.weights.length, 52);
  assert.equal(posed.pose.weights[24], 1);
  assert.equal(posed.pose.weights.reduce((a, b) => a + b), 1);
  assert.deepEqual(plain, { slot: 65535, x: -327.67, z: 0, h: 0, pose: null });
  const bytes = frameBytes();
  for (const bad of [bytes.slice(0, 9), bytes.slice(0, -1), Uint8Array.of(2, ...bytes.slice(1))]) {
    assert.throws(() => decodeFrame(bad), { name: 'PoseFormatError' });
  }
  const padded = new Uint8Array(bytes.length + 3);
  padded.set(bytes, 3);
  assert.equal(decodeFrame(new Uint8Array(padded.buffer, 3, bytes.length)).entries.length, 2);
});

class FakeWs {
  static made = [];
  constructor(url) {
    this.url = url;
    this.sent = [];
    this.readyState = 0;
    FakeWs.made.push(this);
  }
  send(m) {
    this.sent.push(m);
  }
  close(code) {
    this.readyState = 3;
    this.closedWith = code;
  }
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  say(data) {
    this.onmessage?.({ data });
  }
  drop(code) {
    this.readyState = 3;
    this.onclose?.({ code });
  }
}

function fakeTimers() {
  const pending = [];
  return {
    pending,
    setTimeout: (fn, ms) => pending.push({ fn, ms }) - 1,
    clearTimeout: (id) => {
      if (pending[id]) pending[id].fn = () => {};
    },
    run: () => pending.splice(0).forEach((p) => p.fn()),
  };
}

function link(onFrame = () => {}) {
  FakeWs.made = [];
  const timers = fakeTimers();
  const status = [];
  const l = new MotionLink({ onFrame, onStatus: (s) => status.push(s), WebSocket: FakeWs, location: { protocol: 'https:', host: 'city.example:8443' }, timers });
  return { l, timers, status };
}

test('the link opens on the own origin, sends the token first and waits for ok', () => {
  assert.equal(motionUrl('/motion', { protocol: 'http:', host: '127.0.0.1:8080' }), 'ws://127.0.0.1:8080/motion');
  const frames = [];
  const { l, status } = link((f) => frames.push(f));
  l.open({ token: 'tok', path: '/motion', hz: 20 });
  const ws = FakeWs.made[0];
  assert.equal(ws.url, 'wss://city.example:8443/motion');
  assert.equal(ws.binaryType, 'arraybuffer');
  ws.open();
  assert.deepEqual(ws.sent, ['tok']);
  assert.equal(l.send(0, 1, 2, 0, true), false, 'nothing before ok');
  assert.equal(l.setPose(new Uint8Array(POSE_SIZE)), false);
  ws.say('ok');
  assert.deepEqual(status, [true]);
  ws.say(frameBytes().buffer);
  assert.equal(frames.length, 1);
  assert.equal(frames[0].entries[0].pose.t, 4000 * 50);
  ws.say(new ArrayBuffer(3)); // malformed: dropped, not thrown
  assert.equal(frames.length, 1);
});

test('at most one uplink per tick, and only with something new', () => {
  const { l } = link();
  l.open({ token: 't', path: '/motion', hz: 10 });
  const ws = FakeWs.made[0];
  ws.open();
  ws.say('ok');
  let sent = 0;
  for (let t = 0; t < 1000; t += 10) if (l.send(t, t / 1000, 0, 0, true)) sent++;
  assert.equal(sent, 10);
  assert.equal(l.send(2000, 0, 0, 0, false), false, 'no move, no pose: nothing to say');
  const record = encodePose(emptyPose(1));
  assert.equal(l.setPose(record), true);
  assert.equal(l.send(2000, 0, 0, 0, false), true, 'a new pose goes up on its own');
  assert.equal(ws.sent.at(-1).length, 8 + POSE_SIZE);
  assert.equal(l.send(2200, 0, 0, 0, false), false, 'the pose went once');
  assert.equal(ws.sent.length, 1 + 10 + 1);
});

test('once a frame shows the tick phase, uplinks are timed just before the next tick', () => {
  FakeWs.made = [];
  const timers = fakeTimers();
  let clock = 1000;
  const l = new MotionLink({ onFrame: () => {}, WebSocket: FakeWs, location: { protocol: 'http:', host: 'h' }, timers, now: () => clock });
  l.open({ token: 't', path: '/motion', hz: 20 });
  const ws = FakeWs.made[0];
  ws.open();
  ws.say('ok');
  const frame = frameBytes();
  frame[1] = 4; // sent 4 ms after its tick began: the tick began at 996
  ws.say(frame.buffer);
  assert.equal(l.tickOrigin, 996);
  clock = 1010;
  assert.equal(l.send(clock, 1, 2, 0, true), true, 'taken for the next uplink');
  assert.equal(l.send(clock + 5, 1.5, 2, 0, true), true, 'the newer state replaces it');
  assert.equal(ws.sent.length, 1, 'nothing sent yet: only the token');
  assert.equal(timers.pending.length, 1, 'one timed uplink');
  // next tick at 1046: the uplink is due UPLINK_LEAD_MS before it
  assert.equal(timers.pending[0].ms, 1046 - UPLINK_LEAD_MS - 1010);
  clock = 1046 - UPLINK_LEAD_MS;
  timers.run();
  assert.equal(ws.sent.length, 2);
  const up = new DataView(ws.sent[1].buffer ?? ws.sent[1]);
  assert.equal(up.getInt16(2, true), 150, 'the latest state went, in cm');
  // the next one is not sent in the same tick again
  assert.equal(l.nextUplinkAt(clock + 1), 1096 - UPLINK_LEAD_MS);
  assert.equal(l.send(clock + 1, 2, 2, 0, false), false, 'nothing new: nothing to send');
});

test('the tick phase is the earliest of the recent frames, whatever read them late', () => {
  FakeWs.made = [];
  let clock = 1000;
  const l = new MotionLink({ onFrame: () => {}, WebSocket: FakeWs, location: { protocol: 'http:', host: 'h' }, timers: fakeTimers(), now: () => clock });
  l.open({ token: 't', path: '/motion', hz: 20 });
  const ws = FakeWs.made[0];
  ws.open();
  ws.say('ok');
  const frame = frameBytes();
  const read = (at, delay) => {
    clock = at;
    frame[1] = delay;
    ws.say(frame.buffer);
  };
  read(1004, 4); // ticks at 1000, 1050, 1100...: read at once
  assert.equal(l.tickOrigin, 1000);
  read(1067, 5); // the page was busy: read 12 ms late; the tick did not move
  assert.equal(l.tickOrigin, 1050, 'the earlier estimate, one period on');
  read(1103, 2); // read 1 ms late
  assert.equal(l.tickOrigin, 1100);
  for (let i = 0; i < PHASE_WINDOW; i++) read(1150 + 50 * i + 9, 1); // all read 8 ms late
  assert.equal(l.tickOrigin, 1150 + 50 * (PHASE_WINDOW - 1) + 8, 'an old estimate ages out');
  ws.drop(1006); // another server may tick at another phase: start again
  assert.equal(l.tickOrigin, null);
});

test('reconnects back off; a bad token or origin waits for the next join', () => {
  const { l, timers, status } = link();
  l.open({ token: 'a', path: '/motion' });
  FakeWs.made[0].open();
  FakeWs.made[0].say('ok');
  FakeWs.made[0].drop(1006); // network: retry with the same token, later each time
  assert.deepEqual(status, [true, false]);
  assert.equal(timers.pending[0].ms, 1000);
  timers.run();
  assert.equal(FakeWs.made.length, 2);
  FakeWs.made[1].drop(1006);
  assert.equal(timers.pending[0].ms, 2000);
  timers.run();
  FakeWs.made[2].drop(4401);
  assert.equal(timers.pending.length, 0, 'no retry with an unknown token');
  l.open({ token: 'b', path: '/motion' }); // the socket.io rejoin's new token
  FakeWs.made[3].open();
  assert.deepEqual(FakeWs.made[3].sent, ['b']);
  FakeWs.made[3].drop(4403);
  assert.equal(timers.pending.length, 0);
  l.open({ token: 'c', path: '/motion' });
  FakeWs.made[4].drop(4400); // our data was refused: one late retry at most
  assert.equal(timers.pending[0].ms, 30000);
  timers.run();
  FakeWs.made[5].drop(4400);
  assert.equal(timers.pending.length, 0);
  assert.equal(FakeWs.made.length, 6);
});

test('closing (leaving) cancels a pending retry and closes the socket', () => {
  const { l, timers } = link();
  l.open({ token: 'a', path: '/motion' });
  FakeWs.made[0].drop(1006);
  l.close();
  timers.run();
  assert.equal(FakeWs.made.length, 1);
  l.open({ token: 'b', path: '/motion' });
  const ws = FakeWs.made[1];
  ws.open();
  l.close();
  assert.equal(ws.closedWith, 1000);
  ws.drop(1000); // its late close event changes nothing
  assert.equal(timers.pending.length, 0);
  assert.equal(l.ready, false);
});

class FakeChannel {
  constructor() {
    this.sent = [];
    this.readyState = 'connecting';
  }
  send(m) {
    this.sent.push(m);
  }
}

class FakePc {
  static made = [];
  constructor(config) {
    this.config = config;
    this.iceGatheringState = 'complete';
    this.connectionState = 'new';
    this.closed = false;
    FakePc.made.push(this);
  }
  createDataChannel(label, options) {
    this.channel = Object.assign(new FakeChannel(), { label, options });
    return this.channel;
  }
  async createOffer() {
    return { type: 'offer', sdp: 'v=0 offer' };
  }
  async setLocalDescription(d) {
    this.localDescription = d;
  }
  async setRemoteDescription(d) {
    this.remoteDescription = d;
  }
  close() {
    this.closed = true;
  }
}

const settle = () => new Promise((r) => setTimeout(r, 0));

test('a WebSocket that never answers twice falls back to the data channel', async () => {
  FakeWs.made = [];
  FakePc.made = [];
  const timers = fakeTimers();
  const offers = [];
  const frames = [];
  const l = new MotionLink({
    onFrame: (f) => frames.push(f),
    signal: async (event, payload) => {
      offers.push([event, payload]);
      return { ok: true, type: 'answer', sdp: 'v=0 answer' };
    },
    WebSocket: FakeWs,
    RTCPeerConnection: FakePc,
    location: { protocol: 'http:', host: 'h' },
    timers,
  });
  l.open({ token: 't', path: '/motion', hz: 20 });
  FakeWs.made[0].drop(1006); // the proxy refused the upgrade
  timers.run();
  assert.equal(l.transport, 'websocket', 'one failure is not enough');
  FakeWs.made[1].drop(1006);
  assert.equal(l.transport, 'datachannel');
  timers.run();
  await settle();
  assert.equal(FakeWs.made.length, 2, 'no third WebSocket');
  const pc = FakePc.made[0];
  assert.deepEqual(pc.config, { iceServers: [] }, 'no STUN or TURN of anyone else');
  assert.deepEqual(pc.channel.options, { ordered: false, maxRetransmits: 0 });
  assert.deepEqual(offers, [['motion:offer', { type: 'offer', sdp: 'v=0 offer' }]]);
  assert.equal(pc.remoteDescription.sdp, 'v=0 answer');
  assert.equal(l.ready, false, 'ready once the channel opens');
  pc.channel.onopen();
  assert.equal(l.ready, true);
  assert.equal(l.send(0, 1, 2, 0, true), true);
  assert.equal(pc.channel.sent.length, 1, 'the uplink went on the channel');
  pc.channel.onmessage({ data: frameBytes().buffer });
  assert.equal(frames.length, 1, 'frames come off the channel');
  l.close();
  assert.equal(pc.closed, true);
  assert.equal(l.ready, false);
});

test('a refused offer is retried later; one that was never joined waits for the next join', async () => {
  FakePc.made = [];
  const timers = fakeTimers();
  let answer = { ok: false, reason: 'room_full', message: 'full' };
  const l = new MotionLink({
    onFrame: () => {},
    signal: async () => answer,
    WebSocket: FakeWs,
    RTCPeerConnection: FakePc,
    location: { protocol: 'http:', host: 'h' },
    timers,
    prefer: 'datachannel',
  });
  l.open({ token: 't', path: '/motion', hz: 20 });
  await settle();
  assert.equal(FakePc.made[0].closed, true);
  assert.equal(timers.pending.length, 1, 'retried later');
  answer = { ok: false, reason: 'not_joined', message: 'join first' };
  timers.run();
  await settle();
  assert.equal(FakePc.made.length, 2);
  assert.equal(timers.pending.length, 0, 'nothing to retry with until the next join');
});
