"""Incoming identity-video messages (docs/protocol.md, "Identity video"), validated at the edge."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from rooms.errors import Reason, ValidationError
from server.sockets.messages import MAX_SDP_LENGTH, _object, _string

#: Most video slots a viewer may ask for (the settings' own ceiling).
MAX_SLOTS = 32


def _offer(data: dict[str, object]) -> str:
    if data.get("type", "offer") != "offer":
        raise ValidationError(Reason.BAD_FIELD, "type must be offer")
    return _string(data, "sdp", MAX_SDP_LENGTH)


@dataclass(frozen=True, slots=True)
class IdentityPublish:
    """``identity:publish``: the SDP offer of one camera (one send-only video stream)."""

    sdp: str

    @classmethod
    def parse(cls, payload: object) -> IdentityPublish:
        return cls(_offer(dict(_object(payload, {"sdp"}, {"type"}))))


@dataclass(frozen=True, slots=True)
class IdentityView:
    """``identity:view``: the SDP offer of ``slots`` receive-only video streams."""

    sdp: str
    slots: int

    @classmethod
    def parse(cls, payload: object) -> IdentityView:
        data = dict(_object(payload, {"sdp", "slots"}, {"type"}))
        slots = data["slots"]
        if isinstance(slots, bool) or not isinstance(slots, int) or not 1 <= slots <= MAX_SLOTS:
            raise ValidationError(Reason.BAD_FIELD, f"slots must be an integer 1-{MAX_SLOTS}")
        return cls(_offer(data), slots)


class IdentityTarget(StrEnum):
    PUBLISH = "publish"
    VIEW = "view"
    ALL = "all"


@dataclass(frozen=True, slots=True)
class IdentityStop:
    """``identity:stop``: stop one's camera, one's viewing, or both (default)."""

    what: IdentityTarget = IdentityTarget.ALL

    @classmethod
    def parse(cls, payload: object) -> IdentityStop:
        data = _object(payload, set(), {"what"})
        if "what" not in data:
            return cls()
        try:
            return cls(IdentityTarget(str(data["what"])))
        except ValueError:
            raise ValidationError(Reason.BAD_FIELD, "what must be publish, view or all") from None
