"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL tests get their own schema (so parallel runs never collide) and are skipped
when the server is unreachable, except under CI=true, where they fail instead.

The lanes: :func:`pytest_collection_modifyitems` marks every test by the services its
fixtures need (``postgres``: the PostgreSQL backend of ``backend``/``engine``/``session``/
``fresh_db``; ``smtp``: an SMTP server fixture; ``browser``: Playwright; ``prefect``: the
``prefect_harness``), so ``make check`` (``-m "not (postgres or smtp or browser or prefect
or slow)"``, with ``NURTURE_TEST_LANE=fast``) runs what needs no service, and a new test
lands in the right lane without anyone marking it. In the fast lane a test that reaches
PostgreSQL some other way fails and says how to fix it.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from nurture.config import get_settings
from nurture.db.session import init_db, make_engine

# No Prefect usage reports from tests, wherever pytest runs from (pyproject.toml sets the
# same for runs from the project folder).
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

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


#: ``make check`` sets it: the fast lane, which must not reach a service.
FAST_LANE = os.environ.get("NURTURE_TEST_LANE", "") == "fast"

_PG_PROBLEM = "not probed in the fast lane" if FAST_LANE else _pg_reachable()

#: Fixtures that mean "this test needs that service" (besides the PostgreSQL backend).
SERVICE_FIXTURES = {
    "smtp": ("smtp_server",),
    "browser": ("browser", "page", "web_browser", "playwright"),
    "prefect": ("prefect_harness",),
}
#: Packages whose import in a test module means its tests start that service themselves.
SERVICE_PACKAGES = {"smtp": ("aiosmtpd",), "browser": ("playwright",)}


def _services_imported(module: object) -> set[str]:
    """The services whose packages ``module`` imports at its top (``from aiosmtpd... import``)."""
    found = set()
    for value in vars(module).values():
        origin = getattr(value, "__module__", None) or getattr(value, "__name__", None)
        if not isinstance(origin, str):
            continue
        for marker, packages in SERVICE_PACKAGES.items():
            if origin.split(".")[0] in packages:
                found.add(marker)
    return found


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by these markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test by the services it needs (see the module docstring)."""
    imported: dict[object, set[str]] = {}
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("backend") == "postgresql":
            item.add_marker(pytest.mark.postgres)
        fixtures = set(getattr(item, "fixturenames", ()))
        markers = {m for m, names in SERVICE_FIXTURES.items() if fixtures.intersection(names)}
        module = getattr(item, "module", None)
        if module is not None:
            if module not in imported:
                imported[module] = _services_imported(module)
            markers |= imported[module]
        for marker in sorted(markers):
            item.add_marker(getattr(pytest.mark, marker))


def require_postgres() -> None:
    """Skip on a laptop without PostgreSQL; fail under CI, where it must be there."""
    if FAST_LANE:
        pytest.fail(
            "this test reaches PostgreSQL but is not marked `postgres`: take the database "
            "from the `backend`/`engine`/`session`/`fresh_db` fixtures (they mark it), or "
            "mark it @pytest.mark.postgres"
        )
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


#: Per backend, a database migrated once per test process that :func:`migrated_database`
#: copies: an Alembic upgrade through every revision costs seconds, a copy milliseconds.
_TEMPLATES: dict[str, str] = {}


def _template(backend: str) -> str:
    """The migrated template of ``backend``: a SQLite file, or a PostgreSQL database name."""
    if backend in _TEMPLATES:
        return _TEMPLATES[backend]
    if backend == "sqlite":
        path = Path(tempfile.mkdtemp(prefix="nurture-template-")) / "template.db"
        eng = make_engine(f"sqlite:///{path}")
        init_db(eng)
        eng.dispose()  # the last connection checkpoints the WAL into the file
        atexit.register(shutil.rmtree, path.parent, ignore_errors=True)
        _TEMPLATES[backend] = str(path)
    else:
        name = f"nurture_tpl_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        _pg_admin(f'CREATE DATABASE "{name}"')
        eng = make_engine(_pg_url(name))
        init_db(eng)
        eng.dispose()  # CREATE DATABASE ... TEMPLATE needs the template to have no sessions
        atexit.register(_pg_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _TEMPLATES[backend] = name
    return _TEMPLATES[backend]


def _pg_url(database: str) -> str:
    base, _, query = PG_BASE_URL.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{database}" + (f"?{query}" if query else "")


def _pg_admin(statement: str) -> None:
    admin = create_engine(PG_BASE_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(statement))
    finally:
        admin.dispose()


@contextmanager
def migrated_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """The URL of a new database at the newest migration, a copy of the backend's template
    (SQLite: the file; PostgreSQL: ``CREATE DATABASE ... TEMPLATE``), dropped afterwards."""
    if backend == "sqlite":
        path = tmp_path / f"nurture-{uuid.uuid4().hex[:8]}.db"
        shutil.copyfile(_template("sqlite"), path)
        yield f"sqlite:///{path}"
        return
    require_postgres()
    name = f"t_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{_template(backend)}"')
    try:
        yield _pg_url(name)
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture()
def fresh_db(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An empty migrated database whose URL is also ``NURTURE_DATABASE_URL`` (for CLI tests
    and tests that need real commits: crashes, two workers)."""
    from nurture.db.session import get_engine

    with migrated_database(backend, tmp_path) as url:
        monkeypatch.setenv("NURTURE_DATABASE_URL", url)
        monkeypatch.setenv("NURTURE_OUTBOX_DIR", str(tmp_path / "outbox"))
        get_settings.cache_clear()
        get_engine.cache_clear()
        try:
            yield url
        finally:
            get_engine.cache_clear()  # closes its connections before the database is dropped
            get_settings.cache_clear()


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
