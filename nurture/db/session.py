"""Engines and sessions, opened at the edges (CLI, flows, web), never inside queries.

:func:`get_engine`, the engine of the configured database that every edge uses, first checks
that the database is ready: reachable, with Nurture's schema at this version's newest
migration. Otherwise it raises :class:`~nurture.errors.DatabaseNotReadyError`, one line that
says what is wrong and to run ``nurture init`` (which creates or upgrades the schema), before
any command, flow or request runs a statement against the wrong schema.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from nurture.config import get_settings
from nurture.errors import DatabaseNotReadyError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSIONS_DIR = MIGRATIONS_DIR / "versions"
INIT_HINT = "run `nurture init`"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers work beside one writer; busy_timeout makes two workers wait, not fail."""
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _postgres_session(dbapi_connection: Any, _record: Any) -> None:
    """Plan every statement for the tables as they are now.

    psycopg prepares a statement on the server after a few runs, and PostgreSQL then may keep
    one generic plan for the connection's life. Made while a table was small, that plan is a
    nested loop that turns quadratic as the table grows (a 90-day simulation spent minutes in
    one UPDATE), and without ANALYZE (autovacuum off or late) nothing replaces it. Our
    statements are few and set-based, so planning each run costs nothing that matters.
    """
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True  # a SET inside a rolled-back transaction is undone
    with dbapi_connection.cursor() as cur:
        cur.execute("SET plan_cache_mode = force_custom_plan")
    dbapi_connection.autocommit = autocommit


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the settings Nurture relies on for this backend."""
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    kwargs.setdefault("pool_pre_ping", True)
    if "connect_timeout" not in url:  # a server that does not answer: say so within seconds
        kwargs["connect_args"] = {"connect_timeout": 10, **kwargs.get("connect_args", {})}
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "postgresql":
        event.listen(engine, "connect", _postgres_session)
    return engine


class _Engines:
    """``get_engine(url=None)``: the process-wide engine for ``url`` (default:
    ``NURTURE_DATABASE_URL``), made once the database is known to be ready
    (:func:`check_schema`). ``get_engine.cache_clear()`` closes and forgets them all (tests
    do, after changing the settings)."""

    def __init__(self) -> None:
        self._engines: dict[str, Engine] = {}

    def __call__(self, url: str | None = None) -> Engine:
        url = url or get_settings().database_url
        engine = self._engines.get(url)
        if engine is None:
            engine = make_engine(url)
            try:
                check_schema(engine)
            except DatabaseNotReadyError:
                engine.dispose()
                raise
            self._engines[url] = engine
        return engine

    def cache_clear(self) -> None:
        while self._engines:
            self._engines.popitem()[1].dispose()


get_engine = _Engines()


@cache
def schema_revisions() -> dict[str, str | None]:
    """Every migration of this version of Nurture and the one it revises, read from the
    revision files (importing Alembic would cost every command a few tenths of a second)."""
    revisions: dict[str, str | None] = {}
    for path in VERSIONS_DIR.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision = re.search(r"^revision\b[^=]*=\s*['\"]([^'\"]+)['\"]", source, re.M)
        down = re.search(r"^down_revision\b[^=]*=\s*['\"]([^'\"]+)['\"]", source, re.M)
        if revision:
            revisions[revision.group(1)] = down.group(1) if down else None
    return revisions


def schema_head() -> str:
    """The newest migration: the revision no other one revises."""
    revisions = schema_revisions()
    heads = set(revisions) - set(revisions.values())
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads: {sorted(heads)}")
    return heads.pop()


def schema_problem(engine: Engine) -> str | None:
    """What keeps ``engine``'s database from being used, in one line, or ``None``."""
    plain = engine.url.set(drivername=engine.url.get_backend_name())  # as users write it
    url = plain.render_as_string(hide_password=True)
    database = engine.url.database or ""
    on_disk = database not in ("", ":memory:") and not database.startswith("file:")
    if engine.dialect.name == "sqlite" and on_disk and not Path(database).exists():
        return f"there is no database at {database}: {INIT_HINT} to create it"
    try:
        with engine.connect() as conn:
            revision = None
            if inspect(conn).has_table("alembic_version"):
                revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError as exc:
        reason = str(exc.orig or exc).strip().splitlines()[0][:200]
        return (
            f"cannot reach the database at {url} ({reason}): start it or set "
            f"NURTURE_DATABASE_URL, then {INIT_HINT}"
        )
    head = schema_head()
    if revision is None:
        return f"the database at {url} has no Nurture schema: {INIT_HINT} to create it"
    if revision == head:
        return None
    if revision in schema_revisions():
        return (
            f"the database at {url} has schema {revision}, older than this version of "
            f"Nurture needs ({head}): {INIT_HINT} to upgrade it"
        )
    return (
        f"the database at {url} has schema {revision}, which this version of Nurture does "
        "not know (was it upgraded by a newer Nurture?): install that version"
    )


def check_schema(engine: Engine) -> None:
    """Raise :class:`~nurture.errors.DatabaseNotReadyError` unless the database is ready."""
    problem = schema_problem(engine)
    if problem is not None:
        raise DatabaseNotReadyError(problem)


def session_factory(engine: Engine | None = None) -> sessionmaker[Session]:
    return sessionmaker(bind=engine or get_engine(), expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """``with session_scope() as s:`` one transaction: committed on success, else rolled back."""
    factory = session_factory(engine)
    with factory() as session, session.begin():
        yield session


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def init_db(engine: Engine | None = None) -> str:
    """Create or upgrade the schema to the newest migration; safe to run twice.

    Returns the revision the database is at afterwards.
    """
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    own = engine is None  # not get_engine(): it refuses a database without the schema
    engine = engine or make_engine(get_settings().database_url)
    try:
        command.upgrade(alembic_config(engine), "head")
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision() or ""
    finally:
        if own:
            engine.dispose()
