/**
 * Drawing the staff console's sections from the meeting state (public part) and the staff
 * state. `ctx.act(event, payload)` sends a socket action; `ctx.http` makes HTTP calls.
 * Names, messages and opinions go in as text only (ui/el.js).
 */
import { i18n, t } from '../i18n.js';
import * as E from '../net/events.js';
import { MeetingState, formatClock } from '../state/meeting.js';
import { byId, el, fill, fillKeyed } from '../ui/el.js';
import { reasonText } from '../ui/join.js';
import { formatDateTime, formatTime } from './times.js';

const MARKS = ['submitted', 'under_review', 'adopted', 'partly_adopted', 'not_adopted', 'noted'];
const EXPORTS = ['chat', 'opinions', 'questions', 'polls', 'audit', 'sanctions', 'attendance'];

const empty = (key) => el('li', { class: 'empty', text: t(key) });
const button = (label, onclick, extra = {}) => el('button', { type: 'button', class: 'small', onclick, ...extra }, label);
const time = (at) => formatTime(at, i18n.lang); // in the city's zone (times.js)

/**
 * A name as the console shows it: for anyone but a citizen with a visible, translated role
 * badge, so that a citizen who calls themselves "佐藤委員" is not read as the member
 * (issue 14, finding 6). `role` missing: the name alone.
 */
export function who(name, role) {
  return el('span', { class: `who role-${role || 'citizen'}` }, name,
    role && role !== 'citizen' ? el('span', { class: 'badge role-badge', text: t(`role.${role}`) }) : null);
}

/** The role of a person present, from the staff roster (null when unknown). */
const roleOf = (staff, pid) => staff?.people?.get(pid)?.role ?? null;

function limitPayload() {
  if (byId('floor-unlimited').checked) return { unlimited: true };
  return { limit: Math.max(5, Number(byId('floor-limit').value) || 180) };
}

export function renderFloor({ meeting, act, staff }) {
  const c = meeting.countdown();
  let text = t('console.floorOpen');
  if (c) {
    const holderRole = roleOf(staff, c.holder);
    const name = holderRole && holderRole !== 'citizen' ? t('role.withName', { name: c.name, role: t(`role.${holderRole}`) }) : c.name;
    text = c.remaining === null ? t('banner.speakingFree', { name })
      : c.overtime ? t('banner.overtime', { name, grace: formatClock(c.grace ?? 0) })
        : t('banner.speaking', { name, clock: formatClock(c.remaining) });
  }
  const state = byId('floor-state');
  if (state.textContent !== text) state.textContent = text;
  state.classList.toggle('over', !!c?.overtime);
  const queue = meeting.floor?.queue || [];
  byId('floor-give').disabled = !!c || !queue.length;
  byId('floor-next').disabled = !queue.length;
  byId('floor-extend').disabled = !c || c.remaining === null;
  byId('floor-revoke').disabled = !c;
  const roles = queue.map((w) => roleOf(staff, w.pid));
  fillKeyed(byId('floor-queue'), JSON.stringify([queue, roles, !!c, i18n.lang]), () => (queue.length
    ? queue.map((w, i) => el('li', {}, `${i + 1}. `, who(w.name, roles[i]), ' ',
      button(t('console.giveTo'), () => act(E.FLOOR_GIVE, { target: w.pid, ...limitPayload() }),
        { disabled: !!c, 'aria-label': t('console.giveToName', { name: w.name }) }),
      button(t('floor.lower'), () => act(E.HAND_LOWER, { target: w.pid }))))
    : [empty('floor.queueEmpty')]));
  const spoken = meeting.floor?.spoken || [];
  const spokenRoles = spoken.map((s) => roleOf(staff, s.pid));
  fillKeyed(byId('floor-spoken'), JSON.stringify([spoken, spokenRoles, i18n.lang]), () => (spoken.length
    ? spoken.map((s, i) => el('li', {}, who(s.name, spokenRoles[i]), ': ', formatClock(s.seconds)))
    : [empty('console.none')]));
}

export function floorLimit() {
  return limitPayload();
}

/** Titles of the agenda items this console has seen: the log names a deleted item too. */
const seenTitles = new Map();

export function renderAgenda({ meeting, act, confirm }) {
  const items = meeting.agenda?.items || [];
  for (const i of items) seenTitles.set(String(i.id), i.title);
  const cur = meeting.currentItem();
  byId('agenda-close').disabled = !cur;
  const list = byId('agenda-items');
  const key = JSON.stringify([items.map((i) => [i.id, i.title, i.state, i.planned, i.elapsed]), cur?.item.id, cur?.over, i18n.lang]);
  if (list.dataset.key === key) {
    const clock = cur && list.querySelector('[aria-current="true"] .clock');
    if (clock) clock.textContent = cur.item.planned ? `${formatClock(cur.spent)} / ${formatClock(cur.item.planned)}` : formatClock(cur.spent);
    return;
  }
  list.dataset.key = key;
  fill(list, items.length ? items.map((item, i) => {
    const open = cur && cur.item.id === item.id;
    const spent = open ? cur.spent : item.elapsed || 0;
    const edit = el('details', { class: 'edit' }, el('summary', {}, t('console.edit')));
    const title = el('input', { type: 'text', value: item.title, maxlength: 200, 'aria-label': t('console.itemTitle') });
    const minutes = el('input', { type: 'number', min: 0, max: 360, value: Math.round(item.planned / 60), 'aria-label': t('console.minutes') });
    edit.append(el('form', { class: 'row wrap', onsubmit: (e) => {
      e.preventDefault();
      act(E.AGENDA_EDIT, { item: item.id, title: title.value, planned: Math.round(Number(minutes.value) * 60) });
    } }, title, minutes, el('button', { type: 'submit', class: 'small' }, t('console.save')),
    // Deleting lives behind "edit", away from "go to this item", and asks first naming the
    // item (issue 15, defect 9).
    item.state === 'pending' ? button(t('console.remove'), async () => {
      if (await confirm(t('console.removeItemConfirm', { title: item.title }), t('console.remove'))) act(E.AGENDA_REMOVE, { item: item.id });
    }, { class: 'small danger delete', 'aria-label': t('console.removeItemName', { title: item.title }) }) : null));
    return el('li', { class: `agenda-item ${item.state}`, 'aria-current': open ? 'true' : null },
      el('span', { class: 'title' }, `${i + 1}. `, item.title),
      el('span', { class: 'clock' }, item.planned ? `${formatClock(spent)} / ${formatClock(item.planned)}` : formatClock(spent)),
      open && cur.over ? el('span', { class: 'badge over', text: t('agenda.overrun') }) : null,
      item.state === 'done' ? el('span', { class: 'badge', text: t('agenda.done') }) : null,
      !open ? button(t('agenda.open'), () => act(E.AGENDA_OPEN, { item: item.id })) : null,
      edit);
  }) : [empty('agenda.empty')]);
}

export function renderLobby({ staff, act }) {
  const waiting = staff.lobbyList();
  fill(byId('lobby-list'), waiting.length ? waiting.map((w) => el('li', { dataset: { pid: w.pid } },
    el('span', { class: 'who' }, w.name), ` (${t(`role.${w.role}`)}) `,
    button(t('console.admit'), () => act(E.LOBBY_ADMIT, { target: w.pid }), { class: 'small primary', 'aria-label': t('console.admitName', { name: w.name }) }),
    button(t('console.refuse'), () => act(E.LOBBY_REFUSE, { target: w.pid }), { 'aria-label': t('console.refuseName', { name: w.name }) })))
    : [empty('console.lobbyEmpty')]);
}

function sanctionPayload(target) {
  const reason = byId('sanction-reason').value.trim();
  const minutes = Number(byId('sanction-minutes').value) || 0;
  return { target, ...(reason ? { reason } : {}), ...(minutes > 0 ? { duration: minutes * 60 } : {}) };
}

export function renderPeople({ staff, act, self, demote }) {
  const rows = staff.roster().filter((p) => p.pid !== self);
  fill(byId('people-rows'), rows.length ? rows.map((p) => {
    const staffRole = p.role === 'staff';
    return el('tr', { dataset: { pid: p.pid } },
      el('td', {}, p.name, p.muted ? el('span', { class: 'badge over', text: t('console.muted') }) : null,
        p.console ? el('span', { class: 'badge', text: t('console.consoleBadge') }) : null),
      el('td', { text: t(`role.${p.role}`) }),
      el('td', { text: t(`place.${p.place}`) }),
      el('td', { class: 'tracking', dataset: { reason: p.trackingReason || '' }, text: p.tracking ? `${t(`tracking.${p.tracking}`)}${p.trackingReason ? ` ${t(`face.reason.${p.trackingReason}`)}` : ''}` : '—' }),
      el('td', { class: 'actions' },
        staffRole ? null : p.muted
          ? button(t('console.unmute'), () => act(E.SANCTION_UNMUTE, { target: p.pid }))
          : button(t('console.mute'), () => act(E.SANCTION_MUTE, sanctionPayload(p.pid)), { 'aria-label': t('console.muteName', { name: p.name }) }),
        staffRole ? null : button(t('console.removeP'), () => act(E.SANCTION_REMOVE, sanctionPayload(p.pid)), { 'aria-label': t('console.removeName', { name: p.name }) }),
        staffRole ? null : button(t('console.ban'), () => act(E.SANCTION_BAN, sanctionPayload(p.pid)), { class: 'small danger', 'aria-label': t('console.banName', { name: p.name }) }),
        // Back to the public gallery (issue 19): they leave the room, their page opens it.
        staffRole || !demote || p.console ? null : button(t('console.galleryDemote'), () => demote(p), { 'aria-label': t('console.galleryDemoteName', { name: p.name }) })));
  }) : [el('tr', {}, el('td', { colspan: 5, class: 'empty', text: t('console.none') }))]);
}

export function renderSanctions({ staff, act }) {
  const list = [...staff.sanctions.values()].sort((a, b) => a.id - b.id);
  fill(byId('sanction-list'), list.length ? list.map((s) => el('li', {},
    el('span', { class: 'badge', text: t(`sanction.${s.kind}`) }), ' ', s.name || '—',
    s.reason ? ` — ${s.reason}` : '',
    ' ', s.expires_at ? t('notice.until', { time: formatDateTime(s.expires_at, i18n.lang) }) : `(${t('console.untilLifted')})`,
    ' ', button(t('console.lift'), () => act(E.SANCTION_LIFT, { sanction: s.id }))))
    : [empty('console.none')]);
}

export function renderReports({ staff, act }) {
  const reports = staff.openReports();
  fill(byId('report-list'), reports.length ? reports.map((r) => el('li', { class: 'card' },
    el('p', { class: 'meta' }, t('console.reportedBy', { name: r.reporter_name || r.reporter }),
      r.reason ? ` — ${r.reason}` : ''),
    el('p', { class: 'text' }, r.message ? el('b', {}, who(r.message.author_name, r.message.author_role), ': ') : null, r.message ? r.message.text : '—'),
    el('p', { class: 'row' },
      button(t('console.hide'), () => act(E.CHAT_HIDE, { message: r.message_id })),
      button(t('console.dismiss'), () => act(E.REPORT_DISMISS, { report: r.id })))))
    : [empty('console.noReports')]);
  const chat = staff.chatList().slice(-40);
  fill(byId('console-chat'), chat.length ? chat.map((m) => el('li', { class: m.hidden ? 'hidden-msg' : null },
    who(m.author_name, m.author_role), el('span', { class: 'what' }, m.text),
    m.hidden ? button(t('console.restore'), () => act(E.CHAT_RESTORE, { message: m.id }))
      : button(t('console.hide'), () => act(E.CHAT_HIDE, { message: m.id }))))
    : [empty('console.none')]);
}

export function renderPolls({ meeting, act, room }) {
  const polls = meeting.pollsList();
  fill(byId('console-polls'), polls.length ? polls.map((p) => {
    const shares = MeetingState.shares(p);
    return el('li', { class: `card poll ${p.state}` },
      el('p', { class: 'meta' }, el('span', { class: 'badge', text: t(`poll.state.${p.state}`) }), ' ',
        t('poll.voters', { n: p.voters }), ' · ', p.electorate.map((r) => t(`role.${r}`)).join(', ')),
      el('p', { class: 'text', text: p.question }),
      el('ul', { class: 'results' }, p.options.map((o, i) => {
        const fillEl = el('span', { class: 'fill' });
        fillEl.style.width = `${shares[i]}%`;
        return el('li', {}, el('span', { class: 'option', text: o }), el('span', { class: 'bar', 'aria-hidden': 'true' }, fillEl),
          el('span', { class: 'share', text: t('poll.share', { n: p.counts[i], pct: shares[i] }) }));
      })),
      p.state === 'open' ? button(t('poll.close'), () => act(E.POLL_CLOSE, { poll: p.id })) : null);
  }) : [empty('poll.empty')]);
  byId('sec-polls').dataset.room = room;
}

export function renderOpinions({ staff, act }) {
  const ops = staff.opinionList();
  fill(byId('console-opinions'), ops.length ? ops.map((o) => {
    const mark = el('select', { 'aria-label': t('console.status') },
      MARKS.map((m) => el('option', { value: m, selected: m === o.status }, t(`opinion.status.${m}`))));
    const reply = el('textarea', { rows: 2, maxlength: 2000, 'aria-label': t('console.respond') });
    reply.value = o.response || '';
    const others = ops.filter((x) => x.id !== o.id && !x.hidden);
    const into = el('select', { 'aria-label': t('console.mergeInto') },
      others.map((x) => el('option', { value: x.id }, `#${x.id} ${x.text.slice(0, 30)}`)));
    return el('li', { class: `card${o.hidden ? ' hidden-msg' : ''}`, dataset: { id: o.id } },
      el('p', { class: 'meta' }, `#${o.id} `, o.category ? el('span', { class: 'badge', text: o.category }) : null,
        ' ', o.author_name, ' · ', t('opinion.supports', { n: o.supports }),
        o.hidden ? el('span', { class: 'badge over', text: t('console.hidden') }) : null),
      el('p', { class: 'text', text: o.text }),
      el('div', { class: 'row wrap' }, mark, button(t('console.mark'), () => act(E.OPINION_MARK, { opinion: o.id, status: mark.value })),
        button(t(o.hidden ? 'console.show' : 'console.hide'), () => act(E.OPINION_HIDE, { opinion: o.id, hidden: !o.hidden }))),
      el('div', { class: 'row wrap' }, reply, button(t('console.respond'), () => reply.value.trim() && act(E.OPINION_RESPOND, { opinion: o.id, text: reply.value }))),
      others.length ? el('div', { class: 'row wrap' }, into,
        button(t('console.merge'), () => act(E.OPINION_MERGE, { source: o.id, target: Number(into.value) }))) : null);
  }) : [empty('opinion.empty')]);
}

export function renderQuestions({ meeting, act }) {
  const qs = meeting.questionsRanked();
  fill(byId('console-questions'), qs.length ? qs.map((q) => {
    const answer = el('input', { type: 'text', maxlength: 2000, 'aria-label': t('question.answer') });
    return el('li', { class: `card ${q.state}` },
      el('p', { class: 'meta' }, el('span', { class: 'badge', text: t(`question.state.${q.state}`) }), ' ', q.author_name, ' · ',
        t('question.votes', { n: q.votes })),
      el('p', { class: 'text', text: q.text }),
      q.answer ? el('p', { class: 'response', text: q.answer }) : null,
      q.state === 'open' ? el('div', { class: 'row wrap' }, answer,
        button(t('question.markAnswered'), () => act(E.QUESTION_ANSWER, answer.value.trim() ? { question: q.id, text: answer.value } : { question: q.id })),
        button(t('console.dismiss'), () => act(E.QUESTION_DISMISS, { question: q.id }))) : null);
  }) : [empty('question.empty')]);
}

export function renderCaptions({ meeting }) {
  const lines = meeting.captions.slice(-10).reverse();
  // An automatic line says so and who spoke; the captioner's correction of it shows the
  // recogniser's text beside it (both are kept).
  fill(byId('console-captions'), lines.length ? lines.map((c) => el('li', { dataset: { seq: c.seq } }, `${time(c.at)} `,
    c.auto ? el('span', { class: 'badge', text: t('captions.auto') }) : null, c.auto ? ` ${c.speaker_name || ''}: ` : '', c.text,
    c.auto && c.auto_text && c.auto_text !== c.text ? el('span', { class: 'hint', text: ` (${t('captions.autoText')}: ${c.auto_text})` }) : null)) : [empty('console.none')]);
}

export function renderExports(room) {
  fill(byId('export-links'), EXPORTS.map((what) => el('li', {}, t(`export.${what}`), ': ',
    el('a', { href: `/api/rooms/${encodeURIComponent(room)}/export/${what}.csv`, download: `${room}-${what}.csv`, 'data-export': `${what}.csv` }, 'CSV'), ' · ',
    el('a', { href: `/api/rooms/${encodeURIComponent(room)}/export/${what}.json`, download: `${room}-${what}.json`, 'data-export': `${what}.json` }, 'JSON'))));
}

/** What an audit entry did, in words: `audit.<kind>` (moderation/audit.py KINDS), never the raw code. */
export function auditText(e, meeting) {
  const d = e.details || {};
  const kind = e.kind || e.action;
  const item = d.item ? meeting?.agenda?.items?.find((i) => String(i.id) === String(d.item)) : null;
  const title = item?.title ?? seenTitles.get(String(d.item));
  const key = `audit.${kind}`;
  const text = t(key, { item: title ?? (d.item ? `#${d.item}` : ''), target: e.target_name || '' });
  return text === key ? t('audit.other') : text;
}

export function renderAudit({ staff, meeting }) {
  const entries = staff.audit.slice().reverse();
  fill(byId('audit-list'), entries.length ? entries.map((e) => el('li', { dataset: { kind: e.kind || e.action } },
    el('span', { class: 'when', text: time(e.at) }), ' ',
    el('b', {}, e.actor_name || e.actor), ` (${t(`role.${e.actor_role}`)}) `, el('span', { class: 'what', text: auditText(e, meeting) }),
    // a refused attempt (committee actions audit those too) must not read as done
    e.details?.refused ? el('span', { class: 'badge over', text: t('console.auditRefused') }) : null,
    e.target_name ? ` → ${e.target_name}` : '', e.reason ? ` — ${e.details?.refused ? reasonText(e.reason) : e.reason}` : ''))
    : [empty('console.none')]);
}

export function renderCode(staff) {
  byId('code-now').textContent = staff.code || t('console.noCode');
  byId('code-clear').disabled = !staff.code;
}

export function renderInvitations(list, revoke) {
  fill(byId('invite-list'), list.length ? list.map((i) => {
    const state = i.revoked ? 'revoked' : i.redeemed_at ? 'used' : i.expired ? 'expired' : 'unused';
    return el('li', {}, t(`role.${i.role}`), i.name ? ` ${i.name}` : '', ' — ', t(`invite.${state}`),
      state === 'unused' ? button(t('console.revoke'), () => revoke(i.token_id)) : null);
  }) : [empty('console.none')]);
}
