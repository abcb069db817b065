"""``python -m nurture.demo`` (``make demo``): a fresh workspace, the driver flow
(``flows/demo.py``) in a child process pointed at it, and the summary.

The child gets the workspace's settings in its environment before anything reads them
(Nurture's database and outbox, Prefect's home with its ephemeral API database), so nothing
outside the workspace is written. Prefect's usage analytics are off. The parent relays the
child's output, leaving out what Prefect's ephemeral server says about its own shutdown
(its event recorder loses its connection as the process exits; the runs are recorded by then).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from nurture.demo.workspace import Workspace, reset

#: Prefect settings of the demo: no usage reports, time for the ephemeral API to start on a
#: slow machine, and only its warnings (the demo prints its own progress).
PREFECT_ENV = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_LOGGING_LEVEL": "WARNING",
}
#: Lines of Prefect's ephemeral server shutting down, not of the demo.
SHUTDOWN_NOISE = ("task_run_recorder", "Error flushing events", "EventsWorker")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m nurture.demo",
        description="Nurture's main job through its Prefect flows, in simulated time, "
        "on a fresh workspace folder.",
    )
    parser.add_argument("--workspace", type=Path, default=Path("demo"), help="default: demo/")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 10, 5))
    parser.add_argument("--days", type=int, default=120, help="simulated days (default 120)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--lang", choices=("en", "ru"), default="en")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.days < 1:
        print("python -m nurture.demo: --days must be at least 1", file=sys.stderr)
        return 2
    if args.child:
        return child(args)
    space = reset(args.workspace)
    env = {**os.environ, **space.environment(), **PREFECT_ENV}
    env.pop("NURTURE_SMTP_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "nurture.demo", "--child", *_forward(args, space)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if not any(mark in line for mark in SHUTDOWN_NOISE):
            sys.stdout.write(line)
            sys.stdout.flush()
    return proc.wait()


def _forward(args: argparse.Namespace, space: Workspace) -> list[str]:
    return [
        f"--workspace={space.root}",
        f"--start={args.start.isoformat()}",
        f"--days={args.days}",
        f"--seed={args.seed}",
        f"--lang={args.lang}",
    ]


def child(args: argparse.Namespace) -> int:
    """Run the driver flow in this process (its environment already points at the workspace)."""
    from nurture.flowfiles import load_flow_file

    module = load_flow_file("demo")
    print(f"== Nurture demo in {args.workspace}: the Prefect flows over {args.days} simulated days")
    result = module.nurture_demo(
        workspace=str(args.workspace),
        start=args.start,
        days=args.days,
        seed=args.seed,
        lang=args.lang,
    )
    from nurture.demo.summary import render

    print()
    flows, tasks = prefect_runs()
    print(render(result, flow_runs=flows, task_runs=tasks, lang=args.lang))
    return 0


def prefect_runs() -> tuple[dict[str, int], int]:
    """Flow runs recorded by Prefect's API, by flow name, and the number of task runs."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        names = {f.id: f.name for f in client.read_flows()}
        runs = client.read_flow_runs()
        tasks, page = 0, 200
        while batch := client.read_task_runs(limit=page, offset=tasks):
            tasks += len(batch)
    counts: dict[str, int] = {}
    for run in runs:
        name = names.get(run.flow_id, "?")
        counts[name] = counts.get(name, 0) + 1
    return counts, tasks
