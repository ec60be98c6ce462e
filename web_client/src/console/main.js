/**
 * The staff console: log in, pick a room, and run its meeting — lobby, floor and timer,
 * agenda, people and sanctions, moderation queue, polls, opinions, Q&A, captions,
 * invitations, registration code, exports and the audit log. Socket actions go through
 * the same permission policy as everyone's; HTTP calls carry the CSRF token.
 */
import { io } from 'socket.io-client';
import { i18n, pickLang, t } from '../i18n.js';
import * as E from '../net/events.js';
import { fetchRooms } from '../net/api.js';
import { MeetingState } from '../state/meeting.js';
import { applyTranslations, KEYS, store } from '../ui/dom.js';
import { byId, el, fill } from '../ui/el.js';
import { reasonText } from '../ui/join.js';
import { ApiError, ConsoleApi } from './api.js';
import { AvatarsPanel } from './avatars.js';
import { CommitteePanel } from './committee.js';
import { MinutesApprovalPanel } from './minutesApproval.js';
import { GalleryPanel } from './gallery.js';
import { RecordingsPanel } from './recordings.js';
import { TranscriptPanel } from './transcript.js';
import * as R from './render.js';
import { StaffState } from './state.js';
import { setTimeZone, timeZone } from './times.js';

const api = new ConsoleApi();
// (say and toLogin are hoisted function declarations below.)
const minutesPanel = new MinutesApprovalPanel(api, (text) => say(text), () => toLogin());
const meeting = new MeetingState();
const staff = new StaffState();
// The committee panel (issue 16): shown in committee rooms only; its rule fields join the settings form.
const committeePanel = new CommitteePanel({ act: (e, p) => act(e, p), say: (x) => say(x), socket: () => socket, people: () => staff.people });
committeePanel.mount(document.querySelector('#room-view .console-grid'), document.getElementById('settings-form'));
let socket = null;
let room = null;
let rooms = [];
let self = null;
let timer = null;
/** RecordingStatus of the room (docs/protocol.md "Recording"). */
let recording = { recording: false, since: null };

const views = ['login-view', 'rooms-view', 'room-view'];
function show(view) {
  for (const v of views) byId(v).hidden = v !== view;
}

function say(text) {
  byId('console-live').textContent = text;
}

function showError(e) {
  byId('console-error').textContent = e ? reasonText(e.reason || 'internal') : '';
}

/** A socket action of this console's seat; shows the reason when refused. */
async function act(event, payload = {}) {
  showError(null);
  if (!socket?.connected) return showError({ reason: 'timeout' }), null;
  let ack;
  try {
    ack = await socket.timeout(10000).emitWithAck(event, payload);
  } catch {
    ack = { ok: false, reason: 'timeout' };
  }
  if (!ack?.ok) {
    showError(ack);
    if (ack?.reason === 'session_expired') await toLogin();
    return null;
  }
  return ack;
}

/**
 * Ask before a destructive action: a modal dialog that names what goes (`text`); resolves
 * true only on the confirm button. Escape and the cancel button keep everything.
 */
function confirmAction(text, okLabel) {
  const dialog = byId('confirm-dialog');
  byId('confirm-text').textContent = text;
  byId('confirm-ok').textContent = okLabel;
  const back = document.activeElement;
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'ok');
      if (back?.isConnected) back.focus();
    }, { once: true });
    dialog.returnValue = '';
    dialog.showModal();
    byId('confirm-cancel').focus(); // the safe choice first
  });
}

const ctx = () => ({ meeting, staff, act, room, self, confirm: confirmAction,
  demote: (p) => galleryPanel.demote(p) });

/** The recording badge and the start / stop button. */
function renderRecording() {
  const on = !!recording.recording;
  const badge = byId('rec-state');
  badge.textContent = `${on ? '● ' : ''}${t(on ? 'recording.on' : 'recording.off')}`;
  badge.classList.toggle('off', !on);
  const button = byId('rec-toggle');
  button.textContent = t(on ? 'console.recordStop' : 'console.recordStart');
  button.setAttribute('aria-pressed', on ? 'true' : 'false');
}

function renderAll() {
  if (!room) return;
  renderRecording();
  const c = ctx();
  R.renderFloor(c);
  R.renderAgenda(c);
  R.renderLobby(c);
  R.renderPeople(c);
  R.renderSanctions(c);
  R.renderReports(c);
  R.renderPolls(c);
  R.renderOpinions(c);
  R.renderQuestions(c);
  R.renderCaptions(c);
  R.renderAudit(c);
  R.renderCode(staff);
  committeePanel.render();
}

const SECTIONS = {
  lobby: R.renderLobby, people: R.renderPeople, sanctions: R.renderSanctions, reports: R.renderReports,
  chat: R.renderReports, opinions: R.renderOpinions, audit: R.renderAudit,
};

// -- login and rooms ---------------------------------------------------------------------

async function toLogin() {
  closeSocket();
  room = null;
  byId('console-logout').hidden = true;
  byId('console-who').textContent = '';
  show('login-view');
  byId('login-account').focus();
}

async function toRooms() {
  closeSocket();
  room = null;
  byId('console-logout').hidden = false;
  byId('console-who').textContent = t('console.loggedIn', { name: api.account?.display || '' });
  setTimeZone(api.timeZone); // after a login or a session check, before anything shows a time
  show('rooms-view');
  // Minutes approval (会議録署名): staff below the rooms; a signing account sees only it.
  const signer = api.account?.kind === 'signer';
  byId('room-list').closest('section').hidden = signer;
  await minutesPanel.mount(byId('rooms-view'), api.account?.kind);
  if (signer) {
    byId('minutes-approval').querySelector('button')?.focus();
    return;
  }
  try {
    rooms = await fetchRooms();
  } catch {
    rooms = [];
  }
  fill(byId('room-list'), rooms.map((r) => el('li', {},
    el('button', { type: 'button', class: 'room-pick', dataset: { room: r.id }, onclick: () => openRoom(r.id) },
      i18n.pick(r.name), el('span', { class: 'hint' }, ` ${t(`kind.${r.kind}`)} · ${t('hud.count', { count: r.participants })}${r.recording ? ` · ● ${t('recording.on')}` : ''}`)))));
  const first = byId('room-list').querySelector('button');
  first?.focus();
}

byId('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  byId('login-error').textContent = '';
  byId('login-submit').disabled = true;
  try {
    await api.login(byId('login-account').value.trim(), byId('login-password').value);
    byId('login-password').value = '';
    await toRooms();
  } catch (err) {
    byId('login-error').textContent = reasonText(err.reason || 'internal');
  } finally {
    byId('login-submit').disabled = false;
  }
});

byId('console-logout').addEventListener('click', async () => {
  try {
    await api.logout();
  } catch {
    /* the session may already be gone */
  }
  await toLogin();
});

byId('room-back').addEventListener('click', () => toRooms());
byId('console-lang').addEventListener('change', (e) => setLang(e.target.value));

async function setLang(lang) {
  await i18n.setLang(lang);
  store.set(KEYS.lang, i18n.lang);
  byId('console-lang').value = i18n.lang;
  applyTranslations();
  if (room) {
    byId('room-title').textContent = i18n.pick(rooms.find((r) => r.id === room)?.name) || room;
    R.renderExports(room);
    renderAll();
    recordingsPanel.render();
    avatarsPanel.render();
  } else if (!byId('rooms-view').hidden) await toRooms();
}

// -- a room ------------------------------------------------------------------------------

function closeSocket() {
  clearInterval(timer);
  committeePanel.stopVideo();
  timer = null;
  if (socket) {
    socket.removeAllListeners();
    socket.disconnect();
  }
  socket = null;
}

async function enter() {
  const ack = await socket.timeout(10000).emitWithAck(E.CONSOLE_JOIN, { room }).catch(() => ({ ok: false, reason: 'timeout' }));
  if (!ack.ok) {
    showError(ack);
    if (ack.reason === 'session_expired') await toLogin();
    return;
  }
  self = ack.self;
  recording = ack.recording || { recording: false, since: null };
  meeting.load(ack.meeting);
  staff.load(ack.staff);
  committeePanel.setRoom(ack.meeting?.kind);
  committeePanel.setAudit(staff.audit);
  committeePanel.load(ack.meeting?.committee);
  byId('room-status').textContent = '';
  renderAll();
  refreshInvitations();
  refreshSettings();
  recordingsPanel.refresh(room);
  galleryPanel.refresh(room); // the 傍聴席: viewers, hands, requests (asked again every few s)
  avatarsPanel.refresh();
  transcriptPanel.close(); // (another room: its recording's transcript is not this one's)
}

async function openRoom(id) {
  closeSocket();
  room = id;
  show('room-view');
  byId('room-title').textContent = i18n.pick(rooms.find((r) => r.id === id)?.name) || id;
  R.renderExports(id);
  socket = io({ transports: ['websocket'], reconnectionDelayMax: 8000 });
  socket.on('connect', () => enter());
  socket.on('disconnect', (reason) => {
    byId('room-status').textContent = t('status.reconnecting');
    // The server sent this console away (its login ended, e.g. a logout in another tab):
    // socket.io does not retry that by itself. Rejoining tells the console why
    // (session_expired takes it to the login form).
    if (reason === 'io server disconnect') socket.connect();
  });
  socket.on(E.MEETING_FLOOR, (f) => {
    const change = meeting.applyFloor(f);
    if (change.speaker && f.holder) say(t('live.floorTo', { name: f.holder_name }));
    R.renderFloor(ctx());
  });
  socket.on(E.MEETING_RECORDING, (status) => {
    if (status.room !== room) return;
    const changed = !!status.recording !== !!recording.recording;
    recording = status;
    renderRecording();
    if (changed) say(t(status.recording ? 'live.recordingStarted' : 'live.recordingStopped'));
    if (changed) recordingsPanel.refresh(room);
  });
  socket.on(E.MEETING_AGENDA, (a) => {
    meeting.applyAgenda(a);
    R.renderAgenda(ctx());
  });
  socket.on(E.MEETING_EVENT, (e) => {
    const { what } = meeting.applyEvent(e);
    if (what === 'polls') R.renderPolls(ctx());
    else if (what === 'questions') R.renderQuestions(ctx());
    else if (what === 'captions') R.renderCaptions(ctx());
  });
  socket.on(E.MEETING_STAFF, (batch) => {
    if (batch.room !== room) return;
    const changed = staff.apply(batch.events);
    if (changed.has('lobby') && staff.lobby.size) say(t('console.someoneWaits', { n: staff.lobby.size }));
    // many new device identities within a minute: new browsers, or someone making "persons"
    const surge = batch.events.find((e) => e.type === 'devices.surge');
    if (surge) say(t('console.deviceSurge', { n: surge.minted }));
    for (const section of changed) SECTIONS[section]?.(ctx());
    if (changed.has('audit')) committeePanel.setAudit(staff.audit);
  });
  socket.on(E.COMMITTEE_STATE, (c) => {
    if (c.room === room) committeePanel.load(c);
  });
  socket.on(E.ROOM_DELTA, (d) => {
    if (d.room !== room) return;
    if (d.joined?.length || d.left?.length || d.tracking?.length) {
      staff.applyDelta(d);
      R.renderPeople(ctx());
    }
  });
  clearInterval(timer);
  timer = setInterval(() => {
    if (!room) return;
    R.renderFloor(ctx());
    R.renderAgenda(ctx());
  }, 1000);
  byId('room-title').focus({ preventScroll: true });
}

// -- forms and buttons -------------------------------------------------------------------

byId('floor-give').addEventListener('click', () => act(E.FLOOR_GIVE, R.floorLimit()));
byId('floor-next').addEventListener('click', () => act(E.FLOOR_NEXT, R.floorLimit()));
byId('floor-extend').addEventListener('click', () => act(E.FLOOR_EXTEND, { seconds: 60 }));
byId('floor-revoke').addEventListener('click', () => act(E.FLOOR_REVOKE));
byId('rec-toggle').addEventListener('click', async () => {
  const ack = await act(recording.recording ? E.RECORDING_STOP : E.RECORDING_START, { room });
  if (ack) {
    recording = { room, recording: ack.recording, since: ack.since };
    renderRecording();
  }
});
byId('agenda-advance').addEventListener('click', () => act(E.AGENDA_ADVANCE));
byId('agenda-close').addEventListener('click', () => act(E.AGENDA_CLOSE));
byId('agenda-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const title = byId('agenda-title').value.trim();
  if (!title) return;
  const planned = Math.round((Number(byId('agenda-minutes').value) || 0) * 60);
  if (await act(E.AGENDA_ADD, { title, planned })) byId('agenda-title').value = '';
});
byId('poll-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const question = byId('poll-question').value.trim();
  const options = byId('poll-options').value.split('\n').map((o) => o.trim()).filter(Boolean);
  const multiple = byId('poll-multiple').checked;
  const payload = { question, options, multiple, electorate: byId('poll-electorate').value };
  if (multiple) payload.max_choices = options.length;
  if (await act(E.POLL_CREATE, payload)) {
    byId('poll-question').value = '';
    byId('poll-options').value = '';
    say(t('console.pollMade'));
  }
});
byId('caption-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const text = byId('caption-text').value.trim();
  if (text && (await act(E.CAPTION_POST, { text }))) byId('caption-text').value = '';
});
byId('caption-fix').addEventListener('click', async () => {
  const text = byId('caption-text').value.trim();
  if (text && (await act(E.CAPTION_CORRECT, { text }))) byId('caption-text').value = '';
});

async function http(fn) {
  showError(null);
  try {
    return await fn();
  } catch (e) {
    showError(e instanceof ApiError ? e : { reason: 'internal' });
    if (e.reason === 'session_expired') await toLogin();
    return null;
  }
}

async function refreshInvitations() {
  const body = await http(() => api.get(`/api/rooms/${encodeURIComponent(room)}/invitations`));
  if (body) R.renderInvitations(body.invitations, revokeInvitation);
}

async function revokeInvitation(tokenId) {
  if (await http(() => api.post(`/api/invitations/${encodeURIComponent(tokenId)}/revoke`, {}))) refreshInvitations();
}

byId('invite-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const name = byId('invite-name').value.trim();
  const hours = Math.max(1, Math.min(720, Number(byId('invite-hours').value) || 24));
  const body = await http(() => api.post(`/api/rooms/${encodeURIComponent(room)}/invitations`,
    { role: byId('invite-role').value, ...(name ? { name } : {}), ttl: hours * 3600 }));
  if (!body) return;
  const link = new URL('/', location.origin);
  link.searchParams.set('room', room);
  link.searchParams.set('token', body.token);
  byId('invite-link').textContent = link.href;
  say(t('console.linkMade'));
  refreshInvitations();
});

// -- room settings: lobby switch and opinion categories (labels per language) -----------

const LABEL_LANGS = ['ja', 'en', 'zh', 'ko'];

/** One category a line: `value | ja | en | zh | ko` (labels optional). */
function categoriesText(list) {
  return list.map((c) => [c.value, ...LABEL_LANGS.map((l) => c.label?.[l] || '')].join(' | ').replace(/( \| )+$/, '')).join('\n');
}

function parseCategories(text) {
  return text.split('\n').map((line) => line.split('|').map((p) => p.trim())).filter((p) => p[0])
    .map(([value, ...labels]) => ({ value, label: Object.fromEntries(LABEL_LANGS.map((l, i) => [l, labels[i] || '']).filter(([, v]) => v)) }));
}

/** Unix seconds as a `datetime-local` value (`2026-12-10T14:00`) in the city's zone. */
function toLocalInput(at, tz = timeZone()) {
  if (at === null || at === undefined) return '';
  const p = Object.fromEntries(new Intl.DateTimeFormat('en-CA', {
    timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).formatToParts(new Date(at * 1000)).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}

/** A `datetime-local` value read as a clock time in the city's zone → Unix seconds (null: empty). */
function fromLocalInput(value, tz = timeZone()) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value || '');
  if (!m) return null;
  const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]) / 1000;
  // the zone's offset at that moment, found by showing a guess in the zone (twice: a
  // daylight-saving change between the guess and the answer moves the offset)
  let at = wall;
  for (let i = 0; i < 2; i++) {
    const shown = fromLocalParts(toLocalInput(at, tz));
    at = wall - (shown - at);
  }
  return at;
}

function fromLocalParts(v) {
  const [d, hm] = v.split('T');
  const [y, mo, da] = d.split('-').map(Number);
  const [h, mi] = hm.split(':').map(Number);
  return Date.UTC(y, mo - 1, da, h, mi) / 1000;
}

function renderSettings(body) {
  byId('settings-lobby').value = body.lobby === null || body.lobby === undefined ? 'default' : body.lobby ? 'on' : 'off';
  byId('settings-categories').value = categoriesText(body.categories || []);
  byId('settings-organiser').value = body.organiser || '';
  byId('settings-auto-captions').checked = !!body.auto_captions;
  byId('settings-caption-lang').value = body.caption_lang || 'ja';
  byId('settings-starts').value = toLocalInput(body.starts_at);
  byId('settings-ends').value = toLocalInput(body.ends_at);
  byId('settings-zone').textContent = t('console.timesIn', { zone: timeZone() || body.time_zone || '' });
  committeePanel.fillRule(body.committee);
}

async function refreshSettings() {
  const body = await http(() => api.get(`/api/rooms/${encodeURIComponent(room)}/settings`));
  if (body) renderSettings(body);
}

byId('settings-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const lobby = { default: null, on: true, off: false }[byId('settings-lobby').value];
  const rule = committeePanel.rulePayload(); // null: the quorum rule is not valid (message shown)
  if (rule === null) return;
  const body = await http(() => api.post(`/api/rooms/${encodeURIComponent(room)}/settings`,
    {
      lobby, categories: parseCategories(byId('settings-categories').value),
      // who holds the event and when, typed in the city's zone (empty: not said)
      organiser: byId('settings-organiser').value.trim() || null,
      starts_at: fromLocalInput(byId('settings-starts').value),
      ends_at: fromLocalInput(byId('settings-ends').value),
      // automatic captions of the floor holder and the chair (issue 17)
      auto_captions: byId('settings-auto-captions').checked,
      caption_lang: byId('settings-caption-lang').value,
      ...rule,
    }));
  if (body) {
    renderSettings(body);
    say(t('console.settingsSaved'));
  }
});

const recordingsPanel = new RecordingsPanel(api, http, say);
const galleryPanel = new GalleryPanel(api, http, say);
const transcriptPanel = new TranscriptPanel(api, say, () => toLogin());
recordingsPanel.onTranscript = (rec) => transcriptPanel.open(rec.id, byId('sec-recordings'));
// VRM avatars (issue 18): uploads for members and oneself, the check's report, approval.
const avatarsPanel = new AvatarsPanel(api, say, () => toLogin());
byId('recordings-refresh').addEventListener('click', () => recordingsPanel.refresh(room));

async function setCode(action) {
  const body = await http(() => api.post(`/api/rooms/${encodeURIComponent(room)}/registration-code`, { action }));
  if (body) {
    staff.code = body.code;
    R.renderCode(staff);
  }
}
byId('code-new').addEventListener('click', () => setCode('new'));
byId('code-clear').addEventListener('click', () => setCode('clear'));

/** Test and debugging hook. */
window.hiroba = {
  console: () => ({
    room,
    self,
    timeZone: timeZone(),
    lobby: staff.lobbyList().map((w) => ({ pid: w.pid, name: w.name })),
    people: staff.roster().map((p) => ({ pid: p.pid, name: p.name, role: p.role, place: p.place, tracking: p.tracking, trackingReason: p.trackingReason, muted: p.muted })),
    queue: meeting.floor?.queue || [],
    holder: meeting.floor?.holder ?? null,
    floorState: meeting.floor?.state ?? null,
    agenda: meeting.currentItem()?.item.title ?? null,
    polls: meeting.pollsList().map((p) => ({ id: p.id, question: p.question, counts: p.counts, state: p.state })),
    audit: staff.audit.map((e) => e.action),
    reports: staff.openReports().length,
    code: staff.code,
    recording: !!recording.recording,
    committee: committeePanel.state,
    recordings: recordingsPanel.mine().map((r) => ({ id: r.id, state: r.state, published: r.published })),
    avatars: avatarsPanel.state(),
  }),
};

await setLang(pickLang(store.get(KEYS.lang)));
if (await api.session().catch(() => null)) await toRooms();
else await toLogin();
