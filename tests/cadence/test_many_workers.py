"""Many workers on PostgreSQL: two sharded cycles and two senders at once over 20,000
enrolled leads plan and deliver every due touch once, none twice, none missing.

Real processes (``python -m nurture.cli run --shard K/2`` and ``... send``, all at
the same ``--now``) against one database and a real loopback SMTP server (aiosmtpd). The
senders start with the cycles, so they send what the first shard to commit has queued while
the other one still plans; two more senders at once then send the rest. PostgreSQL only:
on SQLite the workers take turns by design (one writer), which the shard tests cover.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from nurture.cadence.campaigns import read_campaign_file, save_campaign
from nurture.config import PROJECT_ROOT
from nurture.db.cadence import Touch
from nurture.db.mail import OutboxMessage
from nurture.db.session import make_engine

LEADS = 20_000
NOW = datetime(2026, 3, 25, 7, 30, tzinfo=UTC)  # a Wednesday, 10:30 in Moscow: window open
MID = re.compile(rb"^Message-ID:\s*(<[^>]+>)", re.MULTILINE | re.IGNORECASE)


class Counting:
    """An SMTP server that accepts everything and counts each Message-ID it receives."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: Counter[str] = Counter()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        match = MID.search(bytes(envelope.original_content or envelope.content))
        with self.lock:
            self.seen[match.group(1).decode() if match else ""] += len(envelope.rcpt_tos)
        return "250 OK queued"


@pytest.fixture()
def smtp() -> Iterator[tuple[Counting, int]]:
    handler = Counting()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def _seed(url: str) -> int:
    """20,000 leads in the exhibition campaign at steps spread over it; every seventh one
    due now (overdue), the others later. Set-based; returns how many are due."""
    engine = make_engine(url)
    try:
        with Session(engine) as s, s.begin():
            spec = read_campaign_file(PROJECT_ROOT / "examples/campaigns/exhibition.yaml")
            campaign, _ = save_campaign(s, spec)
            cid, steps = campaign.id, len(spec.steps)
        at = {"created": NOW - timedelta(days=20), "due": NOW - timedelta(hours=2), "now": NOW}
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO leads (id, email, first_name, company, country, language, "
                    "timezone, status, email_status, do_not_contact, created_at, updated_at) "
                    "SELECT i, 'w' || i || '@example.com', 'Lead', "
                    "CASE WHEN i % 2 = 0 THEN 'Acme' END, 'RU', 'ru', 'Europe/Moscow', 'open', "
                    "'ok', false, :created, :created FROM generate_series(1, :n) AS g(i)"
                ),
                {**at, "n": LEADS},
            )
            conn.execute(
                text(
                    "INSERT INTO enrollments (id, lead_id, campaign_id, cycle, status, "
                    "next_position, next_due_at, enrolled_at) "
                    "SELECT i, i, :cid, 1, 'active', (i / 7) % :steps, CASE WHEN i % 7 = 0 "
                    "THEN CAST(:due AS timestamptz) "
                    "ELSE CAST(:now AS timestamptz) + (2 + i % 20) * interval '1 day' END, "
                    ":created FROM generate_series(1, :n) AS g(i)"
                ),
                {**at, "n": LEADS, "cid": cid, "steps": steps},
            )
            for table in ("leads", "enrollments"):
                conn.execute(text(f"SELECT setval('{table}_id_seq', {LEADS})"))
            conn.execute(text("ANALYZE leads, enrollments"))
        return LEADS // 7
    finally:
        engine.dispose()


def _start(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "nurture.cli", *args, "--now", NOW.isoformat(), "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(procs: list[subprocess.Popen[str]]) -> list[dict[str, Any]]:
    import json

    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=120)
        assert p.returncode == 0, stderr[-2000:]
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_two_cycles_and_two_senders_at_once(fresh_db: str, smtp: tuple[Counting, int]) -> None:
    due = _seed(fresh_db)
    handler, port = smtp
    env = dict(
        os.environ,
        NURTURE_SMTP_URL=f"smtp://127.0.0.1:{port}?connections=4",
        NURTURE_SECRET_KEY="many-workers-test-signing-key-0123456789",
    )
    procs = [_start("run", "--shard", f"{k}/2", env=env) for k in (1, 2)]
    procs += [_start("send", env=env) for _ in range(2)]
    cycles = _finish(procs)[:2]
    _finish([_start("send", env=env) for _ in range(2)])  # what was queued after they looked

    engine = make_engine(fresh_db)
    try:
        with Session(engine) as s:
            missing = s.scalar(
                text(
                    "SELECT count(*) FROM enrollments e WHERE e.id % 7 = 0 AND NOT EXISTS ("
                    "SELECT 1 FROM touches t WHERE t.enrollment_id = e.id "
                    "AND t.position = (e.id / 7) % (SELECT count(*) FROM campaign_steps))"
                )
            )
            planned = s.scalar(select(func.count(Touch.id)).where(Touch.status == "planned"))
            states = Counter(s.scalars(select(OutboxMessage.status)))
            message_ids = set(s.scalars(select(OutboxMessage.message_id)))
            senders = set(s.scalars(select(OutboxMessage.claimed_by)))
    finally:
        engine.dispose()

    assert all(c["planned"] > 0 for c in cycles), "both shards must plan: concurrency unused"
    assert {c["shard"] for c in cycles} == {"1/2", "2/2"}
    assert missing == 0, f"{missing} of {due} due enrolments got no touch"
    assert sum(c["planned"] for c in cycles) == planned, "a touch was planned by both shards"
    assert sum(c["emails_queued"] for c in cycles) == sum(states.values()) > due // 2
    assert set(states) == {"sent"}, states
    assert set(handler.seen) == message_ids, "an e-mail queued was not delivered"
    assert max(handler.seen.values()) == 1, "an e-mail arrived twice"
    assert len(senders) >= 2, "only one sender got work: the test did not exercise concurrency"
