import test from 'node:test';
import assert from 'node:assert/strict';
import { ConsoleApi } from '../src/console/api.js';
import { formatDateTime, formatTime, knownZone, setTimeZone, timeZone } from '../src/console/times.js';

// 2026-11-27 10:00:00 in Tokyo, 06:30:00 in Kolkata, 01:00:00 UTC.
const T0 = 1_795_741_200;

test('console times are in the zone the session names, not the browser\'s', () => {
  setTimeZone('Asia/Tokyo');
  assert.equal(timeZone(), 'Asia/Tokyo');
  assert.equal(formatTime(T0, 'en-GB'), '10:00:00');
  setTimeZone('Asia/Kolkata');
  assert.equal(formatTime(T0, 'en-GB'), '06:30:00');
  assert.match(formatDateTime(T0, 'en-GB'), /27 Nov 2026.*06:30/);
  assert.equal(formatTime(null, 'en-GB'), '');
  assert.equal(formatTime(T0, 'en-GB', 'UTC'), '01:00:00');
});

test('an unknown or missing zone leaves the browser\'s own', () => {
  assert.ok(knownZone('Europe/Berlin'));
  for (const bad of ['Asia/Tokio', '', null, undefined, 42]) {
    setTimeZone('Asia/Tokyo');
    setTimeZone(bad);
    assert.equal(timeZone(), undefined, String(bad));
    assert.ok(formatTime(T0, 'en-GB')); // still formats, in the browser's zone
  }
});

test('the console API keeps the zone of the session', async () => {
  const body = { ok: true, account: 'jimu', display_name: '事務局', csrf: 'c', expires_at: 1, time_zone: 'Asia/Tokyo' };
  const api = new ConsoleApi(async () => new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } }));
  await api.session();
  assert.equal(api.timeZone, 'Asia/Tokyo');
});
