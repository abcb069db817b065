"""Outbox state machine: claiming, recording, backoff and the reconcile policy."""

from __future__ import annotations

import random
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mail_support import add_leads, queue_messages
from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.db.mail import OutboxMessage, Suppression
from nurture.mail import outbox
from nurture.mail.journal import Journal, journal_path
from nurture.mail.suppression import LeadFlags, block_reason
from nurture.mail.transport import SmtpConfig, classify

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DEAD = f"{socket.gethostname()}:999999:deadbeef"  # this host, a pid that is gone


def _queue(session: Session, n: int) -> list[int]:
    emails = [f"l{i}@example.com" for i in range(n)]
    ids = add_leads(session, emails)
    queue_messages(session, ids, emails, due=NOW - timedelta(minutes=1))
    return [r.id for r in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


def _status(session: Session) -> dict[int, str]:
    session.expire_all()
    return {r.id: r.status for r in session.scalars(select(OutboxMessage))}


def test_claim_is_exclusive_and_respects_due_time(session: Session) -> None:
    ids = _queue(session, 5)
    later = session.get(OutboxMessage, ids[4])
    assert later is not None
    later.next_attempt_at = NOW + timedelta(hours=1)
    session.flush()
    first = outbox.claim(session, worker="w1", limit=3, now=NOW)
    second = outbox.claim(session, worker="w2", limit=10, now=NOW)
    assert [r.id for r in first] == ids[:3] and [r.id for r in second] == [ids[3]]
    assert outbox.claim(session, worker="w3", limit=10, now=NOW) == []
    assert first[0].attempts == 1 and first[0].template == "sample/welcome"


def test_record_only_touches_own_sending_rows_and_bounces_suppress(session: Session) -> None:
    ids = _queue(session, 3)
    rows = outbox.claim(session, worker="w1", limit=3, now=NOW)
    outcomes = [
        outbox.Outcome(ids[0], outbox.SENT),
        outbox.Outcome(ids[1], outbox.FAILED_PERM, "RCPT 550", bounce_email=rows[1].to_addr),
        outbox.temporary_outcome(ids[2], 1, "RCPT 451", NOW),
    ]
    assert outbox.record(session, worker="someone-else", outcomes=outcomes, now=NOW) == 0
    assert outbox.record(session, worker="w1", outcomes=outcomes, now=NOW) == 3
    assert _status(session) == {ids[0]: "sent", ids[1]: "failed_perm", ids[2]: "failed_temp"}
    sup = session.scalar(select(Suppression).where(Suppression.email == rows[1].to_addr))
    assert sup is not None and sup.reason == "bounce"
    retry = session.get(OutboxMessage, ids[2])
    assert retry is not None and NOW + timedelta(seconds=29) <= retry.next_attempt_at
    # due again later, and claimed again with attempts counted
    again = outbox.claim(session, worker="w2", limit=5, now=NOW + timedelta(hours=7))
    assert [(r.id, r.attempts) for r in again] == [(ids[2], 2)]


def test_reconcile_follows_the_journal(session: Session, tmp_path: Path) -> None:
    ids = _queue(session, 4)
    outbox.claim(session, worker=DEAD, limit=4, now=NOW)
    journal = Journal(journal_path(tmp_path, DEAD))
    journal.data_started(ids[0])
    journal.result(ids[0], "sent")  # answered, not yet recorded
    journal.data_started(ids[1])  # cut after DATA
    journal.data_started(ids[2])
    journal.result(ids[2], "failed_temp")
    journal.close(delete=False)  # ids[3]: never transmitted
    later = NOW + timedelta(minutes=1)
    report = outbox.reconcile(session, journal_dir=tmp_path, now=later)
    assert (report.sent, report.unknown, report.requeued) == (1, 1, 2)
    assert _status(session) == {
        ids[0]: "sent",
        ids[1]: "unknown",
        ids[2]: "failed_temp",  # a definite 4xx: the attempt counts, the backoff applies
        ids[3]: "queued",  # never transmitted: given back, its attempt not spent
    }
    rows = {r.id: r for r in session.scalars(select(OutboxMessage))}
    assert rows[ids[2]].attempts == 1 and rows[ids[2]].next_attempt_at >= later + timedelta(
        seconds=29
    )
    assert rows[ids[3]].attempts == 0 and rows[ids[3]].next_attempt_at <= NOW
    # due again at once, in its old place: nothing was spent
    again = outbox.claim(session, worker="w2", limit=5, now=later)
    assert [(r.id, r.attempts) for r in again] == [(ids[3], 1)]


def test_journal_result_lines_wait_for_the_next_data_line_or_flush(
    session: Session, tmp_path: Path
) -> None:
    """A D line is in the file when data_started returns; R lines ride along with the next
    D line (one syscall) or a flush. A kill -9 before that turns the row into 'unknown'."""
    ids = _queue(session, 3)
    outbox.claim(session, worker=DEAD, limit=3, now=NOW)
    path = journal_path(tmp_path, DEAD)
    journal = Journal(path)
    journal.data_started(ids[0])
    journal.result(ids[0], "sent")
    assert path.read_bytes() == b"D %d\n" % ids[0]  # the R line is pending
    journal.data_started(ids[1])
    assert path.read_bytes() == b"D %d\nR %d sent\nD %d\n" % (ids[0], ids[0], ids[1])
    journal.result(ids[1], "failed_perm")
    journal.flush()
    journal.data_started(ids[2])
    journal.result(ids[2], "sent")  # never written: the sender is "killed" here
    report = outbox.reconcile(session, journal_dir=tmp_path, now=NOW + timedelta(minutes=1))
    assert (report.sent, report.unknown, report.requeued) == (1, 1, 1)
    # the 5xx answer was never recorded: asked again later (it counts, so the backoff applies)
    assert _status(session) == {ids[0]: "sent", ids[1]: "failed_temp", ids[2]: "unknown"}


def test_reconcile_without_journal_never_resends(session: Session, tmp_path: Path) -> None:
    ids = _queue(session, 2)
    outbox.claim(session, worker="elsewhere:1:abc", limit=2, now=NOW)
    # a live sender on another host keeps its rows until the lease expires
    fresh = outbox.reconcile(session, journal_dir=tmp_path, now=NOW + timedelta(minutes=1))
    assert fresh.total == 0
    late = outbox.reconcile(session, journal_dir=tmp_path, now=NOW + timedelta(hours=1))
    assert late.unknown == 2
    assert set(_status(session).values()) == {"unknown"}
    assert outbox.requeue(session, ids=[ids[0]], status="unknown", now=NOW) == 1
    assert _status(session)[ids[0]] == "queued"
    requeued = session.get(OutboxMessage, ids[0])
    assert requeued is not None and requeued.attempts == 0  # a person's fresh start


def test_backoff_grows_with_jitter_and_gives_up() -> None:
    rng = random.Random(1)
    delays = [outbox.backoff_delay(a, rng=rng) for a in range(1, 12)]
    assert timedelta(seconds=30) <= delays[0] <= timedelta(seconds=90)
    assert delays[4] > delays[0]
    assert max(delays) <= outbox.BACKOFF_CAP * 1.5
    gave_up = outbox.temporary_outcome(1, outbox.MAX_ATTEMPTS, "451", NOW)
    assert gave_up.status == outbox.FAILED_PERM and gave_up.bounce_email is None


def test_classification_and_block_decisions() -> None:
    assert classify(550, "no such user", "RCPT").status == "failed_perm"
    assert classify(550, "no such user", "RCPT").recipient_refused
    assert classify(451, "later", "RCPT").status == "failed_temp"
    assert classify(421, "bye", "DATA").status == "failed_temp"
    flags = LeadFlags(unsubscribed=True)
    assert block_reason(kind="marketing", campaign="a", scopes={}, lead=flags)
    assert block_reason(kind="marketing", campaign="a", scopes={"a": "manual"}, lead=None)
    assert block_reason(kind="marketing", campaign="b", scopes={"a": "manual"}, lead=None) is None
    # a manager's digest is not stopped by a marketing unsubscribe, only by bounces
    assert (
        block_reason(kind="digest", campaign=None, scopes={"*": "unsubscribe"}, lead=None) is None
    )
    assert block_reason(kind="digest", campaign=None, scopes={"*": "bounce"}, lead=None)


def test_smtp_url_parsing() -> None:
    c = SmtpConfig.from_url(
        "smtp://us%40er:p%3Ass@mail.example:587?starttls=true&connections=2&rate=5"
    )
    assert (c.host, c.port, c.username, c.password) == ("mail.example", 587, "us@er", "p:ss")
    assert (c.start_tls, c.use_tls, c.connections, c.rate) == (True, False, 2, 5.0)
    s = SmtpConfig.from_url("smtps://relay.example")
    assert (s.use_tls, s.port, s.start_tls) == (True, 465, None)


def test_rate_limiter_spaces_sends_evenly() -> None:
    import asyncio
    import time

    from nurture.mail.transport import RateLimiter, make_transport

    limiter = RateLimiter(200.0)  # one slot every 5 ms

    async def five() -> None:
        for _ in range(5):
            await limiter.wait()

    start = time.monotonic()
    asyncio.run(five())
    assert limiter._next - start >= 5 * 0.005 - 1e-6  # the next free slot is 5 slots later
    unlimited = RateLimiter(None)
    asyncio.run(unlimited.wait())
    assert unlimited._next == 0.0
    t = make_transport("smtp://h:25?connections=3&rate=10&domain_rate=2", Path("."))
    assert len(t.connections) == 3 and t.domain_rate == 2.0 and t.rate.interval == 0.1
