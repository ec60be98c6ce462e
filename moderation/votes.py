"""Counting a committee vote (表決): the four methods, results by name, the outcome.

Pure arithmetic over who could vote and what each chose; :mod:`moderation.committee`
keeps the votes and calls :func:`tally` at close. ``passed`` iff yes × 2 > voters; yes ×
2 == voters is a tie (可否同数) the chair decides (委員長裁決). Simple assent (簡易表決)
passes without objection and otherwise ends ``objected`` (the chair takes another vote).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class Method(StrEnum):
    HANDS = "hands"        # 挙手
    STANDING = "standing"  # 起立
    NAMED = "named"        # 記名投票
    ASSENT = "assent"      # 簡易表決


#: What a member may send for each method. ``none``: hand down / seated / no objection.
CHOICES: Mapping[Method, frozenset[str]] = {
    Method.HANDS: frozenset({"yes", "none"}),
    Method.STANDING: frozenset({"yes", "none"}),
    Method.NAMED: frozenset({"yes", "no", "abstain"}),
    Method.ASSENT: frozenset({"object", "none"}),
}


class Outcome(StrEnum):
    PASSED = "passed"
    REJECTED = "rejected"
    OBJECTED = "objected"
    #: 可否同数: waiting for the chair's decision.
    TIE = "tie"


@dataclass(frozen=True, slots=True)
class Tally:
    """A closed vote's count: results by member id (``yes``/``no``/``abstain``/``absent``/
    ``recused``; assent: ``object``/``none``), totals and the outcome."""

    by_member: tuple[tuple[str, str], ...]
    yes: int
    no: int
    abstain: int
    objections: int
    voters: int
    outcome: Outcome


def tally(
    method: Method, members: Iterable[str], voters: frozenset[str], recused: frozenset[str],
    choices: Mapping[str, str],
) -> Tally:
    """Count a vote. ``members``: every voting-capable member (the chair excluded);
    ``voters``: those present, verified and not recused at close; ``choices``: what each
    sent. Hands/standing: a voter not ``yes`` counts ``no``. Named: a voter who cast
    nothing counts ``abstain`` (abstentions do not make the yes side bigger)."""
    rows: list[tuple[str, str]] = []
    yes = no = abstain = objections = 0
    for member in sorted(members):
        choice = choices.get(member)
        if member in recused:
            result = "recused"
        elif member not in voters:
            result = "absent"
        elif method is Method.ASSENT:
            result = "object" if choice == "object" else "none"
            objections += result == "object"
        elif method is Method.NAMED:
            result = choice if choice in ("yes", "no", "abstain") else "abstain"
        else:
            result = "yes" if choice == "yes" else "no"
        yes += result == "yes"
        no += result == "no"
        abstain += result == "abstain"
        rows.append((member, result))
    count = len(voters - recused)
    if method is Method.ASSENT:
        outcome = Outcome.OBJECTED if objections else Outcome.PASSED
    elif yes * 2 > count:
        outcome = Outcome.PASSED
    elif yes * 2 == count:
        outcome = Outcome.TIE
    else:
        outcome = Outcome.REJECTED
    return Tally(tuple(rows), yes, no, abstain, objections, count, outcome)
