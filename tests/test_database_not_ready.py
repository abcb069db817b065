"""Every command on a database that is not ready says so in one line and exits 2.

A database is not ready when it was never initialised (no file, or a file without the
schema), when its schema is older than this version's, or when its server cannot be
reached. The commands come from ``nurture.cli.COMMANDS``, so a new command is covered as
soon as it is declared: its required arguments get sample values by type, or from
:data:`ARGS` when it needs a real file.
"""

from __future__ import annotations

import shutil
import signal
import sqlite3
import tempfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from typer.testing import CliRunner

from nurture import cli
from nurture.config import PROJECT_ROOT, get_settings
from nurture.db.session import (
    get_engine,
    init_db,
    make_engine,
    schema_head,
    schema_problem,
    schema_revisions,
)
from nurture.errors import DatabaseNotReadyError

EXAMPLES = PROJECT_ROOT / "examples"

#: Commands that never open the configured database (they read files, or their own scratch
#: database), and why.
NO_DATABASE = {
    ("template", "check"): "renders the template files only",
    ("simulate",): "runs on a scratch database of its own",
    ("score", "predict"): "reads a transactions file",
    ("score", "evaluate"): "reads a transactions file",
    ("score", "cdnow-export"): "writes the bundled CDNOW data",
    ("score", "models"): "lists the model versions on disk",
    ("playbook", "validate"): "checks a playbook file",
}

#: Arguments for commands that need more than a sample value of each required parameter.
ARGS: dict[tuple[str, ...], list[str]] = {
    ("team", "load"): [str(EXAMPLES / "team.yaml")],
    ("team", "absent"): ["a@example.com", "--from", "2026-01-05", "--to", "2026-01-09"],
    ("import",): [str(EXAMPLES / "events" / "webform-2026-10.jsonl"), "--event", "Form"],
    ("campaign", "load"): [str(EXAMPLES / "campaigns" / "seminar.yaml")],
    ("campaign", "enroll"): ["seminar", "--where", "country = 'RU'"],
    ("purchases", "import"): [str(EXAMPLES / "purchases.csv")],
    ("leads", "unmerge"): ["1"],
    ("leads", "forget"): ["x@example.com"],
    ("suppress", "add"): ["x@example.com"],
    ("playbook", "load"): [str(EXAMPLES / "playbooks" / "b2b-sale.yaml")],
    ("playbook", "roles"): [str(EXAMPLES / "playbooks" / "roles" / "sales.yaml")],
    ("template", "preview"): ["exhibition/welcome", "--lead", "1", "--out", "{tmp}/x.eml"],
}


def leaf_commands() -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every runnable command under ``nurture``, as its path of names."""

    def walk(path: tuple[str, ...], command: Any) -> Iterator[tuple[tuple[str, ...], Any]]:
        subcommands = getattr(command, "commands", None)
        if subcommands is None:
            yield path, command
            return
        for name, sub in subcommands.items():
            yield from walk((*path, name), sub)

    for name, entry in cli.COMMANDS.items():
        if not entry.hidden:
            yield from walk((name,), cli.load_command(name))


def sample_args(path: tuple[str, ...], command: Any, tmp: Path) -> list[str]:
    """The command line for ``path``: :data:`ARGS`, else a sample value per required
    parameter (an id, a word, a file that exists)."""
    if path in ARGS:
        return [*path, *(a.replace("{tmp}", str(tmp)) for a in ARGS[path])]
    sample = tmp / "sample.csv"
    sample.write_text("email,status\nx@example.com,5.1.1\n", encoding="utf-8")
    args = list(path)
    for param in command.params:
        if not param.required:
            continue
        annotation = param.type_descriptor.annotation
        value = {int: "1", float: "1"}.get(annotation, "x")
        if annotation is Path:
            value = str(tmp / "out.csv") if "out" in param.name else str(sample)
        if param.param_type_name == "option":
            args.append(param.opts[0])
        args.append(value)
    return args


COMMAND_PATHS = [p for p, _ in leaf_commands()]


@pytest.fixture()
def in_time() -> Iterator[None]:
    """A command that hangs (waiting for a server) fails the test instead."""

    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise TimeoutError("the command did not finish within 60 s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def run(path: tuple[str, ...], tmp: Path) -> Any:
    command = dict(leaf_commands())[path]
    return CliRunner().invoke(cli.app, sample_args(path, command, tmp))


@cache
def _older_template() -> Path:
    """A database migrated to the revision before this version's newest (built once): the
    newest one downgraded, so that `nurture init` really has a migration to run."""
    from alembic import command

    from nurture.db.session import alembic_config

    path = Path(tempfile.mkdtemp(prefix="nurture-older-")) / "older.db"
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    previous = schema_revisions()[schema_head()]
    assert previous is not None
    command.downgrade(alembic_config(engine), previous)
    engine.dispose()
    return path


def older_database(tmp: Path) -> str:
    return f"sqlite:///{shutil.copy(_older_template(), tmp / 'older.db')}"


def empty_database(tmp: Path) -> str:
    path = tmp / "empty.db"
    sqlite3.connect(path).close()  # a file without Nurture's tables
    return f"sqlite:///{path}"


STATES = {
    "no file": lambda tmp: f"sqlite:///{tmp / 'missing.db'}",
    "no schema": empty_database,
    "older schema": older_database,
    "unreachable server": lambda tmp: "postgresql://nurture@127.0.0.1:9/nurture",
}
EXPECTED = {
    "no file": "there is no database at",
    "no schema": "has no Nurture schema: run `nurture init` to create it",
    "older schema": "older than this version of Nurture needs",
    "unreachable server": "cannot reach the database at postgresql://nurture@127.0.0.1:9",
}


CASES = [
    pytest.param(path, state, id=f"{' '.join(path)}-{state}")
    for path in COMMAND_PATHS
    for state in (["no file"] if path in NO_DATABASE else STATES)
]


def test_the_exceptions_name_real_commands() -> None:
    assert set(NO_DATABASE) | set(ARGS) <= set(COMMAND_PATHS)


@pytest.mark.parametrize(("path", "state"), CASES)
def test_a_database_that_is_not_ready_is_one_line_and_exit_2(
    path: tuple[str, ...],
    state: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    in_time: None,
) -> None:
    monkeypatch.setenv("NURTURE_DATABASE_URL", STATES[state](tmp_path))
    monkeypatch.setenv("NURTURE_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("NURTURE_SECRET_KEY", "a-key-of-this-test-only-" * 2)  # no key warning
    get_settings.cache_clear()
    get_engine.cache_clear()
    result = run(path, tmp_path)
    if path in NO_DATABASE:
        assert "nurture init" not in result.output, NO_DATABASE[path]
        return
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("nurture: "), result.output
    assert EXPECTED[state] in lines[0] and "nurture init" in lines[0], lines[0]
    assert "Traceback" not in result.output and "SELECT" not in result.output


def test_init_creates_and_upgrades_what_the_other_commands_refuse(tmp_path: Path) -> None:
    for state in ("no file", "no schema", "older schema"):
        folder = tmp_path / state.replace(" ", "-")
        folder.mkdir()
        url = STATES[state](folder)
        engine = make_engine(url)
        assert schema_problem(engine) is not None
        get_settings.cache_clear()
        result = CliRunner().invoke(cli.app, ["init"], env={"NURTURE_DATABASE_URL": url})
        assert result.exit_code == 0, result.output
        assert schema_problem(engine) is None
        engine.dispose()


def test_a_schema_from_a_newer_version_is_named(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'newer.db'}")
    init_db(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'ffff_future'")
    with pytest.raises(DatabaseNotReadyError, match="does not know") as error:
        get_engine(str(engine.url))
    assert error.value.exit_code == 2
    engine.dispose()


def test_the_head_read_from_the_files_is_alembics() -> None:
    from alembic.script import ScriptDirectory

    from nurture.db.session import alembic_config

    engine = make_engine("sqlite://")
    heads = ScriptDirectory.from_config(alembic_config(engine)).get_heads()
    assert heads == [schema_head()]
    assert len(schema_revisions()) == len(
        list(ScriptDirectory.from_config(alembic_config(engine)).walk_revisions())
    )
