"""Applying routing decisions, batch by batch: claim the leads, log each assignment with
its reason, give the new owner a first-contact task, hand over a moved lead's open tasks,
and keep the round-robin credits.

First-contact tasks are written set-based from the batch's log rows, one
``INSERT ... SELECT ... ON CONFLICT (source_key) DO NOTHING``
(``first_contact.<lead>.<manager>``), due ``NURTURE_FIRST_CONTACT_HOURS`` business hours
after the assignment in the manager's zone and working hours, with a hard deadline (the
cadence capability escalates a missed one).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, Table, bindparam, case, cast, func, literal, select, update
from sqlalchemy.orm import Session

from nurture.config import get_settings
from nurture.db.base import UTCDateTime
from nurture.db.cadence import Task
from nurture.db.leads import Lead
from nurture.db.sql import TASK_INSERT_COLUMNS, dialect_insert
from nurture.db.team import Assignment, Manager
from nurture.routing.calendar import add_business_hours
from nurture.routing.claims import LOG_COLUMNS, claim, log_assignments
from nurture.routing.engine import Decision, ManagerInfo, Router
from nurture.routing.summary import RoutingSummary


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


class AssignmentWriter:
    """Writes one routing run's decisions and counts them in ``summary``."""

    def __init__(
        self, session: Session, router: Router, now: datetime, summary: RoutingSummary
    ) -> None:
        self.session = session
        self.router = router
        self.now = now
        self.summary = summary
        self.settings = get_settings()
        self.due: dict[int, datetime] = {}

    def due_at(self, m: ManagerInfo) -> datetime:
        """When a first-contact task given to ``m`` now is due (business hours)."""
        if m.id not in self.due:
            self.due[m.id] = add_business_hours(
                self.now,
                self.settings.first_contact_hours,
                tz=m.timezone,
                work_start=m.work_start,
                work_end=m.work_end,
                country=self.settings.default_region,
            )
        return self.due[m.id]

    def apply(
        self, decisions: Sequence[Decision], *, from_owner: dict[int, int] | None = None
    ) -> None:
        """Claim the leads and write owner, log, tasks; ``from_owner`` for a rebalance."""
        if not decisions:
            return
        olds = [from_owner.get(d.lead_id) if from_owner is not None else None for d in decisions]
        claimed = claim(self.session, decisions, olds, now=self.now)
        log: dict[str, list[Any]] = {name: [] for name in LOG_COLUMNS}
        handed: dict[tuple[int, int], list[int]] = defaultdict(list)
        for d, old in zip(decisions, olds, strict=True):
            if d.lead_id not in claimed:
                continue
            m = self.router.managers[d.manager_id]
            log["lead_id"].append(d.lead_id)
            log["manager_id"].append(d.manager_id)
            log["team_id"].append(d.team_id)
            log["kind"].append(d.kind)
            log["rule_name"].append(d.rule_name)
            log["reason"].append(d.reason)
            log["round_robin"].append(d.round_robin)
            log["previous_manager_id"].append(old)
            self.due_at(m)
            self.summary.assigned += 1
            self.summary.by_manager[m.email] = self.summary.by_manager.get(m.email, 0) + 1
            if d.kind == "returning":
                self.summary.returning += 1
            if d.kind == "rebalance":
                self.summary.rebalanced += 1
            if d.overflow:
                self.summary.overflow += 1
            if old is not None:
                handed[(old, d.manager_id)].append(d.lead_id)
        for (old, new), lead_ids in handed.items():
            self._hand_over_tasks(lead_ids, old, new)
        if not log["lead_id"]:
            return
        last_id = self.session.execute(select(func.max(Assignment.id))).scalar() or 0
        log_assignments(self.session, log, now=self.now)
        self.summary.tasks += self._tasks_from_log(last_id)

    def _tasks_from_log(self, after_id: int) -> int:
        """One first-contact task per assignment logged after ``after_id``: a single
        INSERT ... SELECT ... ON CONFLICT (source_key) DO NOTHING."""
        a, lead = _table(Assignment), _table(Lead)
        name = func.coalesce(
            func.nullif(
                func.trim(
                    func.coalesce(lead.c.first_name, "") + " " + func.coalesce(lead.c.last_name, "")
                ),
                "",
            ),
            lead.c.email,
            literal("lead #", String) + cast(lead.c.id, String),
        )
        company = case(
            (lead.c.company.is_not(None), literal(" (", String) + lead.c.company + ")"),
            else_=literal("", String),
        )
        due = case(
            {mid: literal(at, UTCDateTime()) for mid, at in self.due.items()},
            value=a.c.manager_id,
        )
        rows = (
            select(
                literal("first_contact.", String)
                + cast(a.c.lead_id, String)
                + "."
                + cast(a.c.manager_id, String),
                a.c.lead_id,
                a.c.manager_id,
                literal("first_contact", String),
                literal("First contact: ", String) + name + company,
                a.c.reason,
                due,
                literal("hard", String),
                literal("open", String),
                literal(self.now, UTCDateTime()),
            )
            .select_from(a.join(lead, lead.c.id == a.c.lead_id))
            .where(a.c.id > after_id)
        )
        table = _table(Task)
        stmt = (
            dialect_insert(self.session, table)
            .from_select(TASK_INSERT_COLUMNS, rows)
            .on_conflict_do_nothing(index_elements=["source_key"])
            .returning(table.c.id)
        )
        return len(self.session.execute(stmt).all())

    def _hand_over_tasks(self, lead_ids: list[int], old: int, new: int) -> None:
        """On rebalance: the old owner's open first-contact tasks are cancelled (the new
        owner gets their own), other open tasks move to the new owner."""
        self.session.execute(
            update(Task)
            .where(
                Task.lead_id.in_(lead_ids),
                Task.manager_id == old,
                Task.status == "open",
                Task.kind == "first_contact",
            )
            .values(status="cancelled", outcome="reassigned", completed_at=self.now)
        )
        self.session.execute(
            update(Task)
            .where(Task.lead_id.in_(lead_ids), Task.manager_id == old, Task.status == "open")
            .values(manager_id=new)
        )

    def save_credits(self) -> None:
        """Store every manager's round-robin credit for the next run."""
        params = [
            {"mid": m.id, "credit": m.member.credit}
            for m in self.router.managers.values()
            if m.member.credit != 0.0 or m.team is not None
        ]
        if params:
            table = _table(Manager)
            self.session.execute(
                update(table)
                .where(table.c.id == bindparam("mid"))
                .values(rr_credit=bindparam("credit")),
                params,
            )
