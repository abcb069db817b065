"""Faults of the SMTP server and of the disk, each against a real server or a real file-size
limit (issue 23): slow, silent, refusing, 4xx, 5xx, connections cut before and after DATA,
the file outbox unable to write. Each keeps the house promise: nothing lost, nothing sent
twice, no attempt spent on the server's fault, no busy loop, one clear line when it stops.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from mail_support import SmtpServer, add_leads, queue_messages, raw_server
from sqlalchemy import select

from nurture.config import get_settings
from nurture.db.leads import Lead
from nurture.db.mail import OutboxMessage, Suppression
from nurture.db.session import session_scope
from nurture.errors import TemporaryDeliveryError
from nurture.mail import Sender, SendSummary, clock_from
from nurture.mail.outbox import BACKOFF_BASE, MAX_ATTEMPTS

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _queue(emails: list[str], *, campaign: str = "sample") -> None:
    """Leads (new ones for the first campaign) and one due message each."""
    with session_scope() as s:
        known = {lead.email: lead.id for lead in s.scalars(select(Lead))}
        ids = [known[e] for e in emails] if campaign != "sample" else add_leads(s, emails)
        queue_messages(s, ids, emails, due=T0 - timedelta(minutes=1), campaign=campaign)


def _rows() -> dict[str, tuple[str, int]]:
    with session_scope() as s:
        return {m.message_id: (m.status, m.attempts) for m in s.scalars(select(OutboxMessage))}


def _by_addr() -> dict[str, OutboxMessage]:
    with session_scope() as s:
        return {m.to_addr: m for m in s.scalars(select(OutboxMessage))}


def _use(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NURTURE_SMTP_URL", url)
    get_settings.cache_clear()


def _send(at: datetime) -> SendSummary:
    """One run of the sender at ``at`` (as `nurture send --now` does it)."""
    return asyncio.run(Sender(render_workers=0, now=clock_from(at)).run())


def test_slow_server_within_the_timeout_delivers_everything_once(
    fresh_db: str, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    emails = [f"slow{i}@example.com" for i in range(6)]
    _queue(emails)
    smtp_server.handler.data_delay = 0.3  # every answer to DATA takes 0.3 s
    _use(smtp_server.url(connections=2, timeout=5), monkeypatch)
    summary = _send(T0)
    assert (summary.sent, summary.unknown) == (6, 0)
    assert sorted(smtp_server.handler.arrivals().values()) == [1] * 6


def test_an_answer_slower_than_the_timeout_is_unknown_and_never_resent(
    fresh_db: str, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server takes the content, then answers too late: it may have delivered it (it did),
    so the message is 'unknown', counted, and later runs never send it again."""
    emails = ["late@example.com", "fine@example.com"]
    _queue(emails)
    smtp_server.handler.data_delays["late@example.com"] = 3.0
    _use(smtp_server.url(connections=1, timeout=1), monkeypatch)
    summary = _send(T0)
    assert (summary.sent, summary.unknown, summary.unknown_total) == (1, 1, 1)
    rows = _by_addr()
    assert rows["late@example.com"].status == "unknown"
    assert rows["late@example.com"].attempts == 1
    later = _send(T0 + timedelta(days=3))
    assert later.claimed == 0 and later.unknown_total == 1
    assert sorted(smtp_server.handler.arrivals().values()) == [1, 1]


def test_a_server_that_never_greets_costs_one_connection_and_no_attempt(
    fresh_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _queue([f"silent{i}@example.com" for i in range(20)])
    with raw_server(greeting=None) as silent:
        _use(f"smtp://127.0.0.1:{silent.port}?connections=4&timeout=1", monkeypatch)
        started = time.monotonic()
        with pytest.raises(TemporaryDeliveryError, match=r"unreachable.*Timed out"):
            _send(T0)
        took = time.monotonic() - started
    assert silent.connections == 1  # one probe: no claim, no loop of connections
    assert took < 10
    assert set(_rows().values()) == {("queued", 0)}


def test_a_server_refusing_every_session_costs_one_connection_and_no_attempt(
    fresh_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _queue([f"refused{i}@example.com" for i in range(20)])
    with raw_server(greeting=b"554 5.3.2 no service for you\r\n") as refusing:
        _use(f"smtp://127.0.0.1:{refusing.port}?connections=4&timeout=2", monkeypatch)
        for _ in range(3):  # three scheduled runs
            with pytest.raises(TemporaryDeliveryError, match="554"):
                _send(T0)
    assert refusing.connections == 3
    assert set(_rows().values()) == {("queued", 0)}


def test_mail_from_refused_is_the_servers_fault_not_the_messages(
    fresh_db: str, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server refuses our envelope sender (a policy, a bad NURTURE_SENDER_EMAIL): no
    recipient was offered, so nothing is spent and the run stops after a few tries."""
    _queue([f"mf{i}@example.com" for i in range(30)])
    smtp_server.handler.mail_code = "550 5.7.1 sender not allowed"
    _use(smtp_server.url(connections=2), monkeypatch)
    with pytest.raises(TemporaryDeliveryError, match="MAIL 550"):
        _send(T0)
    assert set(_rows().values()) == {("queued", 0)}
    assert not smtp_server.handler.rcpt_tries
    smtp_server.handler.mail_code = None
    assert _send(T0).sent == 30


def test_4xx_backs_off_without_a_busy_loop_and_gives_up_after_max_attempts(
    fresh_db: str, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A greylisting server says 451 to every RCPT. Runs every second see nothing due until
    the backoff is over; the server sees exactly MAX_ATTEMPTS tries, no more."""
    addr = "grey@example.com"
    _queue([addr])
    smtp_server.handler.rcpt_codes[addr] = "451 4.7.1 greylisted, try later"
    _use(smtp_server.url(connections=1), monkeypatch)
    now = T0
    gaps: list[timedelta] = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert _send(now).claimed == 1
        row = _by_addr()[addr]
        assert row.attempts == attempt
        if row.status == "failed_perm":
            break
        assert row.status == "failed_temp" and row.next_attempt_at > now
        # a run just before the retry is due claims nothing (no busy loop, no early retry)
        assert _send(row.next_attempt_at - timedelta(seconds=1)).claimed == 0
        gaps.append(row.next_attempt_at - now)
        now = row.next_attempt_at
    assert smtp_server.handler.rcpt_tries[addr] == MAX_ATTEMPTS
    final = _by_addr()[addr]
    assert final.status == "failed_perm" and f"gave up after {MAX_ATTEMPTS}" in final.last_error
    for k, gap in enumerate(gaps, start=1):  # 1, 2, 4 ... minutes, x0.5-1.5 jitter
        assert gap >= BACKOFF_BASE * 2 ** (k - 1) * 0.5 - timedelta(seconds=2)
    assert smtp_server.handler.arrivals() == Counter()


def test_5xx_suppresses_the_address_for_every_later_message(
    fresh_db: str, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _queue(["gone@example.com", "here@example.com"])
    smtp_server.handler.rcpt_codes["gone@example.com"] = "550 5.1.1 no such user"
    _use(smtp_server.url(connections=1), monkeypatch)
    first = _send(T0)
    assert (first.sent, first.failed_perm) == (1, 1)
    with session_scope() as s:
        assert s.scalar(select(Suppression.reason).where(Suppression.email == "gone@example.com"))
    # the next step of the campaign: the address is never offered to the server again
    _queue(["gone@example.com"], campaign="next-step")
    second = _send(T0 + timedelta(days=1))
    assert (second.claimed, second.suppressed) == (1, 1)
    assert smtp_server.handler.rcpt_tries["gone@example.com"] == 1


def test_connections_cut_before_data_are_retried_after_data_are_unknown(
    fresh_db: str, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = smtp_server.handler
    _queue(["cut-rcpt@example.com", "cut-data@example.com", "ok@example.com"])
    h.drop_at_rcpt.add("cut-rcpt@example.com")
    h.drop_after_data.add("cut-data@example.com")
    _use(smtp_server.url(connections=1), monkeypatch)
    first = _send(T0)
    assert (first.sent, first.failed_temp, first.unknown, first.unknown_total) == (1, 1, 1, 1)
    rows = _by_addr()
    assert rows["cut-rcpt@example.com"].status == "failed_temp"  # counted, with backoff
    assert rows["cut-data@example.com"].status == "unknown"
    h.drop_at_rcpt.clear()
    h.drop_after_data.clear()
    for days in (1, 2, 3):  # later runs: the cut-before-DATA one goes out once, nothing else
        _send(T0 + timedelta(days=days))
    rows = _by_addr()
    assert rows["cut-rcpt@example.com"].status == "sent"
    assert rows["cut-data@example.com"].status == "unknown"  # never re-sent blindly
    assert sorted(h.arrivals().values()) == [1, 1, 1]  # cut-data's content did arrive once


def test_cut_at_mail_is_retried_at_once_without_spending_an_attempt(
    fresh_db: str, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection that dies at MAIL (an idle connection the server dropped) is the
    server's fault: the messages go back untried; when it persists the run stops."""
    _queue([f"m{i}@example.com" for i in range(10)])
    smtp_server.handler.drop_at_mail = True
    _use(smtp_server.url(connections=2), monkeypatch)
    with pytest.raises(TemporaryDeliveryError, match="connection lost before RCPT"):
        _send(T0)
    assert set(_rows().values()) == {("queued", 0)}
    smtp_server.handler.drop_at_mail = False
    assert _send(T0).sent == 10


# -- the file outbox on a full disk -------------------------------------------------------------

#: `nurture` with a file-size limit: writes beyond it fail with EFBIG, as on a full disk
#: (Python ignores SIGXFSZ, so the write fails instead of killing the process).
LIMITED_CLI = """
import resource, sys
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
from nurture.cli import main
sys.argv = ["nurture", *sys.argv[2:]]
main()
"""


def _nurture(*args: str, limit: int = -1) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", LIMITED_CLI, str(limit), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )


# PostgreSQL: the limit would stop an SQLite database file from growing too
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_full_disk_in_the_file_outbox_marks_nothing_sent_and_loses_nothing(
    fresh_db: str,
) -> None:
    emails = [f"disk{i}@example.com" for i in range(10)]
    _queue(emails)
    outbox_dir = Path(get_settings().outbox_dir)
    # every .eml is bigger than 2,000 bytes: each write fails part-way, as when the disk fills
    full = _nurture("send", "--now", T0.isoformat(), limit=2000)
    assert full.returncode == 1, full.stderr
    line = full.stderr.strip()
    assert "\n" not in line and "Traceback" not in full.stderr
    assert line.startswith("nurture: cannot write to") and "File too large" in line
    assert "nothing sent, 10 waiting" in line
    assert not list(outbox_dir.glob("*.eml")) and not list(outbox_dir.glob(".*.tmp"))
    assert set(_rows().values()) == {("queued", 0)}  # nothing marked sent, nothing spent
    status = _nurture("outbox", "status", "--json")
    server = json.loads(status.stdout)["server"]
    assert server["transport"] == "files" and server["reachable"] is False
    assert "File too large" in server["last_error"]

    done = _nurture("send", "--json", "--now", T0.isoformat())  # room again
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["sent"] == 10
    assert len(list(outbox_dir.glob("*.eml"))) == 10
    assert set(_rows().values()) == {("sent", 1)}
    status = _nurture("outbox", "status", "--json")
    assert json.loads(status.stdout)["server"]["reachable"] is True


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_journal_that_cannot_be_written_stops_before_anything_is_sent(
    fresh_db: str, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _queue([f"j{i}@example.com" for i in range(5)])
    outbox_dir = Path(get_settings().outbox_dir)
    outbox_dir.mkdir(parents=True, exist_ok=True)
    (outbox_dir / ".journal").write_text("a file where the journal's folder should be")
    _use(smtp_server.url(), monkeypatch)
    with pytest.raises(TemporaryDeliveryError, match="cannot open the send journal"):
        _send(T0)
    assert smtp_server.handler.arrivals() == Counter()
    assert set(_rows().values()) == {("queued", 0)}


JOURNAL_ON_A_FULL_DISK = """
import resource, sys
from pathlib import Path
from nurture.mail.journal import Journal, JournalError, read_journal
path = Path(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))
journal = Journal(path)
written = []
try:
    for i in range(1000, 2000):
        journal.data_started(i)
        written.append(i)
        journal.result(i, "sent")
except JournalError as exc:
    print(written[-1], exc)
state = read_journal(path)
print(sorted(state.data_started) == written, len(path.read_bytes()))
"""


def test_the_journal_refuses_a_line_it_cannot_write_whole(tmp_path: Path) -> None:
    """At the file-size limit a D line is cut short: the journal raises (so the message is
    not sent) and a reader never takes the torn line for a message id."""
    done = subprocess.run(
        [sys.executable, "-c", JOURNAL_ON_A_FULL_DISK, str(tmp_path / "j.log")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    stopped, verdict = done.stdout.strip().splitlines()
    assert "the disk is full" in stopped or "File too large" in stopped
    assert verdict.startswith("True ")
