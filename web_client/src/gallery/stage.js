/**
 * The room as the gallery sees it: the plaza of scene/plaza.js (as the replay page draws
 * it), the stage members from the frames' posed entries (faces and heads from their
 * compact poses), the crowd sample from the plain entries. Frames wait in a queue until
 * their play time (nominal + the shared delay + the audio output latency), so a face moves
 * when its voice is heard; the pose shown and how late it is are kept for the page state.
 */
import { expressionOf } from '../state/expression.js';
import { replayRoom } from '../replay/layout.js';
import { W } from '../net/poseCodec.js';

const CROWD_KEEP_MS = 4000; // a sampled citizen stays drawn this long after its last sample
const QUEUE_MAX = 64; // frames waiting at most (about 4 s at 60 ms): beyond, the oldest go

/** A plaza without WebGL: nothing is drawn, everything else works. */
const NO_PLAZA = {
  avatars: { has: () => false, add() {}, place() {}, pose() {}, remove() {}, setSpeaking() {}, headAngles: () => null, clear() {} },
  world: null,
  floorAt: () => 0,
  render() {},
  resize() {},
  load() {},
};

/** The room to build: the layout the server sent, or one made from where people are. */
export function galleryRoom(hello, entries) {
  const slots = new Map();
  const stageSlots = [];
  for (const e of entries) {
    slots.set(e.slot, { posT: [0], posX: [e.x], posZ: [e.z], posH: [e.h] });
    if (e.pose) stageSlots.push(e.slot);
  }
  const manifest = {
    room: hello.room,
    room_name: typeof hello.title === 'object' && hello.title ? hello.title : { ja: hello.title ?? hello.room, en: hello.title ?? hello.room },
    room_layout: hello.layout ?? null,
  };
  return replayRoom(manifest, { slots, stageSlots }).room;
}

export class GalleryStage {
  constructor(canvas, strings) {
    this.canvas = canvas;
    this.strings = strings;
    this.plaza = null;
    this.webgl = true;
    this.queue = []; // [{at (local ms to show), nominal, entries}]
    this.drawn = new Map(); // avatar id -> {slot, stage, x, z, h, seen}
    this.people = new Map(); // slot -> {name, role, vrm}
    this.shown = null; // {nominal, at} of the frame on screen
    this.poseDelayMs = 0;
    this.framesShown = 0;
  }

  async init() {
    try {
      const { Plaza } = await import('../scene/plaza.js');
      this.plaza = new Plaza(this.canvas);
      this.plaza.avatars.reducedMotion = matchMedia('(prefers-reduced-motion: reduce)').matches;
    } catch (e) {
      console.warn('gallery: 3D view unavailable', e);
      this.plaza = NO_PLAZA;
      this.webgl = false;
    }
  }

  get loaded() {
    return !!this.room;
  }

  /** Build the room once its layout (or the first people in it) is known. */
  load(hello, entries) {
    this.room = galleryRoom(hello, entries);
    this.plaza.load(this.room, this.strings(), 'stage');
    this.plaza.resize();
    this.drawn.clear();
  }

  setStrings() {
    this.plaza?.world?.setStrings?.(this.strings());
  }

  /** Who the stage people are (hello/state `people`): names and roles by slot. */
  setPeople(list) {
    this.people = new Map((list || []).map((p) => [p.slot, p]));
    for (const [aid, d] of this.drawn) {
      const p = this.people.get(d.slot);
      if (p && (p.name !== d.name || p.role !== d.role)) {
        this.plaza.avatars.remove(aid); // re-added with the new label next frame
        this.drawn.delete(aid);
      }
    }
  }

  /** A frame's entries, to be shown at local time `at`. */
  enqueue(entries, nominal, at) {
    this.queue.push({ entries, nominal, at });
    if (this.queue.length > QUEUE_MAX) this.queue.shift();
  }

  /** Nothing more to show (a closed session): the stage empties. */
  clear() {
    this.queue = [];
    for (const aid of this.drawn.keys()) this.plaza.avatars.remove(aid);
    this.drawn.clear();
  }

  /**
   * Show the latest frame whose time has come by `now + ahead` (half an animation frame:
   * a frame is drawn at the animation frame nearest its time, not always the one after);
   * returns whether one was shown.
   */
  frame(now, ahead = 0) {
    let due = null;
    while (this.queue.length && this.queue[0].at <= now + ahead) due = this.queue.shift();
    if (!due || !this.room) return false;
    this.#apply(due.entries, now);
    this.shown = { nominal: due.nominal, at: now };
    this.poseDelayMs = now - due.nominal;
    this.framesShown++;
    return true;
  }

  #apply(entries, now) {
    const avatars = this.plaza.avatars;
    for (const e of entries) {
      const aid = `s${e.slot}`;
      const onStage = !!e.pose;
      const who = this.people.get(e.slot);
      let d = this.drawn.get(aid);
      if (!d || (this.webgl && !avatars.has(aid))) {
        avatars.add({ id: aid, name: who?.name ?? '', role: who?.role || (onStage ? 'member' : 'citizen'), vrm: who?.vrm ?? null, avatar: who?.avatar, x: e.x, z: e.z, h: e.h });
        d = { slot: e.slot, name: who?.name ?? '', role: who?.role ?? null };
        this.drawn.set(aid, d);
      }
      Object.assign(d, { stage: onStage, x: e.x, z: e.z, h: e.h, seen: now });
      avatars.place(aid, e.x, e.z, e.h, this.plaza.floorAt(e.x, e.z), onStage);
      if (e.pose) {
        avatars.pose(aid, expressionOf(e.pose), now + 250, e.pose);
        d.pose = { roll: e.pose.roll, pitch: e.pose.pitch, yaw: e.pose.yaw, jawOpen: e.pose.weights[W.jawOpen] };
      }
    }
    for (const [aid, d] of this.drawn) {
      // stage people leave with their entry; a crowd sample rotates, so it lingers a while
      if (d.seen === now || (!d.stage && now - d.seen < CROWD_KEEP_MS)) continue;
      avatars.remove(aid);
      this.drawn.delete(aid);
    }
  }

  setSpeaking(slots) {
    for (const [aid, d] of this.drawn) this.plaza.avatars.setSpeaking?.(aid, slots.has(d.slot));
  }

  render(now, dt) {
    this.plaza?.render(now, dt, null, null);
  }

  /** For the page state: the stage people as drawn (head angles as drawn, degrees). */
  state() {
    const out = [];
    for (const [aid, d] of this.drawn) {
      if (!d.stage) continue;
      out.push({ slot: d.slot, name: d.name, role: d.role, x: d.x, z: d.z, pose: d.pose ?? null, head: this.plaza.avatars.headAngles?.(aid) ?? null });
    }
    return out;
  }

  get crowdDrawn() {
    let n = 0;
    for (const d of this.drawn.values()) if (!d.stage) n++;
    return n;
  }
}
