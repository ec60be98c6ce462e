/**
 * ICE helpers shared by every WebRTC peer of the page (server-side tracking, voice).
 * The server takes one offer with its candidates (no trickle), so an offer is sent once
 * gathering is complete, or after a few seconds with what has been gathered by then.
 */
export const GATHER_TIMEOUT_MS = 5000;

let iceServers = [];

/**
 * Keep the ICE servers of the last join acknowledgement (`ice.iceServers`: the operator's
 * TURN servers with this person's time-limited credentials; empty by default, and then no
 * third party is contacted). Anything malformed counts as none.
 */
export function setIceServers(list) {
  iceServers = Array.isArray(list)
    ? list.filter((s) => s && (typeof s.urls === 'string' || Array.isArray(s.urls)))
    : [];
}

/** The configuration for every RTCPeerConnection the page makes. */
export function rtcConfiguration() {
  return { iceServers: iceServers.map((s) => ({ ...s })) };
}

/** Resolves when `pc` has gathered its candidates, or after GATHER_TIMEOUT_MS. */
export function gathered(pc, timeoutMs = GATHER_TIMEOUT_MS) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState !== 'complete') return;
      pc.removeEventListener('icegatheringstatechange', done);
      resolve();
    };
    pc.addEventListener('icegatheringstatechange', done);
    setTimeout(resolve, timeoutMs); // send what we have
  });
}
