import test from 'node:test';
import assert from 'node:assert/strict';
import { HirobaSocket } from '../src/net/socket.js';
import { DEVICE_KEY, withDevice } from '../src/net/device.js';

const SIGNED = 'dv.' + 'a'.repeat(16) + '.' + 'b'.repeat(32);
const OTHER = 'dv.' + 'c'.repeat(16) + '.' + 'd'.repeat(32);

function memoryStorage() {
  const data = new Map();
  return {
    getItem: (k) => (data.has(k) ? data.get(k) : null),
    setItem: (k, v) => data.set(k, String(v)),
    removeItem: (k) => data.delete(k),
  };
}

/** A socket.io stand-in answering joins from a list of acks. */
function fakeIo(acks) {
  const sock = {
    connected: true, emitted: [], io: { opts: {}, on() {} }, on() {},
    timeout: () => ({ emit: (ev, payload, cb) => { sock.emitted.push(payload); cb(null, acks.shift()); } }),
  };
  return { sock, factory: () => sock };
}

test('a join presents the stored signed identity and keeps the one the server issues', async () => {
  globalThis.localStorage = memoryStorage();
  localStorage.setItem(DEVICE_KEY, SIGNED);
  assert.equal(withDevice({ name: 'a' }).device, SIGNED);
  const { sock, factory } = fakeIo([{ ok: true, self: 'p_1', device: SIGNED }]);
  await new HirobaSocket({}, factory).join({ name: 'a', room: 'plaza', lang: 'ja' });
  assert.equal(sock.emitted[0].device, SIGNED);
  assert.equal(localStorage.getItem(DEVICE_KEY), SIGNED);
});

test('a refused identity (bad_device) is forgotten and the join retried once without it', async () => {
  globalThis.localStorage = memoryStorage();
  localStorage.setItem(DEVICE_KEY, OTHER);
  const { sock, factory } = fakeIo([
    { ok: false, reason: 'bad_device', message: 'not issued here' },
    { ok: true, self: 'p_1', device: SIGNED },
  ]);
  const res = await new HirobaSocket({}, factory).join({ name: 'a', room: 'plaza', lang: 'ja' });
  assert.equal(res.device, SIGNED);
  assert.equal(sock.emitted[0].device, OTHER);
  assert.equal(sock.emitted[1].device, undefined);
  assert.equal(localStorage.getItem(DEVICE_KEY), SIGNED);
});
