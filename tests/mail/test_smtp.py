"""Sending through a real SMTP server on loopback: every answer lands in the right state."""

from __future__ import annotations

import asyncio
import email
from datetime import UTC, datetime, timedelta
from email import policy
from typing import Any

import pytest
from mail_support import SmtpServer, add_leads, queue_messages
from sqlalchemy import select, update

from nurture.db.leads import Lead
from nurture.db.mail import OutboxMessage, Suppression
from nurture.db.session import get_engine, session_scope
from nurture.mail.sender import send_due
from nurture.mail.suppression import add_suppressions


def _states() -> dict[str, str]:
    with session_scope() as s:
        return {r.to_addr: r.status for r in s.scalars(select(OutboxMessage))}


def test_each_smtp_answer_lands_in_its_state(
    fresh_db: str, smtp_server: SmtpServer, monkeypatch
) -> None:
    h = smtp_server.handler
    emails = [
        "ok@example.com",
        "gone@example.com",  # 550: permanent
        "busy@example.com",  # 451: temporary
        "closing@example.com",  # 421: temporary, server closes the channel
        "drop@example.com",  # connection dropped at RCPT: temporary
        "cut@example.com",  # dropped after DATA: unknown
        "blocked@example.com",  # suppressed before
        "second@example.org",
    ]
    h.rcpt_codes["gone@example.com"] = "550 5.1.1 no such user"
    h.rcpt_codes["busy@example.com"] = "451 4.7.1 greylisted"
    h.rcpt_codes["closing@example.com"] = "421 4.3.2 shutting down"
    h.drop_at_rcpt.add("drop@example.com")
    h.drop_after_data.add("cut@example.com")
    monkeypatch.setenv("NURTURE_SMTP_URL", smtp_server.url(connections=2))
    from nurture.config import get_settings

    get_settings.cache_clear()
    with session_scope() as s:
        ids = add_leads(s, emails)
        queue_messages(s, ids, emails)
        add_suppressions(
            s, [{"email": "blocked@example.com", "reason": "unsubscribe"}], now=datetime.now(UTC)
        )

    summary = send_due()
    assert (summary.sent, summary.failed_perm, summary.failed_temp) == (2, 1, 3)
    assert (summary.unknown, summary.suppressed, summary.unknown_total) == (1, 1, 1)
    states = _states()
    assert states["ok@example.com"] == states["second@example.org"] == "sent"
    assert states["gone@example.com"] == "failed_perm"
    assert states["cut@example.com"] == "unknown"
    assert states["blocked@example.com"] == "suppressed"
    for addr in ("busy@example.com", "closing@example.com", "drop@example.com"):
        assert states[addr] == "failed_temp"
    with session_scope() as s:
        gone = s.scalar(select(Lead).where(Lead.email == "gone@example.com"))
        assert gone is not None and gone.email_status == "undeliverable"
        bounce = s.scalar(select(Suppression).where(Suppression.email == "gone@example.com"))
        assert bounce is not None and bounce.reason == "bounce" and bounce.scope == "*"
        retry = s.scalar(select(OutboxMessage).where(OutboxMessage.to_addr == "busy@example.com"))
        assert retry is not None and retry.next_attempt_at > datetime.now(UTC)
        assert retry.last_error and "451" in retry.last_error

    # Nothing due yet: a second run sends nothing.
    assert send_due().claimed == 0
    # The server recovers; temporary failures become due and go out once; unknown stays.
    h.rcpt_codes.clear()
    h.drop_at_rcpt.clear()
    with session_scope() as s:
        s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == "failed_temp")
            .values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    again = send_due()
    assert (again.claimed, again.sent) == (3, 3)
    arrivals = h.arrivals()
    assert max(arrivals.values()) == 1
    assert len(arrivals) == 6  # ok, second, cut (delivered, answer lost), busy, closing, drop
    assert _states()["cut@example.com"] == "unknown"
    get_engine.cache_clear()


def test_unsubscribe_takes_effect_before_the_next_send(
    fresh_db: str, smtp_server: SmtpServer, monkeypatch
) -> None:
    monkeypatch.setenv("NURTURE_SMTP_URL", smtp_server.url())
    from nurture.config import get_settings

    get_settings.cache_clear()
    with session_scope() as s:
        ids = add_leads(s, ["a@example.com", "b@example.com"])
        queue_messages(s, ids, ["a@example.com", "b@example.com"])
        s.execute(update(Lead).where(Lead.id == ids[0]).values(unsubscribed_at=datetime.now(UTC)))
        s.execute(update(Lead).where(Lead.id == ids[1]).values(do_not_contact=True))
    summary = send_due()
    assert (summary.suppressed, summary.sent) == (2, 0)
    assert smtp_server.handler.arrivals() == {}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_render_worker_process_builds_the_same_messages(
    fresh_db: str, smtp_server: SmtpServer, monkeypatch
) -> None:
    from nurture.mail.sender import Sender

    monkeypatch.setenv("NURTURE_SMTP_URL", smtp_server.url(connections=2))
    from nurture.config import get_settings

    get_settings.cache_clear()
    emails = [f"p{i}@example.com" for i in range(30)]
    with session_scope() as s:
        ids = add_leads(s, emails, language="ru", first_name="Иван")
        queue_messages(s, ids, emails)
        add_suppressions(s, [{"email": emails[0]}], now=datetime.now(UTC))
    sender = Sender(render_workers=1, pool_threshold=1, wait_for_pool=True, batch_size=10)
    summary = asyncio.run(sender.run())
    assert summary.render_processes == 1 and summary.rendered_in_pool == 30
    assert (summary.sent, summary.suppressed) == (29, 1)
    subjects = {
        email.message_from_bytes(data, policy=policy.default)["Subject"]
        for _, data in smtp_server.handler.messages
    }
    assert subjects == {"Иван, спасибо, что посетили sample"}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_unreachable_server_stops_the_run_loudly_and_loses_nothing(
    fresh_db: str, monkeypatch
) -> None:
    from mail_support import free_port

    from nurture.errors import TemporaryDeliveryError

    monkeypatch.setenv("NURTURE_SMTP_URL", f"smtp://127.0.0.1:{free_port()}?connections=2")
    from nurture.config import get_settings

    get_settings.cache_clear()
    emails = [f"x{i}@example.com" for i in range(40)]
    with session_scope() as s:
        ids = add_leads(s, emails)
        queue_messages(s, ids, emails)
    with pytest.raises(TemporaryDeliveryError, match="unreachable"):
        send_due()
    with session_scope() as s:
        rows = [(r.status, r.attempts) for r in s.scalars(select(OutboxMessage))]
    assert rows == [("queued", 0)] * 40  # nothing claimed, nothing spent, nothing lost


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_render_worker_that_dies_loses_nothing_and_sends_nothing_twice(
    fresh_db: str, smtp_server: SmtpServer, monkeypatch
) -> None:
    from nurture.mail.pool import RenderPool
    from nurture.mail.sender import Sender

    monkeypatch.setenv("NURTURE_SMTP_URL", smtp_server.url(connections=2))
    from nurture.config import get_settings

    get_settings.cache_clear()
    emails = [f"d{i}@example.com" for i in range(120)]
    with session_scope() as s:
        ids = add_leads(s, emails)
        queue_messages(s, ids, emails)
    calls = 0
    claim = RenderPool.claim

    async def claim_then_die(self: RenderPool, limit: int, now: datetime, done: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 3:  # the worker dies while the sender is busy with the first rows
            self._workers[0].proc.kill()
        return await claim(self, limit, now, done)

    monkeypatch.setattr(RenderPool, "claim", claim_then_die)
    sender = Sender(render_workers=1, pool_threshold=1, wait_for_pool=True, batch_size=20)
    summary = asyncio.run(sender.run())
    arrivals = smtp_server.handler.arrivals()
    assert max(arrivals.values()) == 1  # nothing twice
    states = _states()
    # every row is sent, or (claimed by the dead worker, never transmitted) queued again
    assert set(states.values()) <= {"sent", "queued"}
    assert summary.sent == len(arrivals) == list(states.values()).count("sent")
    # the sender went on by itself: it sent more than the pool prepared, and only the rows of
    # the (at most two, 50 rows each) requests in flight when the worker died wait for later
    assert summary.sent > summary.rendered_in_pool
    assert list(states.values()).count("queued") <= 2 * 50
    assert summary.rendered_in_pool < 120
