"""Minutes approval (会議録署名): the versions of a recording's minutes, who signs them, and
when a version may be published. Pure rules: no I/O; the server stores the state
(``server/recording/approval.py``) and serves it (``server/recording/approval_routes.py``).

The secretariat (staff) saves drafts: version 1, 2, ... of the minutes' Markdown, each kept
for good with who saved it, when, and a short note. Staff then name the signers of the
latest version: the committee chair (exactly one) and the signing members (会議録署名委員).
Each signer approves or declines (with a reason) that very version from their own signing
account. Saving a new version moves the request to it and clears every decision: a
signature covers one text, never the next one. A version may be published only when every
named signer approved it (``not_approved`` otherwise); the published version stays the
public one until another approved version is published.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from rooms.errors import PermissionDenied, ProcedureError, Reason, ValidationError
from rooms.model import Role

#: Largest text of one version, in UTF-8 bytes (a three-hour meeting's transcript is a few
#: hundred kilobytes of Japanese; a diff of two versions this size runs off the event loop).
MAX_TEXT_BYTES = 1_000_000
#: Longest note of a version and longest reason of a decline, in characters.
MAX_NOTE = 200
MAX_REASON = 500
#: Signing members named besides the chair, at most.
MAX_MEMBERS = 5
#: The roles a signer signs as.
SIGNER_ROLES = (Role.CHAIR, Role.MEMBER)


@dataclass(frozen=True, slots=True)
class Version:
    """One saved draft of the minutes."""

    number: int
    text: str
    by: str
    at: float
    note: str = ""


@dataclass(frozen=True, slots=True)
class Signer:
    """A signing account and the role it signs as (chair, or a signing member)."""

    account: str
    role: Role


@dataclass(frozen=True, slots=True)
class Decision:
    """A signer's answer on the requested version."""

    approved: bool
    at: float
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Approval:
    """Everything but the texts: the request (version and signers), the decisions on it,
    and what was published."""

    #: The version the signers are asked to approve (0: no request yet).
    version: int = 0
    signers: tuple[Signer, ...] = ()
    requested_by: str = ""
    requested_at: float = 0.0
    decisions: Mapping[str, Decision] = field(default_factory=lambda: MappingProxyType({}))
    #: The version the public reads (0: none yet), by whom and when.
    published: int = 0
    published_by: str = ""
    published_at: float = 0.0

    def signer(self, account: str) -> Signer | None:
        """The named signer of that account, if named."""
        return next((s for s in self.signers if s.account == account), None)

    @property
    def approved(self) -> bool:
        """Whether every named signer approved the requested version."""
        return self.version > 0 and bool(self.signers) and all(
            (d := self.decisions.get(s.account)) is not None and d.approved
            for s in self.signers)

    def to_json(self) -> dict[str, Any]:
        """A JSON-able body (stored, and sent to the console)."""
        return {
            "version": self.version, "requested_by": self.requested_by,
            "requested_at": self.requested_at,
            "signers": [{"account": s.account, "role": s.role.value} for s in self.signers],
            "decisions": {a: {"approved": d.approved, "at": d.at, "reason": d.reason}
                          for a, d in self.decisions.items()},
            "approved": self.approved, "published": self.published,
            "published_by": self.published_by, "published_at": self.published_at,
        }

    @staticmethod
    def from_json(body: Mapping[str, Any]) -> Approval:
        """The inverse of :meth:`to_json` (stored bodies only: trusted)."""
        return Approval(
            version=int(body["version"]), requested_by=str(body["requested_by"]),
            requested_at=float(body["requested_at"]),
            signers=tuple(Signer(str(s["account"]), Role(s["role"])) for s in body["signers"]),
            decisions=MappingProxyType({
                str(a): Decision(bool(d["approved"]), float(d["at"]), str(d["reason"]))
                for a, d in body["decisions"].items()}),
            published=int(body["published"]), published_by=str(body["published_by"]),
            published_at=float(body["published_at"]),
        )


def check_text(text: object) -> str:
    """A version's text: a string of at most :data:`MAX_TEXT_BYTES` UTF-8 bytes, not blank."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationError(Reason.BAD_FIELD, "text must be the minutes' Markdown")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_TEXT_BYTES:
        raise ValidationError(Reason.TOO_LONG, f"the minutes are at most {MAX_TEXT_BYTES} bytes")
    return text


def _short(value: object, limit: int, what: str, *, required: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or len(value) > limit or (required and not value.strip()):
        raise ValidationError(Reason.BAD_FIELD, f"{what} is a text of 1 to {limit} characters"
                              if required else f"{what} is a text of at most {limit} characters")
    return value.strip()


def new_version(latest: int, text: object, note: object, by: str, now: float) -> Version:
    """The version after ``latest`` (its number is ``latest + 1``)."""
    return Version(latest + 1, check_text(text), by, now, _short(note, MAX_NOTE, "note"))


def after_new_version(state: Approval, number: int) -> Approval:
    """A new version was saved: a pending request moves to it and every decision is
    cleared (a signature covers one text). What was published stays published."""
    if state.version == 0:
        return state
    return replace(state, version=number, decisions=MappingProxyType({}))


def parse_signers(raw: object) -> tuple[Signer, ...]:
    """``[{account, role: "chair"|"member"}, ...]``: exactly one chair, up to
    :data:`MAX_MEMBERS` members, each account once."""
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_MEMBERS + 1:
        raise ValidationError(Reason.BAD_FIELD, f"signers is a list of 1 to {MAX_MEMBERS + 1}")
    out: list[Signer] = []
    for item in raw:
        if not isinstance(item, dict) or set(item) != {"account", "role"}:
            raise ValidationError(Reason.BAD_FIELD, "each signer is {account, role}")
        account, role = item["account"], item["role"]
        if not isinstance(account, str) or not account or len(account) > 32:
            raise ValidationError(Reason.BAD_FIELD, "a signer's account is its account name")
        if role not in ("chair", "member"):
            raise ValidationError(Reason.BAD_FIELD, "a signer signs as chair or member")
        if any(s.account == account for s in out):
            raise ValidationError(Reason.DUPLICATE, f"signer {account!r} is named twice")
        out.append(Signer(account, Role(role)))
    if sum(1 for s in out if s.role is Role.CHAIR) != 1:
        raise ValidationError(Reason.BAD_FIELD, "name exactly one chair among the signers")
    return tuple(out)


def request(state: Approval, latest: int, version: object, signers: tuple[Signer, ...],
            by: str, now: float) -> Approval:
    """Staff mark ``version`` (which must be the latest) for approval by ``signers``;
    earlier decisions are cleared."""
    if latest == 0:
        raise ProcedureError(Reason.WRONG_STATE, "save a draft first")
    if version != latest:
        raise ProcedureError(Reason.WRONG_STATE, f"only the latest version ({latest}) can be "
                             "marked for approval")
    return replace(state, version=latest, signers=signers, requested_by=by,
                   requested_at=now, decisions=MappingProxyType({}))


def decide(state: Approval, account: str, version: object, approved: bool, reason: object,
           now: float) -> Approval:
    """A named signer approves (or declines, with a reason) the requested version. Another
    version (an older or a newer one than requested) is ``wrong_state``: the signer must
    read the text being signed. A signer may change their answer until publication."""
    if state.signer(account) is None:
        raise PermissionDenied(Reason.FORBIDDEN, "you are not a signer of these minutes")
    if state.version == 0 or version != state.version:
        raise ProcedureError(Reason.WRONG_STATE, f"version {state.version} is the one to sign"
                             if state.version else "nothing is waiting for approval")
    why = "" if approved else _short(reason, MAX_REASON, "reason", required=True)
    decisions = dict(state.decisions)
    decisions[account] = Decision(approved, now, why)
    return replace(state, decisions=MappingProxyType(decisions))


def publish(state: Approval, version: object, by: str, now: float) -> Approval:
    """Staff publish ``version``: only the requested version, once every signer approved
    it (``not_approved`` otherwise)."""
    if not isinstance(version, int) or version != state.version or not state.approved:
        raise ProcedureError(Reason.NOT_APPROVED, "only a version every named signer "
                             "approved can be published")
    return replace(state, published=version, published_by=by, published_at=now)


def may_read(state: Approval, account: str) -> bool:
    """Whether a signing account may read these drafts: only when named on them."""
    return state.signer(account) is not None


def unified_diff(a: Version, b: Version, *, context: int = 3) -> str:
    """The unified diff from version ``a`` to version ``b`` (line by line; it may take a
    while on large texts: the server runs it off the event loop)."""
    return "".join(difflib.unified_diff(
        a.text.splitlines(keepends=True), b.text.splitlines(keepends=True),
        fromfile=f"v{a.number}", tofile=f"v{b.number}", n=context))
