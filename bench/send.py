"""Benchmark: render and send N e-mails through the full pipeline (claim from the outbox,
suppression check, Jinja rendering, CSS inlining, MIME building, SMTP, batched bookkeeping)
versus a raw aiosmtplib loop sending one pre-built message N times over the same number of
connections, in the same run, to the same loopback server.

    .venv/bin/python bench/send.py [--rows 20000] [--connections 4] [--server auto|sink|aiosmtpd]

The server is Debian postfix's ``smtp-sink`` when installed (started and stopped here), else
aiosmtpd in a child process. Goal: the pipeline keeps at least 70% of raw throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import Report, timed  # this script's folder is on sys.path

AIOSMTPD_CHILD = """
import asyncio, sys
from aiosmtpd.controller import Controller
class Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"
c = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
c.start()
print("ready", flush=True)
sys.stdin.read()
c.stop()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"SMTP server on port {port} did not start")


def start_server(kind: str) -> tuple[subprocess.Popen[bytes], int, str]:
    port = free_port()
    sink = shutil.which("smtp-sink") or (
        "/usr/sbin/smtp-sink" if Path("/usr/sbin/smtp-sink").exists() else None
    )
    if kind in ("auto", "sink") and sink:
        cmd = [sink]
        if os.geteuid() == 0:
            cmd += ["-u", "nobody"]
        proc = subprocess.Popen([*cmd, f"127.0.0.1:{port}", "256"], stderr=subprocess.DEVNULL)
        wait_port(port)
        return proc, port, "postfix smtp-sink"
    if kind == "sink":
        raise SystemExit("smtp-sink is not installed (apt-get install postfix)")
    proc = subprocess.Popen(
        [sys.executable, "-c", AIOSMTPD_CHILD, str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    proc.stdout.readline()
    wait_port(port)
    return proc, port, "aiosmtpd (child process)"


async def raw_loop(port: int, rows: int, connections: int, data: bytes) -> float:
    """Messages per second of a bare aiosmtplib loop with one pre-built message.

    It issues MAIL, RCPT and DATA itself, as the sender's transport does (``sendmail()``
    would parse the addresses twice and make the baseline slower than it needs to be), with
    the same per-command timeout."""
    import aiosmtplib

    remaining = rows

    async def one_connection() -> None:
        nonlocal remaining
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=30)
        await smtp.connect()
        while remaining > 0:
            remaining -= 1
            await smtp.mail("hello@nurture.example")
            await smtp.rcpt("lead1@example1.com")
            await smtp.data(data)
        await smtp.quit()

    start = time.perf_counter()
    await asyncio.gather(*(one_connection() for _ in range(connections)))
    return rows / (time.perf_counter() - start)


def prepare_database(url: str, rows: int) -> None:
    from sqlalchemy import insert

    from nurture.db.leads import Lead
    from nurture.db.mail import OutboxMessage
    from nurture.db.session import init_db, make_engine, session_scope

    engine = make_engine(url)
    init_db(engine)
    with session_scope(engine) as s:
        s.execute(
            insert(Lead),
            [
                {
                    "email": f"lead{i}@example{i % 50}.com",
                    "first_name": ("Иван", "John", "Мария", "Anna")[i % 4],
                    "last_name": "Petrov",
                    "company": f"Company {i}",
                    "language": "ru" if i % 2 else "en",
                }
                for i in range(1, rows + 1)
            ],
        )
        due = datetime.now(UTC) - timedelta(seconds=1)
        s.execute(
            insert(OutboxMessage),
            [
                {
                    "dedupe_key": f"touch.{i}.sample.1.0",
                    "message_id": f"<touch.{i}.sample.1.0@nurture.local>",
                    "kind": "marketing",
                    "lead_id": i,
                    "campaign_slug": "sample",
                    "step": "welcome",
                    "template": "sample/welcome",
                    "to_addr": f"lead{i}@example{i % 50}.com",
                    "status": "queued",
                    "next_attempt_at": due,
                }
                for i in range(1, rows + 1)
            ],
        )
    engine.dispose()


def measured(fn: Callable[[], Any]) -> tuple[Any, float]:
    """(result of ``fn``, CPU seconds it used in this process and in finished children)."""
    before = time.process_time(), resource.getrusage(resource.RUSAGE_CHILDREN)
    result = fn()
    after = time.process_time(), resource.getrusage(resource.RUSAGE_CHILDREN)
    children = (after[1].ru_utime + after[1].ru_stime) - (before[1].ru_utime + before[1].ru_stime)
    return result, after[0] - before[0] + children


def reset_outbox(url: str) -> None:
    """Every row queued again (a second pipeline run over the same data)."""
    from sqlalchemy import update

    from nurture.db.mail import OutboxMessage
    from nurture.db.session import make_engine, session_scope

    engine = make_engine(url)
    due = datetime.now(UTC) - timedelta(seconds=1)
    with session_scope(engine) as s:
        s.execute(
            update(OutboxMessage).values(
                status="queued", attempts=0, next_attempt_at=due, claimed_by=None
            )
        )
    engine.dispose()


def stdlib_vs_builder(n: int = 2000) -> tuple[float, float]:
    """Microseconds per message: email.message.EmailMessage vs nurture.mail.message."""
    from nurture.mail.message import MessageBuilder

    para = "<p>Здравствуйте, Иван! Спасибо за разговор.</p>"
    html = "<html><body>" + para * 10 + "</body></html>"
    text = "Здравствуйте, Иван! Спасибо за разговор.\n" * 10
    with timed() as t_std:
        for i in range(n):
            m = EmailMessage()
            m["From"] = "Nurture <hello@nurture.example>"
            m["To"] = f"lead{i}@example.com"
            m["Subject"] = "Иван, спасибо, что посетили выставку"
            m["Message-ID"] = f"<touch.{i}@nurture.local>"
            m["List-Unsubscribe"] = "<mailto:u@nurture.example>, <https://n.example/u/x>"
            m.set_content(text)
            m.add_alternative(html, subtype="html")
            m.as_bytes()
    b = MessageBuilder(sender_email="hello@nurture.example", sender_name="Nurture")
    with timed() as t_ours:
        for i in range(n):
            b.build(
                to_addr=f"lead{i}@example.com",
                subject="Иван, спасибо, что посетили выставку",
                html=html,
                text=text,
                message_id=f"<touch.{i}@nurture.local>",
                list_unsubscribe=["mailto:u@nurture.example", "https://n.example/u/x"],
            )
    return t_std.seconds / n * 1e6, t_ours.seconds / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--server", choices=["auto", "sink", "aiosmtpd"], default="auto")
    parser.add_argument("--database-url", default=None, help="default: a new SQLite file")
    parser.add_argument(
        "--render-workers", default="0,1", help="pipeline runs to measure, comma-separated"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="raw/pipeline rounds (ratio: median and range)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    workers_list = [int(w) for w in args.render_workers.split(",")]
    load_before = f"{os.getloadavg()[0]:.1f}"

    workdir = Path(tempfile.mkdtemp(prefix="nurture-bench-send-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    os.environ["NURTURE_DATABASE_URL"] = url
    os.environ["NURTURE_OUTBOX_DIR"] = str(workdir / "outbox")
    prepare_database(url, args.rows)
    proc, port, server_name = start_server(args.server)
    try:
        os.environ["NURTURE_SMTP_URL"] = (
            f"smtp://127.0.0.1:{port}?connections={args.connections}&starttls=false"
        )
        from nurture.config import get_settings

        get_settings.cache_clear()
        from nurture.db.session import make_engine, session_scope
        from nurture.mail import preview, send_due

        # the raw loop's message: what the pipeline sends to lead 1 (same headers and size)
        engine = make_engine(url)
        with session_scope(engine) as session:
            prebuilt = preview(session, "sample/welcome", 1)
        engine.dispose()

        def raw_run() -> tuple[float, float]:
            return measured(
                lambda: asyncio.run(raw_loop(port, args.rows, args.connections, prebuilt))
            )

        # raw, pipelines, raw, pipelines, ..., raw: each pipeline run is compared with the
        # mean of the raw runs right before and after it (the machine's load drifts)
        raws = [raw_run()]
        runs: dict[int, list[tuple[Any, float, int]]] = {w: [] for w in workers_list}
        for _ in range(args.rounds):
            for workers in workers_list:
                reset_outbox(url)
                summary, cpu = measured(partial(send_due, render_workers=workers))
                runs[workers].append((summary, cpu, len(raws) - 1))
                if summary.sent != args.rows:
                    print(f"warning: sent {summary.sent} of {args.rows}", file=sys.stderr)
            raws.append(raw_run())
    finally:
        proc.terminate()
        proc.wait()
    std_us, ours_us = stdlib_vs_builder(min(500, args.rows))
    report = Report(
        f"send {args.rows} messages over {args.connections} connections to {server_name}, "
        f"{args.rounds} round(s); load average before: {load_before}"
    )
    report.add(
        pipeline="raw aiosmtplib loop (pre-built message)",
        msgs_per_s=statistics.median(r for r, _ in raws),
        ratio="1",
        ratio_range="",
        cpu_us_per_msg=statistics.median(c for _, c in raws) / args.rows * 1e6,
    )
    for results in runs.values():
        rates = [summary.sent / summary.seconds for summary, _, _ in results]
        ratios = [
            rate / ((raws[i][0] + raws[i + 1][0]) / 2)
            for rate, (_, _, i) in zip(rates, results, strict=True)
        ]
        report.add(
            pipeline=f"nurture send, render processes: {results[0][0].render_processes}"
            + (f" ({results[0][0].render_start})" if results[0][0].render_processes else ""),
            msgs_per_s=statistics.median(rates),
            ratio=f"{statistics.median(ratios):.2f}",
            ratio_range=f"{min(ratios):.2f}-{max(ratios):.2f}",
            cpu_us_per_msg=statistics.median(cpu for _, cpu, _ in results) / args.rows * 1e6,
        )
    report.add(pipeline="raw runs: " + " / ".join(f"{r:.0f}" for r, _ in raws) + " msgs/s")
    report.add(pipeline=f"load average after: {os.getloadavg()[0]:.1f}")
    report.add(pipeline=f"MIME build: stdlib email {std_us:.0f} us, nurture {ours_us:.0f} us")
    report.print()
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
