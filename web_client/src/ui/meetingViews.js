/**
 * Drawing the meeting in the plaza page: the banner (agenda item, speaker and countdown),
 * the hand and queue, the agenda, chat, opinions, questions, polls, captions and the
 * chair's controls. Each function redraws its part from the state; `act(event, payload)`
 * sends an action. Everything people wrote goes in as text (ui/el.js).
 */
import { i18n, t } from '../i18n.js';
import * as E from '../net/events.js';
import { MeetingState, formatClock } from '../state/meeting.js';
import { byId, el, fillKeyed, keyed } from './el.js';

/** "12:30 / 20:00" for an agenda item. */
function itemClock(spent, planned) {
  return planned > 0 ? `${formatClock(spent)} / ${formatClock(planned)}` : formatClock(spent);
}

export function bannerTexts(state, nowMs = Date.now()) {
  const cur = state.currentItem(nowMs);
  const n = state.agenda?.items?.length || 0;
  const agenda = cur
    ? t(cur.over ? 'banner.agendaOver' : 'banner.agenda', {
        n: cur.index + 1,
        of: n,
        title: cur.item.title,
        clock: itemClock(cur.spent, cur.item.planned),
      })
    : '';
  const c = state.countdown(nowMs);
  let floor = '';
  if (c) {
    const who = c.holder === state.self?.pid ? t('banner.you') : c.name;
    if (c.remaining === null) floor = t('banner.speakingFree', { name: who });
    else if (c.overtime) floor = t('banner.overtime', { name: who, grace: formatClock(c.grace ?? 0) });
    else floor = t('banner.speaking', { name: who, clock: formatClock(c.remaining) });
  }
  return { agenda, floor, overtime: !!c?.overtime, over: !!cur?.over };
}

/**
 * The one visible place for the agenda item and the speaker's countdown. `roleOf(pid)`
 * names the speaker's role: anyone but a citizen gets a badge (委員長, 委員, 事務局...).
 */
export function renderBanner(state, nowMs = Date.now(), roleOf = () => null) {
  const b = bannerTexts(state, nowMs);
  byId('agenda-now').textContent = b.agenda;
  byId('agenda-now').classList.toggle('over', b.over);
  // The floor view names the holder's role (a staff console has no avatar to look up).
  const role = b.floor ? (state.floor?.holder_role || roleOf(state.floor?.holder)) : null;
  const badge = byId('floor-role');
  const roleText = role && role !== 'citizen' ? t(`role.${role}`) : '';
  if (badge.textContent !== roleText) badge.textContent = roleText;
  badge.hidden = !roleText;
  if (byId('floor-text').textContent !== b.floor) byId('floor-text').textContent = b.floor;
  byId('floor-now').classList.toggle('over', b.overtime);
  byId('floor-banner').hidden = !b.agenda && !b.floor;
  return b;
}

/** Move the open item's clock in the panel's agenda lists, from the banner's `nowMs`. */
export function tickAgenda(state, nowMs) {
  const cur = state.currentItem(nowMs);
  if (!cur) return;
  for (const id of ['agenda-list', 'chair-agenda']) {
    const clock = byId(id).querySelector('[aria-current="true"] .clock');
    const text = itemClock(cur.spent, cur.item.planned);
    if (clock && clock.textContent !== text) clock.textContent = text;
  }
}

/**
 * An opinion category as shown: a server-sent translation (`{value, label: {ja, en...}}`),
 * else the built-in default categories through i18n (`category.<ja name>`), else as sent.
 */
export function categoryValue(c) {
  return c && typeof c === 'object' ? String(c.value ?? c.id ?? i18n.pick(c.label)) : String(c ?? '');
}

export function categoryLabel(c, categories = []) {
  if (!c) return t('opinion.noCategory');
  const known = categories.find((x) => x && typeof x === 'object' && categoryValue(x) === c);
  const entry = typeof c === 'object' ? c : known;
  // a language staff gave no label in reads the value itself (the room's own wording)
  if (entry) return typeof entry.label === 'object' ? i18n.pick({ ja: categoryValue(entry), ...entry.label }) : categoryValue(entry);
  const key = `category.${c}`;
  const out = t(key);
  return out === key ? c : out;
}

export function renderFloor(state, act) {
  const pos = state.myPosition();
  const holder = state.holdsFloor;
  const muted = state.muted;
  let status = '';
  if (muted) status = t('floor.muted');
  else if (holder) status = t('floor.youSpeak');
  else if (pos) status = t('floor.position', { n: pos, of: state.floor.queue.length });
  byId('hand-status').textContent = status;
  const raise = byId('hand-raise');
  raise.hidden = !state.may('hand.raise') || !!pos || holder;
  raise.disabled = muted;
  byId('hand-lower').hidden = !pos;
  byId('floor-yield').hidden = !holder;
  const queue = state.floor?.queue || [];
  fillKeyed(
    byId('queue-list'),
    JSON.stringify([queue, state.self?.pid, i18n.lang]),
    () => queue.length
      ? queue.map((w, i) =>
          el('li', { class: w.pid === state.self?.pid ? 'me' : null }, `${i + 1}. `, nameWithRole(w.name, w.role, 'name'),
            w.pid === state.self?.pid ? ` (${t('floor.you')})` : ''),
        )
      : [el('li', { class: 'empty', text: t('floor.queueEmpty') })],
  );
  renderAgendaList(byId('agenda-list'), state, null);
  if (!byId('panel-chair').hidden || state.may('floor.give')) renderChair(state, act);
}

function renderAgendaList(list, state, act) {
  const items = state.agenda?.items || [];
  const cur = state.currentItem();
  const key = JSON.stringify([items.map((i) => [i.id, i.title, i.state, i.planned]), cur?.item.id, cur?.over, !!act, i18n.lang]);
  if (!fillKeyed(list, key, () => agendaItems(items, cur, act))) {
    // same items: only the clock of the open one moves
    const open = cur && list.querySelector('[aria-current="true"] .clock');
    if (open) open.textContent = itemClock(cur.spent, cur.item.planned);
  }
}

function agendaItems(items, cur, act) {
  return items.length
      ? items.map((item, i) => {
          const open = cur && cur.item.id === item.id;
          const spent = open ? cur.spent : item.elapsed || 0;
          const li = el(
            'li',
            { class: `agenda-item ${item.state}`, 'aria-current': open ? 'true' : null },
            el('span', { class: 'title' }, `${i + 1}. `, item.title),
            el('span', { class: 'clock' }, itemClock(spent, item.planned)),
            open && cur.over ? el('span', { class: 'badge over', text: t('agenda.overrun') }) : null,
            item.state === 'done' ? el('span', { class: 'badge', text: t('agenda.done') }) : null,
          );
          if (act && !open) {
            li.append(el('button', { type: 'button', class: 'small', onclick: () => act(E.AGENDA_OPEN, { item: item.id }) },
              t('agenda.open')));
          }
          return li;
        })
      : [el('li', { class: 'empty', text: t('agenda.empty') })];
}

export function renderChair(state, act) {
  const tab = byId('tab-chair');
  tab.hidden = !state.may('floor.give');
  if (tab.hidden) return;
  const c = state.countdown();
  byId('chair-give').disabled = !!c || !(state.floor?.queue || []).length;
  byId('chair-next').disabled = !(state.floor?.queue || []).length;
  byId('chair-extend').disabled = !c || c.remaining === null;
  byId('chair-revoke').disabled = !c;
  byId('chair-advance').hidden = !state.may('agenda.advance');
  byId('chair-close').disabled = !state.currentItem();
  renderAgendaList(byId('chair-agenda'), state, state.may('agenda.advance') ? act : null);
}

/** The one language-dependent part of every item's signature. */
const sigOf = (...parts) => JSON.stringify([i18n.lang, ...parts]);

/**
 * A person's name with, for anyone but a citizen, a visible translated role badge
 * (委員長, 委員, 事務局...): a citizen cannot pass for a member by taking their name.
 */
export function nameWithRole(name, role, cls = 'who') {
  return el('span', { class: `${cls} role-${role || 'citizen'}` }, name,
    role && role !== 'citizen' ? el('span', { class: 'role-badge', text: t(`role.${role}`) }) : null);
}

/** The placeholder entry of an empty list. */
function emptyEntry(text) {
  return { key: 'empty', sig: sigOf(text), build: () => el('li', { class: 'empty', text }) };
}

/**
 * An entry for a button that changes label and pressed state but keeps its node (and the
 * focus of whoever just pressed it). `onclick` reads the state when pressed.
 */
function toggleEntry(key, pressed, label, onclick) {
  const update = (b) => {
    b.className = pressed ? 'small pressed' : 'small';
    b.setAttribute('aria-pressed', pressed ? 'true' : 'false');
    b.textContent = label;
  };
  return {
    key, sig: sigOf(pressed, label), update,
    build: () => {
      const b = el('button', { type: 'button', onclick });
      update(b);
      return b;
    },
  };
}

/** An entry for a node drawn from `parts` alone (rebuilt only when they change). */
const part = (key, parts, build) => ({ key, sig: sigOf(parts), build });

/** An entry for a card (`li`): its class and parts are patched in place. */
function card(key, className, parts) {
  const update = (li) => {
    li.className = className;
    keyed(li, parts.filter(Boolean));
  };
  return {
    key, sig: sigOf(className, parts.filter(Boolean).map((p) => [p.key, p.sig])), update,
    build: () => {
      const li = el('li');
      update(li);
      return li;
    },
  };
}

/**
 * The chat, updated in place (one node per message, keyed by id). It is a plain list (a
 * `role=log` would take its list semantics away, orphaning every `<li>`: axe's
 * `listitem`), kept quiet (`aria-live=off`): new messages are announced once, throttled,
 * through the page's live region whatever tab is open (MeetingUi), so the list is not read twice
 * and a report button's text is never part of an announcement.
 */
export function renderChat(state, act) {
  const list = byId('chat-list');
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const mine = state.self?.pid;
  const canReport = state.may('chat.report');
  keyed(list, state.chat.map((m) => {
    const own = m.author === mine;
    const report = !own && canReport;
    return part(m.id, [m.author_name, m.author_role, m.text, own, report], () => el(
      'li',
      { class: own ? 'mine' : null, dataset: { id: m.id } },
      nameWithRole(m.author_name, m.author_role),
      el('span', { class: 'what' }, m.text),
      report
        ? el('button', {
            type: 'button',
            class: 'small quiet',
            'aria-label': t('chat.reportOf', { name: m.author_name }),
            onclick: () => act(E.CHAT_REPORT, { message: m.id }, t('chat.reported')),
          }, t('chat.report'))
        : null,
    ));
  }));
  if (atBottom) list.scrollTop = list.scrollHeight;
  const can = state.may('chat.send') && !state.muted;
  byId('chat-text').disabled = !can;
  byId('chat-send').disabled = !can;
  byId('chat-text').placeholder = state.may('chat.send') ? (state.muted ? t('floor.muted') : '') : t('chat.cannot');
}

export function renderOpinions(state, act, mine) {
  const form = byId('opinion-form');
  form.hidden = !state.may('opinion.submit');
  const select = byId('opinion-category');
  const keep = select.value;
  const cats = state.categories.length ? state.categories : [''];
  if (fillKeyed(select, sigOf(cats), () => cats.map((c) => el('option', { value: categoryValue(c) }, categoryLabel(c))))) {
    if (cats.some((c) => categoryValue(c) === keep)) select.value = keep;
  }
  byId('opinion-submit').disabled = state.muted;
  const ops = state.opinionsRanked();
  keyed(byId('opinion-list'), ops.length
    ? ops.map((o) => {
        const supported = !!state.self?.supported?.has(o.id);
        const own = mine.has(o.id);
        return card(o.id, 'card', [
          // the label, not the value: staff may relabel a category while the card is shown
          part('meta', [o.category && categoryLabel(o.category, state.categories), o.status, o.author_name, o.author_role], () => el('p', { class: 'meta' },
            o.category ? el('span', { class: 'badge', text: categoryLabel(o.category, state.categories) }) : null,
            el('span', { class: 'badge status', text: t(`opinion.status.${o.status}`) }),
            nameWithRole(o.author_name, o.author_role, 'author'))),
          part('text', [o.text], () => el('p', { class: 'text', text: o.text })),
          o.response
            ? part('response', [o.response], () => el('p', { class: 'response' }, el('b', { text: t('opinion.response') }), ' ', o.response))
            : null,
          card('row', 'row', [
            part('count', [o.supports], () => el('span', { class: 'count', text: t('opinion.supports', { n: o.supports }) })),
            state.may('opinion.support') && !own
              ? toggleEntry('support', supported, t(supported ? 'opinion.supported' : 'opinion.support'), () => {
                  const now = state.self?.supported?.has(o.id);
                  act(now ? E.OPINION_WITHDRAW : E.OPINION_SUPPORT, { opinion: o.id });
                })
              : null,
          ]),
        ]);
      })
    : [emptyEntry(t('opinion.empty'))]);
}

export function renderQuestions(state, act) {
  byId('question-form').hidden = !state.may('question.ask');
  byId('question-submit').disabled = state.muted;
  const qs = state.questionsRanked();
  keyed(byId('question-list'), qs.length
    ? qs.map((q) => {
        const voted = !!state.self?.voted?.has(q.id);
        const open = q.state === 'open';
        return card(q.id, `card ${q.state}`, [
          part('meta', [q.state, q.author_name, q.author_role], () => el('p', { class: 'meta' },
            el('span', { class: 'badge status', text: t(`question.state.${q.state}`) }),
            nameWithRole(q.author_name, q.author_role, 'author'))),
          part('text', [q.text], () => el('p', { class: 'text', text: q.text })),
          q.answer
            ? part('answer', [q.answer], () => el('p', { class: 'response' }, el('b', { text: t('question.answer') }), ' ', q.answer))
            : null,
          card('row', 'row', [
            part('count', [q.votes], () => el('span', { class: 'count', text: t('question.votes', { n: q.votes }) })),
            open && state.may('question.vote')
              ? toggleEntry('vote', voted, t(voted ? 'question.voted' : 'question.vote'), () => {
                  const now = state.self?.voted?.has(q.id);
                  act(E.QUESTION_VOTE, now ? { question: q.id, withdraw: true } : { question: q.id });
                })
              : null,
            open && state.may('question.answer')
              ? part('answer', [], () => el('button', { type: 'button', class: 'small', onclick: () => act(E.QUESTION_ANSWER, { question: q.id }) },
                  t('question.markAnswered')))
              : null,
          ]),
        ]);
      })
    : [emptyEntry(t('question.empty'))]);
}

/**
 * The ballot of an open poll. Drawn once per poll (and language): the others' votes
 * change only the results beside it, so a choice checked but not yet sent stays checked
 * and focused; after one's own vote only the button's label changes.
 */
function ballotForm(state, poll, act) {
  const mine = state.myBallot(poll.id) || [];
  const type = poll.multiple ? 'checkbox' : 'radio';
  const name = `poll-${poll.id}`;
  const form = el('form', { class: 'ballot', 'aria-label': poll.question });
  poll.options.forEach((option, i) => {
    form.append(
      el('label', { class: 'check' },
        el('input', { type, name, value: i, checked: mine.includes(i) }),
        el('span', { text: option })),
    );
  });
  form.append(el('button', { type: 'submit', class: 'small primary' }, t(mine.length ? 'poll.change' : 'poll.vote')));
  if (poll.multiple) form.append(el('span', { class: 'hint', text: t('poll.upTo', { n: poll.max_choices }) }));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const choices = [...form.querySelectorAll('input:checked')].map((x) => Number(x.value));
    act(E.POLL_VOTE, { poll: poll.id, choices }, t('poll.thanks'));
  });
  return form;
}

function bar(pct) {
  const fillEl = el('span', { class: 'fill' });
  fillEl.style.width = `${Math.max(0, Math.min(100, pct))}%`; // CSSOM: allowed by the CSP
  return el('span', { class: 'bar', 'aria-hidden': 'true' }, fillEl);
}

export function renderPolls(state, act) {
  const polls = state.pollsList();
  const role = state.self?.role;
  const list = byId('poll-list');
  keyed(list, polls.length
    ? polls.map((p) => {
        const shares = MeetingState.shares(p);
        const canVote = p.state === 'open' && state.may('poll.vote') && p.electorate.includes(role);
        return card(p.id, `card poll ${p.state}`, [
          part('meta', [p.state, p.voters], () => el('p', { class: 'meta' },
            el('span', { class: 'badge status', text: t(`poll.state.${p.state}`) }),
            el('span', { text: t('poll.voters', { n: p.voters }) }))),
          part('text', [p.question], () => el('p', { class: 'text', text: p.question })),
          canVote ? part('ballot', [p.question, p.options, p.multiple, p.max_choices], () => ballotForm(state, p, act)) : null,
          part('results', [p.options, p.counts, p.voters], () => el('ul', { class: 'results', 'aria-label': t('poll.results') },
            p.options.map((o, i) =>
              el('li', {},
                el('span', { class: 'option', text: o }),
                bar(shares[i]),
                el('span', { class: 'share', text: t('poll.share', { n: p.counts[i], pct: shares[i] }) }))))),
          p.state === 'open' && state.may('poll.close')
            ? part('close', [], () => el('button', { type: 'button', class: 'small', onclick: () => act(E.POLL_CLOSE, { poll: p.id }) }, t('poll.close')))
            : null,
        ]);
      })
    : [emptyEntry(t('poll.empty'))]);
  // One's own vote changes only the label of the ballot's button.
  for (const p of polls) {
    const button = list.querySelector(`:scope > [data-key="${Number(p.id)}"] form.ballot button[type=submit]`);
    const label = t(state.myBallot(p.id)?.length ? 'poll.change' : 'poll.vote');
    if (button && button.textContent !== label) button.textContent = label;
  }
}

/**
 * Show the latest caption lines. The box is a polite live region (a log): new lines are
 * appended and corrections change a line in place, so a screen reader reads each line once.
 */
export function renderCaptions(state, keep = 2) {
  const box = byId('captions');
  for (const c of state.captions.slice(-keep)) {
    const line = box.querySelector(`[data-seq="${Number(c.seq)}"]`);
    if (line) {
      if (line.textContent !== c.text) line.textContent = c.text;
    } else box.append(el('span', { class: 'line', dataset: { seq: c.seq } }, c.text));
  }
  while (box.children.length > keep) box.firstElementChild.remove();
  box.hidden = !box.children.length;
}
