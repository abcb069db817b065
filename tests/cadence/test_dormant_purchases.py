"""Purchases import (idempotent, one-line errors) and dormant re-engagement by value."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.cadence.cycle import run_cycle
from nurture.cadence.dormant import Candidate, pick, rank
from nurture.cadence.purchases import import_purchases
from nurture.config import PROJECT_ROOT
from nurture.db.cadence import Enrollment, Purchase, Task
from nurture.db.leads import Lead
from nurture.db.scoring import LeadScore
from nurture.errors import InputError

NOW = datetime(2026, 3, 27, 6, 0, tzinfo=UTC)
World = Any


def test_rank_prefers_predicted_value_then_rfm() -> None:
    old = NOW - timedelta(days=400)
    recent = NOW - timedelta(days=200)
    c = [
        Candidate(1, 1, old, 1, 100.0, None),
        Candidate(2, 1, recent, 5, 5000.0, None),
        Candidate(3, 1, old, 1, 10.0, 900.0),
        Candidate(4, 2, old, 2, 50.0, 1500.0),
    ]
    assert [x.lead_id for x in rank(c, NOW)] == [4, 3, 2, 1]
    chosen, waiting = pick(rank(c, NOW), {1: 2, 2: 0})
    assert [x.lead_id for x in chosen] == [3, 2] and waiting == 2


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "purchases.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_purchases_import_is_idempotent_and_reports_bad_rows(world: World, tmp_path: Path) -> None:
    a = world.lead(email="anna@example.com")
    b = world.lead(email="boris@example.com")
    path = write(
        tmp_path,
        "email;lead_id;date;amount;product\n"
        "ANNA@example.com;;2026-03-01;1 200,50;Pro\n"
        f";{b.id};2026-03-02T10:00:00;300;Basic\n"
        "nobody@example.com;;2026-03-01;10;Pro\n"
        "anna@example.com;;yesterday;10;Pro\n"
        "anna@example.com;;2026-03-03;ten;Pro\n",
    )
    first = import_purchases(world.session, path)
    assert (first.rows, first.imported, first.duplicates) == (5, 2, 0)
    assert first.rejected == [
        "purchases.csv row 4, column \"email\": no lead with e-mail 'nobody@example.com'",
        "purchases.csv row 5, column \"date\": 'yesterday' is not a date (use 2026-01-31)",
        "purchases.csv row 6, column \"amount\": 'ten' is not an amount",
    ]
    assert first.leads_converted == 2
    second = import_purchases(world.session, path)
    assert (second.imported, second.duplicates) == (0, 2)
    world.session.refresh(a)
    assert a.status == "converted"
    assert a.last_activity_at == datetime(2026, 3, 1, tzinfo=UTC)
    amounts = world.session.scalars(select(Purchase.amount).where(Purchase.lead_id == a.id)).all()
    assert amounts == [1200.5]


def test_purchases_file_without_needed_columns(tmp_path: Path, session: Session) -> None:
    with pytest.raises(InputError, match="needs columns"):
        import_purchases(session, write(tmp_path, "name,total\nx,1\n"))


def test_example_purchases_file_parses(session: Session) -> None:
    result = import_purchases(session, PROJECT_ROOT / "examples" / "purchases.csv")
    assert result.rows > 0
    # on an empty database every row is rejected with a reason, none raises
    assert result.imported + len(result.rejected) == result.rows


def test_dormant_customers_are_reengaged_best_first_within_capacity(world: World) -> None:
    world.load(PROJECT_ROOT / "examples" / "campaigns" / "dormant.yaml")
    m1, m2 = world.staff()
    m1.weekly_capacity = 1
    old = NOW - timedelta(days=400)
    leads = []
    for i, (owner, amount) in enumerate([(m1, 100.0), (m1, 9000.0), (m2, 50.0), (None, 10.0)]):
        lead = world.lead(
            kind=None,
            status="converted",
            owner_id=owner.id if owner else None,
            created_at=old,
            last_activity_at=old + timedelta(days=1),
            company=f"Co {i}",
        )
        world.session.add(
            Purchase(
                source_key=f"p{i}", lead_id=lead.id, purchased_at=old, amount=amount, product="Pro"
            )
        )
        leads.append(lead)
    recent = world.lead(kind=None, status="converted", owner_id=m2.id, created_at=old)
    world.session.add(
        Purchase(
            source_key="recent", lead_id=recent.id, purchased_at=NOW - timedelta(days=10), amount=1
        )
    )
    # a model score outranks the RFM heuristic for m2's lead
    world.session.add(
        LeadScore(
            lead_id=leads[2].id,
            model_version="t",
            as_of=NOW.date(),
            predicted_value=77.0,
            p_purchase=0.5,
            scored_at=NOW,
        )
    )
    world.session.flush()
    summary = run_cycle(world.session, now=NOW)
    assert summary.reengaged == 2  # m1's best (9000) and m2's; m1 is at capacity
    assert summary.reengage_waiting == 2  # m1's other lead and the unowned one
    enrolled = set(world.session.scalars(select(Enrollment.lead_id)))
    assert enrolled == {leads[1].id, leads[2].id}
    tasks = {
        t.lead_id: t for t in world.session.scalars(select(Task).where(Task.kind == "reengage"))
    }
    assert set(tasks) == enrolled
    letter = tasks[leads[1].id].instructions or ""
    assert "Co 1" in letter and "Pro" in letter
    assert run_cycle(world.session, now=NOW).reengaged == 0  # idempotent
    assert world.session.get(Lead, leads[1].id) is not None


def test_hostile_purchase_rows_are_rejected_not_crashed_on(world: World, tmp_path: Path) -> None:
    """Rows a column cannot hold are rejected with their reason (they were tracebacks:
    integer overflow, a superscript digit, a name too long for its column)."""
    lead = world.lead(email="buyer@example.com")
    path = tmp_path / "p.csv"
    path.write_text(
        "lead_id,email,date,amount,quantity,product\n"
        f"{lead.id},,2026-01-10,100,1,CRM\n"  # row 2: good
        "99999999999999,,2026-01-10,100,1,CRM\n"
        "²,,2026-01-10,100,1,CRM\n"
        f"{lead.id},,2026-01-11,100,99999999999,CRM\n"
        f"{lead.id},,2026-01-12,100,1,{'x' * 300}\n"
        f"{lead.id},,2026-01-13,inf,1,CRM\n"
        f"{lead.id},,0001-01-01T00:00:00+05:00,100,1,CRM\n",
        encoding="utf-8",
    )
    result = import_purchases(world.session, path)
    assert result.imported == 1
    assert [line.split(":")[0] for line in result.rejected] == [
        'p.csv row 3, column "lead_id"',
        'p.csv row 4, column "lead_id"',
        'p.csv row 5, column "quantity"',
        'p.csv row 6, column "product"',
        'p.csv row 7, column "amount"',
        'p.csv row 8, column "date"',
    ]
    huge = tmp_path / "huge.csv"
    huge.write_text("email,date,amount\n" + "x" * 200_000 + ",2026-01-01,1\n", encoding="utf-8")
    limit = csv.field_size_limit(131_072)  # the module's default (global: others may raise it)
    try:
        with pytest.raises(InputError, match="not a readable CSV file"):
            import_purchases(world.session, huge)
    finally:
        csv.field_size_limit(limit)
