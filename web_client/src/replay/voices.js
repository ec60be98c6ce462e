/**
 * The speakers' voices of a replay: one <audio> element per Ogg Opus file (the browser
 * decodes Ogg Opus natively and streams it with Range requests), and, once the page has
 * been touched, an analyser per file to tell who is speaking: the recorder fills a silent
 * speaker's file with Opus silence, which decodes to exact zeros.
 */
const LOUD_RMS = 0.01;

export class Voices {
  /** @param {HTMLElement} holder  where the elements live; speakers [{file, pid, url}] */
  constructor(holder, speakers) {
    this.speakers = speakers;
    this.elements = speakers.map((s) => {
      const el = document.createElement('audio');
      el.preload = 'auto';
      el.src = s.url;
      holder.append(el);
      return el;
    });
    this.ctx = null;
    this.analysers = [];
    this.buf = new Float32Array(1024);
  }

  /** Within a user gesture: route the voices through analysers (an AudioContext needs one). */
  unlock() {
    if (this.ctx || !this.elements.length || typeof AudioContext === 'undefined') {
      this.ctx?.resume?.();
      return;
    }
    try {
      this.ctx = new AudioContext();
      this.analysers = this.elements.map((el) => {
        const a = this.ctx.createAnalyser();
        a.fftSize = 1024;
        this.ctx.createMediaElementSource(el).connect(a);
        a.connect(this.ctx.destination);
        return a;
      });
      this.ctx.resume?.();
    } catch (e) {
      console.warn('replay: no audio analysis, the floor shows who speaks', e);
      this.analysers = [];
    }
  }

  get levelsKnown() {
    return this.analysers.length > 0 && this.ctx?.state === 'running';
  }

  /** Participant ids whose file is not silent right now. */
  loud() {
    const out = new Set();
    this.analysers.forEach((a, i) => {
      a.getFloatTimeDomainData(this.buf);
      let sum = 0;
      for (const v of this.buf) sum += v * v;
      if (Math.sqrt(sum / this.buf.length) > LOUD_RMS) out.add(this.speakers[i].pid);
    });
    return out;
  }
}
