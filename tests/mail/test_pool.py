"""Forked render workers: chosen only when safe, and they lose nothing and send nothing twice.

The pytest process runs an SMTP server thread, so a sender in it always spawns its workers;
forking is exercised by senders in child processes (one thread each), as `nurture send` runs.
"""

from __future__ import annotations

import email
import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime
from email import policy
from typing import Any

import pytest
from mail_support import SmtpServer, add_leads, queue_messages
from sqlalchemy import select

from nurture.db.mail import OutboxMessage
from nurture.db.session import session_scope
from nurture.mail.pool import can_fork
from nurture.mail.suppression import add_suppressions

SENDER = """
import json, sys
from nurture.mail.sender import send_due
print(json.dumps(send_due(**json.loads(sys.argv[1])).as_dict()))
"""

DYING = """
import json, sys
from nurture.mail.pool import RenderPool
from nurture.mail.sender import send_due

calls = 0
claim = RenderPool.claim

async def claim_then_die(self, limit, now, done):
    global calls
    calls += 1
    if calls == 3:  # the worker dies while the sender is busy with the first rows
        self._workers[0].proc.kill()
    return await claim(self, limit, now, done)

RenderPool.claim = claim_then_die
options = dict(render_workers=1, pool_threshold=1, batch_size=20, wait_for_pool=True)
print(json.dumps(send_due(**options).as_dict()))
"""


def _run(code: str, smtp_url: str, *args: str) -> dict[str, Any]:
    env = dict(os.environ, NURTURE_SMTP_URL=smtp_url)
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    summary: dict[str, Any] = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    return summary


def _states() -> dict[str, str]:
    with session_scope() as s:
        return {r.to_addr: r.status for r in s.scalars(select(OutboxMessage))}


def test_workers_are_forked_only_when_this_is_the_only_thread() -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not can_fork()
    finally:
        stop.set()
        other.join()
    code = "from nurture.mail.pool import can_fork; print(can_fork())"
    alone = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
    assert alone.stdout.decode().strip() == ("True" if sys.platform == "linux" else "False")


@pytest.mark.skipif(sys.platform != "linux", reason="workers are forked on Linux only")
def test_forked_workers_claim_render_and_record_every_message_once(
    fresh_db: str, smtp_server: SmtpServer
) -> None:
    ru = [f"ru{i}@example.com" for i in range(150)]
    en = [f"en{i}@example.org" for i in range(150)]
    with session_scope() as s:
        ids = add_leads(s, ru, language="ru", first_name="Иван")
        ids += add_leads(s, en, language="en", first_name="John")
        queue_messages(s, ids, ru + en)
        add_suppressions(s, [{"email": ru[0]}], now=datetime.now(UTC))
    options = {"render_workers": 2, "pool_threshold": 1, "batch_size": 40}
    summary = _run(SENDER, smtp_server.url(connections=3), json.dumps(options))
    assert (summary["render_start"], summary["render_processes"]) == ("fork", 2)
    assert summary["rendered_in_pool"] == summary["claimed"] == 300
    assert (summary["sent"], summary["suppressed"]) == (299, 1)
    arrivals = smtp_server.handler.arrivals()
    assert len(arrivals) == 299 and max(arrivals.values()) == 1
    states = _states()
    assert states.pop(ru[0]) == "suppressed" and set(states.values()) == {"sent"}
    subjects = set()
    for _, data in smtp_server.handler.messages:
        msg = email.message_from_bytes(data, policy=policy.default)
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        subjects.add(str(msg["Subject"]))
    assert subjects == {"Иван, спасибо, что посетили sample", "John, thank you for visiting sample"}


@pytest.mark.skipif(sys.platform != "linux", reason="workers are forked on Linux only")
def test_a_forked_worker_that_dies_loses_nothing_and_sends_nothing_twice(
    fresh_db: str, smtp_server: SmtpServer
) -> None:
    # The worker claims at most two requests of 50 before it dies (the pool is up before the
    # first claim): with 300 rows the sender always has rows left to claim by itself.
    emails = [f"d{i}@example.com" for i in range(300)]
    with session_scope() as s:
        ids = add_leads(s, emails)
        queue_messages(s, ids, emails)
    summary = _run(DYING, smtp_server.url(connections=2))
    assert summary["render_start"] == "fork"
    arrivals = smtp_server.handler.arrivals()
    assert max(arrivals.values()) == 1  # nothing twice
    states = _states()
    # every row is sent, or (claimed by the dead worker, never transmitted) queued again
    assert set(states.values()) <= {"sent", "queued"}
    assert summary["sent"] == len(arrivals) == list(states.values()).count("sent")
    assert summary["sent"] > summary["rendered_in_pool"]  # the sender went on by itself
    assert list(states.values()).count("queued") <= 2 * 50
