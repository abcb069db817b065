"""Shards of the nurture cycle: ``K/N`` parsing, the SQL predicate against its Python twin,
and a cycle planned shard by shard giving exactly the unsharded plan (both backends)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import BigInteger, Engine, func, literal, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from nurture.cadence.cycle import run_cycle
from nurture.cadence.shards import Shard, in_shard, parse_shard, shard_clause
from nurture.cli import app
from nurture.config import PROJECT_ROOT
from nurture.db.cadence import Campaign, CycleMark, Enrollment, Task, Touch
from nurture.db.mail import OutboxMessage
from nurture.db.session import make_engine
from nurture.errors import InputError

World = Any  # tests/cadence/conftest.py: World (fixtures only: importlib import mode)
NOW = datetime(2026, 3, 27, 6, 0, tzinfo=UTC)  # a Friday, before 10:00 in Moscow
CAMPAIGNS = PROJECT_ROOT / "examples" / "campaigns"


@pytest.fixture()
def session(fresh_db: str) -> Iterator[Session]:
    """A session on a database of its own that commits for real (this module's ``world``
    uses it): a sharded cycle commits as it goes, and on SQLite the shared fixture's
    savepoints would not hold that in."""
    eng = make_engine(fresh_db)
    try:
        with Session(eng, expire_on_commit=False) as sess:
            yield sess
    finally:
        eng.dispose()


@pytest.mark.parametrize(
    ("text", "index", "count"), [("1/1", 0, 1), ("1/2", 0, 2), ("2/2", 1, 2), (" 3 / 7 ", 2, 7)]
)
def test_parse_shard(text: str, index: int, count: int) -> None:
    shard = parse_shard(text)
    assert shard == Shard(index, count)
    assert shard.label == f"{index + 1}/{count}"


@pytest.mark.parametrize("text", ["", "1", "0/2", "3/2", "1/0", "-1/2", "a/b", "1/2/3", "1.5/2"])
def test_parse_shard_refuses_with_what_is_expected(text: str) -> None:
    with pytest.raises(InputError, match=r"K/N|between 1 and N"):
        parse_shard(text)


@pytest.mark.parametrize("value", ["0/2", "2/1", "half"])
def test_cli_refuses_a_bad_shard_in_one_line(value: str) -> None:
    result = CliRunner().invoke(app, ["run", "--shard", value])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nurture: --shard") and "K/N" in lines[0]


@pytest.mark.parametrize(("index", "count"), [(0, 0), (2, 2), (-1, 3)])
def test_shard_is_validated(index: int, count: int) -> None:
    with pytest.raises(InputError):
        Shard(index, count)


def test_lock_names_differ_by_shard_and_count() -> None:
    names = {Shard(i, n).lock_name for n in (1, 2, 3) for i in range(n)}
    assert len(names) == 6 and "cycle.shard.2.1" in names


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_predicate_in_sql_agrees_with_python(engine: Engine, count: int) -> None:
    ids = [1, 2, 3, 6, 7, 13, 100, 2**31 - 1, 2**40 + 5]
    for index in range(count):
        shard = Shard(index, count)
        with engine.connect() as conn:
            row = conn.execute(
                select(*[shard_clause(literal(i, BigInteger()), shard) for i in ids])
            ).one()
        assert [bool(v) for v in row] == [in_shard(i, shard) for i in ids]
    # every id in exactly one shard
    for i in ids:
        assert sum(in_shard(i, Shard(k, count)) for k in range(count)) == 1


def _plan_of(session: Session) -> dict[str, set[tuple[Any, ...]]]:
    """What the cycles planned, by keys that do not depend on row ids."""
    campaign = {c.id: c.slug for c in session.scalars(select(Campaign))}
    touches = session.execute(
        select(
            Touch.lead_id,
            Touch.campaign_id,
            Touch.position,
            Touch.channel,
            Touch.status,
            Touch.scheduled_at,
            Touch.outbox_id.is_not(None),
            Touch.task_id.is_not(None),
        )
    ).all()
    return {
        "touches": {(campaign[t[1]], *t[:1], *t[2:]) for t in touches},
        "outbox": set(
            session.execute(
                select(
                    OutboxMessage.dedupe_key, OutboxMessage.to_addr, OutboxMessage.next_attempt_at
                )
            ).all()
        ),
        "tasks": set(session.execute(select(Task.source_key, Task.lead_id, Task.due_at)).all()),
        "enrollments": set(
            session.execute(
                select(
                    Enrollment.lead_id,
                    Enrollment.campaign_id,
                    Enrollment.status,
                    Enrollment.next_position,
                    Enrollment.next_due_at,
                )
            ).all()
        ),
    }


def test_shards_together_plan_exactly_the_unsharded_cycle(
    world: World, simple_campaign: Callable[..., str]
) -> None:
    session = world.session
    world.load(CAMPAIGNS / "exhibition.yaml")
    # a second campaign for the same leads, higher priority: the cap decides between them
    world.load_text(simple_campaign("rival", kind="exhibition", priority=50))
    zones = [("Europe/Moscow", "RU"), ("Europe/Berlin", "DE"), ("America/New_York", "US")]
    for i in range(240):
        tz, country = zones[i % 3]
        world.lead(
            timezone=tz,
            country=country,
            email=None if i % 11 == 0 else f"s{i}@example.com",
            company="Acme" if i % 2 else None,
        )
    session.commit()
    days = [NOW, NOW + timedelta(days=1), NOW + timedelta(days=4)]

    unsharded = session.begin()
    for moment in days:
        run_cycle(session, now=moment)
    expected = _plan_of(session)
    unsharded.rollback()
    assert not session.in_transaction()

    count = 3
    planned = []
    for moment in days:
        for k in range(count):
            planned.append(run_cycle(session, now=moment, shard=Shard(k, count)).planned)
    got = _plan_of(session)
    session.rollback()  # ends the reads' transaction (the shards committed theirs)

    assert len(expected["touches"]) > 400 and expected["tasks"] and expected["outbox"]
    assert {t[4] for t in expected["touches"]} >= {"planned", "skipped"}  # status
    assert all(planned[:count]), "every shard plans its part of the first day"
    for name in expected:
        assert got[name] == expected[name], name
    # a shard run again at the same moment plans nothing
    again = run_cycle(session, now=days[-1], shard=Shard(1, count))
    assert again.planned == again.skipped == again.emails_queued == 0
    session.rollback()


def test_first_shard_does_the_common_part_the_next_find_it_done(
    world: World, exhibition: Campaign
) -> None:
    session = world.session
    for _ in range(20):
        world.lead()
    session.commit()
    first = run_cycle(session, now=NOW, shard=Shard(0, 2))
    second = run_cycle(session, now=NOW, shard=Shard(1, 2))
    assert first.enrolled == {"exhibition": 20} and not second.enrolled
    # the second shard skips the common part: its mark for NOW is in cycle_marks
    assert not first.common_skipped and second.common_skipped
    assert session.scalar(select(func.count()).select_from(CycleMark)) == 1
    assert first.shard == "1/2" and second.shard == "2/2"
    assert first.planned == 10 and second.planned == 10  # ids alternate between the shards
    assert second.open_leads == 20 and second.next_step_share == 1.0  # coverage is global
    session.rollback()


def test_sharded_cycle_wants_a_session_outside_a_transaction(world: World) -> None:
    world.lead()  # the session is now in a transaction
    with pytest.raises(RuntimeError, match="outside a transaction"):
        run_cycle(world.session, now=NOW, shard=Shard(0, 2))
