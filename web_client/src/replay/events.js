/**
 * A recording's event log (`events.jsonl`, docs/recording.md "Event log") turned into what
 * the replay shows beside the plaza: agenda chapters, caption lines, chat messages, who
 * had the floor, and who sat in which motion slot. Pure; times are ms since the start.
 */

/** Lines of the log; a torn last line (no newline) and lines that do not parse are skipped. */
export function parseEvents(text) {
  const lines = text.split('\n');
  if (!text.endsWith('\n')) lines.pop(); // torn: the writer was killed mid-line
  const out = [];
  for (const line of lines) {
    if (!line.trim()) continue;
    try {
      const e = JSON.parse(line);
      if (e && typeof e === 'object' && Number.isFinite(e.t) && typeof e.kind === 'string') out.push(e);
    } catch {
      /* counted by the server's reader; the page just skips it */
    }
  }
  return out.sort((a, b) => a.t - b.t || (a.seq ?? 0) - (b.seq ?? 0));
}

/**
 * `{chapters, captions, chat, floor, people}` from parsed lines:
 * - chapters `[{t, id, title}]`: each `agenda.opened`;
 * - captions `[{t, seq, text}]`: a correction replaces the text of its line (shown as it
 *   was finally corrected, at the time it was first posted);
 * - chat `[{t, id, name, text}]`: a message hidden later is dropped altogether;
 * - floor `[{t, pid}]`: the floor holder from `t` on (pid null: nobody);
 * - people `Map(pid → {name, role, avatar?, vrm?})`, and slots `Map(slot → pid)`: which avatar of the
 *   motion log is whose, from the `join` lines that carry a `slot` (`meeting.present` at the
 *   start, `avatar.entered` after; a slot is reused only after 65,536 entries);
 * - present `Set(slot)`: the avatars in the room when the recording started (the
 *   `meeting.present` lines with a slot), drawn from t = 0 on;
 * - speakers `[{t, pid}]`: when each speaker's voice file was opened (`speaker` lines: their
 *   first sound in the recording).
 */
export function digest(events) {
  const chapters = [];
  const captions = new Map();
  const chat = new Map();
  const hidden = new Set();
  const floor = [];
  const people = new Map();
  const slots = new Map();
  const present = new Set();
  const speakers = [];
  for (const e of events) {
    const type = e.type || '';
    if (e.pid && e.pid_name && !people.has(e.pid)) people.set(e.pid, { name: String(e.pid_name), role: e.pid_role || '' });
    if (e.kind === 'join' && e.pid && Number.isInteger(e.slot)) {
      slots.set(e.slot, e.pid);
      if (e.avatar && typeof e.avatar === 'object' && people.has(e.pid)) people.get(e.pid).avatar = e.avatar;
      // the approved VRM model worn then (its sha256), drawn as it was (issue 18)
      if (typeof e.vrm === 'string' && people.has(e.pid)) people.get(e.pid).vrm = e.vrm;
      if (type === 'meeting.present') present.add(e.slot);
    }
    if (e.kind === 'speaker' && typeof e.speaker === 'string') speakers.push({ t: e.t, pid: e.speaker });
    if (e.kind === 'agenda' && type === 'agenda.opened') chapters.push({ t: e.t, id: e.item_id, title: String(e.title ?? '') });
    else if (e.kind === 'caption' && e.line && typeof e.line.text === 'string') {
      const old = captions.get(e.line.seq);
      captions.set(e.line.seq, { t: old ? old.t : e.t, seq: e.line.seq, text: e.line.text });
    } else if (e.kind === 'chat' && e.message) {
      const m = e.message;
      if (type === 'chat.hidden' || m.hidden) hidden.add(m.id);
      else if (type === 'chat.restored') hidden.delete(m.id);
      if (type === 'chat.posted' && typeof m.text === 'string') chat.set(m.id, { t: e.t, id: m.id, name: String(m.author_name ?? ''), text: m.text });
    } else if (e.kind === 'floor') {
      if (type === 'floor.given') floor.push({ t: e.t, pid: e.pid ?? null });
      else if (type === 'floor.ended' || type === 'floor.expired') floor.push({ t: e.t, pid: null });
    }
  }
  return {
    chapters,
    captions: [...captions.values()].sort((a, b) => a.t - b.t),
    chat: [...chat.values()].filter((m) => !hidden.has(m.id)).sort((a, b) => a.t - b.t),
    floor,
    people,
    slots,
    present,
    speakers,
  };
}

/** How many items of a time-sorted list are at or before `tMs` (binary search). */
export function countUpTo(items, tMs) {
  let lo = 0, hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (items[mid].t <= tMs) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The floor holder at `tMs` (pid or null). */
export function floorAt(floor, tMs) {
  const n = countUpTo(floor, tMs);
  return n ? floor[n - 1].pid : null;
}

/** The chapter playing at `tMs` (index into chapters, -1 before the first). */
export function chapterAt(chapters, tMs) {
  return countUpTo(chapters, tMs) - 1;
}
