"""The routing decision for one lead, on plain data: previous owner, ordered rules, team,
weighted round-robin. No database here; :mod:`nurture.routing.service` feeds it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from nurture.routing.roundrobin import Member, Pick, pick
from nurture.routing.rules import LeadFacts, Rule, first_match, preference_tiers, speaks


@dataclass
class ManagerInfo:
    """A manager with everything routing needs (``member`` holds the round-robin state)."""

    id: int
    email: str
    name: str
    team: str | None
    role: str = "manager"
    weight: float = 1.0
    capacity: int = 50
    timezone: str = "Europe/Moscow"
    work_start: str = "09:00"
    work_end: str = "18:00"
    active: bool = True
    absent_until: date | None = None
    profile: Mapping[str, Sequence[str] | None] = field(default_factory=dict)
    languages: Sequence[str] = ()
    member: Member = field(init=False)
    credit: float = 0.0
    load: int = 0

    def __post_init__(self) -> None:
        self.member = Member(
            id=self.id,
            weight=self.weight if self.role == "manager" else 0.0,
            capacity=self.capacity,
            load=self.load,
            credit=self.credit,
            available=self.available,
            name=self.name,
        )

    @property
    def available(self) -> bool:
        """Active (not departed) and not absent today."""
        return self.active and self.absent_until is None

    @property
    def in_rotation(self) -> bool:
        return self.role == "manager" and self.weight > 0

    def unavailable_reason(self) -> str:
        if not self.active:
            return "departed"
        if self.absent_until is not None:
            return f"absent until {self.absent_until.isoformat()}"
        return "available"


@dataclass
class TeamInfo:
    id: int
    name: str
    fallback: bool = False
    supervisor_email: str | None = None
    managers: list[ManagerInfo] = field(default_factory=list)


@dataclass(frozen=True)
class TeamPlan:
    """A team's members in rotation, in tiers of preference for one kind of lead."""

    tiers: list[list[ManagerInfo]]
    #: ids of the members in rotation who speak the lead's language
    speakers: frozenset[int]
    #: the lead has a language and some members in rotation do not speak it
    language_matters: bool

    @classmethod
    def of(cls, team: TeamInfo, lead: LeadFacts) -> TeamPlan:
        members = [m for m in team.managers if m.in_rotation]
        speakers = frozenset(m.id for m in members if speaks(m.profile, lead))
        return cls(
            tiers=preference_tiers(members, lambda m: m.profile, lead),
            speakers=speakers,
            language_matters=bool(lead.language) and len(speakers) < len(members),
        )

    def language_step(self, chosen: ManagerInfo, lead: LeadFacts) -> list[str]:
        """The routing explanation's word on language, when it made a difference."""
        if not self.language_matters:
            return []
        if chosen.id in self.speakers:
            return [f"speaks {lead.language}"]
        return [f"no one free speaks {lead.language}"]


@dataclass(frozen=True)
class Decision:
    lead_id: int
    manager_id: int
    team_id: int | None
    kind: str  # initial | returning | rebalance
    rule_name: str | None
    reason: str
    round_robin: bool
    overflow: bool = False


def _fmt_weight(weight: float) -> str:
    return f"{weight:g}"


class Router:
    """Decides who gets a lead. Mutates round-robin credits and weekly loads in place, so
    one Router serves one routing run over many leads."""

    def __init__(self, teams: Sequence[TeamInfo], rules: Sequence[Rule]):
        self.teams = {t.name: t for t in teams}
        self.rules = list(rules)
        self.managers: dict[int, ManagerInfo] = {}
        self.by_email: dict[str, ManagerInfo] = {}
        for t in teams:
            for m in t.managers:
                self.managers[m.id] = m
                self.by_email[m.email.casefold()] = m
        fallbacks = [t for t in teams if t.fallback]
        self.fallback: TeamInfo | None = fallbacks[0] if fallbacks else None
        self.needs_event_kind = any(r.uses_event_kind for r in self.rules)
        self.needs_score = any(r.uses_score for r in self.rules)
        # memo: lead key -> (first matching rule, per team: its members in preference tiers)
        self._plans: dict[tuple[Any, ...], tuple[Rule | None, dict[int, TeamPlan]]] = {}

    def add_manager(self, info: ManagerInfo) -> None:
        """Know a manager outside any team (e.g. a previous owner who changed team)."""
        self.managers.setdefault(info.id, info)

    def _describe(self, m: ManagerInfo, p: Pick) -> str:
        extra = ", everyone at capacity" if p.overflow else ""
        return (
            f"{m.name} (weight {_fmt_weight(m.weight)}, "
            f"{m.member.load} of {m.capacity} this week{extra})"
        )

    def _plan(self, lead: LeadFacts) -> tuple[Rule | None, dict[int, TeamPlan]]:
        """The matching rule and each team's members in preference tiers, memoised by the
        lead's routing fields (a million leads share a few thousand combinations)."""
        key = lead.key()
        plan = self._plans.get(key)
        if plan is None:
            teams = {t.id: TeamPlan.of(t, lead) for t in self.teams.values()}
            plan = (first_match(self.rules, lead), teams)
            if len(self._plans) > 100_000:
                self._plans.clear()
            self._plans[key] = plan
        return plan

    def _pick_in_team(self, lead: LeadFacts, overflow: bool, plan: TeamPlan) -> Pick | None:
        """The first tier with someone free takes the lead (round-robin inside the tier)."""
        for tier in plan.tiers:
            p = pick([m.member for m in tier], salt=lead.id, allow_overflow=overflow)
            if p is not None:
                return p
        return None

    def decide(
        self,
        lead: LeadFacts,
        *,
        previous_owner_id: int | None = None,
        kind: str = "initial",
        prefix: str = "",
    ) -> Decision | None:
        """The manager for ``lead`` and the reason, or None when nobody is available."""
        if previous_owner_id is not None:
            prev = self.managers.get(previous_owner_id)
            if prev is not None and prev.available:
                prev.member.load += 1
                prev_team = self.teams.get(prev.team) if prev.team else None
                return Decision(
                    lead_id=lead.id,
                    manager_id=prev.id,
                    team_id=prev_team.id if prev_team else None,
                    kind="returning",
                    rule_name=None,
                    reason=f"{prefix}returning lead -> previous owner {prev.name}",
                    round_robin=False,
                )
        rule, plans = self._plan(lead)
        steps: list[str] = []
        team: TeamInfo | None = None
        if rule is None:
            steps.append("no rule matched")
        else:
            steps.append(f'rule "{rule.name}"')
            if rule.manager:
                target = self.by_email.get(rule.manager.casefold())
                if target is not None and target.available and target.member.has_room:
                    target.member.load += 1
                    home = self.teams.get(target.team) if target.team else None
                    return Decision(
                        lead_id=lead.id,
                        manager_id=target.id,
                        team_id=home.id if home else None,
                        kind=kind,
                        rule_name=rule.name,
                        reason=(
                            f"{prefix}{steps[0]} -> {target.name} (weight "
                            f"{_fmt_weight(target.weight)}, {target.member.load} of "
                            f"{target.capacity} this week)"
                        ),
                        round_robin=False,
                    )
                if target is not None:
                    why = (
                        target.unavailable_reason()
                        if not target.available
                        else f"at capacity {target.capacity}"
                    )
                    steps.append(f"{target.name} {why}")
                    team = self.teams.get(target.team) if target.team else None
                else:
                    steps.append(f"{rule.manager} unknown")
            elif rule.team:
                team = self.teams.get(rule.team)
                if team is None:
                    steps.append(f"team {rule.team} unknown")
        chain: list[TeamInfo] = []
        if team is not None:
            chain.append(team)
        if self.fallback is not None and self.fallback not in chain:
            chain.append(self.fallback)
        for overflow in (False, True):
            tried: list[str] = []
            for t in chain:
                plan = plans[t.id]
                p = self._pick_in_team(lead, overflow, plan)
                label = f"team {t.name}" + (" (fallback)" if t.fallback and t is not team else "")
                if p is None:
                    tried.append(f"{label} (nobody available)")
                    continue
                m = self.managers[p.member.id]
                path = [*steps, *tried, label, *plan.language_step(m, lead)]
                path.append(self._describe(m, p))
                return Decision(
                    lead_id=lead.id,
                    manager_id=m.id,
                    team_id=t.id,
                    kind=kind,
                    rule_name=rule.name if rule else None,
                    reason=prefix + " -> ".join(path),
                    round_robin=True,
                    overflow=p.overflow,
                )
        return None

    def snapshot(self) -> dict[str, Any]:
        return {m.email: (m.member.credit, m.member.load) for m in self.managers.values()}
