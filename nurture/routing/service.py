"""The database edge of routing: load the team, claim unassigned leads in batches, write
owners, the assignment log, first-contact tasks and one digest per manager.

Everything here runs inside the caller's transaction (never commits). Two workers are
safe: a routing run first takes a lock (PostgreSQL advisory transaction lock; on SQLite the
first statement is a write, which serialises writers), leads are read with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL and claimed with ``UPDATE ... WHERE owner_id IS
NULL RETURNING id``, so a lead is never assigned twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    String,
    Table,
    and_,
    bindparam,
    case,
    cast,
    func,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from nurture.config import get_settings
from nurture.db.base import UTCDateTime
from nurture.db.cadence import Task
from nurture.db.leads import Event, Lead, LeadSource
from nurture.db.mail import OutboxMessage
from nurture.db.scoring import LeadScore
from nurture.db.sql import TASK_INSERT_COLUMNS, dialect_insert
from nurture.db.team import Absence, Assignment, Manager, RoutingRule, Team
from nurture.routing.calendar import add_business_hours, local_date, next_working_moment, week_start
from nurture.routing.engine import Decision, ManagerInfo, Router, TeamInfo
from nurture.routing.notify import DIGEST_LEADS_SHOWN, digest_entry, digest_row
from nurture.routing.roundrobin import normalise
from nurture.routing.rules import LeadFacts, Rule

ADVISORY_LOCK_KEY = 7_340_041  # "routing" lock id on PostgreSQL


@dataclass
class RoutingSummary:
    """What one routing run did."""

    assigned: int = 0
    unassigned: int = 0
    returning: int = 0
    digests: int = 0
    tasks: int = 0
    by_manager: dict[str, int] = field(default_factory=dict)
    rebalanced: int = 0
    overflow: int = 0


@dataclass
class _Digest:
    manager: ManagerInfo
    total: int = 0
    first_lead_id: int | None = None
    leads: list[dict[str, Any]] = field(default_factory=list)


# --------------------------------------------------------------------------- helpers


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _insert_ignore(session: Session, table: Any, rows: list[dict[str, Any]], key: str) -> int:
    """INSERT ... ON CONFLICT (key) DO NOTHING; returns rows inserted."""
    if not rows:
        return 0
    stmt = dialect_insert(session, table).on_conflict_do_nothing(index_elements=[key])
    stmt = stmt.returning(table.c.id)
    return len(session.execute(stmt, rows).all())


def take_lock(session: Session) -> None:
    """Serialise routing runs (two workers: the second waits, then finds nothing to do)."""
    if _is_pg(session):
        # keyed by schema: two Nurture databases in one PostgreSQL database do not block
        session.execute(
            text("SELECT pg_advisory_xact_lock(:k, hashtext(current_schema()))"),
            {"k": ADVISORY_LOCK_KEY},
        )
    else:
        # a write as first statement takes SQLite's RESERVED lock for this transaction
        session.execute(update(Team).where(Team.id < 0).values(name=Team.name))


def refresh_statistics(session: Session) -> bool:
    """PostgreSQL: ANALYZE ``leads`` when its statistics are stale (e.g. right after a big
    import), so batch statements use the primary key instead of scanning. Returns True when
    it analysed. (ANALYZE is allowed inside a transaction; it blocks no reader or writer.)"""
    if not _is_pg(session):
        return False
    row = session.execute(
        text(
            "SELECT s.n_mod_since_analyze, c.reltuples FROM pg_stat_user_tables s "
            "JOIN pg_class c ON c.oid = s.relid "
            "WHERE s.relname = 'leads' AND s.schemaname = current_schema()"
        )
    ).first()
    if row is None:
        return False
    modified, tuples = int(row[0] or 0), float(row[1] or 0)
    if modified < 10_000 or modified < 0.2 * max(tuples, 0):
        return False
    session.execute(text("ANALYZE leads"))
    return True


def full_name(first: str | None, last: str | None, email: str | None, lead_id: int) -> str:
    name = " ".join(p for p in (first, last) if p)
    return name or email or f"lead #{lead_id}"


# --------------------------------------------------------------------------- loading


def load_router(session: Session, *, now: datetime) -> Router | None:
    """The configured teams, managers (with credit, weekly load, absence) and rules, or None
    when no team is configured."""
    teams = session.execute(select(Team).order_by(Team.id)).scalars().all()
    if not teams:
        return None
    team_by_id = {t.id: TeamInfo(t.id, t.name, t.is_fallback, t.supervisor_email) for t in teams}
    managers = session.execute(select(Manager).order_by(Manager.id)).scalars().all()
    today_min = local_date(now, "Etc/GMT+12") - timedelta(days=1)
    absences = session.execute(select(Absence).where(Absence.ends_on >= today_min)).scalars().all()
    absent: dict[int, list[Absence]] = defaultdict(list)
    for a in absences:
        absent[a.manager_id].append(a)
    infos: list[ManagerInfo] = []
    for m in managers:
        today = local_date(now, m.timezone)
        until = max(
            (a.ends_on for a in absent.get(m.id, []) if a.starts_on <= today <= a.ends_on),
            default=None,
        )
        load = session.execute(
            select(func.count())
            .select_from(Assignment)
            .where(
                Assignment.manager_id == m.id, Assignment.assigned_at >= week_start(now, m.timezone)
            )
        ).scalar_one()
        team = team_by_id.get(m.team_id) if m.team_id is not None else None
        info = ManagerInfo(
            id=m.id,
            email=m.email,
            name=m.name,
            team=team.name if team else None,
            role=m.role,
            weight=m.weight,
            capacity=m.weekly_capacity,
            timezone=m.timezone,
            work_start=m.work_start,
            work_end=m.work_end,
            active=m.active,
            absent_until=until,
            profile={
                "languages": m.languages,
                "countries": m.countries,
                "cities": m.cities,
                "products": m.products,
                "segments": m.segments,
            },
            languages=tuple(m.languages or ()),
            credit=m.rr_credit,
            load=int(load),
        )
        infos.append(info)
        if team is not None and m.active:
            team.managers.append(info)
    for t in team_by_id.values():
        normalise(m.member for m in t.managers)
    rules = [
        Rule(
            name=r.name,
            conditions=r.conditions or {},
            team=team_by_id[r.team_id].name if r.team_id in team_by_id else None,
            manager=next((i.email for i in infos if i.id == r.manager_id), None),
            position=r.position,
        )
        for r in session.execute(select(RoutingRule).order_by(RoutingRule.position)).scalars()
    ]
    router = Router(list(team_by_id.values()), rules)
    for info in infos:
        router.add_manager(info)
    return router


_LEAD_COLUMNS = (
    Lead.id,
    Lead.first_name,
    Lead.last_name,
    Lead.email,
    Lead.phone,
    Lead.company,
    Lead.title,
    Lead.city,
    Lead.country,
    Lead.language,
    Lead.interest,
    Lead.segment,
    Lead.owner_id,
    Lead.previous_owner_id,
)


def _open_leads() -> Any:
    return and_(Lead.status == "open", Lead.merged_into_id.is_(None))


def _facts(session: Session, router: Router, rows: Sequence[Any]) -> dict[int, LeadFacts]:
    ids = [r[0] for r in rows]
    kinds: dict[int, set[str]] = defaultdict(set)
    if router.needs_event_kind:
        for lead_id, kind in session.execute(
            select(LeadSource.lead_id, Event.kind)
            .join(Event, Event.id == LeadSource.event_id)
            .where(LeadSource.lead_id.in_(ids))
        ):
            kinds[lead_id].add(kind)
    scores: dict[int, tuple[datetime, float]] = {}
    if router.needs_score:
        for lead_id, p, at in session.execute(
            select(LeadScore.lead_id, LeadScore.p_purchase, LeadScore.scored_at).where(
                LeadScore.lead_id.in_(ids)
            )
        ):
            if lead_id not in scores or at > scores[lead_id][0]:
                scores[lead_id] = (at, p)
    no_kinds: frozenset[str] = frozenset()
    out: dict[int, LeadFacts] = {}
    # positional access: Row attribute lookup by name is the slow part at 1,000,000 leads
    for r in rows:
        lead_id = r[0]
        out[lead_id] = LeadFacts(
            lead_id,
            r[8],  # country
            r[7],  # city
            r[9],  # language
            r[10],  # interest
            r[5],  # company
            r[11],  # segment
            frozenset(kinds[lead_id]) if lead_id in kinds else no_kinds,
            scores[lead_id][1] if lead_id in scores else None,
        )
    return out


def _last_owners(session: Session, ids: Sequence[int]) -> dict[int, int]:
    """Previous owner per lead from the assignment log (latest assignment)."""
    if not ids:
        return {}
    latest = (
        select(func.max(Assignment.id))
        .where(Assignment.lead_id.in_(ids))
        .group_by(Assignment.lead_id)
        .scalar_subquery()
    )
    return {
        lead_id: manager_id
        for lead_id, manager_id in session.execute(
            select(Assignment.lead_id, Assignment.manager_id).where(Assignment.id.in_(latest))
        )
    }


# --------------------------------------------------------------------------- writing


class _Writer:
    """Applies decisions batch by batch and collects the digests."""

    def __init__(self, session: Session, router: Router, now: datetime, summary: RoutingSummary):
        self.session = session
        self.router = router
        self.now = now
        self.summary = summary
        self.settings = get_settings()
        self.digests: dict[int, _Digest] = {}
        self.due: dict[int, datetime] = {}
        self.country = self.settings.default_region

    def due_at(self, m: ManagerInfo) -> datetime:
        if m.id not in self.due:
            self.due[m.id] = add_business_hours(
                self.now,
                self.settings.first_contact_hours,
                tz=m.timezone,
                work_start=m.work_start,
                work_end=m.work_end,
                country=self.country,
            )
        return self.due[m.id]

    def apply(
        self,
        decisions: Sequence[Decision],
        rows: dict[int, Any],
        *,
        from_owner: dict[int, int] | None = None,
    ) -> None:
        """Claim the leads and write owner, log, tasks; ``from_owner`` for a rebalance."""
        if not decisions:
            return
        olds = [from_owner.get(d.lead_id) if from_owner is not None else None for d in decisions]
        if _is_pg(self.session):
            claimed = self._claim_pg(decisions, olds)
        else:
            claimed = self._claim_grouped(decisions, olds)
        log: dict[str, list[Any]] = defaultdict(list)
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
            self._digest_add(m, d, rows[d.lead_id], self.due_at(m))
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
        if not log:
            return
        last_id = self.session.execute(select(func.max(Assignment.id))).scalar() or 0
        if _is_pg(self.session):
            self._log_pg(log)
        else:
            n = len(log["lead_id"])
            names = list(log)
            self.session.execute(
                insert(_table(Assignment)),
                [{**{k: log[k][i] for k in names}, "assigned_at": self.now} for i in range(n)],
            )
        self.summary.tasks += self._tasks_from_log(last_id)

    def _claim_grouped(self, decisions: Sequence[Decision], olds: list[int | None]) -> set[int]:
        """SQLite: one conditional UPDATE ... RETURNING per (new owner, old owner)."""
        groups: dict[tuple[int, int | None], list[int]] = defaultdict(list)
        for d, old in zip(decisions, olds, strict=True):
            groups[(d.manager_id, old)].append(d.lead_id)
        claimed: set[int] = set()
        for (manager_id, old), ids in groups.items():
            if old is None:
                where = and_(Lead.id.in_(ids), Lead.owner_id.is_(None), _open_leads())
                values: dict[str, Any] = {"owner_id": manager_id, "updated_at": self.now}
            else:
                where = and_(Lead.id.in_(ids), Lead.owner_id == old, _open_leads())
                values = {"owner_id": manager_id, "previous_owner_id": old, "updated_at": self.now}
            claimed.update(
                self.session.execute(
                    update(Lead).where(where).values(**values).returning(Lead.id)
                ).scalars()
            )
        return claimed

    def _claim_pg(self, decisions: Sequence[Decision], olds: list[int | None]) -> set[int]:
        """PostgreSQL: one UPDATE ... WHERE id = ANY(:ids) RETURNING per (new, old) owner
        (one array parameter instead of thousands; an index scan whatever the statistics)."""
        groups: dict[tuple[int, int | None], list[int]] = defaultdict(list)
        for d, old in zip(decisions, olds, strict=True):
            groups[(d.manager_id, old)].append(d.lead_id)
        # "+ 0" keeps the planner on the primary key. Without statistics (right
        # after a big import) it would scan ix_leads_owner_status and test every row against
        # the whole array: quadratic, minutes per batch at 1,000,000 leads. Status and merge
        # were checked by the batch SELECT ... FOR UPDATE, whose row locks we hold.
        initial = text(
            """
            UPDATE leads SET owner_id = :mid, updated_at = :now
            WHERE id = ANY(CAST(:ids AS integer[])) AND (owner_id + 0) IS NULL
            RETURNING id
            """
        ).bindparams(bindparam("now", type_=UTCDateTime()))
        moved = text(
            """
            UPDATE leads SET owner_id = :mid, previous_owner_id = :old, updated_at = :now
            WHERE id = ANY(CAST(:ids AS integer[])) AND (owner_id + 0) = :old
            RETURNING id
            """
        ).bindparams(bindparam("now", type_=UTCDateTime()))
        claimed: set[int] = set()
        for (manager_id, old), ids in groups.items():
            params: dict[str, Any] = {"mid": manager_id, "ids": ids, "now": self.now}
            if old is None:
                claimed.update(self.session.execute(initial, params).scalars())
            else:
                claimed.update(self.session.execute(moved, {**params, "old": old}).scalars())
        return claimed

    def _log_pg(self, log: dict[str, list[Any]]) -> None:
        """PostgreSQL: the batch's assignment log in one INSERT ... SELECT FROM unnest."""
        stmt = text(
            """
            INSERT INTO assignments (lead_id, manager_id, team_id, kind, rule_name, reason,
                                     round_robin, previous_manager_id, assigned_at)
            SELECT u.*, :now FROM unnest(
                CAST(:lead_id AS integer[]), CAST(:manager_id AS integer[]),
                CAST(:team_id AS integer[]), CAST(:kind AS varchar[]),
                CAST(:rule_name AS varchar[]), CAST(:reason AS text[]),
                CAST(:round_robin AS boolean[]), CAST(:previous_manager_id AS integer[])
            ) AS u
            """
        ).bindparams(bindparam("now", type_=UTCDateTime()))
        self.session.execute(stmt, {**log, "now": self.now})

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

    def _digest_add(self, m: ManagerInfo, d: Decision, r: Any, due: datetime) -> None:
        dg = self.digests.get(m.id)
        if dg is None:
            dg = self.digests[m.id] = _Digest(m)
        dg.total += 1
        if dg.first_lead_id is None or d.lead_id < dg.first_lead_id:
            dg.first_lead_id = d.lead_id
        if len(dg.leads) < DIGEST_LEADS_SHOWN:
            name = full_name(r.first_name, r.last_name, r.email, r.id)
            dg.leads.append(
                digest_entry(r, name=name, kind=d.kind, reason=d.reason, due=due, tz=m.timezone)
            )

    def queue_digests(self) -> None:
        """One digest row per manager for this run (never one per lead)."""
        rows = [
            digest_row(
                manager_id=manager_id,
                manager_name=dg.manager.name,
                manager_email=dg.manager.email,
                languages=list(dg.manager.languages),
                entries=dg.leads,
                total=dg.total,
                first_lead_id=dg.first_lead_id or 0,
                now=self.now,
                send_at=next_working_moment(
                    self.now,
                    tz=dg.manager.timezone,
                    work_start=dg.manager.work_start,
                    work_end=dg.manager.work_end,
                ),
                first_contact_hours=self.settings.first_contact_hours,
                message_id_domain=self.settings.message_id_domain,
            )
            for manager_id, dg in sorted(self.digests.items())
        ]
        self.summary.digests += _insert_ignore(
            self.session, _table(OutboxMessage), rows, "dedupe_key"
        )

    def save_credits(self) -> None:
        params = [
            {"mid": m.id, "credit": m.member.credit}
            for m in self.router.managers.values()
            if m.member.credit != 0.0 or m.team is not None
        ]
        if params:
            self.session.execute(
                update(_table(Manager))
                .where(_table(Manager).c.id == bindparam("mid"))
                .values(rr_credit=bindparam("credit")),
                params,
            )


# --------------------------------------------------------------------------- runs


def _batches(session: Session, base: Any, batch_size: int) -> Iterator[Sequence[Any]]:
    last = 0
    pg = _is_pg(session)
    while True:
        stmt = base.where(Lead.id > last).order_by(Lead.id).limit(batch_size)
        if pg:
            stmt = stmt.with_for_update(skip_locked=True, of=Lead)
        rows = session.execute(stmt).all()
        if not rows:
            return
        yield rows
        last = rows[-1].id


def count_unassigned(session: Session) -> int:
    return int(
        session.execute(
            select(func.count()).select_from(Lead).where(Lead.owner_id.is_(None), _open_leads())
        ).scalar_one()
    )


def route_unassigned(
    session: Session, *, now: datetime, batch_size: int | None = None
) -> RoutingSummary:
    """Assign every open, non-merged lead without an owner; create first-contact tasks and
    queue one digest per manager. Idempotent; safe with two workers at once."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    summary = RoutingSummary()
    take_lock(session)
    router = load_router(session, now=now)
    if router is None:
        summary.unassigned = count_unassigned(session)
        return summary
    refresh_statistics(session)
    size = batch_size or get_settings().batch_size
    writer = _Writer(session, router, now, summary)
    base = select(*_LEAD_COLUMNS).where(Lead.owner_id.is_(None), _open_leads())
    for rows in _batches(session, base, size):
        facts = _facts(session, router, rows)
        history = _last_owners(session, [r[0] for r in rows if r[13] is None])
        decisions = []
        for r in rows:
            d = router.decide(facts[r[0]], previous_owner_id=r[13] or history.get(r[0]))
            if d is not None:
                decisions.append(d)
        writer.apply(decisions, {r[0]: r for r in rows})
    writer.save_credits()
    writer.queue_digests()
    summary.unassigned = count_unassigned(session)
    return summary


def rebalance(session: Session, *, now: datetime, batch_size: int | None = None) -> RoutingSummary:
    """Redistribute the open leads of absent and departed managers by the same rules."""
    summary = RoutingSummary()
    take_lock(session)
    router = load_router(session, now=now)
    if router is None:
        return summary
    away = [m for m in router.managers.values() if not m.available]
    if not away:
        summary.unassigned = count_unassigned(session)
        return summary
    size = batch_size or get_settings().batch_size
    writer = _Writer(session, router, now, summary)
    away_by_id = {m.id: m for m in away}
    base = select(*_LEAD_COLUMNS).where(Lead.owner_id.in_(list(away_by_id)), _open_leads())
    for rows in _batches(session, base, size):
        facts = _facts(session, router, rows)
        decisions = []
        for r in rows:
            old = away_by_id[r.owner_id]
            prefix = f"rebalance from {old.name} ({old.unavailable_reason()}): "
            d = router.decide(facts[r.id], kind="rebalance", prefix=prefix)
            if d is not None:
                decisions.append(d)
        writer.apply(
            decisions, {r.id: r for r in rows}, from_owner={r.id: r.owner_id for r in rows}
        )
    writer.save_credits()
    writer.queue_digests()
    summary.unassigned = count_unassigned(session)
    return summary


def iter_ids(values: Iterable[int]) -> list[int]:
    return sorted(set(values))
