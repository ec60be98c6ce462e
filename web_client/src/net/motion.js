/**
 * The page's side of the motion plane (docs/protocol.md, "Motion plane: the /motion
 * WebSocket"): one raw binary WebSocket that carries own position and pose up, at most
 * once per motion tick, and everyone else's down in one frame per tick.
 *
 * The token comes from the socket.io join acknowledgement; a rejoin brings a new one and
 * `open()` is called again. Close codes: 4401 (the token is unknown: we left, or the
 * server restarted) and 4403 (origin refused) are final until the next join; 4400 (our
 * uplinks were malformed) is a bug here, retried once after a long pause at most; any other
 * close (network) is retried with the same token, backing off.
 *
 * The fallback: when the WebSocket cannot be opened at all (a proxy that refuses the
 * upgrade: it failed twice without ever answering `ok`), the same uplinks and frames go
 * over a WebRTC data channel negotiated with `motion:offer` on socket.io (unordered, no
 * retransmissions). `?motion=datachannel` in the page's address starts with it (tests,
 * diagnosis).
 */
import { decodeFrame, encodeUplink } from './motionCodec.js';
import { MOTION_OFFER } from './events.js';
import { gathered, rtcConfiguration } from './ice.js';

export const CLOSE_BAD_INPUT = 4400;
export const CLOSE_BAD_TOKEN = 4401;
export const CLOSE_FORBIDDEN_ORIGIN = 4403;
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 15000;
const BAD_INPUT_RETRY_MS = 30000;
/** WebSocket failures without ever reaching `ok` after which the data channel is tried. */
export const WS_FAILURES_BEFORE_FALLBACK = 2;
/**
 * Uplinks are timed to reach the server this long before its next tick, so the tick's
 * frames carry them at once instead of after up to a whole tick (docs/protocol.md,
 * "Uplink timing"): a few ms for timer jitter and the trip on the network.
 */
export const UPLINK_LEAD_MS = 8;
/** Frames over which the tick's phase is the earliest estimate (one second at 20 Hz). */
export const PHASE_WINDOW = 20;

/** The WebSocket URL of `path` on the page's own origin (ws: or wss: as the page). */
export function motionUrl(path, loc = globalThis.location) {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${loc.host}${path}`;
}

export class MotionLink {
  /**
   * @param {object} o
   * @param {(frame: {tick, entries}) => void} o.onFrame a decoded frame
   * @param {(open: boolean) => void} [o.onStatus]
   * @param {Function} [o.signal] `(event, payload) => Promise<ack>` over socket.io
   * @param {Function} [o.WebSocket] the WebSocket class (tests pass a fake)
   * @param {Function} [o.RTCPeerConnection] likewise, for the data-channel fallback
   * @param {string} [o.prefer] 'websocket' (default) or 'datachannel'
   * @param {object} [o.location] where the page came from (tests)
   */
  constructor({
    onFrame,
    onStatus = () => {},
    signal = null,
    WebSocket = globalThis.WebSocket,
    RTCPeerConnection = globalThis.RTCPeerConnection,
    location = globalThis.location,
    timers = globalThis,
    now = () => performance.now(),
    prefer = 'websocket',
  }) {
    this.onFrame = onFrame;
    this.signal = signal; // (event, payload) => Promise<ack>: socket.io, for the fallback
    this.PC = RTCPeerConnection;
    this.prefer = prefer;
    this.transport = prefer; // 'websocket' or 'datachannel', for this join
    this.wsFailures = 0;
    this.pc = null;
    this.onStatus = onStatus;
    this.WS = WebSocket;
    this.location = location;
    this.timers = timers;
    this.now = now;
    this.ws = null;
    this.ready = false;
    this.motion = null; // {token, path, hz} of the current join
    this.intervalMs = 50;
    this.lastSentAt = -Infinity;
    this.pose = null; // own pose record not sent yet
    this.retryMs = RETRY_MIN_MS;
    this.retryTimer = null;
    this.badInputRetried = false;
    this.gen = 0;
    this.tickOrigin = null; // local time at which a server tick began, from the frames
    this.phaseSamples = []; // the last PHASE_WINDOW frames' estimates of it
    this.pending = null; // {x, z, h, moved}: the state for the next timed uplink
    this.flushTimer = null;
  }

  /** Motion ticks per second (frames down, uplinks up). */
  get hz() {
    return 1000 / this.intervalMs;
  }

  /** Server time (ms) of a tick: frames are placed on this clock. */
  tickMs(tick) {
    return tick * this.intervalMs;
  }

  /** Connect with the `motion` object of a join acknowledgement (replaces any link). */
  open(motion) {
    this.close();
    if (!motion?.token || !motion?.path) return;
    this.motion = motion;
    this.intervalMs = 1000 / (motion.hz || 20);
    this.retryMs = RETRY_MIN_MS;
    this.badInputRetried = false;
    this.wsFailures = 0;
    this.transport = this.PC && this.signal ? this.prefer : 'websocket';
    this.#connect(this.gen);
  }

  /** Close for good (leaving the room). */
  close() {
    this.gen++;
    this.motion = null;
    this.pose = null;
    if (this.retryTimer !== null) this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.#cancelFlush();
    const ws = this.ws;
    this.ws = null;
    this.#setReady(false);
    if (ws && ws.readyState <= 1) ws.close(1000);
    const pc = this.pc;
    this.pc = null;
    pc?.close(); // the server closes its end too when the channel goes
  }

  /** Keep `record` (69 bytes) as the own pose for the next uplink; false when offline. */
  setPose(record) {
    if (!this.ready) return false;
    this.pose = record;
    return true;
  }

  /**
   * Offer the own state: `moved` (the position changed) or a pose not sent yet make an
   * uplink worth sending. Once a frame has shown when the server's ticks begin, the
   * uplink goes out `UPLINK_LEAD_MS` before the next tick, with the latest state offered
   * by then; before that, at once, at most once a tick. True when it was taken.
   */
  send(now, x, z, h, moved) {
    if (!this.ready || (!moved && !this.pose && !this.pending)) return false;
    if (this.tickOrigin === null) {
      if (now - this.lastSentAt < this.intervalMs - 1) return false;
      this.#transmit(now, x, z, h);
      return true;
    }
    this.pending = { x, z, h, moved: moved || !!this.pending?.moved };
    if (this.flushTimer === null) this.#scheduleFlush(now);
    return true;
  }

  /** The local time of the next tick start minus the lead, at most one uplink a tick. */
  nextUplinkAt(now) {
    const p = this.intervalMs;
    const o = this.tickOrigin;
    let at = o + Math.ceil((now + UPLINK_LEAD_MS - o) / p) * p - UPLINK_LEAD_MS;
    if (at - this.lastSentAt < p / 2) at += p;
    return at;
  }

  #scheduleFlush(now) {
    const delay = Math.max(0, this.nextUplinkAt(now) - now);
    this.flushTimer = this.timers.setTimeout(() => {
      this.flushTimer = null;
      const s = this.pending;
      this.pending = null;
      if (this.ready && s && (s.moved || this.pose)) this.#transmit(this.now(), s.x, s.z, s.h);
    }, delay);
  }

  #cancelFlush() {
    if (this.flushTimer !== null) this.timers.clearTimeout(this.flushTimer);
    this.flushTimer = null;
    this.pending = null;
  }

  #transmit(now, x, z, h) {
    this.lastSentAt = now;
    this.ws.send(encodeUplink(x, z, h, this.pose));
    this.pose = null;
  }

  #setReady(ready) {
    if (ready === this.ready) return;
    this.ready = ready;
    this.onStatus(ready);
  }

  #connect(gen) {
    if (this.transport === 'datachannel') return void this.#connectChannel(gen);
    const ws = new this.WS(motionUrl(this.motion.path, this.location));
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    let answered = false;
    ws.onopen = () => ws.send(this.motion.token);
    ws.onmessage = (ev) => {
      if (gen !== this.gen) return;
      if (typeof ev.data === 'string') {
        if (ev.data === 'ok') {
          answered = true;
          this.wsFailures = 0;
          this.#opened();
        }
        return;
      }
      this.#frame(ev.data);
    };
    ws.onclose = (ev) => {
      if (gen !== this.gen) return;
      this.#lost();
      if (!answered && ev.code === 1006 && ++this.wsFailures >= WS_FAILURES_BEFORE_FALLBACK && this.PC && this.signal) {
        console.warn('motion WebSocket unreachable: trying the data channel');
        this.transport = 'datachannel';
        this.retryMs = RETRY_MIN_MS;
      }
      this.#closed(ev.code, gen);
    };
  }

  /** The fallback: the plane on a WebRTC data channel, offered over socket.io. */
  async #connectChannel(gen) {
    const pc = new this.PC(rtcConfiguration());
    this.pc = pc;
    const channel = pc.createDataChannel('motion', { ordered: false, maxRetransmits: 0 });
    channel.binaryType = 'arraybuffer';
    channel.onopen = () => {
      if (gen !== this.gen) return;
      this.ws = channel; // sends like a WebSocket
      this.#opened();
    };
    channel.onmessage = (ev) => {
      if (gen === this.gen && typeof ev.data !== 'string') this.#frame(ev.data);
    };
    let failed = false;
    const fail = (code) => {
      if (failed || gen !== this.gen) return;
      failed = true;
      pc.close();
      if (this.pc === pc) this.pc = null;
      this.#lost();
      this.#closed(code, gen);
    };
    channel.onclose = () => fail(1006);
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed') fail(1006);
    };
    try {
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc);
      if (gen !== this.gen) return void pc.close();
      const ack = await this.signal(MOTION_OFFER, { type: 'offer', sdp: pc.localDescription.sdp });
      if (gen !== this.gen) return void pc.close();
      // refused (not joined: the next join brings a new attempt; full: retry later)
      if (!ack?.ok) return fail(ack?.reason === 'not_joined' ? CLOSE_BAD_TOKEN : 1006);
      await pc.setRemoteDescription({ type: 'answer', sdp: ack.sdp });
    } catch (e) {
      console.warn('motion data channel', e);
      fail(1006);
    }
  }

  #opened() {
    this.retryMs = RETRY_MIN_MS;
    this.lastSentAt = -Infinity;
    this.#setReady(true);
  }

  #frame(data) {
    let frame;
    try {
      frame = decodeFrame(data, (tick) => this.tickMs(tick));
    } catch (e) {
      console.warn('motion frame', e);
      return;
    }
    this.#notePhase(this.now() - frame.delay);
    this.onFrame(frame);
  }

  /**
   * A frame says its tick began `delay` ms before it was sent; read at `estimate` + delay,
   * the tick began at `estimate` or earlier, never later: a page busy drawing reads its
   * frames late, and following the latest frame alone would aim its uplinks that much late
   * (past the tick, waiting a whole period). So the earliest of the last PHASE_WINDOW
   * estimates is taken, each moved by whole periods next to the newest.
   */
  #notePhase(estimate) {
    const samples = this.phaseSamples;
    samples.push(estimate);
    if (samples.length > PHASE_WINDOW) samples.shift();
    const p = this.intervalMs;
    let best = estimate;
    for (const e of samples) {
      const moved = e + Math.round((estimate - e) / p) * p;
      if (moved < best) best = moved;
    }
    this.tickOrigin = best;
  }

  #lost() {
    this.ws = null;
    this.tickOrigin = null; // another server (or a restart) may tick at another phase
    this.phaseSamples = [];
    this.#cancelFlush();
    this.#setReady(false);
  }

  #closed(code, gen) {
    if (code === CLOSE_BAD_TOKEN || code === CLOSE_FORBIDDEN_ORIGIN) {
      // nothing to retry with: the next socket.io (re)join brings a new token
      console.warn('motion link closed', code);
      return;
    }
    let delay = this.retryMs;
    if (code === CLOSE_BAD_INPUT) {
      if (this.badInputRetried) return console.warn('motion link refused our data again');
      this.badInputRetried = true;
      delay = BAD_INPUT_RETRY_MS;
    }
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = null;
      if (gen === this.gen && this.motion) this.#connect(gen);
    }, delay);
  }
}
