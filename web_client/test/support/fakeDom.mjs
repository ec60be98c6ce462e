/**
 * Just enough of `document` for scene code that draws on canvases (labels, nameplates) to
 * run under node: a canvas whose 2D context accepts every call and measures text at 0.6 em
 * a character. Nothing is drawn.
 */
export function installFakeDom() {
  if (globalThis.document) return;
  const ctx = new Proxy(
    { measureText: (s) => ({ width: String(s).length * 18 }), createRadialGradient: () => ({ addColorStop() {} }) },
    { get: (o, k) => (k in o ? o[k] : () => {}), set: () => true },
  );
  globalThis.document = {
    createElement: () => ({ width: 1, height: 1, getContext: () => ctx, style: {} }),
  };
}
