"""Control messages between cluster nodes: frozen dataclasses, one JSON encoding.

Every message on a node's control channel (``hiroba:ctl:<node>``) and on the audio
control channel (``hiroba:audio:ctl``) is one of the classes below, a JSON object whose
``k`` names the class. :func:`encode` writes one, :func:`decode` reads one and raises a
``ValidationError`` with a reason code for anything else (not JSON, an unknown kind, a
missing, unknown or mistyped field): the receiving node drops such a message with a log
line. Socket.io payloads travel inside them with their binary attachments as base64
(:func:`pack_payload`). The motion and audio planes' binary batches have their own codecs
(motion_relay.py, audio_relay.py).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from rooms.errors import Reason, ValidationError


def pack_payload(value: object) -> object:
    """JSON-safe form of a socket.io payload (binary attachments as base64)."""
    if isinstance(value, bytes | bytearray):
        return {"__b64__": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, list | tuple):
        return [pack_payload(v) for v in value]
    if isinstance(value, dict):
        return {str(k): pack_payload(v) for k, v in value.items()}
    return value


def unpack_payload(value: object) -> object:
    """The socket.io payload :func:`pack_payload` wrote (raises ``binascii.Error`` on bad
    base64)."""
    if isinstance(value, dict):
        if set(value) == {"__b64__"}:
            return base64.b64decode(str(value["__b64__"]), validate=True)
        return {k: unpack_payload(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unpack_payload(v) for v in value]
    return value


class _Fields:
    """The fields of one incoming message, read with their types checked."""

    def __init__(self, data: Mapping[str, object], kind: str) -> None:
        self.data = data
        self.kind = kind
        self.seen = {"k"}

    def check_all_read(self) -> None:
        """Refuse a field the message's class did not read (another version's message)."""
        for key in sorted(set(self.data) - self.seen):
            raise ValidationError(Reason.UNKNOWN_FIELD, f"{self.kind}: unknown field {key[:40]}")

    def _get(self, key: str) -> object:
        self.seen.add(key)
        if key not in self.data:
            raise ValidationError(Reason.MISSING_FIELD, f"{self.kind}: missing field {key}")
        return self.data[key]

    def string(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str):
            raise ValidationError(Reason.BAD_FIELD, f"{self.kind}: {key} must be a string")
        return value

    def integer(self, key: str) -> int:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(Reason.BAD_FIELD, f"{self.kind}: {key} must be an integer")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self._get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValidationError(Reason.BAD_FIELD, f"{self.kind}: {key} must be strings")
        return tuple(value)

    def headers(self, key: str) -> dict[str, str]:
        value = self._get(key)
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise ValidationError(Reason.BAD_FIELD, f"{self.kind}: {key} must map to strings")
        return dict(value)

    def payload(self, key: str) -> Any:
        try:
            return unpack_payload(self._get(key))
        except (binascii.Error, ValueError) as exc:
            raise ValidationError(Reason.BAD_FIELD, f"{self.kind}: {key} has bad base64") from exc


@dataclass(frozen=True, slots=True)
class Connect:
    """Edge to leader: a socket connected here, with the request headers it came with."""

    KIND: ClassVar[str] = "connect"
    sender: str
    sid: str
    env: dict[str, str]

    def fields(self) -> dict[str, object]:
        return {"from": self.sender, "sid": self.sid, "env": self.env}

    @classmethod
    def read(cls, f: _Fields) -> Connect:
        return cls(f.string("from"), f.string("sid"), f.headers("env"))


@dataclass(frozen=True, slots=True)
class Disconnect:
    """Edge to leader: a socket of this node closed."""

    KIND: ClassVar[str] = "disconnect"
    sender: str
    sid: str

    def fields(self) -> dict[str, object]:
        return {"from": self.sender, "sid": self.sid}

    @classmethod
    def read(cls, f: _Fields) -> Disconnect:
        return cls(f.string("from"), f.string("sid"))


@dataclass(frozen=True, slots=True)
class EventCall:
    """Edge to leader: run a socket.io event of ``sid``; answered by a :class:`Reply`."""

    KIND: ClassVar[str] = "event"
    call: int
    sender: str
    sid: str
    event: str
    args: list[Any]

    def fields(self) -> dict[str, object]:
        return {"id": self.call, "from": self.sender, "sid": self.sid, "event": self.event,
                "args": pack_payload(self.args)}  # fmt: skip

    @classmethod
    def read(cls, f: _Fields) -> EventCall:
        args = f.payload("args")
        if not isinstance(args, list):
            raise ValidationError(Reason.BAD_FIELD, "event: args must be a list")
        return cls(f.integer("id"), f.string("from"), f.string("sid"), f.string("event"), args)


@dataclass(frozen=True, slots=True)
class AudioCall:
    """Edge to leader: may ``sid`` run audio operation ``op`` (``publish``, ``listen``)?
    Answered by a :class:`Reply` with the grant (room, id, floor speakers) or a refusal."""

    KIND: ClassVar[str] = "audio"
    call: int
    sender: str
    sid: str
    op: str

    def fields(self) -> dict[str, object]:
        return {"id": self.call, "from": self.sender, "sid": self.sid, "op": self.op}

    @classmethod
    def read(cls, f: _Fields) -> AudioCall:
        return cls(f.integer("id"), f.string("from"), f.string("sid"), f.string("op"))


@dataclass(frozen=True, slots=True)
class Reply:
    """Leader to edge: the acknowledgement of call ``call``."""

    KIND: ClassVar[str] = "reply"
    call: int
    ack: Any

    def fields(self) -> dict[str, object]:
        return {"id": self.call, "ack": pack_payload(self.ack)}

    @classmethod
    def read(cls, f: _Fields) -> Reply:
        return cls(f.integer("id"), f.payload("ack"))


@dataclass(frozen=True, slots=True)
class ResumeIssued:
    """Leader to the socket's node: a resume token given outside a join ack (an
    admission from the lobby), to keep for the socket's next rejoin."""

    KIND: ClassVar[str] = "resume"
    sid: str
    resume: str

    def fields(self) -> dict[str, object]:
        return {"sid": self.sid, "resume": self.resume}

    @classmethod
    def read(cls, f: _Fields) -> ResumeIssued:
        return cls(f.string("sid"), f.string("resume"))


@dataclass(frozen=True, slots=True)
class AudioClose:
    """Leader to the node holding a participant's audio peers: close ``what`` of them
    (``publish`` or ``all``)."""

    KIND: ClassVar[str] = "audio_close"
    pid: str
    what: str

    def fields(self) -> dict[str, object]:
        return {"pid": self.pid, "what": self.what}

    @classmethod
    def read(cls, f: _Fields) -> AudioClose:
        return cls(f.string("pid"), f.string("what"))


@dataclass(frozen=True, slots=True)
class Speakers:
    """Leader to every node (``hiroba:audio:ctl``): a room's floor speakers now."""

    KIND: ClassVar[str] = "speakers"
    room: str
    ids: tuple[str, ...]

    def fields(self) -> dict[str, object]:
        return {"room": self.room, "ids": list(self.ids)}

    @classmethod
    def read(cls, f: _Fields) -> Speakers:
        return cls(f.string("room"), f.strings("ids"))


@dataclass(frozen=True, slots=True)
class Withheld:
    """Leader to every node (``hiroba:audio:ctl``): who is held out of a room's closed
    session (秘密会) now; empty once it reopens. The nodes route no speaker to them."""

    KIND: ClassVar[str] = "withheld"
    room: str
    ids: tuple[str, ...]

    def fields(self) -> dict[str, object]:
        return {"room": self.room, "ids": list(self.ids)}

    @classmethod
    def read(cls, f: _Fields) -> Withheld:
        return cls(f.string("room"), f.strings("ids"))


@dataclass(frozen=True, slots=True)
class GalleryPresence:
    """A node (``sender``) to the leader (``hiroba:audio:ctl``): a viewer of its public
    gallery plane came (``arrived``) or went (issue 19), counted in the committee's gallery
    there. The sender's :class:`GallerySummary` confirms it every few seconds."""

    KIND: ClassVar[str] = "gallery"
    sender: str
    room: str
    viewer: str
    arrived: bool

    def fields(self) -> dict[str, object]:
        return {"from": self.sender, "room": self.room, "viewer": self.viewer,
                "arrived": int(self.arrived)}

    @classmethod
    def read(cls, f: _Fields) -> GalleryPresence:
        return cls(f.string("from"), f.string("room"), f.string("viewer"),
                   f.integer("arrived") == 1)


@dataclass(frozen=True, slots=True)
class GalleryCount:
    """The leader to every node (``hiroba:audio:ctl``): a room's gallery viewers on all
    nodes now and at most (issue 19), which each node tells its own viewers."""

    KIND: ClassVar[str] = "gallery_count"
    room: str
    viewers: int
    peak: int

    def fields(self) -> dict[str, object]:
        return {"room": self.room, "viewers": self.viewers, "peak": self.peak}

    @classmethod
    def read(cls, f: _Fields) -> GalleryCount:
        return cls(f.string("room"), f.integer("viewers"), f.integer("peak"))


#: The gallery's public messages the leader relays (:class:`GalleryPublic`): a room's whole
#: public state (``snapshot``) and the STATE messages its viewers are sent on a change.
GALLERY_PUBLIC_KINDS = frozenset({"snapshot", "state", "caption", "chat", "opinion"})
#: Largest relayed gallery message, as JSON (a snapshot: 30 chat lines, 50 opinions, 30
#: captions and the parts fit in far less); a larger one is not sent.
MAX_GALLERY_PUBLIC = 256 * 1024
#: Most viewer ids one node may report per summary (a node's cap is far below).
MAX_SUMMARY_VIEWERS = 20_000
#: Most hands and requests to speak one node reports per room.
MAX_SUMMARY_REQUESTS = 200


@dataclass(frozen=True, slots=True)
class GalleryPublic:
    """The leader to every node (``hiroba:audio:ctl``): one of a room's public gallery
    messages (issue 19), sent once per change per room while other nodes have viewers of
    it. ``message["t"]``: ``snapshot`` (what a ``hello`` carries besides the layout and
    the counts: kept by each node for its hellos) or a STATE message (``state``,
    ``caption``, ``chat``, ``opinion``) each node writes to its own viewers as it is."""

    KIND: ClassVar[str] = "gallery_public"
    room: str
    message: dict[str, Any]

    def fields(self) -> dict[str, object]:
        return {"room": self.room, "msg": self.message}

    @classmethod
    def read(cls, f: _Fields) -> GalleryPublic:
        room, message = f.string("room"), f._get("msg")
        if not isinstance(message, dict) or message.get("t") not in GALLERY_PUBLIC_KINDS:
            raise ValidationError(Reason.BAD_FIELD, "gallery_public: msg must be a public "
                                  "gallery message")
        if len(json.dumps(message)) > MAX_GALLERY_PUBLIC:
            raise ValidationError(Reason.TOO_LONG, "gallery_public: msg too large")
        return cls(room, message)


@dataclass(frozen=True, slots=True)
class GalleryAsk:
    """A node to the leader (``hiroba:audio:ctl``): its first viewer of ``room`` came;
    answered by a :class:`GalleryPublic` snapshot of it."""

    KIND: ClassVar[str] = "gallery_ask"
    sender: str
    room: str

    def fields(self) -> dict[str, object]:
        return {"from": self.sender, "room": self.room}

    @classmethod
    def read(cls, f: _Fields) -> GalleryAsk:
        return cls(f.string("from"), f.string("room"))


def _request(value: object) -> dict[str, object]:
    """One viewer's hand or request to speak as staff see it, its fields checked."""
    if not isinstance(value, dict) or set(value) != {"viewer", "name", "hand", "ask", "text",
                                                     "since"}:
        raise ValidationError(Reason.BAD_FIELD, "gallery_summary: a bad request")
    ok = (isinstance(value["viewer"], str) and len(value["viewer"]) <= 64
          and isinstance(value["name"], str) and len(value["name"]) <= 80
          and isinstance(value["hand"], bool) and isinstance(value["ask"], bool)
          and isinstance(value["text"], str) and len(value["text"]) <= 400
          and (value["since"] is None or (isinstance(value["since"], int | float)
                                          and not isinstance(value["since"], bool))))
    if not ok:
        raise ValidationError(Reason.BAD_FIELD, "gallery_summary: a bad request")
    return dict(value)


@dataclass(frozen=True, slots=True)
class GallerySummary:
    """A node to the leader (``hiroba:audio:ctl``), every few seconds while it has (or
    just had) gallery viewers: who they are, by room, and those with a hand up or asking
    to speak. The leader recounts the node's viewers from it, lists its requests to
    staff, and forgets the node when its summaries stop (it died without a word)."""

    KIND: ClassVar[str] = "gallery_summary"
    sender: str
    rooms: dict[str, tuple[str, ...]]
    requests: dict[str, tuple[dict[str, object], ...]]

    def fields(self) -> dict[str, object]:
        return {"from": self.sender, "rooms": {r: list(v) for r, v in self.rooms.items()},
                "requests": {r: list(v) for r, v in self.requests.items()}}

    @classmethod
    def read(cls, f: _Fields) -> GallerySummary:
        sender, rooms, requests = f.string("from"), f._get("rooms"), f._get("requests")
        if not isinstance(rooms, dict) or not isinstance(requests, dict):
            raise ValidationError(Reason.BAD_FIELD, "gallery_summary: rooms and requests "
                                  "map rooms")
        ids: dict[str, tuple[str, ...]] = {}
        for room, viewers in rooms.items():
            if not isinstance(viewers, list) or not all(isinstance(v, str) for v in viewers):
                raise ValidationError(Reason.BAD_FIELD, "gallery_summary: viewers are ids")
            ids[room] = tuple(viewers)
        if sum(len(v) for v in ids.values()) > MAX_SUMMARY_VIEWERS:
            raise ValidationError(Reason.TOO_LONG, "gallery_summary: too many viewers")
        asked: dict[str, tuple[dict[str, object], ...]] = {}
        for room, found in requests.items():
            if not isinstance(found, list) or len(found) > MAX_SUMMARY_REQUESTS:
                raise ValidationError(Reason.BAD_FIELD, "gallery_summary: bad requests")
            asked[room] = tuple(_request(r) for r in found)
        return cls(sender, ids, asked)


@dataclass(frozen=True, slots=True)
class GalleryPromote:
    """The leader to the node holding a gallery viewer (its ``hiroba:ctl:<node>``): staff
    promoted it; the node writes ``promoted {token, url}`` on that viewer's socket."""

    KIND: ClassVar[str] = "gallery_promote"
    room: str
    viewer: str
    token: str
    url: str

    def fields(self) -> dict[str, object]:
        return {"room": self.room, "viewer": self.viewer, "token": self.token, "url": self.url}

    @classmethod
    def read(cls, f: _Fields) -> GalleryPromote:
        return cls(f.string("room"), f.string("viewer"), f.string("token"), f.string("url"))


#: Every control message.
Message = (Connect | Disconnect | EventCall | AudioCall | Reply | ResumeIssued | AudioClose
           | Speakers | Withheld | GalleryPresence | GalleryCount | GalleryPublic | GalleryAsk
           | GallerySummary | GalleryPromote)

_CLASSES: tuple[type[Message], ...] = (Connect, Disconnect, EventCall, AudioCall, Reply,
                                       ResumeIssued, AudioClose, Speakers,
                                       Withheld, GalleryPresence, GalleryCount,
                                       GalleryPublic, GalleryAsk, GallerySummary,
                                       GalleryPromote)  # fmt: skip
_READERS: dict[str, Callable[[_Fields], Message]] = {c.KIND: c.read for c in _CLASSES}


def encode(message: Message) -> bytes:
    """The message as one JSON object. A reply whose ack cannot be written as JSON goes
    out with ``ack`` null, so that the edge waiting for it is answered at once."""
    body = {"k": message.KIND, **message.fields()}
    try:
        return json.dumps(body).encode()
    except (TypeError, ValueError):
        if not isinstance(message, Reply):
            raise
        return json.dumps({"k": Reply.KIND, "id": message.call, "ack": None}).encode()


def decode(data: bytes) -> Message:
    """The message in ``data``; ``ValidationError`` (with its reason) for anything else."""
    try:
        body = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationError(Reason.BAD_PAYLOAD, "a cluster message is not JSON") from exc
    if not isinstance(body, dict):
        raise ValidationError(Reason.BAD_PAYLOAD, "a cluster message is a JSON object")
    kind = body.get("k")
    reader = _READERS.get(kind) if isinstance(kind, str) else None
    if reader is None:
        raise ValidationError(Reason.BAD_PAYLOAD, f"unknown cluster message kind {str(kind)[:40]}")
    fields = _Fields(body, str(kind))
    message = reader(fields)
    fields.check_all_read()
    return message
