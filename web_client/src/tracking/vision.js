/**
 * tasks-vision (MediaPipe's face landmarker, WASM) for the tracking worker, from wherever
 * this copy of the client gets it:
 * - built (Vite, what a city runs): the ES bundle is a chunk of the worker's own, and the
 *   WASM loader and binary are copied byte for byte under hashed names, so all
 *   three are cached for good and nothing else of the npm package is served;
 * - from the sources (dev mode, `client_dev`): the whitelisted npm files under /vendor/,
 *   imported by URL (an import map does not reach workers).
 * Only the "module" build of the WASM is used (`forVisionTasks(base, true)` picks it too).
 */
const VENDOR = '/vendor/@mediapipe/tasks-vision';

/** `{vision, fileset}`: the tasks-vision module and the WASM files for FaceLandmarker. */
export async function loadVision() {
  if (import.meta.env?.PROD) {
    // Vite resolves these package paths and puts the hashed names of the copies here.
    const fileset = {
      wasmLoaderPath: new URL('@mediapipe/tasks-vision/vision_wasm_module_internal.js', import.meta.url).href,
      wasmBinaryPath: new URL('@mediapipe/tasks-vision/vision_wasm_module_internal.wasm', import.meta.url).href,
    };
    return { vision: await import('@mediapipe/tasks-vision'), fileset };
  }
  const base = self.location.origin + VENDOR;
  const vision = await import(`${base}/vision_bundle.mjs`);
  return { vision, fileset: await vision.FilesetResolver.forVisionTasks(`${base}/wasm`, true) };
}
