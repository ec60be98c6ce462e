"""The gallery plane's messages (docs/protocol.md, "Gallery plane"). Pure: no I/O.

Downlink, binary, little-endian; every message starts ``u8 kind | u8 flags | u32 seq``.

FRAME (every frame period, the same bytes for every viewer of a room)::

    u8 0x11 | u8 flags (bit 0: closed session) | u32 seq | u32 server_ms
    | u16 n_posed | u16 n_plain | u32 crowd | u8 n_audio
    | n_posed x posed entry (the motion plane's: plain entry + compact pose)
    | n_plain x plain entry (u16 slot | i16 x_cm | i16 z_cm | i16 h)
    | n_audio x (u16 slot | u32 rtp_ts | u16 age_ms | u16 len | Opus payload)

STATE: ``u8 0x13 | u8 0 | u32 seq | UTF-8 JSON object`` with a ``"t"`` member.

Uplink: text JSON of at most :data:`MAX_UPLINK` bytes (``hand``, ``ask``).

The stage and the audio travel in one message so that the page, playing both through one
jitter buffer, keeps mouths and voices together; and one message per period is one write
per viewer, the whole per-viewer cost of the plane.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any

from rooms.errors import Reason, ValidationError
from server.motion import codec as motion_codec

KIND_FRAME = 0x11
KIND_STATE = 0x13
FLAG_CLOSED = 0x01
HEADER = struct.Struct("<BBI")
FRAME_HEAD = struct.Struct("<BBIIHHIB")
AUDIO_HEAD = struct.Struct("<HIHH")
#: Audio packets in one frame at most (a few speakers, three 20 ms packets each).
MAX_AUDIO = 32
#: Longest Opus payload carried (a 20 ms speech packet is 40-120 bytes; 1275 is Opus's own
#: limit for one frame).
MAX_PAYLOAD = 1275
#: Longest uplink message (bytes of UTF-8 JSON).
MAX_UPLINK = 512
#: Longest name a viewer may give when asking to speak.
MAX_ASK_NAME = 40
#: Longest text of a request to speak.
MAX_ASK_TEXT = 200


@dataclass(frozen=True, slots=True)
class AudioEntry:
    """One floor speaker's Opus packet as a frame carries it."""

    slot: int
    rtp_ts: int
    age_ms: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class Frame:
    """A decoded FRAME (tests, the bench and the reference for the page's decoder)."""

    seq: int
    closed: bool
    server_ms: int
    crowd: int
    entries: list[motion_codec.FrameEntry]
    audio: list[AudioEntry]


def encode_frame(seq: int, *, server_ms: int, crowd: int, posed: list[bytes],
                 plain: bytes, n_plain: int, audio: list[AudioEntry],
                 closed: bool = False) -> bytes:  # fmt: skip
    """One FRAME. ``posed``: posed entries as the motion plane caches them (plain entry +
    compact pose); ``plain``: ``n_plain`` plain entries back to back. A closed session's
    frame carries no entries and no audio, whatever is passed."""
    if closed:
        posed, plain, n_plain, audio = [], b"", 0, []
    if len(audio) > MAX_AUDIO:
        raise ValueError(f"at most {MAX_AUDIO} audio packets in a frame")
    if len(plain) != n_plain * motion_codec.PLAIN_SIZE:
        raise ValueError("plain entries do not match their count")
    parts = [FRAME_HEAD.pack(KIND_FRAME, FLAG_CLOSED if closed else 0, seq & 0xFFFFFFFF,
                             server_ms & 0xFFFFFFFF, len(posed), n_plain,
                             min(crowd, 0xFFFFFFFF), len(audio)),
             *posed, plain]  # fmt: skip
    for a in audio:
        if len(a.payload) > MAX_PAYLOAD:
            raise ValueError("an Opus payload longer than one frame may be")
        parts.append(AUDIO_HEAD.pack(a.slot, a.rtp_ts & 0xFFFFFFFF, min(a.age_ms, 0xFFFF),
                                     len(a.payload)))  # fmt: skip
        parts.append(a.payload)
    return b"".join(parts)


def encode_state(seq: int, message: dict[str, Any]) -> bytes:
    """One STATE message: ``message`` (with its ``"t"``) as compact UTF-8 JSON."""
    if not isinstance(message.get("t"), str):
        raise ValueError("a state message names its type in 't'")
    body = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
    return HEADER.pack(KIND_STATE, 0, seq & 0xFFFFFFFF) + body


def decode(data: bytes | bytearray | memoryview) -> Frame | dict[str, Any]:
    """A downlink message: a :class:`Frame` or a STATE's JSON object. Raises
    ``ValidationError(BAD_PAYLOAD)`` for anything malformed, never another exception."""
    raw = bytes(data)
    if len(raw) < HEADER.size:
        raise ValidationError(Reason.BAD_PAYLOAD, "a gallery message has a 6-byte header")
    kind = raw[0]
    if kind == KIND_STATE:
        try:
            body = json.loads(raw[HEADER.size :].decode())
        except (UnicodeDecodeError, ValueError) as exc:
            raise ValidationError(Reason.BAD_PAYLOAD, "a state message is JSON") from exc
        if not isinstance(body, dict) or not isinstance(body.get("t"), str):
            raise ValidationError(Reason.BAD_PAYLOAD, "a state message is an object with 't'")
        return body
    if kind != KIND_FRAME:
        raise ValidationError(Reason.BAD_PAYLOAD, f"unknown gallery message kind {kind}")
    return _decode_frame(raw)


def _decode_frame(raw: bytes) -> Frame:
    try:
        _, flags, seq, server_ms, n_posed, n_plain, crowd, n_audio = FRAME_HEAD.unpack_from(raw)
    except struct.error as exc:
        raise ValidationError(Reason.BAD_PAYLOAD, "a gallery frame has a 19-byte head") from exc
    if flags & ~FLAG_CLOSED:
        raise ValidationError(Reason.BAD_PAYLOAD, "unknown gallery frame flags")
    if n_audio > MAX_AUDIO:
        raise ValidationError(Reason.BAD_PAYLOAD, "too many audio packets in a frame")
    at = FRAME_HEAD.size
    # The entries are exactly a motion frame's: decoded by the motion codec behind a
    # header made up for it, so the two can never disagree.
    entries_end = at
    try:
        for _ in range(n_posed):
            entries_end = motion_codec.decode_compact(raw, entries_end + motion_codec.PLAIN_SIZE)[1]
    except ValidationError:
        raise ValidationError(Reason.BAD_PAYLOAD, "truncated gallery frame") from None
    entries_end += n_plain * motion_codec.PLAIN_SIZE
    if entries_end > len(raw):
        raise ValidationError(Reason.BAD_PAYLOAD, "truncated gallery frame")
    _, entries = motion_codec.decode_frame(
        motion_codec.frame_header(seq, n_posed, n_plain) + raw[at:entries_end]
    )
    at = entries_end
    audio = []
    for _ in range(n_audio):
        try:
            slot, ts, age, length = AUDIO_HEAD.unpack_from(raw, at)
        except struct.error as exc:
            raise ValidationError(Reason.BAD_PAYLOAD, "truncated gallery audio") from exc
        at += AUDIO_HEAD.size
        if length > MAX_PAYLOAD or at + length > len(raw):
            raise ValidationError(Reason.BAD_PAYLOAD, "truncated gallery audio")
        audio.append(AudioEntry(slot, ts, age, raw[at : at + length]))
        at += length
    if at != len(raw):
        raise ValidationError(Reason.BAD_PAYLOAD, "gallery frame length does not match")
    return Frame(seq, bool(flags & FLAG_CLOSED), server_ms, crowd, entries, audio)


@dataclass(frozen=True, slots=True)
class Hand:
    up: bool


@dataclass(frozen=True, slots=True)
class Ask:
    """Ask to speak (``cancel``: the request withdrawn)."""

    name: str
    text: str
    cancel: bool


Uplink = Hand | Ask


def decode_uplink(data: str | bytes) -> Uplink:
    """A viewer's message; ``ValidationError(BAD_PAYLOAD)`` (or ``BAD_FIELD``) otherwise."""
    if isinstance(data, bytes | bytearray):
        raise ValidationError(Reason.BAD_PAYLOAD, "gallery uplinks are JSON text")
    if len(data.encode()) > MAX_UPLINK:
        raise ValidationError(Reason.BAD_PAYLOAD, f"a gallery uplink is at most {MAX_UPLINK} bytes")
    try:
        msg = json.loads(data)
    except ValueError as exc:
        raise ValidationError(Reason.BAD_PAYLOAD, "a gallery uplink is JSON") from exc
    if not isinstance(msg, dict):
        raise ValidationError(Reason.BAD_PAYLOAD, "a gallery uplink is an object")
    kind = msg.get("t")
    if kind == "hand":
        up = msg.get("up")
        if not isinstance(up, bool):
            raise ValidationError(Reason.BAD_FIELD, "hand: up is true or false")
        return Hand(up)
    if kind == "ask":
        cancel = msg.get("cancel", False)
        name, text = msg.get("name", ""), msg.get("text", "")
        if not isinstance(cancel, bool) or not isinstance(name, str) or not isinstance(text, str):
            raise ValidationError(Reason.BAD_FIELD, "ask: name and text are strings")
        name, text = name.strip(), text.strip()
        if len(name) > MAX_ASK_NAME or len(text) > MAX_ASK_TEXT:
            raise ValidationError(Reason.BAD_FIELD,
                                  f"ask: a name of at most {MAX_ASK_NAME} characters, "
                                  f"a text of at most {MAX_ASK_TEXT}")  # fmt: skip
        return Ask(name, text, cancel)
    raise ValidationError(Reason.BAD_PAYLOAD, f"unknown gallery uplink {kind!r}")
