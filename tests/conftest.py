"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL tests get their own schema (so parallel runs never collide) and are skipped
when the server is unreachable, except under CI=true, where they fail instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from nurture.config import get_settings
from nurture.db.session import init_db, make_engine

PG_BASE_URL = os.environ.get(
    "NURTURE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", "postgresql"]


def _pg_reachable() -> str | None:
    try:
        eng = create_engine(PG_BASE_URL, connect_args={"connect_timeout": 3})
        with eng.connect() as conn:
            conn.execute(text("select 1"))
        eng.dispose()
        return None
    except Exception as exc:  # any driver/network error means "not here"
        return f"{type(exc).__name__}: {exc}"


_PG_PROBLEM = _pg_reachable()


def require_postgres() -> None:
    """Skip on a laptop without PostgreSQL; fail under CI, where it must be there."""
    if _PG_PROBLEM is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL unreachable under CI: {_PG_PROBLEM}")
    pytest.skip(f"PostgreSQL unreachable: {_PG_PROBLEM}")


def new_database_url(backend: str, tmp_path: Path) -> tuple[str, str | None]:
    """A URL to an empty database: a new SQLite file, or a new PostgreSQL schema."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / f'nurture-{uuid.uuid4().hex[:8]}.db'}", None
    require_postgres()
    schema = f"t_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_BASE_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    sep = "&" if "?" in PG_BASE_URL else "?"
    return f"{PG_BASE_URL}{sep}options=-csearch_path%3D{schema}", schema


def drop_schema(schema: str | None) -> None:
    if schema is None:
        return
    admin = create_engine(PG_BASE_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def engine(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A migrated database shared by the tests of one backend (each test rolls back)."""
    url, schema = new_database_url(backend, tmp_path_factory.mktemp(backend))
    eng = make_engine(url)
    init_db(eng)
    yield eng
    eng.dispose()
    drop_schema(schema)


@pytest.fixture()
def session(engine: Engine) -> Iterator[Session]:
    """A session inside an outer transaction that is rolled back after the test."""
    with engine.connect() as conn:
        outer = conn.begin()
        sess = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
        try:
            yield sess
        finally:
            sess.close()
            outer.rollback()


@pytest.fixture()
def fresh_db(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An empty migrated database whose URL is also ``NURTURE_DATABASE_URL`` (for CLI tests
    and tests that need real commits: crashes, two workers)."""
    url, schema = new_database_url(backend, tmp_path)
    eng = make_engine(url)
    init_db(eng)
    eng.dispose()
    monkeypatch.setenv("NURTURE_DATABASE_URL", url)
    monkeypatch.setenv("NURTURE_OUTBOX_DIR", str(tmp_path / "outbox"))
    get_settings.cache_clear()
    from nurture.db.session import get_engine

    get_engine.cache_clear()
    yield url
    get_engine.cache_clear()
    get_settings.cache_clear()
    drop_schema(schema)


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No test reads a developer's .env or writes to the working directory's outbox."""
    monkeypatch.setenv("NURTURE_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.setenv("NURTURE_DATABASE_URL", f"sqlite:///{tmp_path / 'default.db'}")
    monkeypatch.delenv("NURTURE_SMTP_URL", raising=False)
    from nurture.db.session import get_engine

    get_settings.cache_clear()
    get_engine.cache_clear()
    yield
    get_engine.cache_clear()
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One ephemeral Prefect API for the few tests that run real flows (slow to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
