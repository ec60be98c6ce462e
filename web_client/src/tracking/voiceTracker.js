/**
 * Voice mode: the microphone level (WebAudio analyser, measured here, never sent) moves
 * the avatar's mouth. 20 poses a second.
 */
import { encodePose } from '../net/poseCodec.js';
import { VoiceAnimator, levelDbov } from '../state/voicePose.js';

const PERIOD_MS = 50;

export class VoiceTracker {
  /** `onPose(record, pose)` for each pose. */
  constructor({ onPose }) {
    this.onPose = onPose;
    this.animator = new VoiceAnimator();
  }

  async start() {
    this.stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
    const Ctx = window.AudioContext || window.webkitAudioContext;
    this.ctx = new Ctx();
    const source = this.ctx.createMediaStreamSource(this.stream);
    this.analyser = this.ctx.createAnalyser();
    this.analyser.fftSize = 1024;
    source.connect(this.analyser);
    this.buf = new Float32Array(this.analyser.fftSize);
    if (this.ctx.state === 'suspended') this.ctx.resume().catch(() => {});
    this.timer = setInterval(() => this.#tick(), PERIOD_MS);
  }

  #tick() {
    this.analyser.getFloatTimeDomainData(this.buf);
    const pose = this.animator.update(levelDbov(this.buf), Math.round(performance.now()));
    this.onPose(encodePose(pose), pose);
  }

  stop() {
    clearInterval(this.timer);
    this.stream?.getTracks().forEach((t) => t.stop());
    this.ctx?.close().catch(() => {});
    this.stream = this.ctx = null;
  }
}
