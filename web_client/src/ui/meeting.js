/**
 * The meeting in the plaza page: lobby waiting screen, floor banner with countdown (also
 * over the stage in 3D), hand and queue, agenda, chat, opinions, questions, polls,
 * captions, the chair's controls, and notices (muted, removed, banned...).
 *
 * main.js hooks it in with a few calls: `attach(net)` once the socket exists,
 * `joined(ack)` after every join (false: waiting in the lobby), `entered(scene, room)` and
 * `exited()` around the 3D room. Everything else arrives as `meeting:*` socket events.
 */
import { i18n, t } from '../i18n.js';
import * as E from '../net/events.js';
import { resumable } from '../net/socket.js';
import { MeetingState, formatClock } from '../state/meeting.js';
import { KEYS, store } from './dom.js';
import { byId } from './el.js';
import { ChatAnnouncer } from './announcer.js';
import { reasonText } from './join.js';
import * as V from './meetingViews.js';
import { RecordingBadge } from './recordingBadge.js';
import { Captions } from './captions.js';

const TABS = ['committee', 'floor', 'chat', 'opinions', 'questions', 'polls', 'captions', 'chair'];
/** Stored once the first-time pointer to the meeting panel was dismissed. */
const HINT_KEY = 'hiroba.meetingHint';
/** Seconds the chair's "extend" adds. */
const EXTEND_SECONDS = 60;
/**
 * Where the focus goes when the control that had it is hidden by the change it asked for
 * (raising a hand hides "raise" and shows "lower"): the counterpart, else the status.
 */
const FOCUS_AFTER = {
  'hand-raise': ['hand-lower', 'floor-yield', 'hand-status'],
  'hand-lower': ['hand-raise', 'hand-status'],
  'floor-yield': ['hand-raise', 'hand-status'],
};

/** True if `x` can no longer hold the focus (gone, hidden or disabled). */
function unfocusable(x) {
  return !x.isConnected || !!x.closest('[hidden]') || !!x.disabled;
}

export class MeetingUi {
  /**
   * @param {object} hooks enter(self, snapshot, motion, audio, ice): put the avatar scene up;
   *   back(message): leave to the join screen and say why; announce(text): polite live region;
   *   leave(): leave the room (the held-out screen's button); reopened(notice): a closed
   *   session reopened, redraw the room's people from `notice.snapshot`.
   */
  constructor(hooks) {
    this.hooks = hooks;
    this.state = new MeetingState();
    this.net = null;
    this.tab = 'floor';
    this.mine = new Set(); // ids of opinions this person submitted
    this.lastNotice = null;
    this.lobby = null;
    this.board = null;
    this.timer = null;
    this.recording = new RecordingBadge();
    this.captions = new Captions({ onHistory: () => this.#showCaptionLog() });
    this.revealOpinion = null; // id of an opinion just posted, to scroll into view once drawn
    this.chatLive = new ChatAnnouncer((text) => this.hooks.announce?.(text));
    this.closedSince = null; // held out of a closed session (秘密会) since then, else null
    this.#wire();
    i18n.onChange(() => {
      this.render();
      this.#drawClosed();
    });
  }

  // -- lifecycle -------------------------------------------------------------------------

  attach(net) {
    if (this.net) return;
    this.net = net;
    const on = (name, fn) => net.socket.on(name, fn);
    on(E.MEETING_EVENT, (e) => this.#onEvent(e));
    on(E.MEETING_FLOOR, (f) => this.#onFloor(f));
    on(E.MEETING_AGENDA, (a) => this.#onAgenda(a));
    on(E.MEETING_NOTICE, (n) => this.#onNotice(n));
    on(E.MEETING_ADMITTED, (ack) => this.#onAdmitted(ack));
    on(E.MEETING_RECORDING, (status) => this.#onRecording(status));
  }

  /** After a join acknowledgement: true if the person enters the room now. */
  joined(ack) {
    if (ack.device) store.set(KEYS.device, ack.device);
    // Rejoin after a reconnect with this ack's device and resume token: after an admission
    // from the lobby the token says "in the room", so a reconnect does not wait again.
    if (this.net?.joinPayload) this.net.joinPayload = resumable(this.net.joinPayload, ack);
    this.recording.set(ack.recording);
    if (ack.place === 'lobby') {
      this.#showLobby(ack);
      return false;
    }
    this.#hideLobby();
    if (ack.meeting) this.#load(ack.meeting, ack.place);
    return true;
  }

  /** The 3D room is up: draw the meeting over its stage too. */
  entered(scene, room) {
    this.#disposeBoard();
    if (!room?.stage) return;
    import('../scene/stageBoard.js').then(
      ({ StageBoard }) => {
        if (!this.state.active) return;
        this.board = new StageBoard(scene, room);
        this.#drawBoard();
      },
      (e) => console.warn('stage board', e),
    );
  }

  /** Left the room (or sent away): forget the meeting. */
  exited() {
    this.state.reset();
    this.chatLive.clear();
    this.place = null;
    this.recording.set(null);
    this.#holdOut(null);
    byId('meeting').hidden = true;
    byId('meeting-panel').hidden = true;
    byId('meeting-hint').hidden = true;
    this.captions.clear(); // a caption must not follow the person into another room
    clearInterval(this.timer);
    this.timer = null;
    this.#disposeBoard();
  }

  #load(meeting, place) {
    this.state.load(meeting);
    this.place = place;
    // joined while the committee sits in closed session: held out from the first moment
    this.#holdOut(meeting.closed_session?.since ?? null);
    this.mine = new Set();
    byId('meeting').hidden = false;
    const wide = matchMedia('(min-width: 60rem)').matches;
    this.#setPanel(wide);
    // a committee room opens on its committee tab (roll call, quorum, the vote)
    byId('tab-committee').hidden = !meeting.committee;
    this.#select(meeting.committee ? 'committee' : this.state.may('floor.give') ? 'chair' : 'floor');
    clearInterval(this.timer);
    this.timer = setInterval(() => this.#tick(), 250);
    this.captions.clear();
    this.render();
    this.#offerHint();
  }

  /** First time in a meeting, panel closed: point at the panel until dismissed (main.js
   * says it with the welcome announcement). */
  #offerHint() {
    byId('meeting-hint').hidden = store.get(HINT_KEY) === 'yes' || !byId('meeting-panel').hidden;
  }

  #dismissHint() {
    if (byId('meeting-hint').hidden) return;
    byId('meeting-hint').hidden = true;
    store.set(HINT_KEY, 'yes');
  }

  /** The captions history, one tap from the captions bar. */
  #showCaptionLog() {
    this.#setPanel(true);
    this.#select('captions');
    byId('tab-captions').focus({ preventScroll: true });
    byId('captions-log').lastElementChild?.scrollIntoView({ block: 'nearest' });
  }

  /** The opinion just posted: its card fully in view, once it is drawn. */
  #revealPosted() {
    if (this.revealOpinion == null) return;
    const id = Number(this.revealOpinion);
    const card = byId('opinion-list').querySelector(`:scope > [data-key="${id}"], :scope > [data-id="${id}"]`);
    if (!card || byId('panel-opinions').hidden) return;
    this.revealOpinion = null;
    card.scrollIntoView({ block: 'nearest' });
  }

  #disposeBoard() {
    this.board?.dispose();
    this.board = null;
  }

  // -- actions ---------------------------------------------------------------------------

  /** Send a meeting action; show the reason if refused. Resolves true on success. */
  async act(event, payload = {}, doneText = '') {
    const err = byId('meeting-error');
    err.textContent = '';
    let ack;
    try {
      ack = await this.net.request(event, payload);
    } catch {
      ack = { ok: false, reason: 'timeout' };
    }
    if (!ack || ack.ok !== true) {
      err.textContent = reasonText(ack?.reason || 'internal');
      return false;
    }
    this.#after(event, payload, ack);
    if (doneText) this.hooks.announce?.(doneText);
    return true;
  }

  #after(event, payload, ack) {
    const s = this.state.self;
    if (!s) return;
    if (event === E.OPINION_SUBMIT && ack.opinion) this.mine.add(ack.opinion);
    if (event === E.POLL_VOTE) this.state.setBallot(payload.poll, payload.choices);
    if (event === E.OPINION_SUPPORT) s.supported.add(payload.opinion);
    if (event === E.OPINION_WITHDRAW) s.supported.delete(payload.opinion);
    if (event === E.QUESTION_VOTE) {
      if (payload.withdraw) s.voted.delete(payload.question);
      else s.voted.add(payload.question);
    }
    this.render();
  }

  #wire() {
    const act = (...a) => this.act(...a);
    byId('meeting-toggle').addEventListener('click', () => this.#setPanel(byId('meeting-panel').hidden));
    byId('meeting-hint-ok').addEventListener('click', () => {
      this.#dismissHint();
      byId('meeting-toggle').focus();
    });
    // Escape closes the panel and gives the focus back to the button that opens it.
    byId('meeting-panel').addEventListener('keydown', (e) => {
      if (e.key !== 'Escape' || e.defaultPrevented) return;
      e.preventDefault();
      this.#setPanel(false);
      byId('meeting-toggle').focus();
    });
    for (const b of document.querySelectorAll('#meeting-panel [role="tab"]')) {
      b.addEventListener('click', () => this.#select(b.dataset.tab));
      b.addEventListener('keydown', (e) => this.#tabKey(e));
    }
    byId('hand-raise').addEventListener('click', () => act(E.HAND_RAISE, {}, t('floor.raised')));
    byId('hand-lower').addEventListener('click', () => act(E.HAND_LOWER, {}, t('floor.lowered')));
    byId('floor-yield').addEventListener('click', () => act(E.FLOOR_YIELD));
    byId('plaza-caption-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const input = byId('plaza-caption-text');
      const text = input.value.trim();
      if (text && (await act(E.CAPTION_POST, { text }))) input.value = '';
    });
    byId('chat-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const input = byId('chat-text');
      const text = input.value.trim();
      if (text && (await act(E.CHAT_SEND, { text }))) input.value = '';
    });
    byId('opinion-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const text = byId('opinion-text').value.trim();
      if (!text) return;
      const category = byId('opinion-category').value || undefined;
      byId('opinion-status').textContent = '';
      // the visible role="status" line is the confirmation (said once, not also by hooks.announce)
      if (await act(E.OPINION_SUBMIT, { text, category })) {
        byId('opinion-text').value = '';
        byId('opinion-status').textContent = t('opinion.thanks');
        this.revealOpinion = [...this.mine].at(-1) ?? null;
        this.#revealPosted();
      }
    });
    byId('opinion-text').addEventListener('input', () => {
      byId('opinion-status').textContent = '';
    });
    byId('question-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const text = byId('question-text').value.trim();
      if (text && (await act(E.QUESTION_ASK, { text }, t('question.thanks')))) byId('question-text').value = '';
    });
    const limit = () => Math.max(5, Number(byId('chair-limit').value) || 180);
    byId('chair-give').addEventListener('click', () => act(E.FLOOR_GIVE, { limit: limit() }));
    byId('chair-next').addEventListener('click', () => act(E.FLOOR_NEXT, { limit: limit() }));
    byId('chair-extend').addEventListener('click', () => act(E.FLOOR_EXTEND, { seconds: EXTEND_SECONDS }));
    byId('chair-revoke').addEventListener('click', () => act(E.FLOOR_REVOKE));
    byId('chair-advance').addEventListener('click', () => act(E.AGENDA_ADVANCE));
    byId('chair-close').addEventListener('click', () => act(E.AGENDA_CLOSE));
    byId('lobby-leave').addEventListener('click', async () => {
      this.#hideLobby();
      await this.net?.leave();
      this.hooks.back?.('');
    });
    byId('notice-ok').addEventListener('click', () => this.#closeNotice());
    byId('closed-leave').addEventListener('click', () => this.hooks.leave?.());
  }

  /** Open the panel on `tab` without moving the focus (a roll call or a vote just opened). */
  show(tab) {
    if (!this.state.active || byId(`tab-${tab}`).hidden) return;
    this.#setPanel(true);
    this.#select(tab);
  }

  #setPanel(open) {
    if (open) this.#dismissHint();
    byId('meeting-panel').hidden = !open;
    const toggle = byId('meeting-toggle');
    toggle.setAttribute('aria-expanded', open ? 'true' : 'false');
    toggle.textContent = t(open ? 'meeting.close' : 'meeting.open');
  }

  #select(tab) {
    if (!TABS.includes(tab) || byId(`tab-${tab}`).hidden) tab = 'floor';
    this.tab = tab;
    for (const name of TABS) {
      const b = byId(`tab-${name}`);
      b.setAttribute('aria-selected', name === tab ? 'true' : 'false');
      b.tabIndex = name === tab ? 0 : -1;
      byId(`panel-${name}`).hidden = name !== tab;
    }
  }

  #tabKey(e) {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
    const shown = TABS.filter((n) => !byId(`tab-${n}`).hidden);
    const i = shown.indexOf(this.tab);
    const next = shown[(i + (e.key === 'ArrowRight' ? 1 : shown.length - 1)) % shown.length];
    this.#select(next);
    byId(`tab-${next}`).focus();
    e.preventDefault();
  }

  // -- events from the server ------------------------------------------------------------

  #onFloor(f) {
    if (!this.state.active) return;
    const me = this.state.self?.pid;
    const change = this.state.applyFloor(f);
    if (change.speaker) {
      if (f.holder && f.holder === me) {
        const c = this.state.countdown();
        this.#alert(c?.remaining != null ? t('live.youHaveFloor', { clock: formatClock(c.remaining) }) : t('live.youHaveFloorFree'));
      } else if (f.holder) this.#alert(t('live.floorTo', { name: f.holder_name }));
      else if (change.previous?.holder === me) this.#alert(t('live.floorEnded'));
      else this.#alert(t('live.floorOpen'));
    } else if (change.state && f.state === 'overtime') {
      this.#alert(f.holder === me ? t('live.yourTimeUp') : t('live.timeUp', { name: f.holder_name }));
    }
    this.render();
  }

  #onAgenda(a) {
    if (!this.state.active) return;
    const change = this.state.applyAgenda(a);
    if (change.current) {
      const cur = this.state.currentItem();
      this.hooks.announce?.(cur ? t('live.agendaItem', { n: cur.index + 1, title: cur.item.title }) : t('live.agendaRecess'));
    }
    this.render();
  }

  #onEvent(e) {
    if (!this.state.active) return;
    const { what, item } = this.state.applyEvent(e);
    if (what === 'chat') {
      this.#keepFocus(() => V.renderChat(this.state, (...a) => this.act(...a)));
      if (e.type === 'chat.posted' && item.author !== this.state.self?.pid) {
        this.chatLive.add(item.author_name, item.text, item.author_role);
      }
    } else if (what === 'captions') {
      this.captions.show(this.state);
    } else if (what) this.render();
  }

  #onNotice(n) {
    this.lastNotice = n.kind;
    if (n.kind === 'closed_session') {
      this.#holdOut(n.since ?? Date.now() / 1000);
      return;
    }
    if (n.kind === 'closed_session_ended') {
      // let back in: the meeting as it now is (the same load as a join's), then the avatars
      if (n.meeting && this.state.active) this.#load(n.meeting, this.place);
      this.#holdOut(null);
      this.hooks.reopened?.(n);
      this.hooks.announce?.(t('notice.closed_session_ended.text'));
      return;
    }
    const reason = n.reason ? t('notice.reason', { reason: n.reason }) : '';
    const until = n.until ? t('notice.until', { time: new Date(n.until * 1000).toLocaleString(i18n.lang) }) : '';
    // A closed session (秘密会) says since when: all a held-out page is told of it.
    const since = n.since ? new Date(n.since * 1000).toLocaleTimeString(i18n.lang, { hour: '2-digit', minute: '2-digit' }) : '';
    const text = `${t(`notice.${n.kind}.text`, { time: since })} ${reason} ${until}`.trim();
    if (n.kind === 'muted' || n.kind === 'unmuted') {
      this.state.setMuted(n.kind === 'muted');
      this.render();
    }
    if (n.kind === 'demoted' && typeof n.gallery === 'string' && n.gallery.startsWith('/gallery?')) {
      // staff sent this person back to the public gallery (issue 19): its page, at once
      if (this.net) this.net.joinPayload = null; // no automatic rejoin
      location.assign(n.gallery);
      return;
    }
    if (n.kind === 'removed' || n.kind === 'banned' || n.kind === 'refused') {
      if (this.net) this.net.joinPayload = null; // no automatic rejoin
      this.#hideLobby();
      this.hooks.back?.(text);
    }
    this.#showNotice(t(`notice.${n.kind}.title`), text);
  }

  #onAdmitted(ack) {
    if (!this.lobby) return;
    this.lobby = null;
    this.joined(ack);
    this.hooks.enter(ack.self, ack.snapshot, ack.motion, ack.audio, ack.ice);
    this.hooks.announce?.(t('live.admitted'));
  }

  /** Recording started or stopped in the room (or the lobby's room): show and say it. */
  #onRecording(status) {
    if (!this.state.active && !this.lobby) return;
    if (this.recording.set(status)) {
      this.hooks.announce?.(t(status.recording ? 'live.recordingStarted' : 'live.recordingStopped'));
    }
    if (this.lobby) byId('lobby-recording').hidden = !this.recording.recording;
  }

  // -- lobby and notices -----------------------------------------------------------------

  #showLobby(ack) {
    this.lobby = ack;
    byId('join-screen').hidden = true;
    byId('lobby-screen').hidden = false;
    byId('lobby-room').textContent = i18n.pick(ack.lobby?.room?.name);
    byId('lobby-position').textContent = t('lobby.position', { n: ack.lobby?.position ?? 1 });
    byId('lobby-recording').hidden = !this.recording.recording;
    byId('lobby-title').focus({ preventScroll: true });
  }

  #hideLobby() {
    this.lobby = null;
    byId('lobby-screen').hidden = true;
  }

  /**
   * Held out of a committee's closed session (秘密会) since `since` (epoch seconds), or no
   * longer (null): a lasting screen says so and since when, the 3D view and the room's
   * panels are hidden and inert (style.css: body[data-held-out]); only leaving is offered.
   * The server refuses anything else they send (`closed_session`).
   */
  #holdOut(since) {
    const was = this.closedSince;
    this.closedSince = since ?? null;
    const out = this.closedSince !== null;
    document.body.dataset.heldOut = String(out);
    byId('plaza').inert = out;
    byId('closed-screen').hidden = !out;
    this.#drawClosed();
    if (out && was === null) {
      if (!byId('notice').hidden) this.#closeNotice();
      byId('closed-title').focus({ preventScroll: true });
    } else if (!out && was !== null && byId('closed-screen').contains(document.activeElement)) {
      byId('hud-room').focus({ preventScroll: true });
    }
  }

  #drawClosed() {
    if (this.closedSince === null) return;
    const time = new Date(this.closedSince * 1000).toLocaleTimeString(i18n.lang, { hour: '2-digit', minute: '2-digit' });
    byId('closed-status').textContent = t('closed.status', { time });
  }

  #showNotice(title, text) {
    this.noticeReturn = document.activeElement;
    byId('notice-title').textContent = title;
    byId('notice-text').textContent = text;
    byId('notice').hidden = false;
    byId('notice-ok').focus({ preventScroll: true });
  }

  #closeNotice() {
    byId('notice').hidden = true;
    const back = this.noticeReturn;
    if (back && document.contains(back) && !back.closest('[hidden]')) back.focus({ preventScroll: true });
  }

  #alert(text) {
    byId('floor-live').textContent = text;
  }

  // -- drawing ---------------------------------------------------------------------------

  #tick() {
    if (!this.state.active) return;
    // one clock for the banner and the panel's agenda: they never disagree
    const now = Date.now();
    V.renderBanner(this.state, now, this.hooks.roleOf);
    V.tickAgenda(this.state, now);
    if (!byId('tab-chair').hidden && !byId('panel-chair').hidden) V.renderChair(this.state, (...a) => this.act(...a));
    this.#drawBoard();
  }

  /**
   * The chamber's screen in 3D (scene/stageBoard.js): the open item, and the speaker with
   * the countdown unless the speaker view's caption shows them (`speakerShown`): each is on
   * the screen once (issue 15, defect 6; issue 18).
   */
  #drawBoard() {
    if (!this.board || !this.state.active) return;
    const cur = this.state.currentItem();
    const n = this.state.agenda?.items?.length || 0;
    const agenda = cur ? t('screen.agenda', { n: cur.index + 1, of: n, title: cur.item.title }) : '';
    const c = this.speakerShown ? null : this.state.countdown();
    let speaker = '';
    let clock = '';
    if (c) {
      const role = this.state.floor?.holder_role || this.hooks.roleOf?.(c.holder);
      speaker = role && role !== 'citizen' ? t('role.withName', { name: c.name, role: t(`role.${role}`) }) : c.name;
      clock = c.remaining === null ? '' : formatClock(c.overtime ? c.grace ?? 0 : c.remaining);
    }
    this.board.update({ agenda, speaker, clock, over: !!c?.overtime });
  }

  /** Whether the speaker view's caption carries the speaker and countdown (ui/speakerView.js). */
  setSpeakerShown(on) {
    if (this.speakerShown === on) return;
    this.speakerShown = on;
    this.#drawBoard();
  }

  /**
   * Run `draw`; if it hid or removed the control that had the focus, put the focus
   * somewhere deliberate (FOCUS_AFTER, else the open tab panel) instead of the page's top.
   */
  #keepFocus(draw) {
    const before = document.activeElement;
    draw();
    if (!before || before === document.body || !unfocusable(before)) return;
    if (!byId('meeting-panel').contains(before) && before.isConnected) return;
    const next = (FOCUS_AFTER[before.id] || []).map(byId).find((x) => x && !unfocusable(x));
    const target = next || byId(`panel-${this.tab}`);
    if (!target || unfocusable(target)) return;
    if (!target.matches('button, input, select, textarea, a[href]') && !target.hasAttribute('tabindex')) target.tabIndex = -1;
    target.focus({ preventScroll: true });
  }

  render() {
    if (!this.state.active) {
      if (this.lobby) this.#showLobby(this.lobby);
      return;
    }
    this.#keepFocus(() => this.#draw());
  }

  #draw() {
    const act = (...a) => this.act(...a);
    byId('meeting-toggle').textContent = t(byId('meeting-panel').hidden ? 'meeting.open' : 'meeting.close');
    byId('tab-chair').hidden = !this.state.may('floor.give');
    byId('plaza-caption-form').hidden = !this.state.may('caption.post');
    if (this.tab === 'chair' && byId('tab-chair').hidden) this.#select('floor');
    const now = Date.now();
    V.renderBanner(this.state, now, this.hooks.roleOf);
    V.renderFloor(this.state, act);
    V.tickAgenda(this.state, now);
    V.renderChat(this.state, act);
    V.renderOpinions(this.state, act, this.mine);
    V.renderQuestions(this.state, act);
    V.renderPolls(this.state, act);
    this.captions.show(this.state);
    this.#drawBoard();
    this.#revealPosted();
  }

  /** For tests and debugging (window.hiroba.meeting()). */
  snapshot() {
    const s = this.state;
    const cur = s.currentItem();
    const c = s.countdown();
    return {
      active: s.active,
      lobby: !!this.lobby,
      place: this.place ?? null,
      role: s.self?.role ?? null,
      muted: s.muted,
      notice: this.lastNotice,
      closedSince: this.closedSince, // held out of a closed session since then, else null
      position: s.myPosition(),
      holder: s.floor?.holder ?? null,
      floorState: s.floor?.state ?? null,
      remaining: c?.remaining ?? null,
      agenda: cur ? cur.item.title : null,
      chat: s.chat.map((m) => m.text),
      captions: s.captions.map((x) => x.text),
      opinions: s.opinionsRanked().map((o) => ({ id: o.id, text: o.text, supports: o.supports })),
      polls: s.pollsList().map((p) => ({ id: p.id, counts: p.counts, state: p.state })),
      board: !!this.board,
      screen: this.board ? { ...this.board.texts } : null, // the chamber's screen: {agenda, speaker, clock}
      recording: this.recording.recording,
    };
  }
}
