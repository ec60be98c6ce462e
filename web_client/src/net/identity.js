/**
 * Identity-check video in the page (docs/protocol.md, "Identity video"; 本人確認).
 *
 * A committee member (or the chair) sends their camera with `publishCamera`: video only, a
 * small picture (320×240 at 15 fps is enough to recognise a face and costs the member's
 * uplink ~300 kbit/s). The server forwards it, still encoded, to the chair and staff only.
 * The chair or a staff console sees the cameras with an `IdentityViewer`: one peer with a
 * fixed number of receive-only video slots; `identity:slots` says whose camera each slot
 * carries. Like the audio plane: no STUN or TURN unless the operator gave some, no
 * trickle ICE. Only VP8 is offered: it is the one codec the server forwards.
 */
import { IDENTITY_CLOSED, IDENTITY_PUBLISH, IDENTITY_SLOTS, IDENTITY_STOP, IDENTITY_VIEW } from './events.js';
import { gathered, rtcConfiguration } from './ice.js';

const SIGNAL_TIMEOUT_MS = 15000;
/** What the camera is asked for: a face, not a film. */
export const CAMERA_CONSTRAINTS = Object.freeze({
  width: { ideal: 320, max: 640 },
  height: { ideal: 240, max: 480 },
  frameRate: { ideal: 15, max: 15 },
});
/** The most the browser should send (bit/s); the server forwards what it gets. */
export const CAMERA_MAX_BITRATE = 300_000;

/** A refusal with the server's reason code, or `denied` / `no_camera` from the browser. */
export class IdentityError extends Error {
  constructor(reason, message) {
    super(message || reason);
    this.name = 'IdentityError';
    this.reason = reason;
  }
}

/** `identity:slots`' list, normalised to `n` entries of `{pid, name}` or null. */
export function slotsFromWire(msg, n) {
  const list = Array.isArray(msg?.slots) ? msg.slots : [];
  return Array.from({ length: n }, (_, i) => {
    const s = list[i];
    return s && typeof s.pid === 'string' ? { pid: s.pid, name: typeof s.name === 'string' ? s.name : '' } : null;
  });
}

/**
 * Offer VP8 (and its retransmissions) only, where the browser allows it: the server forwards
 * VP8 and nothing else, and every other codec costs ~1 KB of SDP per video section. A
 * chair's viewer offers one section per seat: with every codec Chromium offers ~5.3 KB a
 * section, so four seats (21 KB) already passed the server's socket message limit
 * (`max_message_bytes`, 16 KiB) and the server dropped the connection instead of
 * answering. VP8 alone is ~1.5 KB a section; the header extensions the server does not
 * use (all but mid and abs-send-time) are left out too where the browser can (~1 KB).
 */
function preferVp8(transceiver, Sender = globalThis.RTCRtpSender) {
  const caps = Sender?.getCapabilities?.('video');
  if (caps && typeof transceiver.setCodecPreferences === 'function') {
    const vp8 = caps.codecs.filter((c) => /^video\/(vp8|rtx)$/i.test(c.mimeType));
    try {
      transceiver.setCodecPreferences(vp8.length ? vp8 : caps.codecs);
    } catch {
      // An older browser: VP8 is in every WebRTC browser's offer anyway.
    }
  }
  if (typeof transceiver.getHeaderExtensionsToNegotiate === 'function') {
    try {
      transceiver.setHeaderExtensionsToNegotiate(transceiver.getHeaderExtensionsToNegotiate().map((x) => ({
        ...x, direction: /sdes:mid$|abs-send-time$/.test(x.uri) ? x.direction : 'stopped',
      })));
    } catch {
      // Not settable here: the offer is only longer.
    }
  }
}

/**
 * Send the own camera for the identity check; resolves once the server accepted it.
 * Returns `{ pc, stream, stop() }`; `stop()` ends the camera and tells the server.
 * `onEnded(reason)` is called if the server or the network ends it.
 */
export async function publishCamera(net, { onEnded } = {}) {
  if (!navigator.mediaDevices?.getUserMedia || typeof RTCPeerConnection === 'undefined') {
    throw new IdentityError('no_camera');
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: CAMERA_CONSTRAINTS, audio: false });
  } catch (e) {
    const denied = e?.name === 'NotAllowedError' || e?.name === 'SecurityError';
    throw new IdentityError(denied ? 'denied' : 'no_camera', e?.message);
  }
  const pc = new RTCPeerConnection(rtcConfiguration());
  let stopped = false;
  const off = () => net.socket?.off?.(IDENTITY_CLOSED, onClosed);
  const end = (reason, tell) => {
    if (stopped) return;
    stopped = true;
    off();
    for (const track of stream.getTracks()) track.stop();
    pc.close();
    if (tell && net.connected) net.request(IDENTITY_STOP, { what: 'publish' }, 3000).catch(() => {});
    if (reason) onEnded?.(reason);
  };
  function onClosed(msg) {
    if (msg?.what === 'publish') end(msg.reason || 'forbidden', false);
  }
  try {
    const transceiver = pc.addTransceiver(stream.getVideoTracks()[0], { direction: 'sendonly', streams: [stream] });
    preferVp8(transceiver);
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const ack = await net.request(IDENTITY_PUBLISH, { sdp: pc.localDescription.sdp }, SIGNAL_TIMEOUT_MS);
    if (!ack || ack.ok !== true) throw new IdentityError(ack?.reason || 'internal', ack?.message);
    await pc.setRemoteDescription({ type: 'answer', sdp: ack.sdp });
    try {
      const params = transceiver.sender.getParameters();
      if (params.encodings?.length) {
        params.encodings[0].maxBitrate = CAMERA_MAX_BITRATE;
        params.encodings[0].maxFramerate = 15;
        await transceiver.sender.setParameters(params);
      }
    } catch {
      // Not every browser lets a sender's parameters be set; the constraints still hold.
    }
  } catch (e) {
    end(null, false);
    throw e instanceof IdentityError ? e : new IdentityError('failed', e?.message);
  }
  net.socket?.on?.(IDENTITY_CLOSED, onClosed);
  pc.addEventListener('connectionstatechange', () => {
    if (pc.connectionState === 'failed') end('failed', true);
  });
  return { pc, stream, stop: () => end(null, true) };
}

/**
 * The chair's or staff's view of the members' cameras: `slots` receive-only video slots,
 * each a MediaStream to put in a <video> element (`attach`). `onChange({slots, streams})`
 * is called whenever whose camera a slot shows changes.
 */
export class IdentityViewer {
  constructor(net, { slots = 4, onChange } = {}) {
    this.net = net;
    this.count = Math.max(1, Math.min(32, slots | 0 || 4));
    this.onChange = onChange;
    this.slots = Array(this.count).fill(null);
    this.streams = Array(this.count).fill(null);
    this.pc = null;
    this.onSlots = (msg) => {
      this.slots = slotsFromWire(msg, this.count);
      this.#changed();
    };
    this.onClosed = (msg) => {
      if (msg?.what === 'view') this.stop(true);
    };
  }

  /** Open the peer; resolves once the server accepted it (`IdentityError` otherwise). */
  async start() {
    this.stop(true);
    if (typeof RTCPeerConnection === 'undefined') throw new IdentityError('no_webrtc');
    const pc = new RTCPeerConnection(rtcConfiguration());
    this.pc = pc;
    for (let i = 0; i < this.count; i++) preferVp8(pc.addTransceiver('video', { direction: 'recvonly' }));
    pc.addEventListener('track', (e) => {
      const index = pc.getTransceivers().indexOf(e.transceiver);
      if (index < 0 || index >= this.count) return;
      this.streams[index] = new MediaStream([e.track]);
      this.#changed();
    });
    this.net.socket?.on?.(IDENTITY_SLOTS, this.onSlots);
    this.net.socket?.on?.(IDENTITY_CLOSED, this.onClosed);
    try {
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc);
      const ack = await this.net.request(IDENTITY_VIEW, { sdp: pc.localDescription.sdp, slots: this.count }, SIGNAL_TIMEOUT_MS);
      if (!ack || ack.ok !== true) throw new IdentityError(ack?.reason || 'internal', ack?.message);
      if (this.pc !== pc) return;
      await pc.setRemoteDescription({ type: 'answer', sdp: ack.sdp });
      this.slots = slotsFromWire(ack, this.count);
      this.#changed();
    } catch (e) {
      this.stop(true);
      throw e instanceof IdentityError ? e : new IdentityError('failed', e?.message);
    }
  }

  /** Show slot `index`'s camera in `video` (muted, inline: no sound is sent anyway). */
  attach(video, index) {
    video.muted = true;
    video.playsInline = true;
    video.autoplay = true;
    if (video.srcObject !== this.streams[index]) video.srcObject = this.streams[index];
  }

  /** Close the peer; the server is told unless `quiet`. */
  stop(quiet = false) {
    const had = this.pc;
    this.net.socket?.off?.(IDENTITY_SLOTS, this.onSlots);
    this.net.socket?.off?.(IDENTITY_CLOSED, this.onClosed);
    this.pc?.close();
    this.pc = null;
    this.slots = Array(this.count).fill(null);
    this.streams = Array(this.count).fill(null);
    if (had && !quiet && this.net.connected) this.net.request(IDENTITY_STOP, { what: 'view' }, 3000).catch(() => {});
    if (had) this.#changed();
  }

  #changed() {
    this.onChange?.({ slots: this.slots, streams: this.streams });
  }
}
