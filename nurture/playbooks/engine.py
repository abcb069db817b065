"""The playbook engine's decisions, on plain data: which actions a stage visit needs now,
whether the stage is complete, which exit it takes, when reminders and escalation levels
fall due. No database here: :mod:`nurture.playbooks.deals` reads the state, asks, writes.

A *visit* is one stay of a deal in a stage (a deal sent back to an earlier stage visits it
again); its actions carry the visit's stamp in their keys, so each is created once per visit
even with two workers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nurture.playbooks import conditions
from nurture.playbooks.calendar import BusinessCalendar, Duration
from nurture.playbooks.spec import TERMINALS, ActionSpec, EscalationLevel, ExitSpec, StageSpec

#: The chain of tasks outside playbooks (cadence calls, first contacts, follow-ups): a missed
#: hard deadline goes to the supervisor once.
DEFAULT_CHAIN: tuple[EscalationLevel, ...] = (
    EscalationLevel(after="0 business hours", notify="supervisor"),
)
FINISHED_TASK = ("done",)
FINISHED_STEP = ("succeeded",)


def visit_stamp(entered_at: datetime) -> str:
    """A visit's stamp: the moment the deal entered the stage, to the microsecond."""
    return f"{int(entered_at.timestamp() * 1_000_000):d}"


def action_key(deal_id: int, stamp: str, stage: str, action: str) -> str:
    """The idempotency key of one action of one visit (tasks, step runs, e-mails)."""
    return f"deal.{deal_id}.{stamp}.{stage}.{action}"


@dataclass
class VisitState:
    """What exists of a visit: action key -> status (``open``/``done``/``cancelled`` for
    people's tasks; ``pending``/``running``/``succeeded``/``failed``/``dead`` for automated
    steps) and the done tasks' outcome values in action order."""

    statuses: dict[str, str] = field(default_factory=dict)
    outcomes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def finished(self, key: str) -> bool:
        return self.statuses.get(key) in FINISHED_TASK + FINISHED_STEP


Scope = Mapping[str, Mapping[str, Any]]


def _walk(stage: StageSpec, state: VisitState, scope: Scope) -> tuple[list[ActionSpec], set[str]]:
    """(actions to create now, actions skipped by their ``when``), in stage order."""
    create: list[ActionSpec] = []
    skipped: set[str] = set()
    for i, action in enumerate(stage.actions):
        if action.key in state.statuses:
            continue
        if action.after == "previous":
            before = stage.actions[i - 1].key if i > 0 else None
            if before is None or not (state.finished(before) or before in skipped):
                continue
            if action.when is not None and not conditions.parse(action.when)(scope):
                skipped.add(action.key)
                continue
        create.append(action)
    return create, skipped


def actions_to_create(stage: StageSpec, state: VisitState, scope: Scope) -> list[ActionSpec]:
    """Actions that should exist now and do not: every ``after: stage`` action, and each
    ``after: previous`` action once the action before it finished (if its ``when`` holds)."""
    return _walk(stage, state, scope)[0]


def stage_complete(stage: StageSpec, state: VisitState, scope: Scope) -> bool:
    """Every required action of the visit is finished or skipped by its ``when``."""
    skipped = _walk(stage, state, scope)[1]
    return all(a.optional or a.key in skipped or state.finished(a.key) for a in stage.actions)


def stage_outcome(stage: StageSpec, state: VisitState) -> dict[str, Any]:
    """The visit's outcome values by field (a later action's value wins)."""
    merged: dict[str, Any] = {}
    for action in stage.actions:
        merged.update(state.outcomes.get(action.key, {}))
    return merged


def choose_exit(stage: StageSpec, scope: Mapping[str, Mapping[str, Any]]) -> ExitSpec:
    """The first exit whose condition holds (the last one has none: validation sees to it)."""
    for ex in stage.exits:
        if ex.when is None or conditions.parse(ex.when)(scope):
            return ex
    return stage.exits[-1]


def is_terminal(target: str) -> bool:
    return target in TERMINALS


def due_time(cal: BusinessCalendar, anchor: datetime, action: ActionSpec) -> datetime:
    return cal.add(anchor, Duration.parse(action.due))


def next_reminder(
    cal: BusinessCalendar, due: datetime, remind: Sequence[str], now: datetime
) -> datetime | None:
    """The earliest reminder moment still ahead of ``now`` (reminders before the deadline)."""
    moments = sorted(cal.subtract(due, Duration.parse(r)) for r in remind)
    return next((m for m in moments if m > now and m < due), None)


def level_time(cal: BusinessCalendar, due: datetime, level: EscalationLevel) -> datetime:
    """When a level falls due: its ``after`` counted from the deadline."""
    return cal.add(due, Duration.parse(level.after))


@dataclass(frozen=True)
class Firing:
    """Levels of one task's chain that fall due now, and when the next one will."""

    levels: tuple[int, ...]  # 1-based
    next_at: datetime | None


def due_levels(
    chain: Sequence[EscalationLevel],
    fired: int,
    cal: BusinessCalendar,
    due: datetime,
    now: datetime,
) -> Firing:
    """The levels after ``fired`` whose time has come at ``now`` (several at once after a
    clock jump: each still once), and the time of the first level still ahead."""
    levels: list[int] = []
    for number, level in enumerate(chain, start=1):
        if number <= fired:
            continue
        at = level_time(cal, due, level)
        if at <= now:
            levels.append(number)
        else:
            return Firing(tuple(levels), at)
    return Firing(tuple(levels), None)
