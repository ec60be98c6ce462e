"""Recording meetings in the running server: start and stop, feeds, recovery, retention.

Owns the :class:`RecordingIndex` and at most one active :class:`Recorder` per room
(docs/recording.md). Staff start and stop it from the console (``recording:start`` /
``recording:stop``, the policy's ``recording.*`` rows); everyone in the room is told
(``meeting:recording``), and joiners are told before they enter (room list, lobby and
join acks: :meth:`Hub.recording_status`).

The feeds are hooks on what the server does anyway, never a second decode:

- audio: :attr:`AudioPlane.on_packet` hands over every forwarded Opus packet; those of
  people heard by the whole room (``Hub.speakers``, re-read on every meeting change) go
  to the recorder as they are;
- motion: :attr:`MotionPlane.tick_listeners` reads each room's latest state once per
  tick: a stage member's pose record when it changed, everyone's position at 2 Hz;
- events: :attr:`MeetingService.event_listeners` sees every committed domain event
  (:mod:`server.recording.events` picks and words them).

The service also owns the process's rendered minutes (:class:`MinutesCache`, handed to
the HTTP API), and forgets those of the recordings the retention sweep deletes.

Camera frames are never recorded. ``feed_*`` only queue; all file work is on each
recorder's own thread, and :meth:`Recorder.stop` runs in an executor.

A closed session (秘密会) pauses the public recording (:mod:`server.recording.closed`);
with ``closed_session_staff_record`` on, the feeds go meanwhile to a staff-only record of
the closed part (:mod:`server.recording.staff_record`), stopped when the session reopens
or the recording stops. With it off, nothing of the closed part is written.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import socketio

from moderation.committee import CommitteeChanged
from moderation.committee_ops import INSIDE
from moderation.events import DomainEvent
from moderation.meeting import Meeting
from moderation.policy import Action
from rooms.errors import ProcedureError, Reason, RoomError
from rooms.model import Participant, RoomKind
from rooms.room import Room
from server.common.periodic import Periodic
from server.config.settings import Settings
from server.meetings.closed import closed_period
from server.meetings.messages import RecordingRoom
from server.meetings.service import MeetingService
from server.motion.plane import MotionPlane
from server.recording.closed import closed_marker, redact_record
from server.recording.event_log import EventKind
from server.recording.events import (
    Names,
    attendance,
    event_line,
    procedure_at_start,
    procedure_at_stop,
)
from server.recording.ids import new_recording_id
from server.recording.index import RecordingIndex
from server.recording.minutes_cache import MinutesCache
from server.recording.recorder import Manifest, Recorder, RecordingState
from server.recording.staff_record import new_staff_dir
from server.recording.staff_record import recover_open as recover_staff_records
from server.recording.staff_record import sweep as sweep_staff_records
from server.recording.transcripts import TranscriptJobs
from server.sockets import events as ev
from server.sockets.hub import Hub, Session
from server.sockets.registry import Register
from server.storage.store import SQLiteStore
from server.transcription.store import TranscriptStore

log = logging.getLogger(__name__)

Ack = dict[str, Any]

#: Plaza positions per second in the motion log (stage poses go at the motion rate).
POSITIONS_HZ = 2.0
#: How often expired recordings are looked for (the first sweep runs at start).
SWEEP_HZ = 1 / 3600


def _held_out(kind: EventKind, line: dict[str, Any]) -> bool:
    """A join or leave line of someone held out of a closed session (citizens, the
    gallery, observers, captioners): they were not in it, so its staff record leaves
    their comings and goings out."""
    return (kind in (EventKind.JOIN, EventKind.LEAVE)
            and line.get("pid_role") not in {r.value for r in INSIDE})


@dataclass(eq=False)
class _Active:
    """One room's running recording and what its feeds remember."""

    recorder: Recorder
    since: float
    #: Who the room hears now (Hub.speakers): only their packets are recorded.
    heard: frozenset[str] = frozenset()
    names: Names = field(default_factory=dict)
    #: slot → the last pose record fed (compared by identity: a new uplink is a new bytes).
    poses: dict[int, bytes] = field(default_factory=dict)
    next_positions: float = 0.0
    #: When the room's closed session (秘密会) began: nothing is written until it reopens.
    paused_since: float | None = None
    #: The staff-only record of the closed part (``closed_session_staff_record``): while
    #: paused, what the public recording leaves out goes here, unredacted.
    staff: Recorder | None = None

    @property
    def writing(self) -> Recorder | None:
        """The recorder the feeds go to now: the public one, the staff record during a
        closed session (when there is one), or none."""
        return self.recorder if self.paused_since is None else self.staff


class RecordingService:
    """The recordings of one server process."""

    def __init__(
        self, settings: Settings, hub: Hub, sio: socketio.AsyncServer,
        meetings: MeetingService, store: SQLiteStore,
    ) -> None:
        self.settings = settings
        self.hub = hub
        self.sio = sio
        self.meetings = meetings
        self.root: Path = settings.recordings_path
        self.index = RecordingIndex(store, self.root)
        #: Rendered minutes of stopped recordings (server/recording/minutes_cache.py).
        self.minutes = MinutesCache()
        #: Transcripts (issue 17): a stopped recording's job is queued by :meth:`_finish`;
        #: a change forgets the recording's rendered minutes (their 発言 section).
        self.transcripts = TranscriptStore(store)
        self.transcripts.on_change.append(self.minutes.drop)
        self.jobs = TranscriptJobs(settings, self.transcripts, self.root)
        self.active: dict[str, _Active] = {}
        #: Staff records whose recorder is stopping (off the loop): kept from the sweep.
        self._stopping: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._sweeper = Periodic("recording-sweep", SWEEP_HZ, self._sweep)
        meetings.event_listeners.append(self.on_events)
        meetings.change_listeners.append(self.on_change)

    # -- lifecycle ----------------------------------------------------------------------

    def bind(self, register: Register) -> None:
        """Register the socket events behind the guard."""
        register(ev.RECORDING_START, self.start)
        register(ev.RECORDING_STOP, self.stop)

    async def open(self) -> None:
        """At start: close what a crash left open (folders in an executor), then start
        the hourly retention sweep (its first run is now)."""
        recovered = await self.index.recover_open()
        await self.jobs.open()  # (jobs a stop left running: queued again)
        for manifest in recovered:
            log.info("recording %s of %s recovered after a crash", manifest.id, manifest.room)
            await self._transcribe(manifest)
        loop = asyncio.get_running_loop()
        for manifest in await loop.run_in_executor(None, recover_staff_records, self.root):
            log.info("staff record %s of %s recovered after a crash", manifest.id,
                     manifest.room)
        for row in await self.index.list_all():
            if row.state is RecordingState.RECORDING and row.id not in {
                r.recorder.manifest.id for r in self.active.values()
            }:
                # A row whose folder never got its manifest (killed at once): nothing to
                # recover, but it must not claim to be recording for ever.
                await self.index.finish(Manifest(
                    row.id, row.room_id, row.title, row.started, RecordingState.FAILED,
                    stopped=row.started))
                log.warning("recording %s had no folder; marked failed", row.id)
        self._sweeper.start()

    async def close(self) -> None:
        """Stop every recording (server shutdown) and the sweep."""
        await self._sweeper.stop()
        for room in list(self.active):
            await self._finish(room)
        if self._tasks:  # staff records still closing
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.jobs.close()  # (a job in progress resumes at the next start)

    async def _sweep(self) -> None:
        for gone in await self.index.sweep(time.time(), self.settings.recording_retention_days):
            self.minutes.drop(gone)
            await self.transcripts.delete(gone)
        writing = frozenset(
            {a.staff.manifest.id for a in self.active.values() if a.staff is not None}
            | self._stopping)
        for gone in await asyncio.get_running_loop().run_in_executor(
                None, sweep_staff_records, self.root, time.time(),
                self.settings.recording_retention_days, writing):
            log.info("staff record %s deleted after %g days", gone,
                     self.settings.recording_retention_days)

    # -- socket events ------------------------------------------------------------------

    async def _acting(self, session: Session, payload: object, action: Action) -> tuple[
        str, Meeting, list[DomainEvent], str
    ]:
        parsed = RecordingRoom.parse(payload)
        seat, meeting = await self.meetings.acting(session)
        if parsed.room != seat.room:
            raise RoomError(Reason.NOT_JOINED, f"you are not in room {parsed.room!r}")
        entries = meeting.authorize(seat.pid, action, self.meetings.clock())
        return seat.room, meeting, entries, seat.account or seat.name

    async def start(self, session: Session, payload: object) -> Ack:
        """``recording:start`` {room}: staff only (``recording.start``), one per room."""
        room, meeting, entries, who = await self._acting(session, payload, Action.RECORDING_START)
        if room in self.active:
            raise ProcedureError(Reason.WRONG_STATE, "this room is already being recorded")
        recording_id = new_recording_id()
        info = self.hub.room(room).info
        recorder = Recorder(self.root / recording_id, recording_id, room, info.name_ja or room,
                            positions_hz=2 * POSITIONS_HZ)  # (the service thins; a safety cap)
        recorder.start()  # the folder and files are made on its thread
        active = _Active(recorder, recorder.manifest.started, self.hub.speakers(room))
        self.active[room] = active  # before any await: a second start is refused
        # A committee's recording is a sitting: its gallery count (傍聴者数) starts again
        # from those present, before the record is logged, so the minutes give this
        # sitting's peak and total (committed with the audit line below).
        sitting = (meeting.committee.begin_sitting(self.meetings.clock())
                   if meeting.kind is RoomKind.COMMITTEE else [])
        here = self.hub.room(room).participants
        for line in attendance(meeting, active.names):
            # The motion log names avatars by slot: the replay learns whose it is (and how
            # the avatar looks) from these.
            avatar = here.get(line["pid"])
            recorder.feed_event(EventKind.JOIN, line if avatar is None else
                                {**line, "slot": avatar.slot, "avatar": avatar.style.to_wire(),
                                  "vrm": avatar.vrm})
        self._log(active, meeting, procedure_at_start(meeting, self.meetings.clock()))
        period = closed_period(meeting)
        if period is not None:  # started during a closed session: paused from the start
            recorder.feed_event(EventKind.RECORDING, closed_marker(True, period.start))
            active.paused_since = period.start
            self._staff_start(active, meeting, period.start)
        try:
            await self.index.add(recorder.manifest, who)
        except Exception:
            self.active.pop(room, None)
            await asyncio.get_running_loop().run_in_executor(None, recorder.stop)
            if active.staff is not None:
                await self._staff_stop(active.staff)
            raise
        self.hub.recording_since[room] = active.since
        await self.meetings.commit(room, [*entries, *sitting])  # the audit line is the log's too
        await self._announce(room)
        log.info("recording %s started in %s", recording_id, room)
        return {"ok": True, "id": recording_id, **self.hub.recording_status(room)}

    async def stop(self, session: Session, payload: object) -> Ack:
        """``recording:stop`` {room}: staff only (``recording.stop``)."""
        room, meeting, entries, _ = await self._acting(session, payload, Action.RECORDING_STOP)
        active = self.active.get(room)
        if active is None:
            raise ProcedureError(Reason.WRONG_STATE, "this room is not being recorded")
        # The gallery's numbers as they are, and who stopped it, as the log's last events.
        self._log(active, meeting, [*procedure_at_stop(meeting, self.meetings.clock()),
                                    *entries])
        manifest = await self._finish(room)
        await self.meetings.commit(room, entries)
        return {"ok": True, "id": manifest.id, "duration_ms": manifest.duration_ms,
                "state": manifest.state.value, **self.hub.recording_status(room)}

    async def _finish(self, room: str) -> Manifest:
        active = self.active.pop(room)  # feeds stop reaching it at once
        self.hub.recording_since.pop(room, None)
        loop = asyncio.get_running_loop()
        if active.staff is not None:  # stopped during a closed session
            await self._staff_stop(active.staff)
            active.staff = None
        manifest = await loop.run_in_executor(None, active.recorder.stop)
        await self.index.finish(manifest)
        await self._transcribe(manifest)
        await self._announce(room)
        log.info("recording %s of %s %s (%d ms)", manifest.id, room, manifest.state.value,
                 manifest.duration_ms)
        return manifest

    async def _transcribe(self, manifest: Manifest) -> None:
        """Queue the transcription of a stopped (or recovered) recording, when the
        setting allows; a failure to queue never fails the stop."""
        if not self.settings.transcription_after_meeting or \
                manifest.state is RecordingState.FAILED or not manifest.speakers:
            return
        try:
            await self.jobs.queue(manifest.id)
        except Exception:
            log.exception("queueing the transcription of %s failed", manifest.id)

    async def _announce(self, room: str) -> None:
        await self.sio.emit(ev.MEETING_RECORDING, self.hub.recording_status(room), room=room)

    def join_extra(self, room: Room, participant: Participant) -> dict[str, object]:
        """The join ack's ``recording`` part (a join extra of the plaza's SocketApi); in a
        recorded room, also logs which motion slot the avatar that just entered has, and
        its look (the meeting's join line was logged before the avatar had one; the replay
        draws and names slots by these)."""
        active = self.active.get(room.id)
        recorder = None if active is None else active.writing
        line = {"type": "avatar.entered", "at": time.time(), "pid": participant.id,
                "pid_name": participant.name, "pid_role": participant.role.value,
                "slot": participant.slot, "avatar": participant.style.to_wire(),
                # The approved VRM model worn (issue 18): the replay shows them as they were.
                "vrm": participant.vrm}
        if recorder is not None and not (active is not None and active.paused_since
                                         is not None and _held_out(EventKind.JOIN, line)):
            recorder.feed_event(EventKind.JOIN, line)
        return {"recording": self.hub.recording_status(room.id)}

    # -- feeds (event loop; nothing here blocks) ----------------------------------------

    def on_packet(self, room: str, speaker: str, payload: bytes, timestamp: int) -> None:
        """AudioPlane.on_packet: a forwarded Opus packet."""
        active = self.active.get(room)
        if active is not None and speaker in active.heard:
            recorder = active.writing
            if recorder is not None:
                recorder.feed_audio(speaker, payload, timestamp)

    def on_change(self, room: str) -> None:
        """After a meeting change: who the room hears may have changed (floor, mute)."""
        for name in [room] if room else list(self.active):
            active = self.active.get(name)
            if active is not None:
                active.heard = self.hub.speakers(name)

    def on_events(
        self, room: str, meeting: Meeting | None, happened: Sequence[DomainEvent]
    ) -> None:
        """MeetingService.event_listeners: the committed events of ``room`` ("": all)."""
        try:
            for name in [room] if room else list(self.active):
                active = self.active.get(name)
                if active is not None:
                    self._log(active, meeting if room else self.meetings.meetings.get(name),
                              happened)
        except Exception:  # a recording must never break the meeting it records
            log.exception("recording the events of %s failed", room or "every room")

    def _log(self, active: _Active, meeting: Meeting | None,
             happened: Sequence[DomainEvent]) -> None:
        for e in happened:
            line = event_line(meeting, e, active.names)
            if isinstance(e, CommitteeChanged) and e.change == "closed_session":
                if line is not None and active.staff is not None:
                    active.staff.feed_event(*line)  # (reopening: the staff record's last)
                    line = None if closed_period(meeting) is not None else line
                self._closed_session(active, meeting, e.at)
            if line is None:
                continue
            kind, body = line
            if active.paused_since is not None:
                # Inside a closed session: nothing of it in the public record; all of it,
                # unredacted, in the staff record when there is one.
                if active.staff is not None and not _held_out(kind, body):
                    active.staff.feed_event(kind, body)
                continue
            if isinstance(body.get("record"), dict):  # the committee's whole record
                body = {**body, "record": redact_record(body["record"])}
            active.recorder.feed_event(kind, body)

    def _closed_session(self, active: _Active, meeting: Meeting | None, at: float) -> None:
        """The session closed (the recording pauses, after saying so; a staff record
        starts when the setting allows) or reopened (it resumes, saying since when it was
        closed; the staff record stops)."""
        period = closed_period(meeting)
        if period is not None and active.paused_since is None:
            active.recorder.feed_event(EventKind.RECORDING, closed_marker(True, period.start))
            active.paused_since = period.start
            self._staff_start(active, meeting, period.start)
        elif period is None and active.paused_since is not None:
            staff = active.staff
            if staff is not None:
                staff.feed_event(EventKind.RECORDING,
                                 closed_marker(False, at, active.paused_since))
                active.staff = None
                self._stopping.add(staff.manifest.id)
                task = asyncio.get_running_loop().create_task(self._staff_stop(staff))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            active.recorder.feed_event(EventKind.RECORDING,
                                       closed_marker(False, at, active.paused_since))
            active.paused_since = None
            active.poses.clear()  # the public motion log restates every pose
            active.next_positions = 0.0

    # -- the staff-only record of a closed session --------------------------------------

    def _staff_start(self, active: _Active, meeting: Meeting | None, since: float) -> None:
        """Start the staff record of a closed part (``closed_session_staff_record``): it
        begins with who is in the room, the procedure and the committee as they stand,
        unredacted, and the closed marker (its minutes say 秘密会 from when)."""
        if not self.settings.closed_session_staff_record or active.staff is not None:
            return
        public = active.recorder.manifest
        staff_id = new_recording_id()
        recorder = Recorder(new_staff_dir(self.root, public.id, staff_id), staff_id,
                            public.room, f"{public.title}（秘密会・職員限り）",
                            positions_hz=2 * POSITIONS_HZ)
        recorder.start()  # the folder and files are made on its thread
        active.staff = recorder
        active.poses.clear()  # the staff motion log starts with every pose
        active.next_positions = 0.0
        recorder.feed_event(EventKind.RECORDING, {
            "action": "staff_record", "type": "committee.closed_session.staff_record",
            "recording": public.id, "at": since})
        if meeting is None:
            return
        here = self.hub.room(public.room).participants
        for line in attendance(meeting, {}):
            if _held_out(EventKind.JOIN, line):
                continue  # not in the closed session: not in its attendance
            avatar = here.get(line["pid"])
            recorder.feed_event(EventKind.JOIN, line if avatar is None else
                                {**line, "slot": avatar.slot, "avatar": avatar.style.to_wire(),
                                  "vrm": avatar.vrm})
        for e in procedure_at_start(meeting, self.meetings.clock()):
            line2 = event_line(meeting, e, active.names)
            if line2 is not None:
                recorder.feed_event(*line2)
        recorder.feed_event(EventKind.RECORDING, closed_marker(True, since))
        log.info("staff record %s of the closed session in %s started", staff_id, public.room)

    async def _staff_stop(self, recorder: Recorder) -> None:
        """Close a staff record (files off the loop); it is never indexed among the
        recordings, so no public route can find it."""
        try:
            manifest = await asyncio.get_running_loop().run_in_executor(None, recorder.stop)
            log.info("staff record %s of %s %s (%d ms)", manifest.id, manifest.room,
                     manifest.state.value, manifest.duration_ms)
        except Exception:
            log.exception("closing staff record %s failed", recorder.manifest.id)
        finally:
            self._stopping.discard(recorder.manifest.id)

    def on_motion(self, plane: MotionPlane) -> None:
        """MotionPlane.tick_listeners: each recorded room's stage poses and positions."""
        try:
            for room, active in self.active.items():
                self._motion(plane, room, active)
        except Exception:  # a recording must never stop the motion tick
            log.exception("recording motion failed")

    def _motion(self, plane: MotionPlane, room: str, active: _Active) -> None:
        """One room: changed stage poses (``gone`` when one ends), positions at 2 Hz."""
        motion = plane.rooms.get(room)
        recorder = active.writing
        if motion is None or recorder is None:
            return
        on_stage = motion.table.on_stage
        posed: set[int] = set()
        for row in motion.pids:
            record = motion.records[row]
            if record is None or not on_stage[row]:
                continue
            slot = int(motion.plain[row]["slot"])
            posed.add(slot)
            if active.poses.get(slot) is not record:
                active.poses[slot] = record
                recorder.feed_pose(slot, record)
        for slot in [s for s in active.poses if s not in posed]:
            del active.poses[slot]
            recorder.feed_gone(slot)
        now = plane.clock()
        if now >= active.next_positions and motion.pids:
            active.next_positions = now + 1 / POSITIONS_HZ
            rows = list(motion.pids)
            recorder.feed_positions([tuple(e) for e in motion.plain[rows].tolist()])
