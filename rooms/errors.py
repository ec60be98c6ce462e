"""The one exception hierarchy of Hiroba, with machine-readable reason codes.

Every layer raises :class:`HirobaError` (or a subclass); the server turns it into an ack
``{"ok": false, "reason": ..., "message": ...}`` or an HTTP 4xx. The reason codes are
listed in ``docs/protocol.md``.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Reason codes sent back to clients. Keep in step with docs/protocol.md."""

    BAD_PAYLOAD = "bad_payload"
    UNKNOWN_FIELD = "unknown_field"
    MISSING_FIELD = "missing_field"
    BAD_FIELD = "bad_field"
    BAD_NAME = "bad_name"
    #: The display name reads like that of an invited member, the chair or staff present.
    NAME_RESERVED = "name_reserved"
    NO_SUCH_ROOM = "no_such_room"
    ROOM_FULL = "room_full"
    BAD_TOKEN = "bad_token"
    NOT_JOINED = "not_joined"
    UNKNOWN_EVENT = "unknown_event"
    RATE_LIMITED = "rate_limited"
    NOT_FOUND = "not_found"
    MODEL_UNAVAILABLE = "model_unavailable"
    #: Server-side face tracking is at its capacity (``server_tracking_max``).
    TRACKING_FULL = "tracking_full"
    #: The node holds as many microphones or WebRTC listeners as it may
    #: (``audio_max_uplinks`` / ``audio_max_listeners``); try again later.
    AUDIO_FULL = "audio_full"
    #: One client address (an IPv6 /64) holds as many of something as it may (audio
    #: uplinks or listeners per address); close one first.
    ADDRESS_LIMIT = "address_limit"
    #: A room has as many identity-check cameras or viewers as it may
    #: (``identity_max_publishers`` / ``identity_max_viewers``).
    IDENTITY_FULL = "identity_full"
    INTERNAL = "internal"
    #: Cluster mode: the leader could not be reached (it is changing over); try again.
    UNAVAILABLE = "unavailable"
    # Meeting procedure and governance (moderation/).
    FORBIDDEN = "forbidden"
    MUTED = "muted"
    BANNED = "banned"
    IN_LOBBY = "in_lobby"
    PROTECTED_TARGET = "protected_target"
    WRONG_STATE = "wrong_state"
    DUPLICATE = "duplicate"
    NO_SUCH_ITEM = "no_such_item"
    TOO_LONG = "too_long"
    NG_WORD = "ng_word"
    CODE_REQUIRED = "code_required"
    BAD_CODE = "bad_code"
    #: A device identity whose signature is wrong (forged or from another server).
    BAD_DEVICE = "bad_device"
    BAD_CREDENTIALS = "bad_credentials"
    SESSION_EXPIRED = "session_expired"
    #: (staff HTTP calls) the CSRF token header is missing or wrong, or a foreign Origin.
    BAD_CSRF = "bad_csrf"
    #: (minutes approval) the version is not approved by every named signer (HTTP 409).
    NOT_APPROVED = "not_approved"

    # Committee procedure (moderation/committee.py, issue 16).
    #: A vote cannot open: too few members are present and verified (定足数).
    NO_QUORUM = "no_quorum"
    #: The session is not that of a member of this committee's roster.
    NOT_MEMBER = "not_member"
    #: The member is recused (除斥) for the motion being decided.
    RECUSED = "recused"
    #: The sender is held out of a committee's closed session (秘密会): until it reopens
    #: they may only leave (or wait, as in the lobby).
    CLOSED_SESSION = "closed_session"
    #: The committee requires a live identity camera while voting (its rule
    #: ``camera_during_vote``) and the member's camera was not sending when they cast.
    CAMERA_REQUIRED = "camera_required"

    # VRM avatars (avatar/vrm_check.py, issue 18).
    #: An uploaded avatar file was refused by the validator; ``limit`` names the rule.
    BAD_AVATAR = "bad_avatar"


class HirobaError(Exception):
    """An error whose reason can be told to the client that caused it."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message

    def to_ack(self) -> dict[str, object]:
        """The acknowledgement a client receives for this error."""
        return {"ok": False, "reason": self.reason.value, "message": self.message}


class ValidationError(HirobaError):
    """Input rejected at the edge: wrong shape, type, length or value."""


class RoomError(HirobaError):
    """A room refused an operation (unknown room, full, not joined)."""


class PermissionDenied(HirobaError):
    """The permission policy refused an action (role, mute, ban, lobby, protected target)."""


class ProcedureError(HirobaError):
    """A meeting-procedure operation the current state does not allow (``wrong_state``),
    a repeat of something done once per person (``duplicate``), or an unknown item."""
