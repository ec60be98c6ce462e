/**
 * The public gallery page (傍聴, `/gallery?room=…`, issue 19): watch and listen only. One
 * WebSocket (`/gallery/ws?room=…`, binary, net/galleryCodec.js) brings everything: the
 * room's state as JSON, and per frame period the stage poses, a crowd sample and the floor
 * speakers' Opus packets. Voices (gallery/audio.js) and faces (gallery/stage.js) play on one
 * timeline (gallery/clock.js), so mouths and voices stay together. A viewer may raise a
 * hand or ask to speak; staff may then let them in (`promoted`: the page goes to the
 * join page with the invitation). Exposes `window.hiroba.state()` for tests.
 */
import { i18n, pickLang, t } from '../i18n.js';
import { applyTranslations, KEYS, store as storage } from '../ui/dom.js';
import { decode, encodeAsk, encodeHand, GalleryFormatError } from '../net/galleryCodec.js';
import { MediaClock } from './clock.js';
import { GalleryAudio } from './audio.js';
import { GalleryStage } from './stage.js';
import { announce, GalleryPanel } from './panel.js';
import { SpeakerView } from '../ui/speakerView.js';

const $ = (id) => document.getElementById(id);
const room = new URLSearchParams(location.search).get('room') ?? '';
/** Close codes after which the page does not come back by itself. */
const FINAL = new Set([4403, 4404, 4429, 4503, 1008]);
const RECONNECT_MS = [1000, 2000, 5000, 10000];

const clock = new MediaClock();
const audio = new GalleryAudio(clock);
const panel = new GalleryPanel();
let stage = null;
let hello = null;
let ws = null;
let retries = 0;
let stopped = false;
let hand = false;
let asked = false;
let lastFrameAt = 0;
const stats = { frames: 0, states: 0, bad: 0, seq: null, missed: 0, crowd: 0 };
let freshRoom = false; // the room was just built: its first drawing is still to come
let firstFrameAt = null; // a room with nobody in it yet is built after a moment
let speakerView = null; // the main page's speaker view (ui/speakerView.js), on the stage

/** The meeting's name in the page's language (`title`: a string or `{ja, en}`). */
function titleText() {
  const title = hello?.title ?? hello?.room_name;
  if (!title) return hello?.room ?? '';
  return typeof title === 'object' ? i18n.pick(title) : String(title);
}

function strings() {
  const name = titleText() || room;
  return { roomName: name, boardHeading: t('scene.boardHeading'), boardEmpty: t('scene.boardEmpty'), gallery: t('scene.gallery') };
}

function status(text) {
  $('gallery-status').textContent = text;
}

function renderHead() {
  const title = titleText();
  $('gallery-title').textContent = title ? t('gallery.heading', { title }) : t('gallery.title');
  document.title = `${title || room} — ${t('gallery.title')}`;
}

async function setLang(lang) {
  await i18n.setLang(lang);
  storage.set(KEYS.lang, i18n.lang);
  applyTranslations();
  $('gallery-lang').value = i18n.lang;
  renderHead();
  renderControls();
  panel.floorText = '';
  panel.render();
  stage?.setStrings();
}

function renderControls() {
  $('gallery-listen').textContent = t(audio.listening ? 'gallery.listening' : 'gallery.listen');
  $('gallery-listen').setAttribute('aria-pressed', audio.listening ? 'true' : 'false');
  $('gallery-hand').textContent = t(hand ? 'gallery.handDown' : 'gallery.handUp');
  $('gallery-hand').setAttribute('aria-pressed', hand ? 'true' : 'false');
  $('gallery-ask').textContent = t(asked ? 'gallery.askCancel' : 'gallery.ask');
}

/** The stage avatar's id of a slot (gallery/stage.js draws slot n as `s<n>`), and back. */
const aidOf = (slot) => `s${slot}`;
const slotOf = (aid) => (typeof aid === 'string' && aid[0] === 's' ? Number(aid.slice(1)) : NaN);

/**
 * The speaker view: the close-up of the floor holder (the floor names their slot,
 * `holder_slot`) or of the chair while the chair speaks; the people list (`people`, which
 * includes the holder) gives names and roles by slot. The gallery has no person of its own;
 * a closed session, or a room not drawn yet, turns it off.
 */
function makeSpeakerView() {
  return new SpeakerView({
    active: () => !!hello && !panel.closed && !!stage?.loaded,
    holder: () => (panel.floor?.holder && panel.floor.holder_slot != null ? aidOf(panel.floor.holder_slot) : null),
    person: (aid) => stage?.people.get(slotOf(aid)) ?? null,
    selfId: () => null,
    labelOf: (p) => {
      if (!p.name) return t('replay.someone');
      return p.role && p.role !== 'citizen' ? t('role.withName', { name: p.name, role: t(`role.${p.role}`) }) : p.name;
    },
    announce,
    // the name under the close-up (the floor line at the top stays, for everyone)
    shown: (on) => {
      $('speaker-name').textContent = on && speakerView ? speakerView.name : '';
    },
  });
}

function url() {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.host}/gallery/ws?room=${encodeURIComponent(room)}`;
}

function connect() {
  if (stopped) return;
  ws = new WebSocket(url());
  ws.binaryType = 'arraybuffer';
  ws.onopen = () => {
    retries = 0;
    status('');
  };
  ws.onmessage = (ev) => onMessage(ev.data);
  ws.onclose = (ev) => {
    ws = null;
    if (stopped) return;
    if (FINAL.has(ev.code)) {
      stopped = true;
      const key = ev.code === 4404 ? 'gallery.noRoom' : ev.code === 4503 ? 'gallery.full' : 'gallery.refused';
      status(t(key));
      announce(t(key));
      return;
    }
    status(t('status.reconnecting'));
    setTimeout(connect, RECONNECT_MS[Math.min(retries++, RECONNECT_MS.length - 1)]);
  };
}

function send(text) {
  if (ws?.readyState === WebSocket.OPEN) ws.send(text);
}

function onMessage(data) {
  if (typeof data === 'string') return; // the server sends binary only
  let m;
  try {
    m = decode(data);
  } catch (e) {
    if (!(e instanceof GalleryFormatError)) throw e;
    stats.bad++;
    return;
  }
  if (m.kind === 'frame') onFrame(m);
  else onState(m.msg);
}

function onFrame(f) {
  const now = performance.now();
  stats.frames++;
  if (stats.seq !== null && f.seq !== ((stats.seq + 1) >>> 0)) stats.missed += Math.max(0, ((f.seq - stats.seq) >>> 0) - 1);
  stats.seq = f.seq;
  stats.crowd = f.crowd;
  lastFrameAt = now;
  if (f.closed !== panel.closed) setClosed(f.closed);
  let maxAge = 0;
  for (const a of f.audio) maxAge = Math.max(maxAge, a.ageMs);
  const nominal = clock.observe(f.serverMs, now, maxAge);
  if (f.closed) return;
  firstFrameAt ??= now;
  if (stage && !stage.loaded && hello && (f.entries.length || now - firstFrameAt > 1500)) {
    stage.load(hello, f.entries);
    freshRoom = true;
  }
  // The voice reaches the server later than the pose beside it (its receive jitter
  // buffer): the faces wait that much longer, so mouths meet the voice.
  const lag = hello?.audio_lag_ms ?? 0;
  stage?.enqueue(f.entries, nominal, nominal + clock.delayMs + audio.outputMs + audio.skewMs + lag);
  audio.push(f.audio, nominal);
}

function setClosed(closed) {
  panel.apply({ closed });
  if (closed) {
    audio.silence();
    stage?.clear();
    announce(t('gallery.closed'));
  } else {
    audio.unmute();
    announce(t('gallery.reopened'));
  }
}

function onState(msg) {
  stats.states++;
  switch (msg.t) {
    case 'hello':
      hello = msg;
      if (msg.frame_ms) clock.frameMs = msg.frame_ms;
      panel.count = { viewers: msg.viewers ?? 0, peak: msg.peak ?? 0 };
      stage?.setPeople(msg.people);
      if (stage && !stage.loaded && msg.layout) stage.load(msg, []);
      renderHead();
      panel.apply(msg);
      if (msg.closed) setClosed(true);
      break;
    case 'state':
      if ('people' in msg) stage?.setPeople(msg.people);
      if ('closed' in msg && !!msg.closed !== panel.closed) setClosed(!!msg.closed);
      panel.apply(msg);
      break;
    case 'caption':
      panel.caption(msg.line ?? msg.caption ?? msg);
      break;
    case 'count':
      panel.apply({ viewers: msg.viewers, peak: msg.peak });
      break;
    case 'chat':
    case 'opinion':
      // the room's public chat and opinions, read only: a new, hidden or restored item
      panel.talk(msg);
      break;
    case 'promoted':
      // staff let this viewer in: the join page with the invitation, through the lobby
      stopped = true;
      announce(t('gallery.promoted'));
      ws?.close(1000);
      if (typeof msg.url === 'string' && msg.url.startsWith('/')) location.assign(msg.url);
      break;
    case 'error':
      status(t(`error.${msg.reason}`) || msg.message || t('error.unknown'));
      break;
    default:
      break;
  }
}

function bindControls() {
  $('gallery-lang').addEventListener('change', (e) => setLang(e.target.value));
  $('gallery-listen').addEventListener('click', async () => {
    try {
      await audio.start();
    } catch (e) {
      console.warn('gallery: no audio', e);
      status(t('gallery.noAudio'));
    }
    renderControls();
  });
  $('gallery-hand').addEventListener('click', () => {
    hand = !hand;
    send(encodeHand(hand));
    announce(t(hand ? 'gallery.handRaised' : 'gallery.handLowered'));
    renderControls();
  });
  $('gallery-ask-form').addEventListener('submit', (e) => {
    e.preventDefault();
    let text;
    try {
      text = asked ? encodeAsk({ cancel: true }) : encodeAsk({ name: $('gallery-name').value });
    } catch {
      $('gallery-ask-error').textContent = t('gallery.nameTooLong');
      return;
    }
    $('gallery-ask-error').textContent = '';
    asked = !asked;
    send(text);
    announce(t(asked ? 'gallery.asked' : 'gallery.askCancelled'));
    renderControls();
  });
}

let last = performance.now();
let rafAt = null;
let rafMs = 16; // the animation frame interval, smoothed
let avOffset = null;
function frame(now) {
  requestAnimationFrame(frame);
  const dt = Math.min(0.25, (now - last) / 1000);
  last = now;
  if (!stage) return;
  rafMs += (Math.min(250, now - (rafAt ?? now)) - rafMs) * 0.1;
  rafAt = now;
  if (stage.frame(now, rafMs / 2) && audio.stats.scheduled) {
    // voice minus face, each from its nominal time, smoothed over the frames drawn
    // (the voice's delay counted from when it was spoken: the server's lag added)
    const offset = audio.lastAudioDelay + (hello?.audio_lag_ms ?? 0) - stage.poseDelayMs;
    avOffset = avOffset === null ? offset : avOffset + (offset - avOffset) * 0.1;
  }
  stage.setSpeaking(audio.speaking(now));
  // before the room is drawn: the close-up pass is part of plaza.render
  if (speakerView && stage.webgl) speakerView.frame(stage.plaza, now);
  panel.renderTimer();
  stage.render(now, dt);
  if (freshRoom) {
    // Building and first drawing the room held the page up (software WebGL: most of a
    // second): the frames queued meanwhile say nothing of the network, so the timeline
    // starts over once they are read.
    freshRoom = false;
    setTimeout(() => clock.reset(), 300);
  }
}

const round = (v) => Math.round(v * 10) / 10;

/** Test and debugging hook; tests/e2e/test_gallery_page.py depends on this shape. */
window.hiroba = {
  state() {
    const poseDelay = stage?.poseDelayMs ?? 0;
    return {
      room,
      connected: ws?.readyState === WebSocket.OPEN,
      hello: !!hello,
      frames: stats.frames,
      states: stats.states,
      badMessages: stats.bad,
      missedFrames: stats.missed,
      crowd: stats.crowd,
      lastFrameAgoMs: lastFrameAt ? Math.round(performance.now() - lastFrameAt) : null,
      viewers: panel.count.viewers,
      peak: panel.count.peak,
      closed: panel.closed,
      floor: panel.floor?.holder ?? null,
      captions: panel.captions.map((c) => c.text),
      audio: {
        listening: audio.listening,
        decoder: audio.kind,
        decoded: audio.stats.decoded,
        scheduled: audio.stats.scheduled,
        late: audio.stats.late,
        lost: audio.stats.lost,
        errors: audio.stats.errors,
        level: round(audio.level * 1000) / 1000,
        peakLevel: round(audio.peakLevel * 1000) / 1000,
        outputMs: round(audio.outputMs),
      },
      jitterDelayMs: round(clock.delayMs),
      spreadMs: round(clock.spreadMs),
      poseDelayMs: round(poseDelay),
      audioDelayMs: round(audio.lastAudioDelay),
      // audio behind (+) or ahead (-) of the faces, ms: both follow nominal time + the delay
      avOffsetMs: avOffset === null ? null : round(avOffset),
      frameIntervalMs: round(rafMs),
      stage: stage ? stage.state() : [],
      crowdDrawn: stage ? stage.crowdDrawn : 0,
      framesShown: stage?.framesShown ?? 0,
      webgl: stage?.webgl ?? false,
      hand,
      asked,
      // the speaker view: {mode ('auto' | 'speaker' | 'room'), showing ('s<slot>' or null), name, on}
      speakerView: speakerView ? speakerView.state() : null,
      // draw calls of the close-up pass in the last frame (0: not drawn)
      speakerPass: stage?.plaza?.speakerCam?.stats.calls ?? 0,
    };
  },
};

await setLang(pickLang(storage.get(KEYS.lang)));
bindControls();
if (!room) {
  status(t('gallery.noRoom'));
} else {
  stage = new GalleryStage($('scene'), strings);
  await stage.init();
  if (!stage.webgl) status(t('error.no_webgl'));
  speakerView = makeSpeakerView();
  connect();
  requestAnimationFrame(frame);
}
