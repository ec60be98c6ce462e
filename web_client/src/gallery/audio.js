/**
 * The floor's voices in the gallery page: each speaker's Opus packets, as frames carry
 * them, decoded in the page — WebCodecs `AudioDecoder` where the browser has it, else the
 * `opus-decoder` package's WASM build, fetched only then (a dynamic import) — and played on
 * one AudioContext at the time the shared timeline (gallery/clock.js) gives each packet.
 * A packet that is decoded too late for its slot is dropped (silence), a missing one is
 * silence; nothing is ever stretched or queued behind. An AudioContext may only start
 * after a gesture: `start()` is called from the "listen" button.
 */
import { SpeakerLine } from './clock.js';

const CONFIG = { codec: 'opus', sampleRate: 48000, numberOfChannels: 1 };
const SAMPLES = 960; // one 20 ms packet at 48 kHz
const LEAD_S = 0.005; // a packet placed sooner than this from now is late
const SPEAKING_MS = 300; // a slot counts as speaking this long after its last packet played

/** Which decoder this browser gets: 'webcodecs' if it decodes Opus, else 'wasm'. */
export async function pickDecoder() {
  if (typeof AudioDecoder !== 'function') return 'wasm';
  try {
    const { supported } = await AudioDecoder.isConfigSupported(CONFIG);
    return supported ? 'webcodecs' : 'wasm';
  } catch {
    return 'wasm';
  }
}

/** One speaker's decoder, giving Float32Array PCM per packet to `onPcm(key, pcm)`. */
async function makeDecoder(kind, onPcm, onError) {
  if (kind === 'webcodecs') {
    const dec = new AudioDecoder({
      output: (data) => {
        const pcm = new Float32Array(data.numberOfFrames);
        data.copyTo(pcm, { planeIndex: 0, format: 'f32-planar' });
        const key = data.timestamp;
        data.close();
        onPcm(key, pcm);
      },
      error: onError,
    });
    dec.configure(CONFIG);
    return {
      decode: (key, payload) => dec.decode(new EncodedAudioChunk({ type: 'key', timestamp: key, data: payload })),
      close: () => dec.state !== 'closed' && dec.close(),
    };
  }
  const { OpusDecoder } = await import('opus-decoder');
  const dec = new OpusDecoder({ channels: 1, sampleRate: 48000 });
  await dec.ready;
  return {
    decode: (key, payload) => {
      const out = dec.decodeFrame(payload);
      if (out.samplesDecoded) onPcm(key, out.channelData[0]);
    },
    close: () => dec.free(),
  };
}

export class GalleryAudio {
  constructor(clock) {
    this.clock = clock;
    this.ctx = null;
    this.kind = null; // 'webcodecs' | 'wasm' once started
    this.streams = new Map(); // slot -> {line, decoder, pending: Map(key -> {ms, slot})}
    this.sources = new Set();
    this.stats = { decoded: 0, late: 0, lost: 0, scheduled: 0, errors: 0 };
    this.level = 0; // RMS of the latest decoded packet
    this.peakLevel = 0; // the loudest packet RMS of the last second
    this.peakAt = 0;
    this.lastAudioDelay = 0; // ms from a packet's nominal time to its playout
    this.anchorErrMs = 0;
    this.anchorAt = 0;
    // slot -> {from, to}: performance.now() of the playout of its talk spurt's first and
    // latest packet (the latest is scheduled ahead of now by the delay: a slot speaks from
    // `from` until a moment after `to`, not only once its last packet has played)
    this.playedAt = new Map();
    this.muted = false;
  }

  get listening() {
    return !!this.ctx && this.ctx.state === 'running';
  }

  /** Seconds the context adds after scheduling (its output latency): poses wait as long. */
  get outputMs() {
    if (!this.ctx) return 0;
    return ((this.ctx.outputLatency || 0) + (this.ctx.baseLatency || 0)) * 1000;
  }

  /** From a click: make (or resume) the context and pick the decoder. */
  async start() {
    if (!this.ctx) {
      this.ctx = new AudioContext({ sampleRate: 48000, latencyHint: 'interactive' });
      this.gain = this.ctx.createGain();
      this.gain.connect(this.ctx.destination);
    }
    await this.ctx.resume();
    if (!this.kind) this.kind = await pickDecoder();
    return this.kind;
  }

  /** The context time of local `perfMs`. */
  #ctxTime(perfMs) {
    return this.ctx.currentTime + (perfMs - performance.now()) / 1000;
  }

  async #stream(slot) {
    let s = this.streams.get(slot);
    if (s) return s;
    s = { line: new SpeakerLine(), pending: new Map(), decoder: null, ready: null };
    this.streams.set(slot, s);
    s.ready = makeDecoder(this.kind, (key, pcm) => this.#play(s, key, pcm), (e) => {
      this.stats.errors++;
      console.warn('gallery: audio decoder', e);
      this.streams.delete(slot); // a fresh decoder for the next packet
    }).then((d) => (s.decoder = d));
    await s.ready;
    return s;
  }

  /**
   * A frame's packets. `nominalMs`: the frame's nominal local time (clock.observe); each
   * packet plays at nominal - age + delay (+ nothing else: the output latency is added to
   * the poses' wait instead).
   */
  push(packets, nominalMs) {
    if (!this.listening || this.muted || !packets.length) return;
    // one frame after the other: a decoder being made must not let a later frame overtake
    this.chain = (this.chain ?? Promise.resolve())
      .then(() => this.#push(packets, nominalMs))
      .catch((e) => {
        // a decoder that could not be made (the WASM not loaded): this frame is silence
        this.stats.errors++;
        console.warn('gallery: audio', e);
      });
  }

  async #push(packets, nominalMs) {
    for (const p of packets) {
      if (this.muted) return; // closed while this frame waited its turn
      const s = this.streams.get(p.slot) ?? (await this.#stream(p.slot));
      if (!s.decoder) await s.ready;
      const wanted = nominalMs - p.ageMs + this.clock.delayMs;
      const placed = s.line.place(p.rtpTs, wanted);
      if (!placed) {
        this.stats.late++;
        continue;
      }
      this.stats.lost += placed.lost;
      // the decoder's timestamp (microseconds) names the packet when its PCM comes back
      const key = Math.round((placed.rtp * 1e6) / 48000);
      s.pending.set(key, { ms: placed.ms, wanted, nominal: nominalMs - p.ageMs, slot: p.slot });
      try {
        s.decoder.decode(key, p.payload);
      } catch (e) {
        this.stats.errors++;
        s.pending.delete(key);
        console.warn('gallery: undecodable packet', e);
      }
    }
  }

  #play(stream, key, pcm) {
    const at = stream.pending.get(key);
    stream.pending.delete(key);
    if (!at || !this.ctx || this.muted || stream.closed) return;
    this.stats.decoded++;
    let sum = 0;
    for (let i = 0; i < pcm.length; i++) sum += pcm[i] * pcm[i];
    this.level = Math.sqrt(sum / Math.max(1, pcm.length));
    const now = performance.now();
    if (this.level >= this.peakLevel || now - this.peakAt > 1000) {
      this.peakLevel = this.level;
      this.peakAt = now;
    }
    const when = this.#ctxTime(at.ms);
    if (when < this.ctx.currentTime + LEAD_S) {
      this.stats.late++;
      return;
    }
    const buf = this.ctx.createBuffer(1, pcm.length || SAMPLES, 48000);
    buf.copyToChannel(pcm, 0);
    const src = this.ctx.createBufferSource();
    src.buffer = buf;
    src.connect(this.gain);
    src.start(when);
    this.sources.add(src);
    src.onended = () => this.sources.delete(src);
    this.stats.scheduled++;
    this.lastAudioDelay = at.ms + this.outputMs - at.nominal;
    // how far the spurt's anchor sits from the shared timeline (within RESYNC_MS): the
    // faces are shown that much later too, so they meet the voice as it is played
    this.anchorErrMs = at.ms - at.wanted;
    this.anchorAt = performance.now();
    const span = this.playedAt.get(at.slot);
    if (span && at.ms - span.to < SPEAKING_MS) span.to = Math.max(span.to, at.ms);
    else this.playedAt.set(at.slot, { from: at.ms, to: at.ms });
  }

  /** Where the voice being played sits against the shared timeline, ms (0 when silent). */
  get skewMs() {
    return performance.now() - this.anchorAt < 1000 ? this.anchorErrMs : 0;
  }

  /** Slots heard within the last moment (a ring under their avatar). */
  speaking(nowMs) {
    const out = new Set();
    for (const [slot, span] of this.playedAt) if (span.from <= nowMs && nowMs - span.to < SPEAKING_MS) out.add(slot);
    return out;
  }

  /** Stop every voice now (a closed session); packets are dropped until `unmute()`. */
  silence() {
    this.muted = true;
    for (const src of this.sources) {
      try {
        src.stop();
      } catch {
        /* already ended */
      }
    }
    this.sources.clear();
    this.playedAt.clear();
    this.level = 0;
    this.peakLevel = 0;
    for (const s of this.streams.values()) {
      s.closed = true;
      s.decoder?.close();
    }
    this.streams.clear();
  }

  unmute() {
    this.muted = false;
  }
}
