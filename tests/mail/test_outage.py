"""An SMTP outage spends none of a message's attempts, loses nothing, and shows in
`nurture outbox status` (issue 16, item 1).

Real servers only: a closed port on loopback, then aiosmtpd coming up on that very port; an
aiosmtpd server stopped in the middle of a run.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from mail_support import ScriptedHandler, add_leads, free_port, queue_messages, running_smtp_server
from sqlalchemy import select
from typer.testing import CliRunner

from nurture.cli import app
from nurture.config import get_settings
from nurture.db.mail import OutboxMessage
from nurture.db.session import session_scope
from nurture.errors import TemporaryDeliveryError
from nurture.mail import Sender, clock_from

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PASSWORD = "pw-Sekr3t-9q"
runner = CliRunner()


def _cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _queue(n: int, due: datetime = T0) -> list[str]:
    emails = [f"o{i}@example.com" for i in range(n)]
    with session_scope() as s:
        ids = add_leads(s, emails)
        queue_messages(s, ids, emails, due=due - timedelta(minutes=1))
    return emails


def _rows() -> list[tuple[str, str, int]]:
    with session_scope() as s:
        return [
            (m.to_addr, m.status, m.attempts)
            for m in s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        ]


def _use(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NURTURE_SMTP_URL", url)
    get_settings.cache_clear()


def test_an_outage_of_hours_spends_no_attempt_and_loses_nothing(
    fresh_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`nurture send` every 30 minutes for 10 hours against a closed port (as its deployment
    runs it), then the server comes up on that port: every message is delivered once."""
    emails = _queue(30)
    port = free_port()  # nothing listens here: connection refused
    _use(f"smtp://nurture:{PASSWORD}@127.0.0.1:{port}?connections=2&timeout=5", monkeypatch)
    runs = 20
    for i in range(runs):
        code, out, err = _cli("send", "--now", (T0 + timedelta(minutes=30 * i)).isoformat())
        assert code == 1, (out, err)
        assert err.count("\n") == 1 and err.startswith("nurture: SMTP server 127.0.0.1:")
        assert "unreachable" in err and "Traceback" not in err and PASSWORD not in out + err
    # the defect was: each run spent an attempt; after 8, "gave up" (failed_perm)
    assert _rows() == [(e, "queued", 0) for e in emails]

    later = (T0 + timedelta(hours=10)).isoformat()
    code, out, err = _cli("outbox", "status", "--json", "--now", later)
    assert code == 0, err
    status = json.loads(out)
    server = status["server"]
    assert status["counts"] == {"queued": 30} and status["due"] == 30
    assert server["reachable"] is False and server["server"] == f"127.0.0.1:{port}"
    since = datetime.fromisoformat(server["unreachable_since"])
    assert T0 <= since < T0 + timedelta(minutes=1)  # since the first failed run
    assert server["failures"] == runs and "111" in server["last_error"]  # ECONNREFUSED
    assert server["url"] == f"smtp://nurture:***@127.0.0.1:{port}?connections=2&timeout=5"
    code, text, _ = _cli("outbox", "status", "--now", later)
    assert "UNREACHABLE since" in text and PASSWORD not in out + text

    with running_smtp_server(port=port) as smtp:  # the server is back, on the same port
        _use(f"smtp://127.0.0.1:{port}?connections=2", monkeypatch)
        code, out, err = _cli("send", "--json", "--now", later)
        assert code == 0, err
        summary = json.loads(out)
        assert (summary["sent"], summary["claimed"], summary["not_attempted"]) == (30, 30, 0)
        assert smtp.handler.arrivals() == Counter(
            {f"<touch.{i}.sample.1.0@nurture.local>": 1 for i in _lead_ids()}
        )
    assert _rows() == [(e, "sent", 1) for e in emails]
    code, out, _ = _cli("outbox", "status", "--json", "--now", later)
    server = json.loads(out)["server"]
    assert server["reachable"] is True and server["recovered_at"] is not None


def _lead_ids() -> list[int]:
    with session_scope() as s:
        return [m.lead_id for m in s.scalars(select(OutboxMessage)) if m.lead_id is not None]


def _stop_when(handler: ScriptedHandler, arrived: int, stop: threading.Event) -> None:
    deadline = time.monotonic() + 60
    while sum(handler.arrivals().values()) < arrived and time.monotonic() < deadline:
        time.sleep(0.005)
    stop.set()


def test_a_server_lost_mid_run_gives_the_rest_back_untried(
    fresh_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server dies after ~25 deliveries: messages on the wire after DATA become
    'unknown' (the documented window), the ones not yet offered to a recipient go back with
    no attempt spent, and when the server is back everything else is delivered once."""
    n = 150
    _queue(n)
    handler = ScriptedHandler(data_delay=0.01)  # a run lasts long enough to be cut
    port = free_port()
    stop = threading.Event()
    with running_smtp_server(port=port, handler=handler):
        _use(f"smtp://127.0.0.1:{port}?connections=3&timeout=5", monkeypatch)
        watcher = threading.Thread(target=_stop_when, args=(handler, 25, stop))
        watcher.start()
        sender = Sender(render_workers=0, batch_size=20, now=clock_from(T0))
        run = asyncio.new_event_loop()
        task = run.create_task(sender.run())
        while not stop.is_set():  # the run goes on until the watcher says the server dies
            run.run_until_complete(asyncio.sleep(0.005))
    # the server is gone (aiosmtpd stopped, its port closed) while the run is in flight
    with pytest.raises(TemporaryDeliveryError, match="unreachable"):
        run.run_until_complete(task)
    run.close()
    watcher.join()
    first = Counter(handler.arrivals())
    rows = _rows()
    states = Counter(status for _, status, _ in rows)
    assert set(states) <= {"sent", "queued", "failed_temp", "unknown"}, states
    assert states["sent"] >= 20 and states["queued"] > 0
    assert states["unknown"] <= 3  # at most one in flight per connection
    for _, status, attempts in rows:
        # given back: no attempt spent; tried (sent, unknown, cut at RCPT): one
        assert attempts == (0 if status == "queued" else 1)

    with running_smtp_server(port=port, handler=handler):
        # a day later, so rows cut at RCPT (counted, backoff) are due again too
        again = Sender(render_workers=0, now=clock_from(T0 + timedelta(days=1)))
        summary = asyncio.run(again.run())
    assert summary.not_attempted == 0
    rows = _rows()
    states = Counter(status for _, status, _ in rows)
    arrivals = handler.arrivals()
    assert set(states) <= {"sent", "unknown"} and sum(states.values()) == n
    assert max(arrivals.values()) == 1, "a message arrived twice"
    with session_scope() as s:
        for m in s.scalars(select(OutboxMessage)):
            if m.status == "sent":
                assert arrivals[m.message_id] == 1
            else:  # unknown: never re-sent by itself
                assert arrivals[m.message_id] == first[m.message_id] <= 1
    print(f"lost mid-run: {dict(states)}; first run delivered {sum(first.values())}")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_reaching_the_server_ends_the_outage_even_when_nothing_goes_out(
    fresh_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nurture.mail import add_suppressions

    (address,) = _queue(1)
    with session_scope() as s:
        add_suppressions(s, [{"email": address}], now=T0)
    port = free_port()
    _use(f"smtp://127.0.0.1:{port}", monkeypatch)
    assert _cli("send", "--now", T0.isoformat())[0] == 1
    assert json.loads(_cli("outbox", "status", "--json")[1])["server"]["reachable"] is False
    with running_smtp_server(port=port):
        code, out, err = _cli("send", "--json", "--now", T0.isoformat())
        assert code == 0 and json.loads(out)["suppressed"] == 1, err
    assert json.loads(_cli("outbox", "status", "--json")[1])["server"]["reachable"] is True
