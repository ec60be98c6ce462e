"""The meetings of this process: one :class:`Meeting` per room, the server-wide
:class:`SanctionBook`, who sits where (:class:`Seat`, one per socket), and what follows
an operation of the core: store, carry out, broadcast.

Every entry point calls the core, then :meth:`MeetingService.commit` with the events it
returned. ``commit`` first applies what must be immediate (an ejected person loses their
seat and avatar at once), then stores the events in one transaction on the store's
thread, then tells the room (``meeting:event``, ``meeting:floor``, ``meeting:agenda``),
its staff (``meeting:staff``) and the people concerned (``meeting:notice``,
``meeting:admitted``). Time-driven changes (floor expiry, auto-mute, agenda overrun,
sanction expiry) come from :meth:`MeetingService.tick`, a few times a second.

A staff seat (a console, or an avatar that joined with staff rights) acts under a login
session. :meth:`MeetingService.recheck_staff` checks every such login against the store
every ``staff_recheck_seconds`` (at most 5 s): an account disabled by the staff CLI (another
process) or a session that ended loses all its seats, its staff socket.io rooms and its
sockets at once. Every socket event of a staff seat passes :meth:`MeetingService.vouch`
first (:meth:`MeetingService.vetted` wraps the registry), which checks the login afresh
(position and pose uploads: when the last check is older than the interval), so a
privileged event is refused ``session_expired`` before it acts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import socketio

from moderation import policy
from moderation.audit import AuditEntry
from moderation.audit import entry as audit_entry
from moderation.avatar_rules import member_principal, staff_principal
from moderation.committee import CameraAsked, CommitteeChanged, member_id
from moderation.credentials import (
    DeviceMinter,
    ResidentCodes,
    device_ref,
    is_device_token,
    person_key,
)
from moderation.events import DomainEvent
from moderation.floor import AutoMuted
from moderation.invitations import InvitationGrant, redeem
from moderation.lobby import Place
from moderation.meeting import Meeting
from moderation.resume import ResumeClaim, issue_resume, verify_resume
from moderation.roster import Joined, Left, MeetingRules, Person, PlaceChanged, Schedule
from moderation.sanctions import (
    SanctionBook,
    SanctionExpired,
    SanctionImposed,
    SanctionKind,
    SanctionLifted,
    SanctionRecord,
)
from moderation.sessions import IDLE_SECONDS
from moderation.wordfilter import DEFAULT_LIST_DIR, DEFAULT_LIST_FILES, WordFilter, parse_word_list
from rooms.appearance import AvatarStyle
from rooms.errors import HirobaError, PermissionDenied, Reason, RoomError
from rooms.model import Role, RoomKind
from rooms.room import PlaceLimits, Room
from server.common.networks import is_loopback, limit_key
from server.common.periodic import Periodic
from server.config.settings import Settings
from server.meetings import views
from server.meetings.broadcast import Broadcaster
from server.meetings.closed import ClosedSessions
from server.meetings.seats import (
    Seat,
    Seats,
    address_key,
    refuse_reserved_name,
    staff_room,
)
from server.meetings.store import MeetingStore, Write, resident_code_used_write, writes_for
from server.sockets import events as ev
from server.sockets.hub import Hub, Session, new_participant_id
from server.sockets.registry import (
    BucketOf,
    Handler,
    Register,
    events_bucket,
    moves_bucket,
    poses_bucket,
)
from server.staff.auth import AccountBackoff, StaffAuth, StaffIdentity
from server.staff.store import StaffStore
from server.storage.store import SQLiteStore

log = logging.getLogger(__name__)

#: Meeting ticks per second: floor expiry and auto-mute land within 1/TICK_HZ seconds.
TICK_HZ = 4.0
#: The longest a staff seat's login goes unchecked (the default and the largest
#: ``staff_recheck_seconds``; docs/security.md promises it).
SESSION_RECHECK_SECONDS = 5.0
#: Uploads too frequent for a store read each: the periodic recheck covers them.
_FREQUENT: tuple[BucketOf, ...] = (moves_bucket, poses_bucket)
#: Causes of leaving after which the server sends the person away.
#: (``demoted``: staff sent them back to the public gallery, issue 19.)
EJECTED = frozenset({"refused", "removed", "banned", "demoted"})
_INSERT_REDEMPTION = (
    "INSERT OR IGNORE INTO redemptions (token_id, room_id, device, at) VALUES (?, ?, ?, ?)"
)


def load_word_filter(paths: Sequence[str]) -> WordFilter:
    """The NG-word filter from the configured lists (default: the bundled ja and en).
    Blocking: call off the event loop."""
    files = [Path(p) for p in paths] or [DEFAULT_LIST_DIR / f for f in DEFAULT_LIST_FILES]
    words: list[str] = []
    for f in files:
        words += parse_word_list(f.read_text(encoding="utf-8"))
    return WordFilter(words)


@dataclass
class Entry:
    """The outcome of a join: who the person is and where they go."""

    seat: Seat
    waiting: bool
    ack: dict[str, object] = field(default_factory=dict)


#: Puts an admitted person's avatar into the room and returns the join ack (SocketApi).
EnterRoom = Callable[[Session, Room, Seat], Awaitable[dict[str, Any]]]
#: ``(room, its meeting or None, what happened)`` after a commit.
EventListener = Callable[[str, Meeting | None, Sequence[DomainEvent]], None]


class MeetingService:
    """Meetings, seats and sanctions of one process."""

    def __init__(
        self, settings: Settings, hub: Hub, sio: socketio.AsyncServer, db: SQLiteStore,
        clock: Callable[[], float] = time.time,
        avatar_of: Callable[[str], str | None] = lambda principal: None,
    ) -> None:
        self.settings = settings
        #: The approved VRM model a principal (``member:<name>``, ``staff:<account>``;
        #: ``moderation.avatar_rules``) wears, or None (server/avatars: the store's lookup).
        self.avatar_of = avatar_of
        self.hub = hub
        self.sio = sio
        self.secret = b""
        self.clock = clock
        self.records = MeetingStore(db)
        self.staff = StaffStore(db)
        self.auth = StaffAuth(
            self.staff, b"", settings.staff_login_attempts_per_minute,
            backoff=AccountBackoff(settings.staff_login_account_failures,
                                   settings.staff_login_account_backoff_max,
                                   settings.staff_login_account_window))
        self.meetings: dict[str, Meeting] = {}
        #: Gallery-plane counts being stored (kept referenced until done).
        self._gallery_writes: set[asyncio.Task[None]] = set()
        self.sanctions = SanctionBook()
        self.seats = Seats(hub)
        self.out = Broadcaster(sio, lambda: self.meetings)
        #: Who is held out of a closed session (秘密会), server/meetings/closed.py.
        self.closed = ClosedSessions(sio, self.seats)
        #: token id → device reference of every redeemed (or revoked) invitation.
        self.redeemed: dict[str, str] = {}
        self.enter_room: EnterRoom | None = None
        #: Called as ``listener(room)`` after every commit ("" when it concerned every
        #: room), e.g. so that the audio plane follows the floor and mutes.
        self.change_listeners: list[Callable[[str], None]] = []
        #: Called as ``listener(room, meeting, events)`` after every commit, before the
        #: change listeners, with what happened (the recorder's event log).
        self.event_listeners: list[EventListener] = []
        #: ``(sid, token)`` when a socket gets a resume token outside a join ack (an
        #: admission from the lobby): a cluster keeps it where the socket is.
        self.resume_listeners: list[Callable[[str, str], None]] = []
        self._ticker = Periodic("meeting-tick", TICK_HZ, self.tick)
        #: The periodic recheck of every staff seat's login (:meth:`recheck_staff`).
        self.rechecker = Periodic("staff-recheck", 1.0 / settings.staff_recheck_seconds,
                                   self.recheck_staff)
        self._purged_at = 0.0
        #: Signed device identities: issued here, at most so many per address and window.
        self.devices = DeviceMinter(settings.device_mints_per_window,
                                    settings.device_mint_window,
                                    settings.device_surge_per_minute)
        #: socket id → the device identity it first joined with. A socket keeps it for its
        #: life: re-joining with other tokens changes no ballot, rate limit or sanction.
        self.socket_devices: dict[str, str] = {}
        #: Whether a participant's identity camera is live now (sending video): the
        #: identity plane installs its query here; without one, no camera is ever live.
        self.camera_live: Callable[[str], bool] = lambda pid: False
        #: room → its per-resident single-use codes (rooms without any require none).
        self.resident_codes: dict[str, ResidentCodes] = {}

    # -- start and stop ---------------------------------------------------------------

    async def load(self, secret: bytes, recover: bool = True) -> None:
        """Build every room's meeting from the store (call once the hub has its rooms);
        ``secret`` signs invitations and CSRF tokens. ``recover``: close the attendance
        and floor of a previous run (False on a cluster node that is not the leader: the
        leader's people are live)."""
        self.secret = self.auth.secret = secret
        now = self.clock()
        loop = asyncio.get_running_loop()
        words = await loop.run_in_executor(None, load_word_filter, self.settings.ng_word_files)
        self.sanctions = SanctionBook.from_records(await self.records.sanctions(), now)
        self.redeemed = await self.staff.redemptions()
        self.resident_codes = {room: ResidentCodes(room, used) for room, used
                               in (await self.records.resident_codes()).items()}
        codes = await self.staff.registration_codes()
        if recover:
            await self.records.close_attendance(now)
        schedules = await self.records.schedules()
        for room in self.hub.rooms.values():
            categories, lobby = await self.records.rules(room.id)
            labels = self.records.labels_of(await self.records.category_entries(room.id))
            rules = MeetingRules(
                floor_limit=self.settings.floor_limit_seconds,
                grace=self.settings.floor_grace_seconds, lobby=lobby,
                registration_code=codes.get(room.id), categories=categories,
                category_labels=labels, schedule=schedules.get(room.id, Schedule()),
                quorum=await self.records.committee_rule(room.id),
                absence_grace=self.settings.committee_absence_grace_seconds,
            )
            auto_captions, caption_lang = await self.records.caption_settings(room.id)
            rules = replace(rules, auto_captions=auto_captions, caption_lang=caption_lang)
            meeting = Meeting(room.id, room.kind, self.sanctions, words, rules,
                              await self.records.load(room.id), now=now)
            if room.kind is RoomKind.COMMITTEE:
                roster, revoked = await self.committee_roster(room.id, now)
                meeting.committee.set_roster(roster, now, removed=revoked)
            # Presence is not kept across a restart: whoever held the floor, waited for
            # it or waited in the lobby reconnects under a new participant id.
            stale: list[DomainEvent] = []
            for pid in [*meeting.floor.queue, meeting.floor.holder]:
                if pid is not None:
                    stale += meeting.floor.leave(pid, now)
            for waiter in meeting.lobby.waiting():
                stale += meeting.lobby.leave(waiter.pid, now)
            if recover:
                await self.records.apply(writes_for(meeting, stale))
            self.meetings[room.id] = meeting
        self.hub.meetings = self.meetings

    async def committee_roster(
        self, room: str, now: float
    ) -> tuple[list[tuple[str, str, str]], set[str]]:
        """The committee's seats (委員名簿): every unrevoked, unexpired member or chair
        invitation for ``room`` with a fixed name, one seat per name (a re-issued
        invitation for the same person is the same member); and the members all of whose
        invitations were revoked."""
        seats: dict[str, tuple[str, str, str]] = {}
        revoked: set[str] = set()
        for status in reversed(await self.staff.invitations(room)):
            inv = status.invitation
            if not inv.name or inv.role not in (Role.MEMBER, Role.CHAIR):
                continue
            if status.revoked:
                revoked.add(member_id(inv.name))
                continue
            if status.redeemed_at is None and inv.expires_at < now:
                continue
            seats[member_id(inv.name)] = (member_id(inv.name), inv.name, inv.role)
        return list(seats.values()), revoked - set(seats)

    async def committee_roster_changed(self, room: str) -> None:
        """An invitation to ``room`` was issued or revoked: its committee's seats follow."""
        meeting = self.meetings.get(room)
        if meeting is None or meeting.kind is not RoomKind.COMMITTEE:
            return
        now = self.clock()
        roster, revoked = await self.committee_roster(room, now)
        await self.commit(room, meeting.committee.set_roster(roster, now, removed=revoked))

    def bind(self, enter_room: EnterRoom) -> None:
        """Tell the service how to put an admitted person's avatar into a room."""
        self.enter_room = enter_room

    def start(self) -> None:
        self._ticker.start()
        self.rechecker.start()

    async def stop(self) -> None:
        await self._ticker.stop()
        await self.rechecker.stop()

    async def tick(self) -> None:
        """Time-driven changes of every meeting, and expired sanctions."""
        now = self.clock()
        for room, meeting in self.meetings.items():
            happened = meeting.tick(now)
            if happened:
                await self.commit(room, happened)
        for expired in self.sanctions.expire(now):
            await self.commit(expired.room, [expired])
        if len(self.socket_devices) > len(self.hub.sessions):
            self.socket_devices = {sid: d for sid, d in self.socket_devices.items()
                                   if sid in self.hub.sessions}
        if now - self._purged_at > 600:
            self._purged_at = now
            await self.staff.purge_sessions(now, IDLE_SECONDS)

    # -- who is where -----------------------------------------------------------------

    def meeting(self, room: str) -> Meeting:
        found = self.meetings.get(room)
        if found is None:
            raise RoomError(Reason.NO_SUCH_ROOM, f"no room {room!r}")
        return found

    def member_on_camera(self, meeting: Meeting, pid: str) -> bool:
        """Whether the committee member ``pid`` joined as has an identity camera live now,
        from any of their own sessions (a member may vote from a phone while the laptop
        shows their face). A participant who is no member: only their own camera."""
        person = meeting.people.get(pid)
        member = person.member if person is not None else None
        pids = meeting.committee.pids.get(member, set()) if member is not None else set()
        return any(self.camera_live(p) for p in {pid, *pids})

    def person(self, seat: Seat) -> Person:
        return self.meeting(seat.room).person(seat.pid)

    async def acting(self, session: Session) -> tuple[Seat, Meeting]:
        """The seat a socket acts from; a console's login must still be valid."""
        await self.vouch(session, fresh=False)
        seat = self.seats.get(session.sid)
        if seat is None:
            raise RoomError(Reason.NOT_JOINED, "join a room first")
        return seat, self.meeting(seat.room)

    # -- staff logins of open sockets -------------------------------------------------

    async def _login_holds(self, key: str, now: float) -> bool:
        """Whether the login session ``key`` is still valid (its account enabled); marks
        its seats checked. A store failure is raised (the event is refused ``internal``;
        the periodic recheck logs it and tries again)."""
        try:
            await self.auth.identify_key(key, now)
        except HirobaError:
            return False
        for seat in self.seats:
            if seat.session_key == key:
                seat.checked_at = now
        return True

    async def vouch(self, session: Session, *, fresh: bool = True) -> None:
        """Refuse (``session_expired``) an event from a staff seat whose login has ended or
        whose account was disabled, before it acts; the login's other sockets are sent
        away and this one loses its seat (its ack tells the page to log in again).
        ``fresh``: check the store now; else only if the last check is older than
        ``staff_recheck_seconds``. Seats without a staff login pass at once."""
        seat = self.seats.get(session.sid)
        if seat is None or seat.session_key is None:
            return
        now = self.clock()
        if not fresh and now - seat.checked_at < self.settings.staff_recheck_seconds:
            return
        if await self._login_holds(seat.session_key, now):
            return
        log.info("staff %s: login ended or account disabled; its sockets lose their seats",
                 seat.account)
        await self.end_staff_session(seat.session_key, keep=session.sid)
        raise PermissionDenied(Reason.SESSION_EXPIRED, "your staff login has ended; log in "
                               "again")

    def vetted(self, register: Register) -> Register:
        """``register`` with :meth:`vouch` before every handler: the one check every socket
        event of a staff seat passes (meetings, recording, audio, tracking, motion)."""

        def register_vetted(event: str, handler: Handler,
                            bucket_of: BucketOf = events_bucket) -> None:
            fresh = bucket_of not in _FREQUENT

            async def vetted_handler(session: Session, payload: object) -> dict[str, Any]:
                await self.vouch(session, fresh=fresh)
                return await handler(session, payload)

            register(event, vetted_handler, bucket_of)

        return register_vetted

    async def recheck_staff(self) -> None:
        """The periodic task (every ``staff_recheck_seconds``): every staff seat's login,
        in every room, checked against the store; the seats of a failed one leave their
        meetings and staff rooms and are disconnected."""
        now = self.clock()
        for key in {s.session_key for s in self.seats if s.session_key is not None}:
            if not await self._login_holds(key, now):
                ended = await self.end_staff_session(key)
                log.info("staff login ended or account disabled: %d sockets sent away", ended)

    def _cookie(self, sid: str) -> str | None:
        environ = self.sio.get_environ(sid) or {}
        cookie = environ.get("HTTP_COOKIE")
        return cookie if isinstance(cookie, str) else None

    async def identify_socket(self, sid: str) -> StaffIdentity:
        """The staff login behind a socket (its handshake's cookie), or session_expired."""
        return await self.auth.identify(self._cookie(sid), self.clock())

    # -- joining and leaving ----------------------------------------------------------

    async def join(
        self, session: Session, room: Room, *, name: str, lang: str, style: AvatarStyle,
        device: str | None, token: str | None, code: str | None, gallery: bool, staff: bool,
        resume: str | None = None,
    ) -> Entry:
        """Identify the person, enter the room's meeting, leave any previous seat.

        Raises ``banned``, ``bad_token``, ``code_required``, ``bad_code``, ``room_full``,
        ``address_limit``, ``name_reserved``, ``session_expired``. The returned entry says
        whether they wait in the lobby; if not, the caller puts the avatar into the room
        (:meth:`welcome` completes the ack).
        """
        meeting = self.meeting(room.id)
        if device is not None and not is_device_token(device):
            raise HirobaError(Reason.BAD_FIELD, "device is not a device token")
        presented = device
        role, account, session_key = policy.ANONYMOUS_ROLE, None, None
        if staff:
            identity = await self.identify_socket(session.sid)
            role, name = Role.STAFF, identity.display_name
            account, session_key = identity.name, identity.session.key
        now = self.clock()
        # (staff, logged in, are never refused a new identity for their address's sake)
        device = await self.device_identity(session, room.id, presented, now, limited=not staff)
        grant = None
        if token is not None:
            try:
                grant = redeem(self.secret, token, room.id, self.redeemed,
                               device_ref(device) or "", now)
            except HirobaError as refused:
                if room.kind is RoomKind.COMMITTEE:
                    # A forged, replayed or revoked invitation to a committee: kept.
                    await self.commit(room.id, [audit_entry(
                        room.id, now, actor=device_ref(device) or session.sid,
                        actor_name=name if isinstance(name, str) else "",
                        actor_role=policy.ANONYMOUS_ROLE, action=policy.Action.ROOM_JOIN,
                        reason=refused.reason.value,
                        details={"refused": refused.reason.value, "invitation": True})])
                raise
            role, name = grant.role, grant.name or name
        # (a resume token names the identity it was issued with: the one presented)
        claim = self.resumed(resume, room.id, presented) if resume else None
        residents = self.resident_codes.get(room.id)
        if residents is not None and residents.used_by and role is Role.CITIZEN:
            # One code, one ballot identity: the first identity to use a code owns it.
            ref = device_ref(device) or ""
            used = residents.admit(code, ref)
            if used is not None:
                await self.records.apply([resident_code_used_write(used, ref, now)])
                code = None
        # A resume token from someone who was in the room keeps them out of the lobby.
        admitted_at = (claim.issued_at if claim is not None and claim.place == Place.ROOM.value
                       else None)
        place = meeting.place_for(role, gallery=gallery, admitted_at=admitted_at,
                                  device=device, account=account)
        # Invited people and staff have places kept for them and names no one may imitate;
        # the gallery has a quota of its own, and one address only a few of its places.
        invited = grant is not None or staff
        if not invited:
            refuse_reserved_name(name, meeting.people.values())
        address = address_key(session.address, self.settings.ipv6_limit_prefix)
        self.seats.check_entry(
            room, PlaceLimits(self.settings.reserved_places, self.settings.gallery_share,
                              self.settings.gallery_per_address),
            sid=session.sid, place=place, invited=invited, address=address,
            replacing=session.pid if session.room == room.id else None)
        pid = claim.pid if claim is not None else new_participant_id()
        if pid in meeting.people:
            # Still seated from a socket that went away (its node stopped): that seat ends.
            stale = self.seats.of(pid)
            if stale is not None:
                await self.leave(stale.sid)
        # A committee member is who their invitation names (never what a payload says).
        member = (member_id(grant.name) if grant is not None and grant.name
                  and grant.role in (Role.MEMBER, Role.CHAIR)
                  and room.kind is RoomKind.COMMITTEE else None)
        happened = meeting.join(pid, name, role, now, device=device, account=account,
                                gallery=gallery, code=code, admitted_at=admitted_at,
                                member=member)
        # Nothing below may fail: the person is in.
        extra: list[Write] = []
        if grant is not None and grant.redemption is not None:
            r = grant.redemption
            self.redeemed[r.token_id] = r.device
            extra.append((_INSERT_REDEMPTION, (r.token_id, r.room, r.device, r.at)))
        joined = happened[0]
        assert isinstance(joined, Joined)
        seat = Seat(session.sid, room.id, pid, name, role, Place(joined.person.place), device,
                    account, style=style, lang=lang, session_key=session_key, checked_at=now,
                    address=address, vrm=self._worn(grant, account))
        await self._take(seat, now)
        await self.commit(room.id, happened, extra_writes=extra)
        if seat.place is not Place.LOBBY:
            return Entry(seat, waiting=False)
        log.info("%s waits in the lobby of %s", name, room.id)
        return Entry(seat, waiting=True, ack={
            "ok": True, "self": pid, "place": Place.LOBBY.value, "device": device,
            "resume": issue_resume(self.secret, room.id, pid, device, now, Place.LOBBY.value),
            "recording": self.hub.recording_status(room.id),
            "lobby": {"position": meeting.lobby.position(pid),
                      "room": {"id": room.id, "kind": room.kind.value,
                               "name": {"ja": room.info.name_ja, "en": room.info.name_en}}},
        })

    def _worn(self, grant: InvitationGrant | None, account: str | None) -> str | None:
        """The approved VRM model of whoever joins: a staff account's own, or that of the
        member or chair their invitation names (the name it fixes, never one a payload
        says); citizens and everyone else wear none."""
        if account is not None:
            return self.avatar_of(staff_principal(account))
        if grant is not None and grant.name and grant.role in (Role.MEMBER, Role.CHAIR):
            return self.avatar_of(member_principal(grant.name))
        return None

    async def device_identity(
        self, session: Session, room: str, presented: str | None, now: float, *, limited: bool,
    ) -> str:
        """The device identity a join counts as: the one this socket joined with before,
        else ``presented`` if this server signed it, else a new one (``bad_device`` for a
        forged one; ``rate_limited`` when the socket's address has had its allowance)."""
        kept = self.socket_devices.get(session.sid)
        if kept is not None:
            return kept
        address = session.address
        key = (None if not limited or address is None or is_loopback(address)
               else limit_key(address, self.settings.ipv6_limit_prefix))
        try:
            device, minted = self.devices.identify(self.secret, presented, key, room, now)
        except HirobaError as refused:
            log.info("join refused a device identity (%s) in %s", refused.reason.value, room)
            raise
        self.socket_devices[session.sid] = device
        surge = self.devices.surging(room, now) if minted else 0
        if surge:
            log.warning("%d new device identities in %s within a minute: many new browsers "
                        "(or one rotating identities); see docs/security.md", surge, room)
            await self.sio.emit(ev.MEETING_STAFF, {"room": room, "events": [
                {"type": "devices.surge", "minted": surge, "at": now}]}, room=staff_room(room))
        return device

    def resumed(self, resume: str, room: str, device: str | None) -> ResumeClaim:
        """What a join's resume token keeps: the participant id, and whether they were in
        the room (``bad_token`` if it cannot be used)."""
        return verify_resume(self.secret, resume, room, device, self.clock())

    async def _take(self, seat: Seat, now: float) -> None:
        """Seat someone, leaving the socket's previous seat (a socket has one room)."""
        previous = self.seats.remove(seat.sid)
        self.seats.add(seat)
        if previous is not None:
            await self.out.leave(seat.sid, previous.room)
            await self.commit(previous.room, self.meeting(previous.room).leave(previous.pid, now))

    async def welcome(self, sid: str) -> dict[str, object]:
        """The meeting part of a join ack (after the avatar entered): the meeting's state
        for this person, their device token, and the socket joins the staff room."""
        seat = self.seats.get(sid)
        if seat is None:
            return {}
        meeting = self.meeting(seat.room)
        person = meeting.people.get(seat.pid)
        if person is None:
            return {}
        # Staff-only broadcasts (reports, audit) go to those the policy lets see them.
        if policy.decide(seat.role, policy.Action.REPORTS_VIEW).allowed:
            await self.out.enter(sid, seat.room, staff=True)
        resume = issue_resume(self.secret, seat.room, seat.pid, seat.device or "", self.clock(),
                              seat.place.value)
        state = views.public_state(meeting, person, self.clock())
        # Joining a closed session (秘密会) from outside: held out from the first moment.
        before = self.closed.withheld.get(seat.room, frozenset())
        await self.closed.sync(seat.room, meeting, self._reopened_state(seat.room))
        if seat.pid in self.closed.withheld.get(seat.room, ()):
            state = self.closed.welcome_state(meeting, state)
            if seat.pid in before:  # counted held out already (it waited in the lobby)
                await self.closed.hold_out(seat.room, seat.pid,
                                           meeting.committee.in_closed_session())
        return {"place": seat.place.value, "device": seat.device, "resume": resume,
                "meeting": state}

    def _reopened_state(self, room: str) -> Callable[[str], dict[str, object]]:
        """What someone let back in when a closed session reopens is sent to redraw from:
        the meeting's state and the room's avatars (they saw no delta while held out)."""
        def state(pid: str) -> dict[str, object]:
            meeting = self.meetings.get(room)
            person = None if meeting is None else meeting.people.get(pid)
            if meeting is None or person is None:
                return {}
            out: dict[str, object] = {
                "meeting": views.public_state(meeting, person, self.clock())}
            if room in self.hub.rooms:
                out["snapshot"] = self.hub.snapshot(self.hub.room(room)).to_wire()
            return out
        return state

    async def console_join(self, session: Session, room_id: str) -> dict[str, object]:
        """A staff console enters a room's meeting (no avatar)."""
        meeting = self.meeting(room_id)
        identity = await self.identify_socket(session.sid)
        now = self.clock()
        pid = new_participant_id()
        happened = meeting.join(pid, identity.display_name, Role.STAFF, now,
                                account=identity.name, console=True)
        seat = Seat(session.sid, room_id, pid, identity.display_name, Role.STAFF, Place.ROOM,
                    None, identity.name, console=True, session_key=identity.session.key,
                    checked_at=now)
        await self._take(seat, now)
        await self.commit(room_id, happened)
        await self.out.enter(session.sid, room_id, staff=True)
        return {"ok": True, "self": pid,
                "account": {"name": identity.name, "display_name": identity.display_name},
                "meeting": views.public_state(meeting, meeting.person(pid), now),
                "recording": self.hub.recording_status(room_id),
                "staff": await self.staff_view(meeting)}

    async def staff_view(self, meeting: Meeting) -> dict[str, object]:
        room = self.hub.rooms.get(meeting.room)
        participants = [] if room is None else [p.to_wire() for p in room.participants.values()]
        return views.staff_state(
            meeting, self.clock(), audit_tail=await self.records.audit(meeting.room, limit=50),
            extra={"registration_code": meeting.rules.registration_code,
                   "new_devices": {
                       "this_minute": self.devices.per_room.current(meeting.room, self.clock()),
                       "total": self.devices.per_room.totals.get(meeting.room, 0),
                       "surge_per_minute": self.devices.surge_per_minute},
                   "participants": participants},
        )

    async def leave(self, sid: str) -> None:
        """The socket left its room (leave, disconnect): out of the meeting too."""
        seat = self.seats.remove(sid)
        if seat is None:
            return
        await self.out.leave(sid, seat.room)
        await self.commit(seat.room, self.meeting(seat.room).leave(seat.pid, self.clock()))
        await self.closed.sync(seat.room, self.meetings.get(seat.room))

    def gallery_presence(self, room: str, viewer: str, arrived: bool) -> None:
        """A viewer of the gallery plane (issue 19: no seat, no avatar) came or went:
        counted in a committee's gallery like a seated visitor (its peak and total, the
        minutes' 傍聴者数). A viewer is one connection: its key is that connection's."""
        meeting = self.meetings.get(room)
        if meeting is None or meeting.kind is not RoomKind.COMMITTEE:
            return
        pid, now = f"gallery:{viewer}", self.clock()
        if arrived:
            happened = meeting.committee.arrive(
                None, pid, now, gallery_key=person_key(account=None, device=None,
                                                       participant=pid))
        else:
            happened = meeting.committee.depart(pid, now)
        if happened:
            task = asyncio.get_running_loop().create_task(self.commit(room, happened))
            self._gallery_writes.add(task)
            task.add_done_callback(self._gallery_writes.discard)

    async def end_staff_session(self, key: str, *, keep: str | None = None) -> int:
        """A staff login ended (logout here, or found by :meth:`recheck_staff` or
        :meth:`vouch`): its sockets leave their meetings and staff rooms and are
        disconnected now. Their pages reconnect and are told ``session_expired``. The
        socket ``keep`` (whose event found it) only loses its seat, so that its ack
        arrives. Returns how many sockets lost a seat."""
        ended = [seat for seat in self.seats if seat.session_key == key]
        for seat in ended:
            await self.leave(seat.sid)
            if seat.sid != keep:
                await self.out.disconnect(seat.sid)
        return len(ended)

    # -- after an operation -----------------------------------------------------------

    async def commit(
        self, room: str, happened: Sequence[DomainEvent], *, voter: str | None = None,
        extra_writes: Sequence[Write] = (),
    ) -> None:
        """Carry out, store and broadcast what an operation of ``room``'s meeting did."""
        if not happened and not extra_writes:
            return
        meeting = self.meetings.get(room)
        ejected = self._detach(happened)
        try:
            await self.records.apply([*extra_writes, *writes_for(meeting, happened, voter=voter)])
        except Exception:
            log.exception("could not store the events of %s", room or "the server")
        await self.out.events(room, meeting, happened, self.clock())
        await self._carry_out(room, happened, ejected)
        for on_events in self.event_listeners:
            on_events(room, meeting, happened)
        for listener in self.change_listeners:
            listener(room)

    def _detach(self, happened: Sequence[DomainEvent]) -> list[tuple[Seat, str]]:
        """People refused, removed or banned lose their seat and avatar at once."""
        out = []
        for e in happened:
            seat = self.seats.of(e.pid) if isinstance(e, Left) and e.cause in EJECTED else None
            if seat is not None:
                self.seats.remove(seat.sid)
                out.append((seat, e.cause))  # type: ignore[attr-defined]
        return out

    async def _carry_out(
        self, room: str, happened: Sequence[DomainEvent], ejected: list[tuple[Seat, str]]
    ) -> None:
        imposed = next((e.sanction for e in happened if isinstance(e, SanctionImposed)), None)
        for seat, cause in ejected:
            await self.out.leave(seat.sid, seat.room)
            reason = imposed.reason if imposed is not None else next(
                (e.reason for e in happened if isinstance(e, AuditEntry)), "")
            # A demoted page goes to the gallery page of the room (its own link).
            gallery = {"gallery": f"/gallery?room={seat.room}"} if cause == "demoted" else {}
            await self.out.notify(seat.sid, cause, room=seat.room, reason=reason,
                                  until=None if imposed is None else imposed.expires_at,
                                  **gallery)
            if cause != "refused":
                await self.out.disconnect(seat.sid)
        for e in happened:
            if isinstance(e, PlaceChanged) and e.place == Place.ROOM.value:
                await self._admit(e.pid)
            elif isinstance(e, CommitteeChanged) and e.change == "closed_session":
                # 秘密会: hold the public out (or let it back in) before anything else of
                # the room is sent; the recorder pauses on the same event.
                await self.closed.sync(room, self.meetings.get(room), self._reopened_state(room))
            elif isinstance(e, CameraAsked):
                # The ask reaches the member's own sessions only (their page lights the
                # camera button and says who asked).
                committee = self.meetings[room].committee if room in self.meetings else None
                for pid in sorted(committee.pids.get(e.member, ())) if committee else []:
                    own = self.seats.of(pid)
                    if own is not None:
                        with contextlib.suppress(Exception):  # the socket may be gone
                            await self.sio.emit(ev.IDENTITY_ASKED, {
                                "room": room, "member": e.member, "by": e.by_name,
                                "at": e.at}, to=own.sid)
            elif isinstance(e, AutoMuted) and (speaker := self.seats.of(e.pid)) is not None:
                await self.out.notify(speaker.sid, "auto_muted", room=room)
            elif isinstance(e, SanctionImposed) and e.sanction.kind == SanctionKind.MUTE:
                for seat in self.seats.reached(e.sanction):
                    await self.out.notify(seat.sid, "muted", room=seat.room,
                                          reason=e.sanction.reason, until=e.sanction.expires_at)
            elif isinstance(e, SanctionImposed) and e.sanction.kind == SanctionKind.BAN:
                await self._ban_elsewhere(e.sanction)
            elif (isinstance(e, SanctionLifted | SanctionExpired)
                  and e.sanction.kind == SanctionKind.MUTE):
                for seat in self.seats.reached(e.sanction):
                    await self.out.notify(seat.sid, "unmuted", room=seat.room)

    async def _ban_elsewhere(self, record: SanctionRecord) -> None:
        """A ban reaches every room: whoever it reaches elsewhere is sent away too."""
        now = self.clock()
        for seat in self.seats.reached(record):
            self.seats.remove(seat.sid)
            await self.out.leave(seat.sid, seat.room)
            await self.commit(seat.room, self.meeting(seat.room).leave(seat.pid, now))
            await self.out.notify(seat.sid, "banned", room=seat.room, reason=record.reason,
                                  until=record.expires_at)
            await self.out.disconnect(seat.sid)

    async def _admit(self, pid: str) -> None:
        """Someone was admitted from the lobby: their avatar enters the room."""
        seat = self.seats.of(pid)
        session = None if seat is None else self.hub.sessions.get(seat.sid)
        if seat is None or session is None or self.enter_room is None:
            return
        seat.place = Place.ROOM
        try:
            ack = await self.enter_room(session, self.hub.room(seat.room), seat)
        except RoomError as exc:
            await self.out.notify(seat.sid, "refused", room=seat.room, reason=exc.message)
            await self.leave(seat.sid)
            return
        await self.out.admitted(seat.sid, ack)
        token = ack.get("resume")
        if isinstance(token, str):
            for listener in self.resume_listeners:
                listener(seat.sid, token)

    def counts(self) -> MeetingCounts:
        """The meetings' per-person state now, for ``/api/debug/leaks``."""
        meetings = self.meetings.values()
        return MeetingCounts(
            seats=len(self.seats),
            people=sum(len(m.people) for m in meetings),
            lobby=sum(len(m.lobby.waiting()) for m in meetings),
            floor_queue=sum(len(m.floor.queue) for m in meetings),
        )


@dataclass(frozen=True, slots=True)
class MeetingCounts:
    """The meetings' sizes at one moment (:meth:`MeetingService.counts`), every room added
    up."""

    #: Sockets seated in a meeting (participants, consoles and staff avatars).
    seats: int
    #: People on the meetings' rosters.
    people: int
    #: People waiting in a lobby to be let in.
    lobby: int
    #: People queued for the floor.
    floor_queue: int
