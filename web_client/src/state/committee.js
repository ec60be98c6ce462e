/**
 * The committee panel's view model (委員会: roll call, quorum, motions, votes), derived from
 * the server's `committee:state` (docs/protocol.md, "Committees") and who this page is.
 * Pure (no DOM) so that node tests it; ui/committee*.js draw it.
 *
 * Who the page is comes from the join's MeetingState `self`: the chair (`role` chair), a
 * member (`member`, the roster id the server put on the session) or anyone else (the
 * public gallery: read-only). The server decides every action again; the page only offers
 * what would be accepted, and says why a control is not offered.
 */

export const METHODS = Object.freeze(['hands', 'standing', 'named', 'assent']);
/** Statuses that count as attending (出席 / 遅参). */
const PRESENT = new Set(['present', 'late']);

/** 'chair', 'member' or 'public' for a MeetingState `self`. */
export function viewerKind(self) {
  if (self?.role === 'chair') return 'chair';
  if (typeof self?.member === 'string' && self.member) return 'member';
  return 'public';
}

function motionTitle(state, id) {
  const m = (state?.motions || []).find((x) => x.id === id);
  return m ? m.title : '';
}

/**
 * The whole panel's model. `state`: committee:state (or null: not a committee room);
 * `self`: MeetingState self. Null when there is no committee.
 */
export function committeeView(state, self) {
  if (!state || typeof state !== 'object') return null;
  const kind = viewerKind(self);
  const members = Array.isArray(state.members) ? state.members : [];
  const mine = kind === 'member' || kind === 'chair' ? members.find((m) => m.member === self?.member) ?? null : null;
  const quorum = {
    counted: Number(state.counted) || 0,
    needed: Number(state.needed) || 0,
    seats: Number(state.seats) || 0,
    met: !!state.quorum,
  };
  const v = state.vote && typeof state.vote === 'object' ? state.vote : null;
  const vote = v ? voteView(state, v, mine, kind) : null;
  const motions = (Array.isArray(state.motions) ? state.motions : []).map((m) => ({
    id: m.id,
    title: m.title,
    amends: m.amends ?? null,
    amendsTitle: m.amends != null ? motionTitle(state, m.amends) : '',
    outcome: m.outcome ?? null,
  }));
  const status = mine?.status ?? null;
  return {
    kind,
    rollcall: !!state.rollcall,
    quorum,
    me: mine
      ? {
          member: mine.member,
          name: mine.name,
          status,
          verified: !!mine.verified,
          // roll call open and not yet answered, or answering late after it closed (the
          // chair answers too: the chair is on the roster and counts for the quorum)
          canAnswer: ((!!state.rollcall && !PRESENT.has(status)) || status === 'absent'),
        }
      : null,
    members: members.map((m) => ({
      member: m.member,
      name: m.name,
      role: m.role,
      status: m.status,
      since: m.since ?? null,
      connected: !!m.pid,
      pid: m.pid ?? null,
      verified: m.verified ?? null,
      recusedFor: Array.isArray(m.recused_for) ? m.recused_for : [],
    })),
    motions,
    // motions that can still be put to a vote: undecided, and without an undecided amendment
    votable: motions.filter((m) => !m.outcome && !motions.some((a) => a.amends === m.id && !a.outcome)),
    vote,
    // the chair may open a vote: no vote open or tied, quorum met
    canOpen: kind === 'chair' && (!vote || vote.state === 'closed' || vote.state === 'void'),
    openBlocked: quorum.met ? null : 'no_quorum',
    closedSession: state.closed_session ?? null,
    gallery: state.gallery ?? null,
  };
}

/** The vote's part: what this page shows and offers about it. */
function voteView(state, v, mine, kind) {
  const cast = v.cast && typeof v.cast === 'object' ? v.cast : {};
  const members = Array.isArray(state.members) ? state.members : [];
  const recused = !!mine && (mine.recused_for || []).includes(v.motion);
  const open = v.state === 'open';
  const myChoice = mine ? cast[mine.member] ?? null : null;
  let controls = null;
  if (kind === 'member' && open && !recused) {
    if (v.method === 'hands' || v.method === 'standing') controls = 'toggle';
    else if (v.method === 'named') controls = myChoice == null ? 'named' : null;
    else if (v.method === 'assent') controls = 'assent';
  }
  const names = new Map(members.map((m) => [m.member, m.name]));
  const r = v.results && typeof v.results === 'object' ? v.results : null;
  const camera = v.camera && typeof v.camera === 'object' ? v.camera : {};
  const voters = members.filter(
    (m) => m.role !== 'chair' && PRESENT.has(m.status) && m.verified && !(m.recused_for || []).includes(v.motion),
  );
  return {
    id: v.id,
    motion: v.motion,
    motionTitle: motionTitle(state, v.motion),
    method: v.method,
    state: v.state,
    open,
    tie: v.state === 'tie',
    recused,
    myChoice,
    // hands / standing: whether this member's hand is up (standing)
    up: myChoice === 'yes',
    objected: myChoice === 'object',
    controls,
    castCount: Object.keys(cast).length,
    voterCount: voters.length,
    castBy: voters.map((m) => ({ member: m.member, name: m.name, cast: cast[m.member] != null, choice: cast[m.member] ?? null, camera: camera[m.member] ?? null })),
    // the committee votes on camera (its rule as the vote opened); each ballot's camera
    cameraRequired: !!v.camera_required,
    camera,
    disconnected: (Array.isArray(v.disconnected) ? v.disconnected : []).map((id) => names.get(id) || id),
    results: r
      ? {
          rows: Object.entries(r.by_member || {}).map(([member, choice]) => ({ member, name: names.get(member) || member, choice, camera: camera[member] ?? null })),
          yes: r.yes ?? 0,
          no: r.no ?? 0,
          abstain: r.abstain ?? 0,
          objections: r.objections ?? 0,
          voters: r.voters ?? 0,
          outcome: r.outcome ?? null,
          chairDecided: !!r.chair_decided,
          motionOutcome: r.motion_outcome ?? null,
          quorum: r.quorum ?? null,
        }
      : null,
  };
}

/**
 * What a screen reader should hear when the state changes from `prev` to `next` (both
 * committeeView results, or null): a list of {key, params} for i18n, in order. Nothing on
 * the first state (entering the room says where one is).
 */
export function committeeAnnouncements(prev, next) {
  const out = [];
  if (!prev || !next) return out;
  if (!prev.rollcall && next.rollcall) out.push({ key: 'committee.live.rollcallOpen' });
  if (prev.rollcall && !next.rollcall) out.push({ key: 'committee.live.rollcallClosed' });
  if (prev.quorum.met !== next.quorum.met) {
    out.push({ key: next.quorum.met ? 'committee.live.quorumMet' : 'committee.live.quorumLost', params: { counted: next.quorum.counted, needed: next.quorum.needed } });
  }
  const a = prev.vote;
  const b = next.vote;
  if (b && b.open && (!a || a.id !== b.id || !a.open)) {
    out.push({ key: 'committee.live.voteOpen', params: { motion: b.motionTitle, method: b.method } });
  }
  if (b && a && a.id === b.id && a.open && !b.open && b.state !== 'void') {
    out.push(resultAnnouncement(b));
  }
  if (b && a && a.id === b.id && a.tie && b.state === 'closed') out.push(resultAnnouncement(b));
  if (!prev.closedSession !== !next.closedSession) {
    out.push({ key: next.closedSession ? 'committee.live.closedOn' : 'committee.live.closedOff' });
  }
  return out;
}

/** "Vote closed: …" for a closed (or tied) vote. */
export function resultAnnouncement(vote) {
  const r = vote.results || { yes: 0, no: 0, abstain: 0, objections: 0 };
  if (vote.tie) return { key: 'committee.live.tie', params: { motion: vote.motionTitle, yes: r.yes, no: r.no } };
  return {
    key: 'committee.live.voteClosed',
    params: { motion: vote.motionTitle, outcome: r.outcome ?? '', yes: r.yes, no: r.no, abstain: r.abstain, objections: r.objections },
  };
}
