/**
 * Cross-language check of the page's avatar twins (run by
 * tests/integration/test_avatar_js.py): reads a fixture that Python wrote (a pose stream,
 * voice levels, PCM frames, blink sample times), runs it through state/faceSolver.js's
 * PoseFilter, state/voicePose.js's VoiceAnimator and levelDbov, and prints the results and
 * the modules' defaults as JSON. Without an argument (e.g. when `node --test` walks this
 * folder) it does nothing.
 */
import { readFileSync } from 'node:fs';
import { FILTER_DEFAULTS, PoseFilter } from '../../src/state/faceSolver.js';
import { BLINK, MIN_DBOV, VOICE_DEFAULTS, VoiceAnimator, levelDbov } from '../../src/state/voicePose.js';
import { STATE_NAMES, W } from '../../src/net/poseCodec.js';

const path = process.argv[2];
if (path) {
  const fixture = JSON.parse(readFileSync(path, 'utf8'));
  const plain = (p) => ({ ...p, state: STATE_NAMES[p.state], weights: Array.from(p.weights) });

  // The page's filter with its defaults; `null` in the stream is a reset (face lost).
  const filter = new PoseFilter();
  const filtered = fixture.poses.map((p) => {
    if (p === null) {
      filter.reset();
      return null;
    }
    return plain(filter.apply({ ...p, weights: Float32Array.from(p.weights) }));
  });

  // Voice without blinks (the first one scheduled far beyond the stream), as Python's
  // VoiceAnimator without an idle animator.
  const voice = new VoiceAnimator(undefined, () => 1e12);
  const voiced = fixture.levels.map(([level, t]) => plain(voice.update(level, t)));

  // Blinks: random() = fixture.blink.random puts the first one where Python's is.
  const blinker = new VoiceAnimator(undefined, () => fixture.blink.random);
  const blinks = fixture.blink.times.map((t) => blinker.update(MIN_DBOV, t).weights[W.eyeBlinkLeft]);

  const dbov = fixture.pcm.map((frame) => levelDbov(Float32Array.from(frame, (s) => s / 32767)));

  process.stdout.write(JSON.stringify({
    defaults: { filter: FILTER_DEFAULTS, voice: VOICE_DEFAULTS, blink: BLINK, minDbov: MIN_DBOV },
    filtered, voiced, blinks, dbov,
  }));
}
