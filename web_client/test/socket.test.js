import test from 'node:test';
import assert from 'node:assert/strict';
import { HirobaSocket } from '../src/net/socket.js';

/** A stand-in for the socket.io client that records emits and lets the test answer. */
function fakeIo() {
  const handlers = {};
  const managerHandlers = {};
  const sock = {
    connected: true,
    recovered: false,
    emitted: [],
    nextAck: null,
    io: { opts: {}, on: (ev, fn) => (managerHandlers[ev] = fn) },
    on(ev, fn) {
      handlers[ev] = fn;
    },
    emit(ev, payload, ack) {
      this.emitted.push([ev, payload]);
      if (ack) ack(null, this.nextAck);
    },
    timeout() {
      return {
        emit: (ev, payload, cb) => {
          sock.emitted.push([ev, payload]);
          if (sock.nextAck === 'timeout') cb(new Error('timeout'));
          else cb(null, sock.nextAck);
        },
      };
    },
    fire(ev, ...args) {
      handlers[ev]?.(...args);
    },
    disconnect() {
      this.connected = false;
      this.closed = (this.closed || 0) + 1;
    },
  };
  return { sock, factory: () => sock };
}

test('join resolves self and snapshot, or rejects with the reason', async () => {
  const { sock, factory } = fakeIo();
  const net = new HirobaSocket({}, factory);
  sock.nextAck = { ok: false, reason: 'room_full', message: 'full' };
  await assert.rejects(net.join({ name: 'a', room: 'r', lang: 'ja' }), (e) => e.reason === 'room_full');
  sock.nextAck = 'timeout';
  await assert.rejects(net.join({ name: 'a', room: 'r', lang: 'ja' }), (e) => e.reason === 'timeout');
  sock.nextAck = { ok: true, self: 'p_1', snapshot: { tick: 1 } };
  const res = await net.join({ name: 'a', room: 'r', lang: 'ja' });
  assert.deepEqual(res, { self: 'p_1', snapshot: { tick: 1 } });
  assert.deepEqual(sock.emitted.map((e) => e[0]), ['join', 'join', 'join']);
});

test('a reconnect rejoins the same room with the same payload', async () => {
  const { sock, factory } = fakeIo();
  const seen = [];
  const net = new HirobaSocket({ onRejoin: (r) => seen.push(r), onStatus: (s) => seen.push(s) }, factory);
  const payload = { name: 'さくら', room: 'plaza', lang: 'ja', avatar: { hair: 'bun' } };
  sock.nextAck = { ok: true, self: 'p_1', snapshot: {} };
  await net.join(payload);
  sock.fire('disconnect', 'transport close');
  sock.nextAck = { ok: true, self: 'p_2', snapshot: { tick: 9 } };
  sock.fire('connect');
  await new Promise((r) => setImmediate(r));
  const joins = sock.emitted.filter((e) => e[0] === 'join');
  assert.equal(joins.length, 2);
  assert.deepEqual(joins[1][1], payload);
  assert.deepEqual(seen, ['disconnected', 'connected', { self: 'p_2', snapshot: { tick: 9 } }]);
  // after leaving, a reconnect does not rejoin
  await net.leave();
  sock.fire('connect');
  await new Promise((r) => setImmediate(r));
  assert.equal(sock.emitted.filter((e) => e[0] === 'join').length, 2);
});

test('deltas reach the callback', () => {
  const { sock, factory } = fakeIo();
  const got = [];
  new HirobaSocket({ onDelta: (d) => got.push(d) }, factory);
  sock.fire('room:delta', { room: 'plaza', tick: 3 });
  assert.deepEqual(got, [{ room: 'plaza', tick: 3 }]);
});

test('a rejoin after a reconnect carries the device and resume token of the last ack', async () => {
  const { sock, factory } = fakeIo();
  const net = new HirobaSocket({}, factory);
  const payload = { name: 'さくら', room: 'plaza', lang: 'ja' };
  sock.nextAck = { ok: true, self: 'p_1', snapshot: {}, device: 'd_1', resume: 'r1' };
  await net.join(payload);
  assert.deepEqual(payload, { name: 'さくら', room: 'plaza', lang: 'ja' }, 'the caller keeps its object');
  sock.fire('disconnect', 'transport close');
  sock.nextAck = { ok: true, self: 'p_1', snapshot: {}, device: 'd_1', resume: 'r2' };
  sock.fire('connect');
  await new Promise((r) => setImmediate(r));
  const joins = sock.emitted.filter((e) => e[0] === 'join');
  assert.deepEqual(joins[1][1], { ...payload, device: 'd_1', resume: 'r1' });
  // the next reconnect uses the newer token
  sock.fire('disconnect', 'transport close');
  sock.fire('connect');
  await new Promise((r) => setImmediate(r));
  const again = sock.emitted.filter((e) => e[0] === 'join');
  assert.equal(again[2][1].resume, 'r2');
});

test('a refused connection fails the waiting join with its reason', async () => {
  const { sock, factory } = fakeIo();
  const net = new HirobaSocket({}, factory);
  // The join waits (no ack comes) until the server refuses the connection itself.
  sock.timeout = () => ({ emit: (ev, payload) => sock.emitted.push([ev, payload]) });
  const joining = net.join({ name: 'a', room: 'r', lang: 'ja' });
  const err = new Error('too many connections from your network');
  err.data = { reason: 'rate_limited', message: 'too many connections from your network' };
  sock.fire('connect_error', new Error('xhr poll error')); // a network error: still waiting
  sock.fire('connect_error', err);
  await assert.rejects(joining, (e) => e.name === 'JoinError' && e.reason === 'rate_limited');
  assert.equal(sock.closed, 1, 'the refused transport is closed, not left idle');
});
