/**
 * The audio plane in the page (docs/protocol.md, "Audio"): one listener peer with a fixed
 * number of receive-only audio slots, and, only while the person asks for it, one uplink
 * peer carrying the microphone. No STUN or TURN server: the page talks to Hiroba's own
 * address only, and like the server it does not trickle ICE.
 *
 * The server says which participant each slot carries (`audio:slots`); every frame each
 * slot's PannerNode is placed at that participant's avatar and the AudioContext's listener
 * at the own avatar. An AnalyserNode per slot (before the panner) measures what arrives.
 */
import { AUDIO_ACTIVE, AUDIO_CLOSE, AUDIO_CLOSED, AUDIO_LISTEN, AUDIO_PUBLISH, AUDIO_SLOTS } from './events.js';
import { gathered, rtcConfiguration } from './ice.js';

const SIGNAL_TIMEOUT_MS = 15000;
/** Height of a voice above the avatar's feet, metres. */
const MOUTH_Y = 1.5;
/** The reported level falls to half in about this long after a sound (seconds). */
const LEVEL_HALF_LIFE = 0.35;

/** A refusal with the server's reason code, or `denied` / `no_mic` from the browser. */
export class VoiceError extends Error {
  constructor(reason, message) {
    super(message || reason);
    this.name = 'VoiceError';
    this.reason = reason;
  }
}

/** Root-mean-square of time-domain samples (-1..1). */
export function rmsOf(samples) {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
  return samples.length ? Math.sqrt(sum / samples.length) : 0;
}

/** `audio:slots`' list, normalised to `n` entries of a participant id or null. */
export function slotsFromWire(msg, n) {
  const list = Array.isArray(msg?.slots) ? msg.slots : [];
  return Array.from({ length: n }, (_, i) => (typeof list[i] === 'string' ? list[i] : null));
}

/** Panner distance settings: whole-room voices (floor) are panned, never attenuated. */
export function distanceOf(mode, radius = 12) {
  if (mode === 'proximity') return { distanceModel: 'linear', refDistance: 2, maxDistance: radius, rolloffFactor: 1 };
  return { distanceModel: 'inverse', refDistance: 1, maxDistance: 10000, rolloffFactor: 0 };
}

/** Facing of heading `h` (state/geom.js: forward is (-sin h, -cos h)). */
export function facingOf(h) {
  return { x: -Math.sin(h), y: 0, z: -Math.cos(h) };
}

function setParam(param, value) {
  if (param) param.value = value;
}

/** Place a PannerNode or the AudioListener (older browsers have only setPosition). */
function place(node, x, y, z) {
  if (node.positionX) {
    setParam(node.positionX, x);
    setParam(node.positionY, y);
    setParam(node.positionZ, z);
  } else node.setPosition?.(x, y, z);
}

/** A listen offer refused `rate_limited` is sent again this many times, this far apart. */
const LISTEN_RETRIES = 3;
const LISTEN_RETRY_MS = 2500;

export class Voice {
  /**
   * `net` is the HirobaSocket. handlers: onChange(state) when listening, publishing or
   * the microphone's status change; onActive(id, on) when a participant starts or stops
   * speaking; onMicEnded(reason) when the server closed the microphone (floor ended, muted).
   * onListenRefused(reason) when the server would not send voices (`audio_full`,
   * `address_limit`).
   */
  constructor(net, handlers = {}) {
    this.net = net;
    this.h = handlers;
    this.ctx = null;
    this.listenPc = null;
    this.micPc = null;
    this.micStream = null;
    this.mode = 'floor';
    this.radius = 12;
    this.slotCount = 0;
    this.slots = []; // participant id per slot, or null
    this.chains = []; // per slot: {source, analyser, panner, gain, element, buf}
    this.active = new Set();
    this.level = 0;
    this.publishing = false;
    this.starting = false;
    this.generation = 0; // bumped on every enter/exit: late answers of an old room are dropped
    this.lastFrame = 0;
    net.socket.on(AUDIO_SLOTS, (m) => this.#onSlots(m));
    net.socket.on(AUDIO_ACTIVE, (m) => this.#onActive(m));
    net.socket.on(AUDIO_CLOSED, (m) => this.#onClosed(m));
  }

  /** Create or resume the AudioContext; call from a user gesture (autoplay rules). */
  unlock() {
    const Ctx = globalThis.AudioContext || globalThis.webkitAudioContext;
    if (!Ctx) return;
    if (!this.ctx) this.ctx = new Ctx({ latencyHint: 'interactive' });
    if (this.ctx.state === 'suspended') this.ctx.resume().catch(() => {});
  }

  get listening() {
    return !!this.listenPc && this.listenPc.connectionState !== 'failed' && this.listenPc.connectionState !== 'closed';
  }

  /** For `window.hiroba.state().audio`. */
  state() {
    return {
      listening: this.listening,
      publishing: this.publishing,
      slots: [...this.slots],
      level: Math.round(this.level * 10000) / 10000,
      active: [...this.active].sort(),
    };
  }

  /** Entered a room: listen on `info.slots` slots (`info` from the join ack's `audio`). */
  async enter(info, retries = 0) {
    this.exit(true);
    if (!info || typeof RTCPeerConnection === 'undefined') return;
    const generation = this.generation;
    this.mode = info.mode === 'proximity' ? 'proximity' : 'floor';
    this.radius = Number(info.radius) || 12;
    this.slotCount = Math.max(1, Math.min(8, info.slots | 0 || 3));
    this.slots = Array(this.slotCount).fill(null);
    this.unlock();
    const pc = new RTCPeerConnection(rtcConfiguration());
    this.listenPc = pc;
    for (let i = 0; i < this.slotCount; i++) pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.addEventListener('track', (e) => {
      const index = pc.getTransceivers().indexOf(e.transceiver);
      this.#attach(index < 0 ? this.chains.length : index, e.track);
    });
    pc.addEventListener('connectionstatechange', () => this.#changed());
    try {
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc);
      if (generation !== this.generation) return;
      const ack = await this.net.request(AUDIO_LISTEN, { sdp: pc.localDescription.sdp, slots: this.slotCount }, SIGNAL_TIMEOUT_MS);
      if (generation !== this.generation) return;
      if (!ack || ack.ok !== true) throw new VoiceError(ack?.reason || 'internal', ack?.message);
      await pc.setRemoteDescription({ type: 'answer', sdp: ack.sdp });
      this.slots = slotsFromWire(ack, this.slotCount);
      this.#setActive(ack.active || []);
    } catch (e) {
      console.warn('audio: cannot listen', e);
      if (this.listenPc === pc) {
        pc.close();
        this.listenPc = null;
      }
      // Offers have a small budget of their own: a quick room change can run past it,
      // and a little later the same offer is welcome. Retried a few times, quietly.
      const idle = !this.publishing && !this.starting; // (a retry's exit() would stop the mic)
      if (e?.reason === 'rate_limited' && retries < LISTEN_RETRIES && idle && generation === this.generation) {
        setTimeout(() => {
          if (generation === this.generation && !this.publishing && !this.starting) this.enter(info, retries + 1);
        }, LISTEN_RETRY_MS);
      } else if (e?.reason === 'audio_full' || e?.reason === 'address_limit') {
        this.h.onListenRefused?.(e.reason);
      }
    }
    this.#changed();
  }

  /** Left the room: every peer closed, the server told unless `quiet`. */
  exit(quiet = false) {
    this.generation++;
    const had = this.listenPc || this.micPc;
    this.#stopMic();
    this.listenPc?.close();
    this.listenPc = null;
    for (const c of this.chains) this.#detach(c);
    this.chains = [];
    this.slots = [];
    this.#setActive([]);
    this.level = 0;
    if (had && !quiet && this.net.connected) this.net.request(AUDIO_CLOSE, {}, 3000).catch(() => {});
    this.#changed();
  }

  /** Turn the microphone on (resolves once the server accepted it) or off. */
  async setMic(on) {
    if (!on) {
      const was = this.publishing || this.starting;
      this.#stopMic();
      if (was && this.net.connected) this.net.request(AUDIO_CLOSE, { what: 'publish' }, 3000).catch(() => {});
      this.#changed();
      return;
    }
    if (this.publishing || this.starting) return;
    this.unlock();
    this.starting = true;
    this.#changed();
    const generation = this.generation;
    let stream = null;
    let pc = null;
    try {
      if (!navigator.mediaDevices?.getUserMedia) throw new VoiceError('no_mic');
      try {
        stream = await navigator.mediaDevices.getUserMedia({
          audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
          video: false,
        });
      } catch (e) {
        throw new VoiceError(e?.name === 'NotAllowedError' || e?.name === 'SecurityError' ? 'denied' : 'no_mic', e?.message);
      }
      pc = new RTCPeerConnection(rtcConfiguration());
      pc.addTransceiver(stream.getAudioTracks()[0], { direction: 'sendonly', streams: [stream] });
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc);
      if (generation !== this.generation) throw new VoiceError('not_joined');
      const ack = await this.net.request(AUDIO_PUBLISH, { sdp: pc.localDescription.sdp }, SIGNAL_TIMEOUT_MS);
      if (!ack || ack.ok !== true) throw new VoiceError(ack?.reason || 'internal', ack?.message);
      if (generation !== this.generation) throw new VoiceError('not_joined');
      await pc.setRemoteDescription({ type: 'answer', sdp: ack.sdp });
      this.micPc = pc;
      this.micStream = stream;
      this.publishing = true;
      pc.addEventListener('connectionstatechange', () => {
        if (this.micPc === pc && (pc.connectionState === 'failed' || pc.connectionState === 'closed')) {
          this.#stopMic();
          this.h.onMicEnded?.('failed');
          this.#changed();
        }
      });
    } catch (e) {
      pc?.close();
      for (const track of stream?.getTracks() ?? []) track.stop();
      throw e instanceof VoiceError ? e : new VoiceError('failed', e?.message);
    } finally {
      this.starting = false;
      this.#changed();
    }
  }

  /**
   * Once a frame: each slot's panner at its speaker (`where(id)` → {x, y, z} or null),
   * the listener at `self` ({x, y, z, h}); and the level measured.
   */
  frame(where, self, nowMs = performance.now()) {
    const dt = this.lastFrame ? Math.min(0.5, (nowMs - this.lastFrame) / 1000) : 0;
    this.lastFrame = nowMs;
    let loudest = 0;
    for (let i = 0; i < this.chains.length; i++) {
      const c = this.chains[i];
      if (!c) continue;
      const id = this.slots[i];
      const at = id ? where(id) : null;
      if (at) place(c.panner, at.x, (at.y || 0) + MOUTH_Y, at.z);
      c.analyser.getFloatTimeDomainData(c.buf);
      loudest = Math.max(loudest, rmsOf(c.buf));
    }
    this.level = Math.max(loudest, this.level * Math.pow(0.5, dt / LEVEL_HALF_LIFE));
    const listener = this.ctx?.listener;
    if (listener && self) {
      const f = facingOf(self.h || 0);
      place(listener, self.x, (self.y || 0) + MOUTH_Y, self.z);
      if (listener.forwardX) {
        setParam(listener.forwardX, f.x);
        setParam(listener.forwardY, 0);
        setParam(listener.forwardZ, f.z);
        setParam(listener.upY, 1);
      } else listener.setOrientation?.(f.x, 0, f.z, 0, 1, 0);
    }
  }

  #attach(index, track) {
    if (!this.ctx || this.chains[index]) return;
    const stream = new MediaStream([track]);
    // Chromium plays a remote WebRTC stream through WebAudio only while some media
    // element also consumes it: a muted one does, without playing it twice.
    const element = new Audio();
    element.muted = true;
    element.srcObject = stream;
    element.play().catch(() => {});
    const ctx = this.ctx;
    const source = ctx.createMediaStreamSource(stream);
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 1024;
    const coarse = globalThis.matchMedia?.('(pointer: coarse)').matches;
    const panner = new PannerNode(ctx, { panningModel: coarse ? 'equalpower' : 'HRTF', ...distanceOf(this.mode, this.radius) });
    const gain = ctx.createGain();
    source.connect(analyser);
    analyser.connect(panner);
    panner.connect(gain);
    gain.connect(ctx.destination);
    this.chains[index] = { source, analyser, panner, gain, element, buf: new Float32Array(analyser.fftSize) };
  }

  #detach(c) {
    if (!c) return;
    c.source.disconnect();
    c.gain.disconnect();
    c.element.srcObject = null;
  }

  #stopMic() {
    this.micPc?.close();
    this.micPc = null;
    for (const track of this.micStream?.getTracks() ?? []) track.stop();
    this.micStream = null;
    this.publishing = false;
  }

  #onSlots(msg) {
    if (!this.listenPc) return;
    this.slots = slotsFromWire(msg, this.slotCount);
  }

  #onActive(msg) {
    if (!this.listenPc && !this.publishing) return;
    this.#setActive(Array.isArray(msg?.active) ? msg.active : []);
  }

  #setActive(ids) {
    const next = new Set(ids.filter((id) => typeof id === 'string'));
    for (const id of this.active) if (!next.has(id)) this.h.onActive?.(id, false);
    for (const id of next) if (!this.active.has(id)) this.h.onActive?.(id, true);
    this.active = next;
  }

  #onClosed(msg) {
    if (!this.publishing && !this.starting) return;
    this.#stopMic();
    this.h.onMicEnded?.(msg?.reason || 'ended');
    this.#changed();
  }

  #changed() {
    this.h.onChange?.(this.state());
  }
}
