"""The planner's scratch space and connection settings, where SQLite and PostgreSQL differ.

A planning run stages each campaign's due enrolments in ``cadence_plan``, a TEMPORARY
table: private to the connection, so two workers never see each other's rows, and not
part of the schema. Every write of a pass (outbox, tasks, touches, enrolments) reads the
staged decision instead of deriving it again.

Backend differences live here and nowhere else in the planner:

* statistics: PostgreSQL plans the writes from the staged row count, so the staged rows
  are analysed after each stage, from a small sample (a statistics target of 1: the count
  is what matters, and the default sample would read every staged row again); the slots
  are analysed on both backends once written;
* emptying the table: ``TRUNCATE`` on PostgreSQL (no dead rows left behind), ``DELETE`` on
  SQLite;
* connection settings for the run, restored afterwards: SQLite gets a larger page cache
  (each pass reads the due enrolments and their leads, then writes them back; the default
  2 MiB cache would fetch those pages from the OS again in every statement); PostgreSQL
  turns JIT compilation off (the planner's statements are many short index probes, which
  JIT compiles at a cost it never earns back).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    text,
)
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateTable

from nurture.db.base import UTCDateTime
from nurture.db.cadence import CadenceSlot
from nurture.db.sql import is_postgres, refresh_statistics

_SCRATCH = MetaData()
PLAN = Table(
    "cadence_plan",
    _SCRATCH,
    Column("enrollment_id", Integer, primary_key=True, autoincrement=False),
    Column("lead_id", Integer, nullable=False),
    Column("position", Integer, nullable=False),
    Column("channel", String(20), nullable=False),
    Column("due_at", UTCDateTime(), nullable=False),
    # staged as due_at and 'shifted' (the values of a row without a slot), then decided in
    # place: the same widths, so SQLite rewrites each row where it is
    Column("scheduled_at", UTCDateTime()),
    Column("state", String(10), nullable=False),  # planned | skipped | shifted
    Column("runs", Integer, nullable=False),  # 1: the step's condition holds for the lead
    Column("tz", String(64), nullable=False),  # the lead's zone and country, and the UTC
    Column("country", String(8), nullable=False),  # hour its slot is looked up by
    Column("hour", BigInteger, nullable=False),
    Column("dkey", String(300), nullable=False),  # touch.<lead>.<slug>.<position>.<cycle>
    Column("to_addr", String(320)),
    Column("owner_id", Integer),
    prefixes=["TEMPORARY"],
)

#: SQLite page cache (KiB) for the main and temp databases while planning.
SQLITE_CACHE_KIB = 64 * 1024


def open_plan(session: Session) -> None:
    """Create ``cadence_plan`` on this connection (if it is not there yet), empty."""
    session.execute(CreateTable(PLAN, if_not_exists=True))
    if is_postgres(session):
        session.execute(
            text(
                "ALTER TABLE cadence_plan "
                + ", ".join(f"ALTER COLUMN {c.name} SET STATISTICS 1" for c in PLAN.columns)
            )
        )
    clear_plan(session)


def clear_plan(session: Session) -> None:
    """Empty ``cadence_plan`` for the next pass."""
    if is_postgres(session):
        session.execute(text("TRUNCATE cadence_plan"))
    else:
        session.execute(delete(PLAN))


def analyse_slots(session: Session, *, shared: bool = False) -> None:
    """Fresh statistics of ``cadence_slots``, just written. Both backends need them: without
    them PostgreSQL guesses one slot row and loops over the staged rows once per slot, and
    SQLite loops over the slots outside and scans the staged rows for each (several times
    the cost of probing the slots by key). The shared helper covers PostgreSQL only.

    ``shared`` (shards planning at once, PostgreSQL): ANALYZE holds a lock that conflicts
    with another ANALYZE of the table until the transaction ends, so a second shard would
    wait for the first one's whole plan. It skips instead; the row count the first one
    recorded (written in place, seen at once) is about its own, which is what matters."""
    if is_postgres(session) and shared:
        session.execute(text(f"ANALYZE (SKIP_LOCKED) {CadenceSlot.__tablename__}"))
    elif is_postgres(session):
        refresh_statistics(session, (CadenceSlot.__tablename__,), always=True)
    else:
        session.execute(text(f"ANALYZE {CadenceSlot.__tablename__}"))


def analyse_staged(session: Session) -> None:
    """Fresh statistics of the staged rows (PostgreSQL; without them it guesses a row count
    and hashes whole tables where a probe by key would do)."""
    refresh_statistics(session, (PLAN.name,), always=True)


@contextmanager
def page_cache(session: Session, kib: int = SQLITE_CACHE_KIB) -> Iterator[None]:
    """SQLite: a page cache of ``kib`` for the main and temp databases inside the block,
    restored afterwards. PostgreSQL: nothing (its buffers are the server's)."""
    if is_postgres(session):
        yield
        return
    conn = session.connection()
    before = {
        schema: int(conn.exec_driver_sql(f"PRAGMA {schema}.cache_size").scalar_one())
        for schema in ("main", "temp")
    }
    for schema in before:
        conn.exec_driver_sql(f"PRAGMA {schema}.cache_size = -{int(kib)}")
    try:
        yield
    finally:
        for schema, size in before.items():
            conn.exec_driver_sql(f"PRAGMA {schema}.cache_size = {size}")


@contextmanager
def no_jit(session: Session) -> Iterator[None]:
    """PostgreSQL: JIT compilation off inside the block, as it was afterwards (for the rest
    of the transaction; ``SET LOCAL`` ends with it anyway). SQLite: nothing."""
    if not is_postgres(session):
        yield
        return
    before = session.execute(text("SELECT current_setting('jit')")).scalar_one()
    session.execute(text("SET LOCAL jit = off"))
    yield
    # not after an error: the transaction may be aborted, and its end reverts SET LOCAL
    session.execute(text("SELECT set_config('jit', :value, true)"), {"value": before})


@contextmanager
def planning_connection(session: Session) -> Iterator[None]:
    """The connection settings of a planning run (see the module's docstring), restored
    when the block ends; ``cadence_plan`` created and empty."""
    with page_cache(session), no_jit(session):
        open_plan(session)
        yield
