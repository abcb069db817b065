"""The escalation run: ``nurture escalate``, the escalations flow and the nurture cycle call
:func:`run_escalations` (one transaction, serialised between workers).

1. **Overdue**: open tasks past due that the run has not seen yet (a partial index keeps this
   set small) get ``overdue_at`` and a ``task.overdue`` event, and tasks outside playbooks
   with a hard deadline are armed for the default chain (level 1: the supervisor, at the
   deadline). Two set-based statements.
2. **Escalations**: armed tasks whose next level is due (``escalate_at <= now``, a partial
   index). Each level due now fires once: an ``escalations`` row unique per task and level
   (``ON CONFLICT DO NOTHING``) decides, so even two workers past the lock could not fire it
   twice. ``notify`` levels tell the supervisor, the owner, a role pool or an address;
   ``reassign`` levels give the task to the next manager (or a pool member). The task's
   level and the time of its next level are written back.
3. **Stalled deals**: open deals without progress for their stage's ``stall_after`` (business
   days of the owner) are reported to the supervisor once per stall.
4. **Digests**: everything fired in this run goes out as one e-mail per recipient, in their
   zone and language, signed by Nurture. After a clock jump that is still one e-mail per
   supervisor, listing every missed deadline.
5. **Daily digests and reminders**: each manager inside the first working hours of their
   local day gets one digest a day (overdue work, today's, and reminders due before the day
   ends); reminders it carries are marked done and move to their next moment.
6. **Fallback e-mails**: a call or reminder task of an e-mailable lead overdue by its
   campaign's grace (default 5 business days) sends the lead the campaign's fallback
   e-mail ("we tried to reach you"), once per task, so no e-mailable lead goes 30 days
   untouched while its owner does nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, case, insert, literal, select, update
from sqlalchemy.orm import Session

from nurture.config import get_settings
from nurture.db.cadence import Task
from nurture.db.leads import Lead
from nurture.db.playbooks import Deal, Escalation, ProcessEvent
from nurture.db.sql import advisory_xact_lock, dialect_insert, is_postgres
from nurture.db.team import Manager, Team
from nurture.playbooks import engine, events, people
from nurture.playbooks.calendar import BusinessCalendar, Duration
from nurture.playbooks.digests import (
    EscalationDigest,
    EscalationItem,
    Recipient,
    escalation_row,
)
from nurture.playbooks.notices import insert_outbox, staff_language
from nurture.playbooks.settings import get_playbook_settings
from nurture.playbooks.spec import EscalationLevel
from nurture.playbooks.sqlfuncs import id_in
from nurture.playbooks.versions import spec_of

_TASKS: Table = Task.__table__  # type: ignore[assignment]
_EVENTS: Table = ProcessEvent.__table__  # type: ignore[assignment]
_ESCALATIONS: Table = Escalation.__table__  # type: ignore[assignment]


@dataclass
class EscalationSummary:
    """What one run did (``as_json``: the ``nurture escalate --json`` object)."""

    now: datetime
    escalated: int = 0
    reminded: int = 0
    stalled: int = 0
    overdue: int = 0
    reassigned: int = 0
    without_recipient: int = 0
    digests: int = 0
    daily_digests: int = 0
    fallback_emails: int = 0

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["now"] = self.now.isoformat()
        return out


def serialise(session: Session) -> None:
    """One escalation run at a time: PostgreSQL's advisory lock; on SQLite a first write
    takes the database's write lock for the whole transaction."""
    advisory_xact_lock(session, "escalations")
    if not is_postgres(session):
        session.execute(update(Team).where(Team.id < 0).values(name=Team.name))


def run_escalations(session: Session, *, now: datetime) -> EscalationSummary:
    """One escalation run at ``now`` in the caller's transaction (see the module doc)."""
    from nurture.playbooks.daily import send_daily_digests
    from nurture.playbooks.fallback import send_fallback_emails

    serialise(session)
    summary = EscalationSummary(now=now)
    summary.overdue = mark_overdue(session, now=now)
    run = _Run(session, now)
    run.fire(summary)
    run.stalled_deals(summary)
    summary.digests = run.queue_digests()
    summary.daily_digests, summary.reminded = send_daily_digests(session, now=now)
    summary.fallback_emails = send_fallback_emails(session, now=now)
    return summary


def mark_overdue(session: Session, *, now: datetime) -> int:
    """Newly overdue open tasks: a ``task.overdue`` event each, ``overdue_at`` set, and the
    default chain armed for hard deadlines outside playbooks. Two set-based statements over
    the partial index of open tasks not yet seen overdue."""
    t = _TASKS.c
    unseen = and_(t.status == literal_open(), t.overdue_at.is_(None), t.due_at <= now)
    picked = select(
        literal(now, _EVENTS.c.at.type),
        literal("task.overdue"),
        t.lead_id,
        t.deal_id,
        t.id,
        literal(events.SYSTEM),
    ).where(unseen)
    session.execute(
        insert(_EVENTS).from_select(
            ["at", "type", "lead_id", "deal_id", "task_id", "actor"], picked
        )
    )
    armed = case(
        (
            and_(t.deal_id.is_(None), t.deadline == "hard", t.escalation_level == 0),
            t.due_at,
        ),
        else_=t.escalate_at,
    )
    res = session.execute(
        update(_TASKS)
        .where(unseen)
        .values(overdue_at=now, escalate_at=armed)
        .execution_options(synchronize_session=False, preserve_rowcount=True)
    )
    return int(getattr(res, "rowcount", 0) or 0)


def literal_open() -> Any:
    """``'open'`` inline, so the partial indexes' ``status = 'open'`` matches on SQLite too."""
    from sqlalchemy import literal_column

    return literal_column("'open'")


class _Run:
    """State of one run: people, calendars, chains, what fired, the digests to send."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now
        self.settings = get_settings()
        self.staff = {m.id: m for m in session.scalars(select(Manager))}
        self.by_email = {m.email: m for m in self.staff.values()}
        self.sups = people.supervisor_emails(session)
        self.calendars: dict[int, BusinessCalendar] = {}
        self.digests: dict[str, EscalationDigest] = {}
        self.chains: dict[tuple[int, str, str], tuple[EscalationLevel, ...]] = {}
        self.deals: dict[int, Deal] = {}

    # ------------------------------------------------------------------ helpers

    def calendar(self, manager_id: int | None) -> BusinessCalendar:
        if manager_id is None or manager_id not in self.staff:
            return people.default_calendar()
        if manager_id not in self.calendars:
            self.calendars.update(
                people.load_calendars(self.session, [manager_id], around=self.now)
            )
        return self.calendars[manager_id]

    def chain(
        self, deal_id: int | None, stage: str | None, action: str | None
    ) -> tuple[EscalationLevel, ...]:
        if deal_id is None or stage is None or action is None:
            return engine.DEFAULT_CHAIN
        deal = self.deal(deal_id)
        if deal is None:
            return engine.DEFAULT_CHAIN
        key = (deal.version_id, stage, action)
        if key not in self.chains:
            spec = spec_of(self.session, deal.version_id).action(stage, action)
            self.chains[key] = tuple(spec.escalate) if spec is not None else ()
        return self.chains[key]

    def deal(self, deal_id: int) -> Deal | None:
        if deal_id not in self.deals:
            found = self.session.get(Deal, deal_id)
            if found is None:
                return None
            self.deals[deal_id] = found
        return self.deals[deal_id]

    def supervisor(self, manager_id: int | None) -> str | None:
        """The address of the supervisor of a manager's team, else the fallback team's."""
        m = self.staff.get(manager_id) if manager_id is not None else None
        if m is not None and m.team_id in self.sups:
            return self.sups[m.team_id]
        return self.sups.get(-1)

    def recipient(self, email: str) -> Recipient:
        m = self.by_email.get(email)
        if m is None:
            return Recipient(email=email, name=None, tz=self.settings.timezone, language="en")
        return Recipient(
            email=m.email, name=m.name, tz=m.timezone, language=staff_language(m), manager_id=m.id
        )

    def tell(self, email: str, item: EscalationItem) -> None:
        digest = self.digests.get(email)
        if digest is None:
            digest = self.digests[email] = EscalationDigest(self.recipient(email))
        digest.items.append(item)

    def targets(
        self, level: EscalationLevel, manager_id: int | None, deal_id: int | None
    ) -> list[str]:
        """The addresses a ``notify`` level tells."""
        target = level.target
        if target == "supervisor":
            sup = self.supervisor(manager_id)
            return [sup] if sup is not None else []
        if target == "owner":
            deal = self.deal(deal_id) if deal_id is not None else None
            owner_id = deal.owner_id if deal is not None else manager_id
            owner = self.staff.get(owner_id) if owner_id is not None else None
            return [owner.email] if owner is not None else []
        if "@" in target:
            return [target.strip().lower()]
        return [m.email for m in people.role_members(self.session, target) if m.active]

    def new_assignee(self, level: EscalationLevel, manager_id: int | None) -> Manager | None:
        current = self.staff.get(manager_id) if manager_id is not None else None
        if level.target == "next_manager":
            return people.next_manager(self.session, current, self.now)
        if level.target == "supervisor":
            sup = self.supervisor(manager_id)
            return self.by_email.get(sup) if sup is not None else None
        return people.pick_from_role(self.session, level.target, self.now)

    # ------------------------------------------------------------------ firing

    def fire(self, summary: EscalationSummary) -> None:
        t = _TASKS.c
        rows = self.session.execute(
            select(
                t.id,
                t.lead_id,
                t.deal_id,
                t.stage,
                t.action,
                t.manager_id,
                t.title,
                t.due_at,
                t.status,
                t.escalation_level,
                Lead.first_name,
                Lead.last_name,
                Lead.company,
                Lead.email,
            )
            .select_from(_TASKS)
            .outerjoin(Lead, Lead.id == t.lead_id)
            .where(t.escalate_at.is_not(None), t.escalate_at <= self.now)
            .order_by(t.id)
        ).all()
        stale = [r.id for r in rows if r.status != "open"]
        for i in range(0, len(stale), 1000):
            self.session.execute(
                update(_TASKS)
                .where(t.id.in_(stale[i : i + 1000]))
                .values(escalate_at=None, remind_at=None)
                .execution_options(synchronize_session=False)
            )
        planned: list[dict[str, Any]] = []
        after: dict[int, dict[str, Any]] = {}
        for r in rows:
            if r.status != "open":
                continue
            chain = self.chain(r.deal_id, r.stage, r.action)
            default = chain is engine.DEFAULT_CHAIN
            cal = None if default else self.calendar(r.manager_id)
            if default:  # the default chain's one level falls at the deadline itself
                firing = engine.Firing((1,) if r.escalation_level < 1 else (), None)
            else:
                assert cal is not None
                firing = engine.due_levels(chain, r.escalation_level, cal, r.due_at, self.now)
            manager_id = r.manager_id
            for number in firing.levels:
                level = chain[number - 1]
                entry = {
                    "task_id": r.id,
                    "level": number,
                    "fired_at": self.now,
                    "lead_id": r.lead_id,
                    "deal_id": r.deal_id,
                    "action": level.action,
                    "recipient": None,
                    "from_manager_id": manager_id,
                    "to_manager_id": None,
                    "overdue_seconds": max(0, int((self.now - r.due_at).total_seconds())),
                    "_row": r,
                    "_level": level,
                }
                if level.action == "reassign":
                    new = self.new_assignee(level, manager_id)
                    if new is not None and new.id != manager_id:
                        entry["to_manager_id"] = new.id
                        manager_id = new.id
                    recipients = self.targets(
                        EscalationLevel(notify="supervisor"), r.manager_id, r.deal_id
                    )
                else:
                    recipients = self.targets(level, manager_id, r.deal_id)
                if not recipients and entry["to_manager_id"] is None:
                    # nobody to tell: this level (and those after it) wait for the next run
                    summary.without_recipient += 1
                    if r.id in after:
                        after[r.id]["next_at"] = self.now
                    break
                entry["recipient"] = ", ".join(recipients)[:320] or None
                entry["_recipients"] = recipients
                planned.append(entry)
                after[r.id] = {
                    "level": number,
                    "next_at": firing.next_at,
                    "manager_id": manager_id,
                    "from": r.manager_id,
                }
        self._write(planned, after, summary)

    def _write(
        self,
        planned: list[dict[str, Any]],
        after: dict[int, dict[str, Any]],
        summary: EscalationSummary,
    ) -> None:
        if not planned:
            return
        columns = [c.name for c in _ESCALATIONS.c if c.name != "id"]
        # executemany (insertmanyvalues): one compiled statement whatever the count
        stmt = (
            dialect_insert(self.session, _ESCALATIONS)
            .on_conflict_do_nothing(index_elements=["task_id", "level"])
            .returning(_ESCALATIONS.c.task_id, _ESCALATIONS.c.level)
        )
        fired: set[tuple[int, int]] = set()
        for i in range(0, len(planned), 5000):
            chunk = [{k: e[k] for k in columns} for e in planned[i : i + 5000]]
            fired.update((r.task_id, r.level) for r in self.session.execute(stmt, chunk))
        log: list[dict[str, Any]] = []
        first: dict[int, str] = {}
        for e in planned:
            if (e["task_id"], e["level"]) not in fired:
                continue
            r, level = e["_row"], e["_level"]
            summary.escalated += 1
            new_owner = self.staff.get(e["to_manager_id"]) if e["to_manager_id"] else None
            item = EscalationItem(
                lead_id=r.lead_id,
                lead_name=_name(r),
                task_title=r.title,
                assignee=self.staff[e["from_manager_id"]].name
                if e["from_manager_id"] in self.staff
                else None,
                due_at=r.due_at,
                late=self.now - r.due_at,
                level=e["level"],
                action=e["action"],
                reassigned_to=new_owner.name if new_owner is not None else None,
                deal_id=r.deal_id,
                task_id=r.id,
            )
            for email in e["_recipients"]:
                self.tell(email, item)
            first.setdefault(r.id, e["recipient"] or "")
            log.append(
                events.event(
                    "task.escalated",
                    self.now,
                    lead_id=r.lead_id,
                    deal_id=r.deal_id,
                    task_id=r.id,
                    actor=events.SYSTEM,
                    level=e["level"],
                    action=level.action,
                    recipient=e["recipient"],
                    late_seconds=e["overdue_seconds"],
                )
            )
            if new_owner is not None:
                summary.reassigned += 1
                old = self.staff.get(e["from_manager_id"]) if e["from_manager_id"] else None
                log.append(
                    events.event(
                        "task.reassigned",
                        self.now,
                        lead_id=r.lead_id,
                        deal_id=r.deal_id,
                        task_id=r.id,
                        actor=events.SYSTEM,
                        reason=f"escalation level {e['level']}",
                        data={"from": old.email if old else None, "to": new_owner.email},
                    )
                )
        # one UPDATE per group of tasks that end up alike (level, next level's time, new
        # assignee, first recipient): a handful of statements, not one per task, which
        # PostgreSQL would plan one by one
        groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
        for task_id, state in after.items():
            if not any((task_id, lv) in fired for lv in range(1, state["level"] + 1)):
                continue
            moved = state["manager_id"] if state["manager_id"] != state["from"] else None
            key = (state["level"], state["next_at"], moved, first.get(task_id) or None)
            groups[key].append(task_id)
        t = _TASKS.c
        for (level, next_at, moved, to), ids in groups.items():
            values: dict[str, Any] = {
                "escalation_level": level,
                "escalate_at": next_at,
                "escalated_at": case(
                    (t.escalated_at.is_(None), literal(self.now, t.escalated_at.type)),
                    else_=t.escalated_at,
                ),
                "escalated_to": case(
                    (t.escalated_to.is_(None), literal(to, t.escalated_to.type)),
                    else_=t.escalated_to,
                ),
            }
            if moved is not None:
                values["manager_id"] = moved
            for i in range(0, len(ids), 5000):
                self.session.execute(
                    update(_TASKS)
                    .where(id_in(self.session, t.id, ids[i : i + 5000]))
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
        events.append(self.session, log)

    # ------------------------------------------------------------------ stalled deals

    def stalled_deals(self, summary: EscalationSummary) -> None:
        """Open deals idle past their stage's ``stall_after``: told to the supervisor once."""
        candidates = self.session.scalars(
            select(Deal).where(
                Deal.status == "open",
                Deal.stalled_reported_at.is_(None),
                Deal.last_progress_at <= self.now - timedelta(hours=1),
            )
        ).all()
        log = []
        for deal in candidates:
            spec = spec_of(self.session, deal.version_id)
            stage = spec.stage(deal.stage)
            limit = Duration.parse((stage.stall_after if stage else None) or spec.stall_after)
            if self.calendar(deal.owner_id).add(deal.last_progress_at, limit) > self.now:
                continue
            sup = self.supervisor(deal.owner_id)
            if sup is None:
                summary.without_recipient += 1
                continue
            lead = self.session.get(Lead, deal.lead_id)
            self.tell(
                sup,
                EscalationItem(
                    lead_id=deal.lead_id,
                    lead_name=_lead_name(lead),
                    task_title=f"{spec.name}: {deal.stage}",
                    assignee=self.staff[deal.owner_id].name
                    if deal.owner_id in self.staff
                    else None,
                    due_at=None,
                    late=self.now - deal.last_progress_at,
                    level=0,
                    action="stalled",
                    deal_id=deal.id,
                ),
            )
            deal.stalled_reported_at = self.now
            summary.stalled += 1
            log.append(
                events.event(
                    "deal.stalled",
                    self.now,
                    lead_id=deal.lead_id,
                    deal_id=deal.id,
                    actor=events.SYSTEM,
                    stage=deal.stage,
                    idle_seconds=int((self.now - deal.last_progress_at).total_seconds()),
                    recipient=sup,
                )
            )
        self.session.flush()
        events.append(self.session, log)

    # ------------------------------------------------------------------ digests

    def queue_digests(self) -> int:
        pb = get_playbook_settings()
        url = self.settings.public_url.rstrip("/")
        rows = [
            escalation_row(
                d,
                now=self.now,
                public_url=url,
                shown=pb.escalation_items_shown,
                domain=self.settings.message_id_domain,
            )
            for _email, d in sorted(self.digests.items())
        ]
        queued = insert_outbox(self.session, rows)
        events.append(
            self.session,
            (
                events.event(
                    "digest.queued",
                    self.now,
                    actor=events.SYSTEM,
                    kind="escalations",
                    recipient=row["to_addr"],
                    items=row["context"]["total"],
                )
                for row in rows
            ),
        )
        return len(queued)


def _name(r: Any) -> str:
    name = " ".join(p for p in (r.first_name, r.last_name) if p)
    if name and r.company:
        return f"{name} ({r.company})"
    return name or r.company or r.email or f"lead {r.lead_id}"


def _lead_name(lead: Lead | None) -> str:
    if lead is None:
        return ""
    name = " ".join(p for p in (lead.first_name, lead.last_name) if p)
    return (
        f"{name} ({lead.company})"
        if name and lead.company
        else name or lead.company or lead.email or ""
    )


def fired_levels(session: Session, task_id: int) -> list[int]:
    """The levels of a task's chain fired so far (for views and tests)."""
    return list(
        session.scalars(
            select(Escalation.level).where(Escalation.task_id == task_id).order_by(Escalation.level)
        )
    )


__all__ = ["EscalationSummary", "fired_levels", "mark_overdue", "run_escalations"]
