"""Ordered routing rules on plain data: the first rule whose conditions all hold wins.

Pure functions, no database: :class:`LeadFacts` is what the service reads of a lead,
:class:`Rule` what the team file says. A condition is a list of accepted values (any of them
matches, case- and ``ё``-insensitive, ``*`` and ``?`` work as wildcards) or, for the score,
``score_min`` / ``score_max``. A rule with no conditions matches every lead.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, TypeVar

from nurture.db.leads import ROUTING_FIELDS

#: Lead fields a rule may test with a list of values: the lead's routing facts and the
#: kinds of events it came from.
LIST_FIELDS: tuple[str, ...] = (*ROUTING_FIELDS, "event_kind")
#: Numeric bounds on the lead's latest score (p_purchase, 0..1).
SCORE_FIELDS = ("score_min", "score_max")
CONDITION_FIELDS = LIST_FIELDS + SCORE_FIELDS


@lru_cache(maxsize=65536)
def _norm(value: str) -> str:
    return " ".join(value.replace("ё", "е").replace("Ё", "Е").casefold().split())


def norm(value: str | None) -> str:
    """Comparable form of a value: trimmed, case-folded, ``ё`` as ``е``, inner spaces single."""
    if value is None:
        return ""
    return _norm(str(value))


@dataclass(slots=True)
class LeadFacts:
    """What routing knows of one lead: its ``ROUTING_FIELDS`` (every one a field here),
    the kinds of events it came from and its latest score."""

    id: int
    country: str | None = None
    city: str | None = None
    language: str | None = None
    interest: str | None = None
    company: str | None = None
    segment: str | None = None
    event_kinds: frozenset[str] = frozenset()
    score: float | None = None

    def key(self) -> tuple[Any, ...]:
        """Everything a routing decision depends on except the id (for memoising)."""
        return (
            self.country,
            self.city,
            self.language,
            self.interest,
            self.company,
            self.segment,
            self.event_kinds,
            self.score,
        )

    def values(self, name: str) -> list[str]:
        """Normalised values of field ``name`` (``event_kind`` may have several)."""
        if name == "event_kind":
            return [norm(k) for k in self.event_kinds if k]
        raw = getattr(self, name)
        if name == "interest" and raw:
            # "CRM, analytics" means two interests
            return [norm(part) for part in str(raw).replace(";", ",").split(",") if part.strip()]
        return [norm(raw)] if raw else []


@dataclass(frozen=True)
class Rule:
    """``conditions`` -> a team (round-robin inside it) or one manager (by e-mail)."""

    name: str
    conditions: Mapping[str, Any] = field(default_factory=dict)
    team: str | None = None
    manager: str | None = None
    position: int = 0

    @cached_property
    def patterns(self) -> dict[str, list[str]]:
        """Normalised accepted values per list condition (computed once)."""
        out: dict[str, list[str]] = {}
        for name, accepted in self.conditions.items():
            if name in SCORE_FIELDS or not accepted:
                continue
            out[name] = [norm(a) for a in (accepted if isinstance(accepted, list) else [accepted])]
        return out

    @property
    def uses_event_kind(self) -> bool:
        return bool(self.conditions.get("event_kind"))

    @property
    def uses_score(self) -> bool:
        return any(self.conditions.get(k) is not None for k in SCORE_FIELDS)


def _pattern_match(value: str, patterns: Iterable[str]) -> bool:
    for p in patterns:
        if any(ch in p for ch in "*?["):
            if fnmatch.fnmatchcase(value, p):
                return True
        elif value == p:
            return True
    return False


def matches(rule: Rule, lead: LeadFacts) -> bool:
    """True when every condition of ``rule`` holds for ``lead``.

    A lead without a value for a tested field does not match that condition.
    """
    for name, accepted in rule.conditions.items():
        if name in SCORE_FIELDS:
            if accepted is None:
                continue
            if lead.score is None:
                return False
            if name == "score_min" and lead.score < float(accepted):
                return False
            if name == "score_max" and lead.score > float(accepted):
                return False
            continue
        if not accepted:
            continue
        patterns = rule.patterns[name]
        values = lead.values(name)
        if not any(_pattern_match(v, patterns) for v in values):
            return False
    return True


def first_match(rules: Sequence[Rule], lead: LeadFacts) -> Rule | None:
    """The first rule (in order) that matches ``lead``, or None (the fallback team's turn)."""
    for rule in rules:
        if matches(rule, lead):
            return rule
    return None


def speaks(profile: Mapping[str, Sequence[str] | None], lead: LeadFacts) -> bool:
    """Does a manager speak the lead's language? Yes when either side does not say."""
    accepted = profile.get("languages")
    values = lead.values("language")
    if not accepted or not values:
        return True
    patterns = [norm(a) for a in accepted]
    return any(_pattern_match(v, patterns) for v in values)


P = TypeVar("P")


def preference_tiers(
    members: Sequence[P],
    profile_of: Callable[[P], Mapping[str, Sequence[str] | None]],
    lead: LeadFacts,
) -> list[list[P]]:
    """``members`` in tiers of preference for ``lead``: those whose whole profile fits,
    then those who speak the lead's language, then everyone. Empty tiers and tiers equal
    to the one before are left out, so the first tier is who routing tries first."""
    fitting = [m for m in members if compatible(profile_of(m), lead)]
    speaking = [m for m in members if speaks(profile_of(m), lead)]
    tiers: list[list[P]] = []
    for tier in (fitting, speaking, list(members)):
        if tier and (not tiers or len(tier) != len(tiers[-1])):
            tiers.append(tier)
    return tiers


def compatible(profile: Mapping[str, Sequence[str] | None], lead: LeadFacts) -> bool:
    """Does a manager's profile (languages, countries, cities, products, segments) accept
    ``lead``? An empty list accepts anything, and so does a lead without that value."""
    pairs = (
        ("languages", "language"),
        ("countries", "country"),
        ("cities", "city"),
        ("products", "interest"),
        ("segments", "segment"),
    )
    for key, lead_field in pairs:
        accepted = profile.get(key)
        if not accepted:
            continue
        values = lead.values(lead_field)
        if not values:
            continue
        patterns = [norm(a) for a in accepted]
        if not any(_pattern_match(v, patterns) for v in values):
            return False
    return True
