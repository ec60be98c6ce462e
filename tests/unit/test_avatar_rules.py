"""moderation/avatar_rules.py: principals are normalised as names and account names are,
the licence decides whom a VRM file may be bound to (an unknown permission as strictly as
"only the author"), and an upload's state moves only along approve and withdraw."""

from __future__ import annotations

import pytest

from moderation.avatar_rules import (
    LicenceRefused,
    check_binding,
    may_approve,
    may_upload,
    next_status,
    parse_principal,
)
from rooms.errors import HirobaError, Reason
from rooms.model import Role

ME, OTHER, MEMBER = "staff:jimu", "staff:kaori", "member:田中 委員"


def test_principals_are_normalised() -> None:
    assert parse_principal("member:田中\u3000委員") == MEMBER
    assert parse_principal("member:ＴＡＮＡＫＡ") == "member:TANAKA"
    assert parse_principal("staff: JIMU ") == ME
    for bad in ("citizen:さくら", "田中委員", "member:", "member:\u200b", "staff:x y", 3, None):
        with pytest.raises(HirobaError):
            parse_principal(bad)


@pytest.mark.parametrize(("permission", "bound_to", "confirmed", "allowed"), [
    ("everyone", MEMBER, False, True),
    ("everyone", OTHER, False, True),
    ("licensed_person", MEMBER, False, False),
    ("licensed_person", MEMBER, True, True),
    ("licensed_person", ME, False, True),  # the uploader themself
    ("only_author", ME, False, True),
    ("only_author", MEMBER, True, False),  # a confirmation does not widen it
    ("only_author", OTHER, False, False),
    ("", MEMBER, True, False),  # unknown: as strict as only_author
    ("Everyone", MEMBER, True, False),
    ("nonsense", ME, False, True),
])
def test_the_licence_rule(permission: str, bound_to: str, confirmed: bool,
                          allowed: bool) -> None:
    if allowed:
        check_binding(permission, uploader=ME, bound_to=bound_to, licence_confirmed=confirmed)
        return
    with pytest.raises(LicenceRefused) as refused:
        check_binding(permission, uploader=ME, bound_to=bound_to, licence_confirmed=confirmed)
    assert refused.value.reason is Reason.BAD_AVATAR and refused.value.limit == "licence"


def test_states_and_who_may() -> None:
    assert next_status("pending", "approve") == "approved"
    assert next_status("withdrawn", "approve") == "approved"
    assert next_status("pending", "withdraw") == "withdrawn"
    assert next_status("approved", "withdraw") == "withdrawn"
    for current, change in (("approved", "approve"), ("withdrawn", "withdraw"),
                            ("pending", "delete")):
        with pytest.raises(HirobaError):
            next_status(current, change)
    assert [r for r in Role if may_upload(r)] == [Role.STAFF]
    assert [r for r in Role if may_approve(r)] == [Role.STAFF]
