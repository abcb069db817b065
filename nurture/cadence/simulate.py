"""``nurture simulate``: run nurture cycles over simulated time on a scratch database.

A synthetic world (seeded, reproducible): one sales team with a supervisor and six
managers, twelve events (exhibitions, seminars and webinars, one every ``days / 12``), and
``leads`` people met there in nine time zones (Moscow, Yekaterinburg, Vladivostok, Almaty,
Berlin, London, New York, Los Angeles, and the default). Leads arrive the day after their
event; every simulated step then does what the real world would:

1. people act: a few reply, buy, unsubscribe, or are closed by their owner;
2. one ``run_cycle`` at the step's ``now``;
3. the sender "sends" the e-mails that are due (status ``sent``), and owners complete most
   of their due tasks (some are late, so hard deadlines escalate); a follow-up for a lead
   with no next step is resolved by the owner closing the lead.

Used by the CLI (day-by-day table) and by the 365-day test that checks nobody is forgotten.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session

from nurture.cadence import coverage
from nurture.cadence.campaigns import read_campaign_file, save_campaign
from nurture.cadence.cycle import CycleSummary, run_cycle
from nurture.cadence.purchases import apply_purchases
from nurture.cadence.statements import affected
from nurture.config import data_dir
from nurture.db.cadence import Engagement, Purchase, Task
from nurture.db.leads import Event, ImportBatch, Lead, LeadSource
from nurture.db.mail import OutboxMessage
from nurture.db.team import Manager, Team

ZONES: list[tuple[str | None, str | None, str]] = [
    ("Europe/Moscow", "RU", "ru"),
    ("Europe/Moscow", "RU", "ru"),
    ("Asia/Yekaterinburg", "RU", "ru"),
    ("Asia/Vladivostok", "RU", "ru"),
    ("Asia/Almaty", "KZ", "ru"),
    ("Europe/Berlin", "DE", "en"),
    ("Europe/London", "GB", "en"),
    ("America/New_York", "US", "en"),
    ("America/Los_Angeles", "US", "en"),
    (None, None, "ru"),
]
KINDS = ("exhibition", "seminar", "webinar")
DEFAULT_CAMPAIGNS = data_dir("examples") / "campaigns"


@dataclass
class Behaviour:
    """Daily probabilities of what people do (per open lead / per due task)."""

    reply: float = 0.002
    purchase: float = 0.0008
    unsubscribe: float = 0.0008
    close: float = 0.0004
    task_on_time: float = 0.9
    no_email: float = 0.05


@dataclass
class DayRow:
    day: date
    new_leads: int
    summary: CycleSummary
    sent: int
    tasks_done: int

    def as_dict(self) -> dict[str, Any]:
        s = self.summary
        return {
            "day": self.day.isoformat(),
            "new_leads": self.new_leads,
            "enrolled": sum(s.enrolled.values()) + s.reengaged,
            "planned": s.planned,
            "skipped": s.skipped,
            "shifted": s.shifted,
            "emails_queued": s.emails_queued,
            "tasks_created": s.tasks_created,
            "stopped": sum(s.stopped.values()),
            "escalations": s.escalations,
            "sent": self.sent,
            "tasks_done": self.tasks_done,
            "open_leads": s.open_leads,
            "next_step_share": s.next_step_share,
            "untouched_over_30d": s.untouched_over_30d_found,
            "repaired": sum(s.repaired.values()),
        }


@dataclass
class SimResult:
    days: list[DayRow] = field(default_factory=list)
    leads: int = 0
    events: int = 0

    def totals(self) -> dict[str, Any]:
        rows = [d.as_dict() for d in self.days]
        keys = ("new_leads", "enrolled", "planned", "emails_queued", "tasks_created", "stopped")
        out: dict[str, Any] = {k: sum(r[k] for r in rows) for k in keys}
        out["escalations"] = sum(r["escalations"] for r in rows)
        out["max_untouched_over_30d"] = max((r["untouched_over_30d"] for r in rows), default=0)
        out["min_next_step_share"] = min((r["next_step_share"] for r in rows), default=1.0)
        return out


def _setup(session: Session, campaigns_dir: Path) -> list[int]:
    for path in sorted(campaigns_dir.glob("*.yaml")):
        save_campaign(session, read_campaign_file(path))
    team = Team(name="Sim sales", supervisor_email="boss@sim.example", is_fallback=True)
    session.add(team)
    session.flush()
    managers = [
        Manager(email=f"m{i}@sim.example", name=f"Manager {i}", team_id=team.id, weekly_capacity=40)
        for i in range(6)
    ]
    session.add_all(managers)
    session.flush()
    return [m.id for m in managers]


def _create_event(
    session: Session, rng: random.Random, n: int, index: int, when: date, owners: list[int]
) -> int:
    kind = KINDS[index % len(KINDS)]
    event = Event(key=f"{kind}:sim-{index}:{when}", name=f"Sim {kind} {index}", kind=kind)
    event.event_date = when
    session.add(event)
    session.flush()
    batch = ImportBatch(
        file_name=f"sim-{index}.csv", file_sha256=f"{index:064d}", event_id=event.id
    )
    session.add(batch)
    session.flush()
    created = datetime.combine(when + timedelta(days=1), time(5, 0), UTC)
    rows = []
    for i in range(n):
        tz, country, lang = rng.choice(ZONES)
        no_email = rng.random() < 0.05
        rows.append(
            {
                "email": None if no_email else f"p{index}-{i}@sim.example",
                "phone": f"+7900{index:02d}{i:05d}",
                "first_name": f"Name{i}",
                "last_name": f"Sim{index}",
                "company": f"Company {i % 97}" if rng.random() < 0.7 else None,
                "city": None,
                "country": country,
                "language": lang,
                "timezone": tz,
                "status": "open",
                "owner_id": owners[i % len(owners)],
                "email_status": "ok",
                "do_not_contact": False,
                "created_at": created,
                "updated_at": created,
            }
        )
    ids = list(session.scalars(insert(Lead).returning(Lead.id), rows))
    session.execute(
        insert(LeadSource),
        [
            {
                "lead_id": lead_id,
                "event_id": event.id,
                "batch_id": batch.id,
                "row_number": k + 2,
                "file_name": batch.file_name,
                "outcome": "created",
                "created_at": created,
            }
            for k, lead_id in enumerate(ids)
        ],
    )
    return len(ids)


def _people_act(session: Session, rng: random.Random, now: datetime, b: Behaviour) -> None:
    open_ids = list(
        session.scalars(
            select(Lead.id)
            .where(Lead.status == "open", Lead.unsubscribed_at.is_(None), Lead.created_at <= now)
            .order_by(Lead.id)
        )
    )
    if not open_ids:
        return

    def sample(p: float) -> list[int]:
        k = min(len(open_ids), int(len(open_ids) * p + rng.random()))
        return rng.sample(open_ids, k) if k else []

    replies = sample(b.reply)
    if replies:
        session.execute(
            insert(Engagement),
            [{"lead_id": i, "kind": "reply", "occurred_at": now} for i in replies],
        )
    buyers = sample(b.purchase)
    if buyers:
        session.execute(
            insert(Purchase),
            [
                {
                    "source_key": f"sim:{i}:{now:%Y%m%d}",
                    "lead_id": i,
                    "purchased_at": now,
                    "amount": round(rng.uniform(100, 5000), 2),
                    "quantity": 1,
                    "product": rng.choice(["Basic", "Pro", "Enterprise"]),
                    "created_at": now,
                }
                for i in buyers
            ],
        )
        apply_purchases(session)
    quitters = sample(b.unsubscribe)
    if quitters:
        session.execute(
            update(Lead).where(Lead.id.in_(quitters)).values(unsubscribed_at=now, updated_at=now)
        )
    closed = sample(b.close)
    if closed:
        session.execute(
            update(Lead)
            .where(Lead.id.in_(closed), Lead.status == "open")
            .values(status="lost", updated_at=now)
        )


def _world_reacts(
    session: Session, rng: random.Random, now: datetime, b: Behaviour
) -> tuple[int, int]:
    """The sender sends what is due; owners complete most due tasks."""
    sent = affected(
        session,
        update(OutboxMessage)
        .where(OutboxMessage.status == "queued", OutboxMessage.next_attempt_at <= now)
        .values(status="sent", sent_at=OutboxMessage.next_attempt_at)
        .execution_options(synchronize_session=False),
    )
    due = session.execute(
        select(Task.id, Task.lead_id, Task.kind, Task.instructions)
        .where(Task.status == "open", Task.due_at <= now)
        .order_by(Task.id)
    ).all()
    done = [r for r in due if rng.random() < b.task_on_time]
    if done:
        session.execute(
            update(Task)
            .where(Task.id.in_([r[0] for r in done]))
            .values(status="done", completed_at=now, outcome="sim: done")
            .execution_options(synchronize_session=False)
        )
        closing = [r[1] for r in done if r[2] == "follow_up" and "no_next_step" in (r[3] or "")]
        if closing:
            session.execute(
                update(Lead)
                .where(Lead.id.in_(closing), Lead.status == "open")
                .values(status="closed", updated_at=now)
                .execution_options(synchronize_session=False)
            )
    return int(sent or 0), len(done)


def simulate(
    engine: Engine,
    *,
    start: date,
    days: int,
    step: timedelta = timedelta(days=1),
    leads: int = 1000,
    seed: int = 7,
    campaigns_dir: Path = DEFAULT_CAMPAIGNS,
    behaviour: Behaviour | None = None,
    on_step: Callable[[DayRow], None] | None = None,
    check: Callable[[Session, datetime], None] | None = None,
) -> SimResult:
    """Simulate ``days`` of nurture on ``engine`` (an empty, migrated database)."""
    rng = random.Random(seed)
    b = behaviour or Behaviour()
    result = SimResult()
    with Session(engine) as session, session.begin():
        owners = _setup(session, campaigns_dir)
    n_events = 12
    spacing = max(1, days // n_events)
    event_days = {start + timedelta(days=k * spacing): k for k in range(n_events)}
    per_event = [leads // n_events + (1 if k < leads % n_events else 0) for k in range(n_events)]
    now = datetime.combine(start, time(3, 0), UTC)
    end = now + timedelta(days=days)
    while now < end:
        with Session(engine) as session, session.begin():
            new = 0
            for when, k in sorted(event_days.items()):
                if when + timedelta(days=1) <= now.date() and per_event[k] >= 0:
                    new += _create_event(session, rng, per_event[k], k, when, owners)
                    per_event[k] = -1
                    result.events += 1
            _people_act(session, rng, now, b)
            summary = run_cycle(session, now=now)
            if check is not None:  # right after the cycle, before owners and sender act
                check(session, now)
            sent, tasks_done = _world_reacts(session, rng, now, b)
        row = DayRow(now.date(), new, summary, sent, tasks_done)
        result.leads += new
        result.days.append(row)
        if on_step is not None:
            on_step(row)
        now += step
    return result


def forgotten(session: Session, now: datetime) -> tuple[list[int], list[int]]:
    """(uncovered open leads, open leads untouched for 30+ days) at ``now``."""
    rep = coverage.report(session, now=now)
    return rep.uncovered, rep.untouched_over_30d


__all__ = ["Behaviour", "DayRow", "SimResult", "forgotten", "simulate"]
