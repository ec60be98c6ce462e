/**
 * The client's copy of a room's meeting: floor (speaker, countdown, queue), agenda, chat,
 * opinions, questions, polls, captions and what this person may do. Pure: fed the
 * server's `meeting` state on joining and the `meeting:*` events after it; the UI reads
 * it and turns the returned changes into announcements.
 *
 * Times from the server are Unix seconds; `offsetMs` maps this device's clock onto the
 * server's, so a countdown is right even when the phone's clock is not.
 */

export const CHAT_KEEP = 200;
export const CAPTIONS_KEEP = 50;

/** `m:ss` (or `h:mm:ss`) for a number of seconds, rounded up; never negative. */
export function formatClock(seconds) {
  const s = Math.max(0, Math.ceil(Number(seconds) || 0));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

function byId(list) {
  const out = new Map();
  for (const x of list || []) out.set(x.id, x);
  return out;
}

export class MeetingState {
  constructor() {
    this.reset();
  }

  reset() {
    this.room = null;
    this.kind = null;
    this.offsetMs = 0;
    this.floor = null;
    this.agenda = null;
    this.chat = [];
    this.opinions = new Map();
    this.questions = new Map();
    this.polls = new Map();
    this.captions = [];
    /** Whether captions are made automatically (speech recognition) and in which language. */
    this.captionsMode = { auto: false, lang: 'ja' };
    this.categories = [];
    this.self = null;
    this.notice = null;
  }

  get active() {
    return this.room !== null;
  }

  /** Everything at once, from a join (or admission) acknowledgement's `meeting`. */
  load(m, nowMs = Date.now()) {
    this.reset();
    this.room = m.room;
    this.kind = m.kind;
    this.sync(m.server_time, nowMs);
    this.floor = m.floor || null;
    this.agenda = m.agenda || null;
    this.chat = (m.chat || []).slice(-CHAT_KEEP);
    this.opinions = byId(m.opinions);
    this.questions = byId(m.questions);
    this.polls = byId(m.polls);
    this.captions = (m.captions || []).slice(-CAPTIONS_KEEP);
    this.captionsMode = m.captions_mode || { auto: false, lang: 'ja' };
    this.categories = m.categories || [];
    this.self = m.self ? { ...m.self, supported: new Set(m.self.supported), voted: new Set(m.self.voted) } : null;
  }

  sync(serverTime, nowMs = Date.now()) {
    if (typeof serverTime === 'number') this.offsetMs = serverTime * 1000 - nowMs;
  }

  /** Server time now, Unix seconds. */
  serverNow(nowMs = Date.now()) {
    return (nowMs + this.offsetMs) / 1000;
  }

  may(action) {
    return !!this.self?.may?.[action];
  }

  get muted() {
    return !!this.self?.muted;
  }

  setMuted(muted) {
    if (this.self) this.self.muted = muted;
  }

  /** A new floor view. Returns what changed: `{speaker, state, queue}` booleans. */
  applyFloor(f, nowMs = Date.now()) {
    const prev = this.floor;
    this.sync(f.server_time, nowMs);
    this.floor = f;
    return {
      speaker: (prev?.holder ?? null) !== (f.holder ?? null),
      state: (prev?.state ?? 'open') !== f.state,
      queue: JSON.stringify(prev?.queue ?? []) !== JSON.stringify(f.queue ?? []),
      previous: prev,
    };
  }

  /** A new agenda view. Returns whether the current item changed. */
  applyAgenda(a, nowMs = Date.now()) {
    const prev = this.agenda;
    this.sync(a.server_time, nowMs);
    this.agenda = a;
    return { current: (prev?.current ?? null) !== (a.current ?? null) };
  }

  /** One item event (`meeting:event`): returns `{what, item}` for the UI. */
  applyEvent(e) {
    switch (e.type) {
      case 'chat.posted':
        this.chat.push(e.message);
        if (this.chat.length > CHAT_KEEP) this.chat.splice(0, this.chat.length - CHAT_KEEP);
        return { what: 'chat', item: e.message };
      case 'chat.hidden':
      case 'chat.restored': {
        const i = this.chat.findIndex((m) => m.id === e.message.id);
        if (e.type === 'chat.hidden') {
          if (i >= 0) this.chat.splice(i, 1);
        } else if (i < 0) {
          this.chat.push(e.message);
          this.chat.sort((a, b) => a.id - b.id);
        }
        return { what: 'chat', item: e.message };
      }
      case 'opinion.changed': {
        const o = e.opinion;
        if (o.hidden || o.merged_into) this.opinions.delete(o.id);
        else this.opinions.set(o.id, o);
        return { what: 'opinions', item: o, change: e.change };
      }
      case 'question.changed':
        this.questions.set(e.question.id, e.question);
        return { what: 'questions', item: e.question, change: e.change };
      case 'poll.changed':
        this.polls.set(e.poll.id, e.poll);
        return { what: 'polls', item: e.poll, change: e.change };
      case 'meeting.categories': // staff changed the categories or their labels
        this.categories = e.categories || [];
        return { what: 'opinions' };
      case 'caption.mode': // staff switched automatic captions on or off
        this.captionsMode = { auto: !!e.auto, lang: e.lang || 'ja' };
        return { what: 'captions', change: e.type };
      case 'caption.posted':
      case 'caption.corrected': {
        const i = this.captions.findIndex((c) => c.seq === e.line.seq);
        if (i >= 0) this.captions[i] = e.line;
        else this.captions.push(e.line);
        if (this.captions.length > CAPTIONS_KEEP) this.captions.splice(0, this.captions.length - CAPTIONS_KEEP);
        return { what: 'captions', item: e.line, change: e.type };
      }
      default:
        return { what: null };
    }
  }

  /** The speaker's countdown: `{holder, name, remaining, overtime, grace}` or null. */
  countdown(nowMs = Date.now()) {
    const f = this.floor;
    if (!f || !f.holder) return null;
    const now = this.serverNow(nowMs);
    const out = { holder: f.holder, name: f.holder_name, remaining: null, overtime: false, grace: null };
    if (f.deadline != null) {
      out.remaining = Math.max(0, f.deadline - now);
      out.overtime = f.state === 'overtime' || now >= f.deadline;
      if (out.overtime && f.grace_ends_at != null) out.grace = Math.max(0, f.grace_ends_at - now);
    }
    return out;
  }

  /** 1 for the head of the queue, null when not waiting. */
  myPosition() {
    const q = this.floor?.queue || [];
    const i = q.findIndex((w) => w.pid === this.self?.pid);
    return i < 0 ? null : i + 1;
  }

  get holdsFloor() {
    return !!this.self && this.floor?.holder === this.self.pid;
  }

  /** The open agenda item with its time spent and overrun: `{item, index, spent, over}`. */
  currentItem(nowMs = Date.now()) {
    const a = this.agenda;
    if (!a || a.current == null) return null;
    const index = a.items.findIndex((i) => i.id === a.current);
    if (index < 0) return null;
    const item = a.items[index];
    const running = item.opened_at != null ? Math.max(0, this.serverNow(nowMs) - item.opened_at) : 0;
    const spent = (item.elapsed || 0) + running;
    return { item, index, spent, over: item.planned > 0 && spent > item.planned };
  }

  opinionsRanked() {
    return [...this.opinions.values()].sort((a, b) => b.supports - a.supports || a.id - b.id);
  }

  /** Open questions by votes, then the answered and dismissed ones. */
  questionsRanked() {
    return [...this.questions.values()].sort(
      (a, b) => (a.state !== 'open') - (b.state !== 'open') || b.votes - a.votes || a.at - b.at || a.id - b.id,
    );
  }

  /** Polls, open ones first, newest first. */
  pollsList() {
    return [...this.polls.values()].sort((a, b) => (a.state !== 'open') - (b.state !== 'open') || b.id - a.id);
  }

  myBallot(pollId) {
    return this.self?.ballots?.[String(pollId)] ?? null;
  }

  setBallot(pollId, choices) {
    if (this.self) this.self.ballots = { ...(this.self.ballots || {}), [String(pollId)]: choices };
  }

  /** Share of voters (0..100) for each option of a poll. */
  static shares(poll) {
    return poll.counts.map((c) => (poll.voters ? Math.round((1000 * c) / poll.voters) / 10 : 0));
  }
}
