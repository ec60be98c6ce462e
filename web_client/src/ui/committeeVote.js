/**
 * The vote part of the committee panel: the motion in question and the method, the live
 * progress, a member's own controls (挙手 / 起立 toggle, 賛成 / 反対 / 棄権 once with a
 * confirmation, 異議あり), the recusal note (除斥) in place of the controls, and the
 * results by name with totals once closed (the public record: everyone sees them).
 * `renderVote(view, act, redraw)` returns the nodes; `act(event, payload, doneText)` sends,
 * `redraw(focusId)` draws again (a named ballot's confirmation step) and focuses `focusId`.
 */
import { t } from '../i18n.js';
import { COMMITTEE_VOTE_CAST } from '../net/events.js';
import { el } from './el.js';

const CHOICE_KEYS = { yes: 'committee.choice.yes', no: 'committee.choice.no', abstain: 'committee.choice.abstain',
  absent: 'committee.choice.absent', recused: 'committee.choice.recused', object: 'committee.choice.object', none: 'committee.choice.none' };

export const methodText = (m) => t(`committee.method.${m}`);
export const choiceText = (c) => (CHOICE_KEYS[c] ? t(CHOICE_KEYS[c]) : String(c ?? ''));
export function outcomeText(r) {
  if (!r) return '';
  const parts = [];
  if (r.outcome) parts.push(t(`committee.outcome.${r.outcome}`));
  if (r.motionOutcome) parts.push(t(`committee.motionOutcome.${r.motionOutcome}`));
  if (r.chairDecided) parts.push(t('committee.chairDecided'));
  return parts.join(' — ');
}

/** A named ballot waiting for its confirmation (vote id → choice), kept across redraws. */
const pending = new Map();

export function renderVote(view, act, redraw) {
  const v = view.vote;
  if (!v || v.state === 'void') return [el('p', { class: 'cm-muted', text: t('committee.noVote') })];
  const out = [];
  const stateKey = v.open ? 'committee.vote.open' : v.tie ? 'committee.vote.tie' : 'committee.vote.closed';
  out.push(el('p', { class: 'cm-motion' },
    el('span', { class: 'cm-label', text: t('committee.motion') }), ' ', el('strong', { text: v.motionTitle || '—' })));
  out.push(el('p', { class: 'cm-method', id: 'committee-vote-status' },
    t(stateKey, { method: methodText(v.method) }),
    v.open ? ` ${t('committee.vote.progress', { cast: v.castCount, voters: v.voterCount })}` : ''));
  if (v.open && v.cameraRequired) {
    // the committee votes on camera: say so before the controls (the camera button is above)
    out.push(el('p', { class: view.kind === 'member' && !view.cameraOn ? 'cm-warn' : 'cm-note', id: 'committee-vote-camera',
      text: t(view.kind === 'member' && !view.cameraOn ? 'committee.camera.voteNeeds' : 'committee.camera.voteRule') }));
  }
  if (v.recused && view.kind === 'member') {
    out.push(el('p', { class: 'cm-note', id: 'committee-recused', role: 'note', text: t('committee.recusedNote') }));
  } else if (v.controls) out.push(...controls(v, act, redraw));
  else if (view.kind === 'member' && v.open && v.myChoice != null) {
    out.push(el('p', { class: 'cm-done', id: 'committee-my-vote', text: t('committee.youVoted', { choice: v.myChoice === true ? '✓' : choiceText(v.myChoice) }) }));
  }
  if (v.disconnected.length) out.push(el('p', { class: 'cm-warn', text: t('committee.vote.disconnected', { names: v.disconnected.join(', ') }) }));
  if (v.results) out.push(results(v));
  return out;
}

function controls(v, act, redraw) {
  const cast = (choice, done) => act(COMMITTEE_VOTE_CAST, { vote: v.id, choice }, done);
  if (v.controls === 'toggle') {
    const word = v.method === 'standing' ? 'stand' : 'hand';
    return [
      el('p', { class: 'cm-mine', id: 'committee-my-vote', role: 'status',
        text: t(v.up ? `committee.${word}.up` : `committee.${word}.down`) }),
      el('div', { class: 'row wrap' },
        v.up
          ? el('button', { type: 'button', id: 'committee-withdraw', 'data-fk': 'withdraw', onclick: () => cast('none', t(`committee.${word}.down`)), text: t(`committee.${word}.withdraw`) })
          : el('button', { type: 'button', class: 'primary', id: 'committee-yes', 'data-fk': 'yes', onclick: () => cast('yes', t(`committee.${word}.up`)), text: t(`committee.${word}.do`) })),
    ];
  }
  if (v.controls === 'assent') {
    return [
      el('p', { class: 'cm-mine', id: 'committee-my-vote', role: 'status', text: t(v.objected ? 'committee.assent.objected' : 'committee.assent.none') }),
      el('div', { class: 'row wrap' },
        v.objected
          ? el('button', { type: 'button', id: 'committee-withdraw', 'data-fk': 'withdraw', onclick: () => cast('none'), text: t('committee.assent.withdraw') })
          : el('button', { type: 'button', class: 'primary', id: 'committee-object', 'data-fk': 'object', onclick: () => cast('object', t('committee.assent.objected')), text: t('committee.assent.object') })),
    ];
  }
  // named ballot: choose, then confirm (once: it cannot be changed)
  const chosen = pending.get(v.id);
  if (chosen) {
    return [
      el('p', { class: 'cm-mine', id: 'committee-confirm-text', role: 'status', text: t('committee.named.confirm', { choice: choiceText(chosen) }) }),
      el('div', { class: 'row wrap' },
        el('button', { type: 'button', class: 'primary', id: 'committee-confirm', 'data-fk': 'confirm', onclick: async () => {
          pending.delete(v.id);
          await cast(chosen, t('committee.youVoted', { choice: choiceText(chosen) }));
        }, text: t('committee.named.send') }),
        el('button', { type: 'button', id: 'committee-cancel', 'data-fk': 'cancel', onclick: () => { pending.delete(v.id); redraw(`committee-${chosen}`); }, text: t('committee.named.cancel') })),
    ];
  }
  return [
    el('p', { class: 'cm-mine', text: t('committee.named.choose') }),
    el('div', { class: 'row wrap', role: 'group', 'aria-label': t('committee.named.choose') },
      ...['yes', 'no', 'abstain'].map((c) => el('button', { type: 'button', class: c === 'yes' ? 'primary' : '', id: `committee-${c}`, 'data-fk': c,
        onclick: () => { pending.set(v.id, c); redraw('committee-confirm'); }, text: choiceText(c) }))),
  ];
}

/** Whether a ballot was cast on camera: ✓ / — (with words for screen readers); '' when none was cast. */
function cameraCell(row) {
  if (row.camera == null) return el('td', { class: 'cm-camera-cell', text: '' });
  return el('td', { class: `cm-camera-cell ${row.camera ? 'cm-ok' : 'cm-muted'}`, text: t(row.camera ? 'committee.camera.castOn' : 'committee.camera.castOff') });
}

function results(v) {
  const r = v.results;
  // the chair sees whether each ballot was cast live; everyone when the committee votes on camera
  const camCol = v.cameraRequired || r.rows.some((row) => row.camera != null);
  const totals = v.method === 'assent'
    ? t('committee.totals.assent', { objections: r.objections })
    : t('committee.totals', { yes: r.yes, no: r.no, abstain: r.abstain, voters: r.voters });
  const q = r.quorum ? t('committee.results.quorum', { present: r.quorum.present, needed: r.quorum.needed, seats: r.quorum.seats }) : '';
  return el('div', { class: 'cm-results', id: 'committee-results' },
    el('p', { class: 'cm-outcome', text: outcomeText(r) || t('committee.vote.tie', { method: methodText(v.method) }) }),
    el('p', { class: 'cm-totals', text: `${totals} ${q}`.trim() }),
    el('table', { class: 'cm-table' },
      el('caption', { class: 'visually-hidden', text: t('committee.results.byName') }),
      el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: t('committee.col.member') }), el('th', { scope: 'col', text: t('committee.col.choice') }),
        camCol ? el('th', { scope: 'col', text: t('committee.col.camera') }) : null)),
      el('tbody', {}, ...r.rows.map((row) => el('tr', { dataset: { member: row.member } },
        el('th', { scope: 'row', text: row.name }), el('td', { class: `cm-c-${row.choice}`, text: choiceText(row.choice) }),
        camCol ? cameraCell(row) : null)))));
}
