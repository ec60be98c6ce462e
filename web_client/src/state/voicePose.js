/**
 * Voice mode in the page, twin of avatar/voice.py: a mouth that follows the microphone
 * level (dBov, RFC 6464 style) with an attack/release envelope, a small nod on stressed
 * syllables, and blinks so the face does not freeze. Pure: levels and times are passed in.
 * tests/integration/test_avatar_js.py runs both on the same levels.
 */
import { N_BLENDSHAPES, STATE, W } from '../net/poseCodec.js';

export const MIN_DBOV = -127;

/** dBov of float samples in [-1, 1] (WebAudio's time-domain data). */
export function levelDbov(samples) {
  if (!samples || samples.length === 0) return MIN_DBOV;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
  const ms = sum / samples.length;
  if (ms <= 0) return MIN_DBOV;
  return Math.round(Math.min(0, Math.max(MIN_DBOV, 10 * Math.log10(ms))));
}

export const VOICE_DEFAULTS = Object.freeze({
  floorDbov: -50, fullDbov: -20, attackMs: 30, releaseMs: 120, nodMs: 400,
  jawOpen: 0.6, funnel: 0.15, close: 0.2, nodDegrees: 3,
});

/** A blink's shape, as avatar/idle.py's IdleParams: closes, stays shut, opens (ms). */
export const BLINK = Object.freeze({ closeMs: 70, holdMs: 20, openMs: 130 });

export class VoiceAnimator {
  /** `random` is injectable so tests get the same blinks every run. */
  constructor(params = VOICE_DEFAULTS, random = Math.random) {
    this.p = { ...VOICE_DEFAULTS, ...params };
    this.random = random;
    this.env = 0;
    this.slow = 0;
    this.t = null;
    this.nextBlink = null;
  }

  #blink(t) {
    if (this.nextBlink === null) this.nextBlink = t + 1000 + this.random() * 3000;
    const { closeMs, holdMs, openMs } = BLINK;
    if (t >= this.nextBlink + closeMs + holdMs + openMs) this.nextBlink = t + 2200 + this.random() * 4000;
    const s = t - this.nextBlink;
    if (s < 0) return 0;
    // Eased like avatar/idle.py's blinks (sin² shut, cos² open): lids start and stop softly.
    if (s < closeMs) return Math.sin((0.5 * Math.PI * s) / closeMs) ** 2;
    if (s < closeMs + holdMs) return 1;
    const u = s - closeMs - holdMs;
    return u > openMs ? 0 : Math.cos((0.5 * Math.PI * u) / openMs) ** 2;
  }

  /** The pose at `t` ms for the level measured then. */
  update(levelDbov, t) {
    const p = this.p;
    const target = Math.min(1, Math.max(0, (levelDbov - p.floorDbov) / (p.fullDbov - p.floorDbov)));
    const dt = this.t === null ? 0 : Math.max(0, t - this.t);
    this.t = this.t === null ? t : Math.max(this.t, t);
    const tau = target > this.env ? p.attackMs : p.releaseMs;
    this.env += (1 - Math.exp(-dt / tau)) * (target - this.env);
    this.slow += (1 - Math.exp(-dt / p.nodMs)) * (target - this.slow);
    const weights = new Float32Array(N_BLENDSHAPES);
    weights[W.jawOpen] = p.jawOpen * this.env;
    weights[W.mouthFunnel] = p.funnel * this.env;
    weights[W.mouthClose] = p.close * (1 - this.env) * Math.min(1, 4 * this.slow);
    const blink = this.#blink(t);
    weights[W.eyeBlinkLeft] = blink;
    weights[W.eyeBlinkRight] = blink;
    const nod = -p.nodDegrees * Math.min(1, Math.max(0, this.env - this.slow));
    return { t, state: STATE.voice, roll: 0, pitch: nod, yaw: 0, x: 0, y: 0, z: 0, weights };
  }
}
