"""Incoming socket messages: validated at the edge into frozen dataclasses.

No raw payload travels past this module. Every rejection is a ``ValidationError`` with a
reason code (see docs/protocol.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from moderation.credentials import MAX_CODE_INPUT, is_device_token
from moderation.resume import MAX_RESUME_LENGTH
from moderation.tokens import MAX_TOKEN_LENGTH
from rooms.appearance import AvatarStyle
from rooms.errors import Reason, ValidationError
from rooms.names import normalise_name

LANGUAGES = ("ja", "en", "zh", "ko")
MAX_DEVICE_LENGTH = 64
MAX_ROOM_ID_LENGTH = 64
#: Coordinates beyond this are nonsense for any room; rejecting them early keeps
#: arithmetic on the rest well-behaved.
MAX_COORDINATE = 1.0e4


def _object(payload: object, required: set[str], optional: set[str]) -> Mapping[str, object]:
    if payload is None and not required:
        return {}
    if not isinstance(payload, Mapping):
        raise ValidationError(Reason.BAD_PAYLOAD, "payload must be a JSON object")
    for key in payload:
        if not isinstance(key, str) or key not in required | optional:
            raise ValidationError(Reason.UNKNOWN_FIELD, f"unknown field: {str(key)[:40]}")
    for key in sorted(required):
        if key not in payload:
            raise ValidationError(Reason.MISSING_FIELD, f"missing field: {key}")
    return payload


def _string(data: Mapping[str, object], key: str, max_length: int) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise ValidationError(Reason.BAD_FIELD, f"{key} must be a string")
    if not value or len(value) > max_length:
        raise ValidationError(Reason.BAD_FIELD, f"{key} must be 1-{max_length} characters")
    return value


def _number(data: Mapping[str, object], key: str, limit: float) -> float:
    value = data[key]
    # bool is an int subclass; true/false are not coordinates.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(Reason.BAD_FIELD, f"{key} must be a number")
    number = float(value)
    if not math.isfinite(number) or abs(number) > limit:
        raise ValidationError(Reason.BAD_FIELD, f"{key} must be a finite number within ±{limit:g}")
    return number


@dataclass(frozen=True, slots=True)
class JoinRequest:
    name: str
    room: str
    lang: str
    token: str | None
    avatar: AvatarStyle
    #: The device token the server gave this browser on an earlier join.
    device: str | None = None
    #: A consultation's registration code.
    code: str | None = None
    #: Only watch and listen, from the public gallery.
    gallery: bool = False
    #: Enter as staff, under the staff login of this browser (its session cookie).
    staff: bool = False
    #: The resume token of an earlier join's ack: keep that participant id.
    resume: str | None = None

    @classmethod
    def parse(cls, payload: object) -> JoinRequest:
        data = _object(payload, {"name", "room", "lang"},
                       {"token", "avatar", "device", "code", "gallery", "staff", "resume"})
        lang = data["lang"]
        if lang not in LANGUAGES:
            raise ValidationError(Reason.BAD_FIELD, f"lang must be one of {', '.join(LANGUAGES)}")
        token = device = code = resume = None
        if data.get("resume") is not None:
            resume = _string(data, "resume", MAX_RESUME_LENGTH)
        if data.get("token") is not None:
            token = _string(data, "token", MAX_TOKEN_LENGTH)
        if data.get("device") is not None:
            device = _string(data, "device", MAX_DEVICE_LENGTH)
            if not is_device_token(device):
                raise ValidationError(Reason.BAD_FIELD, "device is not a device token")
        if data.get("code") is not None:
            code = _string(data, "code", MAX_CODE_INPUT)
        for key in ("gallery", "staff"):
            if not isinstance(data.get(key, False), bool):
                raise ValidationError(Reason.BAD_FIELD, f"{key} must be true or false")
        return cls(
            name=normalise_name(data["name"]),
            room=_string(data, "room", MAX_ROOM_ID_LENGTH),
            lang=str(lang),
            token=token,
            avatar=AvatarStyle.parse(data.get("avatar")),
            device=device,
            code=code,
            gallery=bool(data.get("gallery", False)),
            staff=bool(data.get("staff", False)),
            resume=resume,
        )


@dataclass(frozen=True, slots=True)
class MoveRequest:
    x: float
    z: float
    h: float

    @classmethod
    def parse(cls, payload: object) -> MoveRequest:
        data = _object(payload, {"x", "z", "h"}, set())
        return cls(
            x=_number(data, "x", MAX_COORDINATE),
            z=_number(data, "z", MAX_COORDINATE),
            h=_number(data, "h", 1000.0),
        )


@dataclass(frozen=True, slots=True)
class LeaveRequest:
    @classmethod
    def parse(cls, payload: object) -> LeaveRequest:
        _object(payload, set(), set())
        return cls()


#: Longest SDP offer accepted (a one-video offer with candidates is 3-6 kB, a browser's
#: audio offer ~1.5 kB per stream; the socket message limit applies anyway).
MAX_SDP_LENGTH = 15_000


@dataclass(frozen=True, slots=True)
class RtcOfferRequest:
    sdp: str

    @classmethod
    def parse(cls, payload: object) -> RtcOfferRequest:
        data = _object(payload, {"type", "sdp"}, set())
        if data["type"] != "offer":
            raise ValidationError(Reason.BAD_FIELD, "type must be offer")
        return cls(_string(data, "sdp", MAX_SDP_LENGTH))


@dataclass(frozen=True, slots=True)
class RtcCloseRequest:
    @classmethod
    def parse(cls, payload: object) -> RtcCloseRequest:
        _object(payload, set(), set())
        return cls()
