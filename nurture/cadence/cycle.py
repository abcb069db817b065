"""One nurture cycle: ``run_cycle(session, now=...)``.

Order: route unassigned leads (when the routing capability is installed), sync touch
statuses from the outbox and tasks, apply stop rules, enrol (events, dormant customers),
plan due touches (queue e-mails, create owner tasks), run the playbooks' escalations
(escalation digests, daily digests, fallback e-mails), then measure coverage and repair
gaps. Every step is idempotent, so two runs at the same ``now`` do nothing more than one.

Each campaign's stop rules, enrolment and planning run under a
:class:`~nurture.cadence.guard.CampaignGuard`: when a campaign fails, that step's writes for
it are rolled back, it sits out the rest of the cycle and is reported in
``CycleSummary.failed_campaigns``; the other campaigns go on.

Sharded (``shard=Shard(...)``, ``nurture run --shard K/N``), several workers share one
cycle. The planning, the heavy per-lead part, is split by lead (:mod:`nurture.cadence.
shards`); the rest is global, cheap next to it, and idempotent. A sharded run is three
transactions, each committed before the next begins:

1. the common part before planning (routing, touch statuses, stop rules, enrolment,
   dormant re-engagement) under the lock ``cycle``, the same as an unsharded cycle's: the
   first shard to take the lock at a given ``now`` does it and marks it done for that
   ``now`` (table ``cycle_marks``, in the same transaction); the next shards of the same
   ``now`` see the mark and skip it (``CycleSummary.common_skipped``);
2. the shard's planning under the lock ``cycle.shard.<N>.<K>``: the shards of one N plan
   in parallel on PostgreSQL (SQLite has one writer: they take turns);
3. the common part after planning (task owners, escalations, coverage and its repair)
   under ``cycle`` again. Each worker measures coverage over all leads; the last worker to
   finish sees every shard's plan. The summary's coverage figures are global; its planning
   figures are the shard's.

Nothing is planned twice when shards overlap, or when a sharded and an unsharded cycle do:
the unique keys of touches, outbox rows and tasks, and an enrolment moving only from where
it was staged (:mod:`nurture.cadence.planner`), hold whatever the locks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, exists, func, select, update
from sqlalchemy.orm import Session

from nurture.cadence import coverage, dormant, enrolment, planner, stops
from nurture.cadence.campaigns import CampaignSpec, load_specs
from nurture.cadence.guard import CampaignGuard
from nurture.cadence.shards import Shard
from nurture.cadence.statements import affected
from nurture.db.cadence import Campaign, CycleMark, Task
from nurture.db.leads import Lead
from nurture.db.sql import advisory_xact_lock, dialect_insert

Specs = list[tuple[Campaign, CampaignSpec]]


@dataclass
class CycleSummary:
    now: datetime
    routed: int = 0
    stopped: dict[str, int] = field(default_factory=dict)
    enrolled: dict[str, int] = field(default_factory=dict)
    reengaged: int = 0
    reengage_waiting: int = 0
    planned: int = 0
    skipped: int = 0
    shifted: int = 0
    completed: int = 0
    emails_queued: int = 0
    tasks_created: int = 0
    escalations: int = 0
    escalations_without_supervisor: int = 0
    open_leads: int = 0
    next_step_share: float = 1.0
    uncovered_found: int = 0
    untouched_over_30d_found: int = 0
    repaired: dict[str, int] = field(default_factory=dict)
    #: campaigns rolled back and skipped in this cycle: slug -> one line of why
    failed_campaigns: dict[str, str] = field(default_factory=dict)
    #: ``K/N`` of a sharded run (its planning figures are that shard's), else None
    shard: str | None = None
    # a sharded cycle whose common part another shard had done for the same now
    common_skipped: bool = False

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["now"] = self.now.isoformat()
        return out

    @property
    def did_anything(self) -> bool:
        return bool(
            self.routed
            or self.stopped
            or self.enrolled
            or self.reengaged
            or self.planned
            or self.skipped
            or self.shifted
            or self.emails_queued
            or self.tasks_created
            or self.escalations
            or self.repaired
        )


def route(session: Session, *, now: datetime) -> int:
    """Route leads still unassigned (routing is part of every cycle); how many were assigned."""
    from nurture.routing import route_unassigned

    return route_unassigned(session, now=now).assigned


def assign_task_owners(session: Session) -> None:
    """Open tasks created before their lead had an owner go to the owner now."""
    owner = select(Lead.owner_id).where(Lead.id == Task.lead_id).scalar_subquery()
    session.execute(
        update(Task)
        .where(
            Task.status == "open",
            Task.manager_id.is_(None),
            exists(select(Lead.id).where(Lead.id == Task.lead_id, Lead.owner_id.is_not(None))),
        )
        .values(manager_id=owner)
        .execution_options(synchronize_session=False)
    )


def fire_escalations(session: Session, *, now: datetime) -> tuple[int, int]:
    """The playbooks capability's escalation run (``nurture.playbooks``): missed deadlines
    escalate level by level, each level once, told in one digest per supervisor; stalled
    deals reported; managers' daily digests and reminders; fallback e-mails to leads whose
    call or reminder task is overdue past its campaign's grace (before coverage is measured
    below). Returns (levels fired, levels waiting for someone to tell)."""
    from nurture.playbooks import run_escalations

    done = run_escalations(session, now=now)
    return done.escalated, done.without_recipient


def serialise(session: Session, lock: str = "cycle") -> None:
    """Two cycles (or two runs of one shard's planning, ``lock``) never interleave: a
    transaction-scoped lock on PostgreSQL, and on SQLite a write as the first statement,
    which takes the database's write lock for the whole transaction (a cycle that first
    read and later wrote could find another writer's commit in between and fail). Unique
    keys keep even an unlocked overlap harmless."""
    advisory_xact_lock(session, lock)
    session.execute(update(Campaign).where(Campaign.id < 0).values(priority=Campaign.priority))


def run_cycle(session: Session, *, now: datetime, shard: Shard | None = None) -> CycleSummary:
    """Run one nurture cycle at ``now`` (aware UTC) in the caller's transaction.

    With ``shard``, plan only that shard's leads and commit as it goes (three transactions,
    see the module's docstring): ``session`` must not be in a transaction yet
    (``with session_factory()() as session: run_cycle(session, now=..., shard=...)``).
    """
    if shard is not None:
        return _run_sharded(session, now=now, shard=shard)
    serialise(session)
    summary = CycleSummary(now=now)
    guard = CampaignGuard(session)
    specs = _before_planning(session, now=now, summary=summary, guard=guard)
    _plan(session, specs, now=now, guard=guard, summary=summary)
    _after_planning(session, now=now, summary=summary)
    return summary


def run_configured_cycle(
    *, now: datetime, shard: Shard | None = None, engine: Engine | None = None
) -> CycleSummary:
    """Run one cycle on the configured database (or ``engine``), committed: one transaction
    unsharded, the three of a sharded cycle with ``shard`` (the CLI's and the flow's way)."""
    from nurture.db.session import session_factory, session_scope

    if shard is None:
        with session_scope(engine) as session:
            return run_cycle(session, now=now)
    with session_factory(engine)() as session:
        return run_cycle(session, now=now, shard=shard)


def _run_sharded(session: Session, *, now: datetime, shard: Shard) -> CycleSummary:
    if session.in_transaction():
        raise RuntimeError(
            "a sharded cycle commits as it goes: pass a session outside a transaction"
        )
    summary = CycleSummary(now=now, shard=shard.label)
    with session.begin():
        serialise(session)
        common = CampaignGuard(session)
        if mark_done(session, now=now, part="before"):
            _before_planning(session, now=now, summary=summary, guard=common)
        else:
            summary.common_skipped = True
    with session.begin():
        serialise(session, shard.lock_name)
        guard = CampaignGuard(session)
        for slug, why in common.failed.items():
            guard.fail(slug, why)  # failed in the common part: sits out the planning too
        specs = load_specs(session, guard=guard)
        _plan(session, specs, now=now, guard=guard, summary=summary, shard=shard)
    with session.begin():
        serialise(session)
        _after_planning(session, now=now, summary=summary)
    return summary


def mark_done(session: Session, *, now: datetime, part: str) -> bool:
    """Mark ``part`` of the cycle at ``now`` done in the caller's transaction (under the
    ``cycle`` lock); False when another shard has marked it already. Marks a week older
    than ``now`` are deleted: they only matter while the shards of their cycle run."""
    session.execute(delete(CycleMark).where(CycleMark.at < now - timedelta(days=7)))
    insert = dialect_insert(session, CycleMark).values(at=now, part=part, done_at=now)
    return affected(session, insert.on_conflict_do_nothing()) > 0


def _before_planning(
    session: Session, *, now: datetime, summary: CycleSummary, guard: CampaignGuard
) -> Specs:
    """Route, sync touch statuses, stop, enrol, re-engage; the campaigns' specs."""
    summary.routed = route(session, now=now)
    specs = load_specs(session, guard=guard)
    stops.sync_touch_status(session)
    summary.stopped = stops.apply_stop_rules(session, specs, now=now, guard=guard)
    summary.enrolled = enrolment.enrol_automatic(session, specs, now=now, guard=guard)
    again = dormant.reengage(session, specs, now=now, guard=guard)
    summary.reengaged = again["reengaged"]
    summary.reengage_waiting = again["waiting"]
    return specs


def _plan(
    session: Session,
    specs: Specs,
    *,
    now: datetime,
    guard: CampaignGuard,
    summary: CycleSummary,
    shard: Shard | None = None,
) -> None:
    plan = planner.plan_due(session, specs, now=now, guard=guard, shard=shard)
    summary.planned = plan.planned
    summary.skipped = plan.skipped
    summary.shifted = plan.shifted
    summary.completed = plan.completed
    summary.emails_queued = plan.emails_queued
    summary.tasks_created = plan.tasks_created
    summary.failed_campaigns = dict(guard.failed)


def _after_planning(session: Session, *, now: datetime, summary: CycleSummary) -> None:
    """Task owners, escalations, coverage and its repair."""
    assign_task_owners(session)
    summary.escalations, summary.escalations_without_supervisor = fire_escalations(session, now=now)
    found = coverage.report(session, now=now, first_touch=False)
    summary.open_leads = found.open_leads
    summary.next_step_share = found.next_step_share
    summary.uncovered_found = len(found.uncovered)
    summary.untouched_over_30d_found = len(found.untouched_over_30d)
    summary.repaired = coverage.repair(session, now=now, found=found)


def count_open_tasks(session: Session) -> int:
    return int(session.scalar(select(func.count(Task.id)).where(Task.status == "open")) or 0)


def summary_markdown(summary: dict[str, Any]) -> str:
    """A cycle summary (``CycleSummary.as_dict()``) as a Markdown table."""
    rows = [
        ("routed", summary.get("routed")),
        ("stopped", summary.get("stopped")),
        ("enrolled", summary.get("enrolled")),
        ("re-engaged", summary.get("reengaged")),
        ("touches planned", summary.get("planned")),
        ("touches skipped", summary.get("skipped")),
        ("shifted by the cap", summary.get("shifted")),
        ("e-mails queued", summary.get("emails_queued")),
        ("owner tasks", summary.get("tasks_created")),
        ("escalations", summary.get("escalations")),
        ("open leads", summary.get("open_leads")),
        ("next step share", summary.get("next_step_share")),
        ("found without next step", summary.get("uncovered_found")),
        ("found untouched > 30 days", summary.get("untouched_over_30d_found")),
        ("repaired", summary.get("repaired")),
    ]
    failed: dict[str, str] = summary.get("failed_campaigns") or {}
    rows.append(("failed campaigns (rolled back, skipped)", len(failed)))
    title = f"# Nurture cycle at {summary.get('now')}"
    if summary.get("shard"):
        title += f", shard {summary['shard']}"
    lines = [title, "", "| | |", "|---|---|"]
    lines += [f"| {name} | {_cell(value)} |" for name, value in rows]
    if failed:
        lines += ["", "## Failed campaigns", "", "| campaign | why |", "|---|---|"]
        lines += [f"| {_cell(slug)} | {_cell(why)} |" for slug, why in sorted(failed.items())]
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    """A value as one Markdown table cell (no line breaks, no column separators)."""
    return " ".join(str(value).split()).replace("|", "\\|")
