"""VRM avatars (issue 18): who may upload and approve them, whom a file may be bound to,
and how an upload's state moves. Pure: the server's ``server/avatars`` asks these.

A file is bound to one *principal*: ``member:<name>`` (a committee member or chair, by the
name their invitation fixes, normalised as :func:`rooms.names.normalise_name` does) or
``staff:<account>`` (a staff account). Whoever joins as that principal wears the file once
staff approved it; citizens never wear an uploaded file.

The licence rule honours the VRM file's own metadata (its avatar permission, normalised by
``avatar/vrm_check.py``): ``only_author`` — the file may be bound only to the account that
uploads it; ``licensed_person`` — only when the uploader confirms the person holds a
licence from the author; ``everyone`` — to anyone. Anything else is read as
``only_author`` (the strictest): an unknown word never widens who may wear a file.
"""

from __future__ import annotations

from moderation import policy
from moderation.accounts import normalise_account_name
from moderation.policy import Action
from rooms.errors import PermissionDenied, ProcedureError, Reason, ValidationError
from rooms.model import Role
from rooms.names import normalise_name

#: The normalised avatar permissions of a VRM file's metadata.
PERMISSIONS = ("only_author", "licensed_person", "everyone")
#: Upload states: waiting for approval, worn and public, taken back.
STATUSES = ("pending", "approved", "withdrawn")
#: The longest label staff may give an upload (characters).
LABEL_MAX = 80
MEMBER = "member"
STAFF = "staff"


class LicenceRefused(PermissionDenied):
    """The file's licence does not allow this binding: refused with ``bad_avatar`` and the
    limit ``licence``, as the validator's refusals name theirs."""

    limit = "licence"

    def __init__(self, message: str) -> None:
        super().__init__(Reason.BAD_AVATAR, message)


def staff_principal(account: str) -> str:
    """The principal of a staff account."""
    return f"{STAFF}:{normalise_account_name(account)}"


def member_principal(name: str) -> str:
    """The principal of a member or chair invited under ``name``."""
    return f"{MEMBER}:{normalise_name(name)}"


def parse_principal(raw: object) -> str:
    """``member:<name>`` or ``staff:<account>``, normalised; ``bad_field`` otherwise."""
    if not isinstance(raw, str) or ":" not in raw:
        raise ValidationError(Reason.BAD_FIELD, "for must be member:<name> or staff:<account>")
    kind, _, name = raw.partition(":")
    if kind == MEMBER:
        return member_principal(name)
    if kind == STAFF:
        return staff_principal(name)
    raise ValidationError(Reason.BAD_FIELD, "for must be member:<name> or staff:<account>")


def may_upload(role: Role) -> bool:
    """Whether someone of ``role`` may upload avatar files (and see the uploads)."""
    return policy.decide(role, Action.AVATAR_UPLOAD).allowed


def may_approve(role: Role) -> bool:
    """Whether someone of ``role`` may approve or withdraw avatar files."""
    return policy.decide(role, Action.AVATAR_APPROVE).allowed


def check_binding(permission: str, *, uploader: str, bound_to: str,
                  licence_confirmed: bool) -> None:
    """Raise :class:`LicenceRefused` unless a file whose avatar permission is
    ``permission`` may be bound to ``bound_to`` by ``uploader`` (both principals)."""
    if permission == "everyone":
        return
    if permission == "licensed_person":
        if bound_to == uploader or licence_confirmed:
            return
        raise LicenceRefused("this model may be used only by people its author licensed: "
                             "confirm that the person holds such a licence")
    if bound_to != uploader:
        raise LicenceRefused("this model may be used only by its author: it can be bound "
                             "only to the account that uploads it")


def next_status(current: str, change: str) -> str:
    """The state after ``change`` (``approve`` or ``withdraw``) of an upload in ``current``;
    ``wrong_state`` when it does not apply (approving what is approved, withdrawing what
    is withdrawn)."""
    if change == "approve" and current in ("pending", "withdrawn"):
        return "approved"
    if change == "withdraw" and current in ("pending", "approved"):
        return "withdrawn"
    if change not in ("approve", "withdraw"):
        raise ValidationError(Reason.BAD_FIELD, "change must be approve or withdraw")
    raise ProcedureError(Reason.WRONG_STATE, f"this model is {current}")
