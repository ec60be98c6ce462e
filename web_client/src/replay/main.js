/**
 * The replay page (`/replay?id=…`, issue 6 "Replay"): loads a recording's manifest, motion
 * log, event log and speakers' audio, and re-creates the meeting in the 3D plaza with one
 * clock (replay/clock.js) driving avatars, voices, captions and chat. Exposes
 * `window.hiroba.replay()` for tests.
 */
import { i18n, pickLang, t } from '../i18n.js';
import { applyTranslations, KEYS, store as storage } from '../ui/dom.js';
import { expressionOf } from '../state/expression.js';
import { parseMotionLog } from './motionLog.js';
import { MotionTimeline } from './timeline.js';
import { digest, floorAt, parseEvents } from './events.js';
import { ReplayClock } from './clock.js';
import { replayRoom } from './layout.js';
import { clockText, ReplayPanel, visibleCaptions } from './panel.js';
import { Voices } from './voices.js';

const $ = (id) => document.getElementById(id);
const id = new URLSearchParams(location.search).get('id') ?? '';
/** Where to start (`&t=` seconds; an archive search hit links to that moment). */
const startAt = Number(new URLSearchParams(location.search).get('t') ?? 0);
const base = `/api/recordings/${encodeURIComponent(id)}`;

let ready = false;
let manifest = null;
let timeline = null;
let info = null; // digest of the events
let clock = null;
let plaza = null;
let panel = null;
let voices = null;
const drawn = new Map(); // avatar id -> {slot, name, roll, pitch, yaw, x, z}
let fromStart = new Set(); // slots there when the recording began: drawn from t = 0
let now = { floor: null, speaking: [], text: '' }; // who has the floor and who speaks, shown
let lastFrame = 0;

async function fetchOk(url, as) {
  const r = await fetch(url, { credentials: 'same-origin' });
  if (!r.ok) throw Object.assign(new Error(`HTTP ${r.status}`), { status: r.status });
  return as === 'json' ? r.json() : as === 'text' ? r.text() : new Uint8Array(await r.arrayBuffer());
}

/** Speakers as [{file, pid, name}] (the route's list, or the manifest's {file: pid}). */
function speakerList(m) {
  if (Array.isArray(m.speakers)) return m.speakers;
  return Object.entries(m.speakers ?? {}).map(([file, pid]) => ({ file, pid, name: '' }));
}

function showMissing() {
  $('replay').hidden = true;
  $('replay-missing').hidden = false;
}

function slotName(slot) {
  return info.people.get(info.slots.get(slot))?.name ?? t('replay.seat', { n: slot });
}

function strings() {
  return {
    roomName: manifest ? i18n.pick(manifest.room_name ?? manifest.room) : '',
    boardHeading: t('scene.boardHeading'),
    boardEmpty: t('scene.boardEmpty'),
    gallery: t('scene.gallery'),
  };
}

function renderHead() {
  if (!manifest) return;
  const title = manifest.title || i18n.pick(manifest.room_name ?? manifest.room);
  $('replay-title').textContent = title;
  const date = new Date(manifest.started * 1000);
  $('replay-meta').textContent = t('replay.meta', {
    room: i18n.pick(manifest.room_name ?? manifest.room),
    date: date.toLocaleString(i18n.lang),
  });
  document.title = `${title} — ${t('replay.title')}`;
}

async function setLang(lang) {
  await i18n.setLang(lang);
  storage.set(KEYS.lang, i18n.lang);
  applyTranslations();
  $('replay-lang').value = i18n.lang;
  renderHead();
  panel?.render();
  now.text = ''; // the floor line in the new language
  if (clock) renderNow(clock.time() * 1000);
  plaza?.world?.setStrings(strings());
  renderPlay();
}

let shownPlaying = false;

/** The button says what it will do (its label changes, so no aria-pressed as well). */
function renderPlay() {
  shownPlaying = !!clock?.playing;
  $('replay-play').textContent = t(shownPlaying ? 'replay.pause' : 'replay.play');
}

async function load() {
  try {
    manifest = await fetchOk(base, 'json');
  } catch (e) {
    // 404: unknown, or not published and we are not staff. Nothing else is fetched.
    if (e.status === 404 || e.status === 403) return showMissing();
    $('replay-missing-text').textContent = t('replay.loadFailed');
    return showMissing();
  }
  $('replay').hidden = false;
  renderHead();
  $('replay-status').textContent = t('replay.loading');
  const files = new Set(manifest.files ?? []);
  const has = (f) => !manifest.files || files.has(f);
  const [motionBytes, eventsText] = await Promise.all([
    has('motion.bin') ? fetchOk(`${base}/files/motion.bin`).catch(() => new Uint8Array()) : new Uint8Array(),
    has('events.jsonl') ? fetchOk(`${base}/files/events.jsonl`, 'text').catch(() => '') : '',
  ]);
  const log = motionBytes.length ? await parseMotionLog(motionBytes) : { chunks: [], tornBytes: 0 };
  timeline = new MotionTimeline(log);
  info = digest(parseEvents(eventsText));
  // The event log's attendance and the motion log's first state: nobody present at the
  // start is missing from the stage before their first motion record.
  fromStart = new Set([...timeline.startSlots(), ...[...info.present].filter((s) => timeline.slots.has(s))]);
  const speakers = speakerList(manifest).filter((s) => has(s.file));
  for (const s of speakers) {
    const p = info.people.get(s.pid);
    if (!s.name && p) s.name = p.name;
  }
  voices = new Voices($('replay-audio'), speakers.map((s) => ({ ...s, url: `${base}/files/${s.file}` })));
  const duration = Math.max(manifest.duration_ms ?? 0, timeline.lastT) / 1000;
  clock = new ReplayClock({ duration, media: voices.elements });
  panel = new ReplayPanel(info, { onJump: seek });

  panel.render();
  let status = '';
  try {
    const { Plaza } = await import('../scene/plaza.js');
    plaza = new Plaza($('scene'));
    plaza.avatars.reducedMotion = matchMedia('(prefers-reduced-motion: reduce)').matches;
    const { room } = replayRoom(manifest, timeline);
    plaza.load(room, strings(), 'stage');
    plaza.resize();
  } catch (e) {
    // No WebGL (old or locked-down phones): the voices, captions and chat still play.
    console.warn('replay: 3D view unavailable', e);
    plaza = NO_PLAZA;
    status = t('error.no_webgl');
  }
  bindControls();
  if (Number.isFinite(startAt) && startAt > 0) seek(Math.min(startAt, duration));
  renderPlay();
  $('replay-status').textContent = status;
  ready = true;
  lastFrame = performance.now();
  requestAnimationFrame(frame);
}

/** Stands in for the plaza where WebGL is missing: nothing is drawn, the rest plays. */
const NO_PLAZA = {
  avatars: { has: () => true, add() {}, place() {}, pose() {}, remove() {}, setSpeaking() {} },
  world: null,
  floorAt: () => 0,
  render() {},
};

function seek(s) {
  clock.seek(s);
  frameAt(clock.time() * 1000, performance.now()); // drawn now, also while paused
}

function bindControls() {
  $('replay-play').addEventListener('click', async () => {
    voices.unlock(); // within the click: browsers let audio start after a gesture
    if (clock.playing) clock.pause();
    else await clock.play();
    renderPlay();
  });
  const bar = $('replay-seek');
  bar.addEventListener('input', () => seek((Number(bar.value) / 1000) * clock.duration));
  $('replay-rate').addEventListener('change', (e) => clock.setRate(Number(e.target.value)));
  $('replay-lang').addEventListener('change', (e) => setLang(e.target.value));
}

/** Draw the meeting as it was at `tMs`. */
function frameAt(tMs, now) {
  const present = new Set();
  for (const { slot, pose, pos } of timeline.at(tMs, fromStart)) {
    const aid = `s${slot}`;
    present.add(aid);
    const onStage = !!pose;
    if (!plaza.avatars.has(aid)) {
      const who = info.people.get(info.slots.get(slot));
      plaza.avatars.add({
        id: aid, name: slotName(slot), role: who?.role || (onStage ? 'member' : 'citizen'), avatar: who?.avatar,
        vrm: who?.vrm ?? null, // the model the member appeared as (the recorded participant record)
        x: pos?.x ?? 0, z: pos?.z ?? 0, h: pos?.h ?? 0,
      });
    }
    const p = pos ?? { x: 0, z: 0, h: 0 };
    plaza.avatars.place(aid, p.x, p.z, p.h, plaza.floorAt(p.x, p.z), onStage);
    if (pose) plaza.avatars.pose(aid, expressionOf(pose), now + 250, pose);
    drawn.set(aid, { slot, name: slotName(slot), roll: pose?.roll ?? null, pitch: pose?.pitch ?? null, yaw: pose?.yaw ?? null, x: p.x, z: p.z, stage: onStage });
  }
  for (const aid of [...drawn.keys()]) {
    if (present.has(aid)) continue;
    plaza.avatars.remove(aid);
    drawn.delete(aid);
  }
  speaking(tMs);
}

/** Has `pid`'s voice started by `tMs` (the event log's `speaker` line)? */
function voiced(pid, tMs) {
  return info.speakers.some((s) => s.pid === pid && s.t <= tMs);
}

/**
 * Who speaks: while playing, the speakers whose file is not silent now (analyser); paused
 * (or before the levels are known), the floor holder once their voice has begun.
 */
function speaking(tMs) {
  const holder = floorAt(info.floor, tMs);
  const heard = voices.levelsKnown && clock.playing ? voices.loud() : new Set(holder && voiced(holder, tMs) ? [holder] : []);
  for (const [aid, d] of drawn) {
    d.speaking = heard.has(info.slots.get(d.slot));
    plaza.avatars.setSpeaking?.(aid, d.speaking);
  }
  now.speaking = [...heard].filter(Boolean).sort();
  now.floor = holder;
  renderNow(tMs);
}

/** "Name (role)" of a person of the event log, the role in the page's language. */
function personText(pid) {
  const p = info.people.get(pid);
  if (!p) return t('replay.someone');
  return p.role ? t('role.withName', { name: p.name, role: t(`role.${p.role}`) }) : p.name;
}

/** The line over the stage: who has the floor and who is speaking (DOM only on change). */
function renderNow() {
  const floor = now.floor ? t('replay.floor', { who: personText(now.floor) }) : t('replay.floorNone');
  const speaking = now.speaking.length ? t('replay.speaking', { names: now.speaking.map(personText).join(t('replay.separator')) }) : '';
  const text = `${floor}\n${speaking}`;
  if (text === now.text) return;
  now.text = text;
  $('replay-floor').textContent = floor;
  $('replay-speaking').textContent = speaking;
}

function frame(now) {
  requestAnimationFrame(frame);
  const dt = Math.min(0.25, (now - lastFrame) / 1000);
  lastFrame = now;
  const tS = clock.tick();
  if (clock.playing !== shownPlaying) renderPlay(); // e.g. it stopped at the end
  const tMs = tS * 1000;
  frameAt(tMs, now);
  panel.update(tMs, clock.duration);
  const bar = $('replay-seek');
  if (document.activeElement !== bar) bar.value = String(clock.duration ? Math.round((tS / clock.duration) * 1000) : 0);
  const spoken = clockText(tS);
  if (bar.getAttribute('aria-valuetext') !== spoken) bar.setAttribute('aria-valuetext', spoken);
  plaza.render(now, dt, null, null);
}

/** Test and debugging hook; tests/e2e/test_replay.py depends on this shape. */
window.hiroba = {
  replay() {
    const tMs = clock ? clock.time() * 1000 : 0;
    return {
      ready,
      available: !!manifest,
      t: clock ? clock.time() : 0,
      duration: clock ? clock.duration : 0,
      playing: !!clock?.playing,
      rate: clock ? clock.rate : 1,
      // vrm: the model drawn (scene/vrmAvatars.js state), null for a procedural avatar
      avatars: [...drawn.entries()].map(([aid, a]) => ({ ...a, vrm: plaza?.avatars.vrmState?.(aid) ?? null })),
      captions: info ? visibleCaptions(info.captions, tMs) : [],
      drift_ms: clock ? Math.round(clock.driftMs * 10) / 10 : 0,
      max_drift_ms: clock ? Math.round(clock.maxDriftMs * 10) / 10 : 0,
      wall_drift_ms: clock ? Math.round(clock.wallDriftMs * 10) / 10 : 0,
      max_wall_drift_ms: clock ? Math.round(clock.maxWallDriftMs * 10) / 10 : 0,
      resyncs: clock ? clock.resyncs : 0,
      audio: voices ? voices.elements.map((el) => ({ t: el.currentTime, paused: el.paused, rate: el.playbackRate })) : [],
      chapters: info ? info.chapters.map((c) => ({ t: c.t / 1000, title: c.title })) : [],
      floor: now.floor,
      speaking: [...now.speaking],
    };
  },
  seek: (s) => seek(s),
};

await setLang(pickLang(storage.get(KEYS.lang)));
await load();
