/**
 * What the staff console knows beyond the public meeting state: the lobby, the moderation
 * queue, every chat message and opinion (hidden ones too), active sanctions, the roster
 * (with each avatar's tracking mode), the audit log and the registration code. Pure: fed
 * the `staff` part of `console:join` and the `meeting:staff` events, plus room deltas.
 */

export const AUDIT_KEEP = 200;
export const CHAT_KEEP = 300;

export class StaffState {
  constructor() {
    this.reset();
  }

  reset() {
    this.lobby = new Map();
    this.reports = new Map();
    this.chat = new Map();
    this.opinions = new Map();
    this.sanctions = new Map();
    this.people = new Map();
    this.avatars = new Map();
    this.audit = [];
    this.code = null;
  }

  load(s) {
    this.reset();
    for (const w of s.lobby || []) this.lobby.set(w.pid, w);
    for (const r of s.reports || []) this.reports.set(r.id, r);
    for (const m of s.chat || []) this.chat.set(m.id, m);
    for (const o of s.opinions || []) this.opinions.set(o.id, o);
    for (const x of s.sanctions || []) this.sanctions.set(x.id, x);
    for (const p of s.people || []) this.people.set(p.pid, p);
    for (const a of s.participants || []) this.avatars.set(a.id, a);
    this.audit = (s.audit || []).slice(-AUDIT_KEEP);
    this.code = s.registration_code ?? null;
  }

  #muted(pid, muted) {
    const p = this.people.get(pid);
    if (p) this.people.set(pid, { ...p, muted });
  }

  /** One `meeting:staff` batch. Returns the set of sections that changed. */
  apply(events) {
    const changed = new Set();
    for (const e of events || []) {
      switch (e.type) {
        case 'lobby.entered':
          this.lobby.set(e.waiter.pid, { ...e.waiter, position: e.position });
          changed.add('lobby');
          break;
        case 'lobby.left':
          this.lobby.delete(e.pid);
          changed.add('lobby');
          break;
        case 'chat.reported':
        case 'chat.report_resolved':
          if (e.report.state === 'open') this.reports.set(e.report.id, e.report);
          else this.reports.delete(e.report.id);
          changed.add('reports');
          break;
        case 'chat.posted':
        case 'chat.hidden':
        case 'chat.restored':
          this.chat.set(e.message.id, e.message);
          if (this.chat.size > CHAT_KEEP) this.chat.delete(this.chat.keys().next().value);
          for (const r of this.reports.values()) if (r.message_id === e.message.id) r.message = e.message;
          changed.add('chat');
          changed.add('reports');
          break;
        case 'opinion.changed':
          this.opinions.set(e.opinion.id, e.opinion);
          changed.add('opinions');
          break;
        case 'sanction.imposed':
          this.sanctions.set(e.sanction.id, e.sanction);
          if (e.sanction.kind === 'mute' && e.sanction.participant) this.#muted(e.sanction.participant, true);
          changed.add('sanctions');
          changed.add('people');
          break;
        case 'sanction.lifted':
        case 'sanction.expired':
          this.sanctions.delete(e.sanction.id);
          if (e.sanction.kind === 'mute' && e.sanction.participant) this.#muted(e.sanction.participant, false);
          changed.add('sanctions');
          changed.add('people');
          break;
        case 'audit.entry':
          this.audit.push(e.entry);
          if (this.audit.length > AUDIT_KEEP) this.audit.splice(0, this.audit.length - AUDIT_KEEP);
          changed.add('audit');
          break;
        case 'meeting.joined':
          this.people.set(e.person.pid, { ...e.person, muted: false });
          changed.add('people');
          break;
        case 'meeting.left':
          this.people.delete(e.pid);
          this.lobby.delete(e.pid);
          changed.add('people');
          changed.add('lobby');
          break;
        case 'meeting.place_changed': {
          const p = this.people.get(e.pid);
          if (p) this.people.set(e.pid, { ...p, place: e.place });
          changed.add('people');
          break;
        }
        default:
          break;
      }
    }
    return changed;
  }

  /** A room delta: avatars (and their tracking modes) come and go. */
  applyDelta(d) {
    for (const p of d.joined || []) this.avatars.set(p.id, p);
    for (const id of d.left || []) this.avatars.delete(id);
    for (const entry of d.tracking || []) {
      if (!Array.isArray(entry)) continue;
      const [id, mode, reason = null] = entry;
      const a = this.avatars.get(id);
      if (a) this.avatars.set(id, { ...a, tracking: mode, tracking_reason: reason });
    }
  }

  /** The roster with each person's avatar tracking mode (when they have an avatar) and why
   * it is not better (`trackingReason`, docs/protocol.md `tracking`). */
  roster() {
    return [...this.people.values()].map((p) => {
      const a = this.avatars.get(p.pid);
      return { ...p, tracking: a?.tracking ?? null, trackingReason: a?.tracking_reason ?? null };
    });
  }

  openReports() {
    return [...this.reports.values()].sort((a, b) => a.id - b.id);
  }

  chatList() {
    return [...this.chat.values()].sort((a, b) => a.id - b.id);
  }

  opinionList() {
    return [...this.opinions.values()].filter((o) => !o.merged_into).sort((a, b) => b.supports - a.supports || a.id - b.id);
  }

  lobbyList() {
    return [...this.lobby.values()].sort((a, b) => a.since - b.since);
  }
}
