"""Incoming audio-plane messages (docs/protocol.md, "Audio"), validated at the edge."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from rooms.errors import Reason, ValidationError
from server.sockets.messages import MAX_SDP_LENGTH, _object, _string

#: Most receive-only audio slots a listener may ask for (the plane's own ceiling).
MAX_SLOTS = 8


def _offer(data: dict[str, object]) -> str:
    if data.get("type", "offer") != "offer":
        raise ValidationError(Reason.BAD_FIELD, "type must be offer")
    return _string(data, "sdp", MAX_SDP_LENGTH)


@dataclass(frozen=True, slots=True)
class AudioPublish:
    """``audio:publish``: the SDP offer of one microphone (one audio stream)."""

    sdp: str

    @classmethod
    def parse(cls, payload: object) -> AudioPublish:
        return cls(_offer(dict(_object(payload, {"sdp"}, {"type"}))))


@dataclass(frozen=True, slots=True)
class AudioListen:
    """``audio:listen``: the SDP offer of ``slots`` receive-only audio streams."""

    sdp: str
    slots: int

    @classmethod
    def parse(cls, payload: object) -> AudioListen:
        data = dict(_object(payload, {"sdp", "slots"}, {"type"}))
        slots = data["slots"]
        if isinstance(slots, bool) or not isinstance(slots, int) or not 1 <= slots <= MAX_SLOTS:
            raise ValidationError(Reason.BAD_FIELD, f"slots must be an integer 1-{MAX_SLOTS}")
        return cls(_offer(data), slots)


class AudioTarget(StrEnum):
    PUBLISH = "publish"
    LISTEN = "listen"
    ALL = "all"


@dataclass(frozen=True, slots=True)
class AudioClose:
    """``audio:close``: stop one's microphone, one's listening, or both (default)."""

    what: AudioTarget = AudioTarget.ALL

    @classmethod
    def parse(cls, payload: object) -> AudioClose:
        data = _object(payload, set(), {"what"})
        if "what" not in data:
            return cls()
        try:
            return cls(AudioTarget(str(data["what"])))
        except ValueError:
            raise ValidationError(Reason.BAD_FIELD, "what must be publish, listen or all") from None
