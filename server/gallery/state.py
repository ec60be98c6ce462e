"""What a gallery viewer is told of the meeting: the public view, nothing more.

``hello`` on connecting, then ``state`` with the parts that changed (the meeting's change
listeners), ``caption`` per caption line, ``chat`` per chat message posted, hidden or
restored and ``opinion`` per opinion changed (its event listeners), and ``closed`` with a
closed session. Built from the same view functions the room's citizens get
(:mod:`server.meetings.views`), once per change per room, never per viewer.

In a cluster the meeting lives on the leader. Its GalleryState hands each room's public
messages to :attr:`GalleryState.publish` (the cluster bus) while other nodes have viewers
of the room, and a whole public snapshot of the room (what ``hello`` carries besides the
layout and the counts) when one of them asks and, debounced, after changes
(:meth:`GalleryState.dirty_snapshots`). Another node's GalleryState (:attr:`follower`)
keeps the latest snapshot per room for its hellos and writes the relayed messages to its
own viewers (:meth:`GalleryState.relayed`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from moderation.captions import CaptionCorrected, CaptionPosted
from moderation.chat import ChatHidden, ChatPosted, ChatRestored
from moderation.events import DomainEvent, plain
from moderation.meeting import Meeting
from moderation.opinions import OpinionChanged
from rooms.model import Role
from server.gallery.plane import GalleryPlane, Viewer
from server.meetings.views import (
    RECENT_CAPTIONS,
    agenda_view,
    caption_view,
    categories_view,
    floor_view,
    message_view,
    public_event,
)
from server.sockets.hub import Hub

#: Roles drawn and labelled on the stage (with the floor holder, whoever that is).
STAGE_ROLES = frozenset({Role.MEMBER, Role.CHAIR, Role.STAFF})
#: How long one snapshot of a room's layout serves the hellos (seconds).
LAYOUT_KEPT_SECONDS = 30.0
#: The parts of the meeting a ``state`` message may carry.
PARTS = ("people", "floor", "agenda", "polls", "categories", "closed")
#: The latest chat messages a hello carries (the room's newcomers get more: a page's
#: glance, and every hello of a crowd arriving at once is built anew).
GALLERY_CHAT = 30
#: The most supported opinions a hello carries (ranked as the room's page ranks them).
GALLERY_OPINIONS = 50
#: How long a cluster edge's first viewer of a room waits for the leader's snapshot before
#: it is greeted without it (seconds).
SNAPSHOT_WAIT = 1.5
#: What a closed session shows: that it is closed, nothing of it.
CLOSED = {"people": [], "closed": True, "captions": [], "chat": [], "opinions": []}


def talk(meeting: Meeting) -> dict[str, object]:
    """The room's public chat and opinions as a citizen there sees them (hidden and merged
    ones left out, the same views), bounded for the gallery."""
    return {"chat": [message_view(m) for m in meeting.chat.messages()[-GALLERY_CHAT:]],
            "opinions": [plain(o) for o in meeting.opinions.ranked()[:GALLERY_OPINIONS]]}


def talk_message(e: DomainEvent) -> dict[str, object] | None:
    """A chat or opinion event as one gallery message, through the room's public
    redaction (:func:`public_event`: a hidden message or opinion goes out as its id)."""
    if not isinstance(e, ChatPosted | ChatHidden | ChatRestored | OpinionChanged):
        return None
    body = public_event(e)
    if body is None:
        return None
    if isinstance(e, OpinionChanged):
        return {"t": "opinion", "change": e.change, "opinion": body["opinion"]}
    return {"t": "chat", "change": e.topic, "message": body["message"]}


class GalleryState:
    """Builds the public messages of each room and sends them when they change."""

    def __init__(self, plane: GalleryPlane, hub: Hub, frame_ms: int, *,
                 audio_lag_ms: int = 0) -> None:  # fmt: skip
        self.plane = plane
        self.hub = hub
        self.frame_ms = frame_ms
        #: Told to every page: how much later than the poses the floor audio arrives.
        self.audio_lag_ms = audio_lag_ms
        #: room → (when made, its layout): a crowd arriving at once shares one snapshot.
        self._layouts: dict[str, tuple[float, dict[str, Any]]] = {}
        #: room → the parts last sent (compared on each change: only changes go out).
        self._sent: dict[str, dict[str, object]] = {}
        #: This node follows a cluster's leader: the meeting is there, not here.
        self.follower: Callable[[], bool] = lambda: False
        #: The leader: hands a room's public message to the other nodes (the cluster bus).
        self.publish: Callable[[str, dict[str, Any]], None] | None = None
        #: A follower: asks the leader for a room's snapshot.
        self.ask: Callable[[str], None] | None = None
        #: The leader: rooms changed since their last snapshot went to the other nodes.
        self.dirty: set[str] = set()
        #: A follower: room → the leader's latest public snapshot of it.
        self.kept: dict[str, dict[str, Any]] = {}
        self._waiting: dict[str, asyncio.Event] = {}
        plane.refresh_of = self.full_state

    def _meeting(self, room: str) -> Meeting | None:
        return self.hub.meetings.get(room)

    def parts(self, room: str) -> dict[str, object]:
        """The public parts of ``room`` now (an edge without the meeting: people only)."""
        meeting = self._meeting(room)
        now = time.time()
        out: dict[str, object] = {"people": self.people(room, meeting),
                                  "closed": self.plane.closed_of(room)}
        if meeting is not None:
            floor = floor_view(meeting, now)
            # The page knows people by avatar slot (frames, ``people``), not by pid: the
            # holder's slot lets it aim the speaker view (gallery/main.js) at them.
            r = self.hub.rooms.get(room)
            holder = r.participants.get(meeting.floor.holder or "") if r is not None else None
            floor["holder_slot"] = None if holder is None else holder.slot
            out["floor"] = floor
            out["agenda"] = agenda_view(meeting, now)
            out["polls"] = [plain(p) for p in meeting.polls.all_results()]
            # The opinions' category labels (staff may relabel them while shown).
            out["categories"] = categories_view(meeting.rules.categories,
                                                meeting.rules.category_labels)
        return out

    def people(self, room: str, meeting: Meeting | None) -> list[dict[str, object]]:
        """Those on the stage (members, the chair, staff) and the floor holder: slot, name,
        role, look; what the page needs to draw and label them."""
        r = self.hub.rooms.get(room)
        if r is None:
            return []
        if meeting is None:
            return self._stage_slots(room)
        holder = meeting.floor.holder
        out = []
        for p in r.participants.values():
            if p.role not in STAGE_ROLES and p.id != holder:
                continue
            person: dict[str, object] = {"slot": p.slot, "name": p.name, "role": p.role.value,
                                         "avatar": p.style.to_wire()}
            if p.vrm:
                person["vrm"] = p.vrm
            out.append(person)
        return sorted(out, key=lambda x: int(x["slot"]))  # type: ignore[call-overload]

    def _stage_slots(self, room: str) -> list[dict[str, object]]:
        """A cluster edge knows no meeting and no names: the stage's slots from its motion
        replica, so that the page can at least tell the stage from the crowd."""
        motion = self.plane.motion.rooms.get(room)
        if motion is None:
            return []
        rows = np.flatnonzero(motion.table.active & motion.table.on_stage)
        return [{"slot": int(motion.plain[row]["slot"])} for row in rows.tolist()]

    def snapshot(self, room: str) -> dict[str, Any]:
        """The public state of ``room`` a ``hello`` carries besides the layout and the
        counts: the parts, the recent captions, chat and opinions (a closed session: that
        it is closed, nothing of it). A follower: the leader's latest snapshot."""
        if self.follower():
            kept = self.kept.get(room)
            closed = self.plane.closed_of(room)  # this node's word on it (the frames')
            if kept is None:  # no word from the leader (yet): the stage's slots
                kept = {"people": self._stage_slots(room), "captions": [], "chat": [],
                        "opinions": []}
            return dict(CLOSED) if closed or kept.get("closed") else {**kept, "closed": False}
        meeting = self._meeting(room)
        parts = self._sent[room] = self.parts(room)  # the baseline of later changes
        if parts["closed"]:
            return dict(CLOSED)
        captions = ([caption_view(c) for c in meeting.captions.lines()[-RECENT_CAPTIONS:]]
                    if meeting is not None else [])
        said = talk(meeting) if meeting is not None else {"chat": [], "opinions": []}
        return {**parts, "captions": captions, **said}

    def full_state(self, room: str) -> dict[str, Any] | None:
        """The whole public state of ``room`` as one ``state`` message (the plane's
        refresh of a viewer that missed a state message)."""
        if room not in self.hub.rooms:
            return None
        return {"t": "state", **self.snapshot(room)}

    def hello(self, viewer: Viewer) -> dict[str, Any]:
        room = viewer.room
        r = self.hub.rooms[room]
        viewers, peak = self.plane.count(room)
        return {"t": "hello", "room": room, "kind": r.kind.value,
                "title": {"ja": r.info.name_ja, "en": r.info.name_en},
                "frame_ms": self.frame_ms, "audio_lag_ms": self.audio_lag_ms,
                "layout": self.layout(room), "viewer": viewer.id, "viewers": viewers,
                "peak": peak, **self.snapshot(room)}

    async def ready(self, viewer: Viewer) -> None:
        """Before ``viewer``'s hello. A follower's first viewer of a room asks the leader
        for the room's snapshot (the one kept may be old: the leader sends none for a room
        without viewers here) and waits for it, at most :data:`SNAPSHOT_WAIT` seconds; the
        viewers arriving meanwhile wait for the same."""
        room = viewer.room
        if not self.follower() or self.ask is None:
            return
        g = self.plane.rooms.get(room)
        if g is not None and len(g.viewers) <= 1:
            self.kept.pop(room, None)
        if room in self.kept:
            return
        waiting = self._waiting.get(room)
        if waiting is None:
            waiting = self._waiting[room] = asyncio.Event()
            self.ask(room)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(waiting.wait(), SNAPSHOT_WAIT)
        if self._waiting.get(room) is waiting:
            del self._waiting[room]  # (unanswered: the next viewer asks again)

    def relayed(self, room: str, message: dict[str, Any]) -> None:
        """A follower: the leader's public message of ``room``. A snapshot is kept for
        the hellos; a STATE message goes to this node's viewers as it is (built once for
        all of them) and into the snapshot kept, where it can (the next snapshot, within
        a second, carries the rest)."""
        if not self.follower() or room not in self.hub.rooms:
            return
        if message.get("t") == "snapshot":
            self.kept[room] = {k: v for k, v in message.items() if k != "t"}
            waiting = self._waiting.pop(room, None)
            if waiting is not None:
                waiting.set()
            return
        kept = self.kept.get(room)
        if kept is not None and message.get("t") == "state":
            kept.update({k: v for k, v in message.items() if k != "t"})
        elif kept is not None and message.get("t") == "caption":
            line = message.get("line")
            lines = [c for c in kept.get("captions", [])
                     if not (isinstance(c, dict) and isinstance(line, dict)
                             and c.get("seq") is not None and c.get("seq") == line.get("seq"))]
            kept["captions"] = [*lines, line][-RECENT_CAPTIONS:]
        self.plane.broadcast_state(room, message)

    def dirty_snapshots(self) -> list[tuple[str, dict[str, Any]]]:
        """The leader: a snapshot of each room changed since its last one that other nodes
        have viewers of (called at most once a second: debounced)."""
        rooms, self.dirty = self.dirty, set()
        return [(room, self.public_snapshot(room)) for room in sorted(rooms)
                if room in self.hub.rooms and self.plane.has_remote(room)]

    def public_snapshot(self, room: str) -> dict[str, Any]:
        """The leader: ``room``'s snapshot as the other nodes are sent it."""
        self.dirty.discard(room)
        return {"t": "snapshot", **self.snapshot(room)}

    def _send(self, room: str, message: dict[str, Any]) -> None:
        """One public message of ``room``: to this node's viewers and, the leader, to the
        other nodes' (once for all of them); the room's next snapshot is due."""
        self.plane.broadcast_state(room, message)
        self.dirty.add(room)
        if self.publish is not None and self.plane.has_remote(room):
            self.publish(room, message)

    def layout(self, room: str) -> dict[str, Any] | None:
        """The room's layout as the pages draw it (bounds, stage, seats, boards), who sits
        where left out (the frames say it); None for a room this node does not hold."""
        now = time.monotonic()
        kept = self._layouts.get(room)
        if kept is not None and now - kept[0] < LAYOUT_KEPT_SECONDS:
            return kept[1]
        r = self.hub.rooms.get(room)
        if r is None:
            return None
        wire: dict[str, Any] = self.hub.snapshot(r).to_wire()["room"]  # type: ignore[assignment]
        for seat in wire.get("seats", []):
            seat["occupant"] = None
        self._layouts[room] = (now, wire)
        return wire

    def changed(self, room: str) -> None:
        """MeetingService.change_listeners: send the parts of ``room`` that changed ("":
        every room with viewers)."""
        if self.follower():
            return  # (the leader's meeting is the one that counts)
        for rid in [room] if room else list(self.plane.rooms):
            g = self.plane.rooms.get(rid)
            if g is None or not g.total() or rid not in self.hub.rooms:
                continue
            # A closed session first: the next frame is already empty (the plane tells
            # the viewers ``state {closed}``). Not left to ClosedSessions' listeners: they
            # hear of it only when someone present is held out.
            self.plane.set_closed(rid, self.plane.closed_of(rid))
            now = self.parts(rid)
            # Reopened: the whole public state again (nothing was sent while closed).
            reopened, g.reopened = g.reopened, False
            before = {} if reopened else self._sent.get(rid, {})
            # The floor view carries the server's clock: compared without it.
            diff = {k: v for k, v in now.items() if _key(v) != _key(before.get(k))}
            self._sent[rid] = now
            diff.pop("closed", None)  # (told by set_closed)
            if g.closed:
                diff = {}  # nothing of a closed session
            elif reopened and (meeting := self._meeting(rid)) is not None:
                # What was said while it sat closed was not sent: the lists again, whole.
                diff.update(talk(meeting))
            if diff:
                self._send(rid, {"t": "state", **diff})
            elif reopened or g.closed:
                self.dirty.add(rid)  # (the snapshot says it is closed, or open again)

    def on_events(self, room: str, meeting: Meeting | None,
                  happened: Sequence[DomainEvent]) -> None:  # fmt: skip
        """MeetingService.event_listeners: caption lines, one ``caption`` each; chat and
        opinions, one ``chat`` or ``opinion`` each (built once for every viewer)."""
        g = self.plane.rooms.get(room)
        if g is None or not g.total() or g.closed or self.follower():
            return
        for e in happened:
            if isinstance(e, CaptionPosted | CaptionCorrected):
                self._send(room, {"t": "caption", "change": e.topic,
                                  "line": caption_view(e.line)})
            elif (said := talk_message(e)) is not None:
                self._send(room, said)

    def closed_changed(self, room: str, _held_out: frozenset[str]) -> None:
        """ClosedSessions.listeners: who is held out changed, before anything else of the
        room is sent: the frames follow at once."""
        self.plane.set_closed(room, self.plane.closed_of(room))
        self.dirty.add(room)


def _key(value: object) -> object:
    if isinstance(value, dict) and "server_time" in value:
        return {k: v for k, v in value.items() if k != "server_time"}
    return value
