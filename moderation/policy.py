"""The permission policy: the one place that says what each role may do."""

from __future__ import annotations

from rooms.model import Role

#: Roles that take a stage seat when they join a room with free seats.
_SEATED = frozenset({Role.MEMBER, Role.CHAIR})
#: Roles that may walk onto the stage.
_ON_STAGE = frozenset({Role.MEMBER, Role.CHAIR, Role.STAFF})
#: Role of anyone who joins without a role token.
ANONYMOUS_ROLE = Role.CITIZEN


def takes_seat(role: Role) -> bool:
    """Whether a participant of ``role`` is seated on the stage when they join."""
    return role in _SEATED


def may_enter_stage(role: Role) -> bool:
    """Whether a participant of ``role`` may walk onto the stage."""
    return role in _ON_STAGE
