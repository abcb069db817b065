"""Benchmark: how long ``nurture`` takes to start, against a bare two-command Typer app.

The floor is the least any Typer CLI costs: a fresh interpreter that imports Typer and prints
the ``--help`` of an app with two commands. Each measured command runs the way the console
script does (``from nurture.cli import app; app()``) in a fresh interpreter, on a small
SQLite database (one event file imported), taking turns with the floor so that the machine's
drift hits all alike; each figure is the median of ``--repeat`` runs. Goal: ``nurture --help``
and simple commands within 2x the floor.

    .venv/bin/python bench/cli.py [--repeat 20] [--json]

A second reference, the **stack bound**, is the least a command that reads the database
costs in this stack: the bare app runs a command with one parameter (Typer then validates it
through pydantic) that loads pydantic-settings and SQLAlchemy's ORM, maps one table and runs
one query on the same database. Whatever Nurture does beyond that is its own start-up cost.

``--imports`` lists, for each command, the modules it imports that the floor does not.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import Report

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "examples" / "events" / "webform-2026-10.jsonl"

BARE_APP = '''
import typer

app = typer.Typer()


@app.command()
def hello(name: str) -> None:
    """Say hello."""
    typer.echo(f"hello {name}")


@app.command()
def bye(name: str) -> None:
    """Say goodbye."""
    typer.echo(f"bye {name}")


app()
'''
BOUND_APP = """
import os

import typer

app = typer.Typer()


@app.command()
def count(table: str = "leads") -> None:
    \"\"\"Count the rows of one table through a mapped class.\"\"\"
    from pydantic_settings import BaseSettings
    from sqlalchemy import create_engine, func, select
    from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

    class Settings(BaseSettings):
        database_url: str = "sqlite://"

    class Base(DeclarativeBase):
        pass

    class Row(Base):
        __tablename__ = table
        id: Mapped[int] = mapped_column(primary_key=True)

    engine = create_engine(os.environ["NURTURE_DATABASE_URL"])
    with Session(engine) as session:
        typer.echo(session.scalar(select(func.count(Row.id))))


@app.command()
def bye(name: str) -> None:
    \"\"\"Say goodbye.\"\"\"
    typer.echo(f"bye {name}")


app()
"""
NURTURE = "import sys; from nurture.cli import app; sys.argv[0] = 'nurture'; sys.exit(app())"
FLOOR = "bare Typer app --help"
BOUND = "stack bound: Typer + pydantic + SQLAlchemy ORM, one query"

#: What is measured: a label and the arguments of ``nurture``.
COMMANDS: dict[str, list[str]] = {
    "nurture --help": ["--help"],
    "nurture leads show 1": ["leads", "show", "1"],
    "nurture campaign list": ["campaign", "list"],
    "nurture outbox status": ["outbox", "status"],
    "nurture coverage --json": ["coverage", "--json"],
}


def command_line(label: str, bare: Path) -> list[str]:
    if label == FLOOR:
        return [sys.executable, str(bare), "--help"]
    if label == BOUND:
        return [sys.executable, str(bare.with_name("bound.py")), "count", "--table", "leads"]
    return [sys.executable, "-c", NURTURE, *COMMANDS[label]]


def run_once(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[-3:])} failed: {done.stderr.strip()[-500:]}")
    return seconds


def imported(argv: list[str], env: dict[str, str]) -> set[str]:
    """The modules a run imports (``-X importtime``)."""
    done = subprocess.run(
        [argv[0], "-X", "importtime", *argv[1:]], env=env, capture_output=True, text=True
    )
    return {
        line.rpartition("|")[2].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="Runs of each command.")
    parser.add_argument("--json", action="store_true", help="One JSON object on stdout.")
    parser.add_argument(
        "--imports", action="store_true", help="List what each command imports beyond Typer."
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        bare = Path(tmp) / "bare.py"
        bare.write_text(BARE_APP, encoding="utf-8")
        bare.with_name("bound.py").write_text(BOUND_APP, encoding="utf-8")
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            "NURTURE_DATABASE_URL": f"sqlite:///{Path(tmp) / 'nurture.db'}",
            "NURTURE_OUTBOX_DIR": str(Path(tmp) / "outbox"),
        }
        for setup in (["init"], ["import", str(EVENTS), "--event", "Form", "--kind", "webform"]):
            subprocess.run(
                [sys.executable, "-c", NURTURE, *setup], env=env, check=True, capture_output=True
            )
        labels = [FLOOR, BOUND, *COMMANDS]
        times: dict[str, list[float]] = {label: [] for label in labels}
        for label in labels:  # warm the OS caches: the first run of each is not counted
            run_once(command_line(label, bare), env)
        for _ in range(args.repeat):
            for label in labels:
                times[label].append(run_once(command_line(label, bare), env))
        floor_modules = imported(command_line(labels[0], bare), env) if args.imports else set()

        floor = statistics.median(times[labels[0]])
        report = Report(
            f"CLI start-up, median of {args.repeat} runs each, taking turns "
            f"(load average before the last run: {os.getloadavg()[0]:.1f})"
        )
        for label in labels:
            median = statistics.median(times[label])
            row: dict[str, object] = {
                "command": label,
                "median_s": median,
                "min_s": min(times[label]),
                "ratio": median / floor,
            }
            if args.imports and label != labels[0]:
                extra = imported(command_line(label, bare), env) - floor_modules
                tops = sorted({m.split(".")[0] for m in extra})
                row["modules_beyond_typer"] = f"{len(extra)}: {', '.join(tops)}"
            report.add(**row)
    report.print()
    return report


if __name__ == "__main__":
    main()
