/**
 * Server-side tracking: the camera goes to the server over WebRTC (one send-only video
 * track) and the server relays the poses it makes. No STUN or TURN server: the page talks
 * to Hiroba's own address only. The server does not trickle ICE, and neither do we: the
 * offer leaves once gathering is complete.
 */
import { RTC_CLOSE, RTC_OFFER } from '../net/events.js';
import { gathered, rtcConfiguration } from '../net/ice.js';


/** A refusal with the server's reason code (`tracking_full`, `forbidden`, ...). */
export class TrackingError extends Error {
  constructor(reason, message) {
    super(message || reason);
    this.name = 'TrackingError';
    this.reason = reason;
  }
}

export class ServerTracker {
  /** `net` is the HirobaSocket; `onFailed(reason)` when the connection drops later. */
  constructor(net, { onFailed = () => {} } = {}) {
    this.net = net;
    this.onFailed = onFailed;
    this.pc = null;
  }

  async start(videoTrack) {
    const pc = new RTCPeerConnection(rtcConfiguration());
    this.pc = pc;
    pc.addTransceiver(videoTrack, { direction: 'sendonly' });
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const ack = await this.net.request(RTC_OFFER, { type: 'offer', sdp: pc.localDescription.sdp }, 15000);
    if (!ack || ack.ok !== true) {
      pc.close();
      this.pc = null;
      throw new TrackingError(ack?.reason || 'internal', ack?.message);
    }
    await pc.setRemoteDescription({ type: 'answer', sdp: ack.sdp });
    pc.addEventListener('connectionstatechange', () => {
      if (this.pc === pc && (pc.connectionState === 'failed' || pc.connectionState === 'closed')) this.onFailed('ended');
    });
  }

  /** Stop sending; tells the server unless `quiet` (it already knows). */
  stop(quiet = false) {
    if (!this.pc) return;
    this.pc.close();
    this.pc = null;
    if (!quiet) this.net.request(RTC_CLOSE, {}, 3000).catch(() => {});
  }
}
