/**
 * ICE helpers shared by every WebRTC peer of the page (server-side tracking, voice).
 * The server takes one offer with its candidates (no trickle), so an offer is sent once
 * gathering is complete, or after a few seconds with what has been gathered by then.
 */
export const GATHER_TIMEOUT_MS = 5000;

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
