/**
 * Join screen: name, room, language and avatar style (remembered on this device), the
 * room list from the server, `?room=&token=` from the address, and translated errors.
 * An invitation link is recognised before joining (`GET /api/invitations/preview`): the
 * page says whom it invites as what, fixes the name it carries and offers no citizen-only
 * choices. The chosen room is described (its meeting, organiser and time, in the city's
 * zone); the meeting on now is chosen first.
 */
import { fetchRooms } from '../net/api.js';
import { loadDevice } from '../net/device.js';
import { i18n, t } from '../i18n.js';
import { normaliseStyle, nameProblem, cleanName } from '../state/avatarStyle.js';
import { KEYS, store } from './dom.js';

const $ = (id) => document.getElementById(id);
export const KNOWN_REASONS = new Set([
  'bad_name', 'room_full', 'no_such_room', 'rate_limited', 'bad_token', 'internal', 'timeout',
  'bad_field', 'bad_payload', 'unknown_field', 'missing_field', 'not_joined', 'no_room', 'no_webgl',
  // meetings
  'forbidden', 'muted', 'banned', 'in_lobby', 'protected_target', 'wrong_state', 'duplicate',
  'no_such_item', 'too_long', 'ng_word', 'code_required', 'bad_code', 'bad_credentials',
  'session_expired', 'bad_csrf',
  // committees
  'no_quorum', 'recused', 'not_member', 'closed_session',
  // join refusals: a name that reads like a member's or staff's; too many places per address
  'name_reserved', 'address_limit',
]);

/** Translated message for a server reason code. */
export function reasonText(reason) {
  return t(KNOWN_REASONS.has(reason) ? `error.${reason}` : 'error.unknown', { reason });
}

/** When a meeting is held, in the city's zone (`time_zone` from the server). */
function when(room) {
  if (!room.starts_at) return '';
  const opts = { dateStyle: 'medium', timeStyle: 'short', timeZone: room.time_zone || undefined };
  try {
    const fmt = new Intl.DateTimeFormat(i18n.lang, opts);
    const start = new Date(room.starts_at * 1000);
    return room.ends_at ? fmt.formatRange(start, new Date(room.ends_at * 1000)) : fmt.format(start);
  } catch {
    return '';
  }
}

/** What the chosen room is: the plaza, or a meeting — its title, organiser and time. */
export function roomDescription(room) {
  if (room.kind === 'plaza' || !room.name) return t('join.plazaInfo');
  const parts = [t('join.meetingTitle', { title: i18n.pick(room.name), kind: t(`kind.${room.kind}`) })];
  if (room.organiser) parts.push(t('join.organiser', { name: i18n.pick(room.organiser) }));
  const time = when(room);
  if (time) parts.push(t('join.when', { time }));
  if (room.on_now) parts.push(t('join.onNow'));
  return parts.join(' · ');
}

export class JoinScreen {
  /** @param {(payload: object) => Promise<void>} onJoin resolves when in the room */
  constructor(onJoin, onLang) {
    this.onJoin = onJoin;
    this.onLang = onLang;
    this.rooms = [];
    this.roomsFailed = false;
    const q = new URLSearchParams(location.search);
    this.wantedRoom = q.get('room');
    this.token = q.get('token');
    this.form = $('join-form');
    /** What the invitation in the address grants ({room, role, name, title}), once told. */
    this.invite = null;
    this.inviteFailed = false;
    this.#restore();
    if (this.token && this.wantedRoom) this.#previewInvitation();
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.#submit();
    });
    $('join-lang').addEventListener('change', (e) => this.onLang(e.target.value));
    $('join-room').addEventListener('change', () => this.#roomChosen());
    $('join-name').addEventListener('input', () => this.showError(''));
  }

  #restore() {
    $('join-name').value = store.get(KEYS.name) || '';
    let style = {};
    try {
      style = JSON.parse(store.get(KEYS.avatar) || '{}');
    } catch {
      /* a damaged entry falls back to the defaults */
    }
    const s = normaliseStyle(style);
    $('join-body').value = s.body;
    $('join-skin').value = s.skin;
    $('join-hair-color').value = s.hair_color;
    $('join-hair').value = s.hair;
    $('join-accessory').value = s.accessory;
  }

  /** Ask the server what the invitation grants, before joining. */
  async #previewInvitation() {
    const q = new URLSearchParams({ room: this.wantedRoom, token: this.token });
    const headers = { Accept: 'application/json' };
    const device = loadDevice(); // the device that redeemed it may see it again
    if (device) headers['X-Hiroba-Device'] = device;
    try {
      const r = await fetch(`/api/invitations/preview?${q}`, { credentials: 'same-origin', headers });
      const body = await r.json().catch(() => null);
      if (r.ok && body?.ok) this.invite = body;
      else this.inviteFailed = true;
    } catch {
      this.inviteFailed = true;
    }
    this.renderInvite();
    this.#roomChosen();
  }

  /** The "you are invited as …" note, the fixed name, and the room the link is for. */
  renderInvite() {
    const box = $('join-invite');
    const name = $('join-name');
    const inv = this.invite;
    box.hidden = !inv && !this.inviteFailed;
    box.classList.toggle('invalid', !inv && this.inviteFailed);
    if (inv) {
      const role = t(`role.${inv.role}`);
      $('join-invite-text').textContent = inv.name ? t('join.invited', { name: inv.name, role }) : t('join.invitedRole', { role });
      $('join-invite-meeting').textContent = t('join.inviteMeeting', { title: i18n.pick(inv.title) });
      if (inv.name) {
        // The invitation fixes the name: shown, not typed (and never silently replaced).
        name.value = inv.name;
        name.readOnly = true;
        name.setAttribute('aria-describedby', 'join-invite-text join-name-hint');
      }
    } else if (this.inviteFailed) {
      $('join-invite-text').textContent = t('join.inviteInvalid');
      $('join-invite-meeting').textContent = '';
    }
  }

  style() {
    return normaliseStyle({
      body: $('join-body').value,
      skin: $('join-skin').value,
      hair: $('join-hair').value,
      hair_color: $('join-hair-color').value,
      accessory: $('join-accessory').value,
    });
  }

  /** Fetch the rooms and fill the select; keeps the current choice. */
  async loadRooms() {
    try {
      this.rooms = await fetchRooms();
      this.roomsFailed = false;
    } catch (e) {
      console.warn('rooms', e);
      this.rooms = [];
      this.roomsFailed = true;
    }
    this.renderRooms();
  }

  /** (Re)draw the room options in the current language. */
  renderRooms() {
    const sel = $('join-room');
    // the room asked for, else the meeting on now, else the first (the plaza)
    const keep = sel.value || this.wantedRoom || this.rooms.find((r) => r.on_now)?.id;
    sel.replaceChildren();
    const rooms = [...this.rooms];
    if (this.wantedRoom && !rooms.some((r) => r.id === this.wantedRoom)) {
      rooms.unshift({ id: this.wantedRoom, kind: null, name: null });
    }
    for (const r of rooms) {
      const o = document.createElement('option');
      o.value = r.id;
      o.textContent = r.name
        ? t('join.roomOption', {
            name: i18n.pick(r.name),
            kind: t(`kind.${r.kind}`),
            count: r.participants ?? 0,
            capacity: r.capacity ?? '?',
          }) + (r.recording ? ` ${t('join.recordingMark')}` : '')
        : r.id;
      sel.append(o);
    }
    if (keep && rooms.some((r) => r.id === keep)) sel.value = keep;
    this.#roomChosen();
    if (this.roomsFailed && !rooms.length) this.showError(reasonText('no_room'));
  }

  /** Meeting rooms offer citizens the public gallery (watch and listen only). */
  #roomChosen() {
    const id = $('join-room').value;
    const room = this.rooms.find((r) => r.id === id);
    const invited = !!this.invite && id === this.invite.room;
    $('join-gallery-field').hidden = invited || !room || room.kind === 'plaza';
    // watch only, with no place taken (the public gallery page, issue 19)
    const watch = $('join-watch');
    watch.hidden = !room || room.kind === 'plaza';
    if (room) watch.href = `/gallery?room=${encodeURIComponent(room.id)}`;
    // Told before entering: the room is being recorded (issue 6).
    $('join-recording').hidden = !room?.recording;
    $('join-meeting').textContent = room ? roomDescription(room) : '';
  }

  setLang(lang) {
    $('join-lang').value = lang;
    this.renderRooms();
    this.renderInvite();
  }

  showError(text) {
    $('join-error').textContent = text;
  }

  setBusy(busy) {
    $('join-submit').disabled = busy;
    this.form.setAttribute('aria-busy', busy ? 'true' : 'false');
  }

  async #submit() {
    const name = this.invite?.name && $('join-room').value === this.invite.room ? this.invite.name : cleanName($('join-name').value);
    const room = $('join-room').value;
    const problem = nameProblem(name) || (room ? null : 'no_room');
    if (problem) {
      this.showError(reasonText(problem));
      (problem === 'bad_name' ? $('join-name') : $('join-room')).focus();
      return;
    }
    const avatar = this.style();
    store.set(KEYS.name, name);
    store.set(KEYS.avatar, JSON.stringify(avatar));
    const payload = { name, room, lang: i18n.lang, avatar };
    if (this.token && room === this.wantedRoom) payload.token = this.token;
    // the device token the server gave this browser (one support per person, bans)
    const device = loadDevice(); // signed (dv.) or an old unsigned one the server upgrades
    if (device) payload.device = device;
    const code = $('join-code').value.trim();
    if (code) payload.code = code;
    if ($('join-gallery').checked && !$('join-gallery-field').hidden) payload.gallery = true;
    this.showError('');
    this.setBusy(true);
    try {
      await this.onJoin(payload);
    } catch (e) {
      this.showError(reasonText(e.reason || 'internal'));
      if (e.reason === 'code_required' || e.reason === 'bad_code') {
        $('join-code-field').hidden = false;
        $('join-code').focus();
      }
      if (e.reason === 'no_such_room' || e.reason === 'room_full') this.loadRooms();
    } finally {
      this.setBusy(false);
    }
  }

  show(visible) {
    $('join-screen').hidden = !visible;
    if (visible) this.loadRooms();
  }
}
