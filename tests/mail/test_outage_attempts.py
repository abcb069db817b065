"""An SMTP outage over many queued messages costs a bounded number of connections per run
(issue 23): no busy loop, nothing lost, nothing marked sent, nothing sent twice.

The server is a plain asyncio one on loopback that counts the connections it accepts and
follows a script per connection: refuse at the greeting (421), hang up at once, close the
channel at RCPT (421) or cut it there, or speak enough SMTP to deliver. Each test queues 200
messages, runs the sender a few times as its schedule would, and counts.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from mail_support import add_leads, queue_messages
from sqlalchemy import select

from nurture.config import get_settings
from nurture.db.mail import OutboxMessage
from nurture.db.session import session_scope
from nurture.errors import TemporaryDeliveryError
from nurture.mail import Sender, SendSummary, clock_from
from nurture.mail.delivery import Breaker

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
N = 200
CONNECTIONS = 2
#: The breaker's limit for this many connections, and the most connections one run may open
#: when every session is cut under an attempt: the limit, its grace, one in flight each.
LIMIT = 2 * CONNECTIONS
MOST_PER_RUN = LIMIT + Breaker.CLOSED_GRACE + CONNECTIONS
MID = re.compile(rb"^Message-ID:\s*(<[^>]+>)", re.IGNORECASE)


@dataclass
class CountingServer:
    """Counts accepted connections; ``script(n)`` says what the n-th one gets: ``ok``,
    ``greet421``, ``hangup`` (closed before a word), ``rcpt421`` or ``rcptcut``."""

    script: Callable[[int], str]
    port: int = 0
    connections: int = 0
    rcpts: int = 0
    arrived: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self.lock:
            mode = self.script(self.connections)
            self.connections += 1
        try:
            if mode == "greet421":
                writer.write(b"421 4.3.2 too many connections\r\n")
            elif mode != "hangup":
                writer.write(b"220 counting ESMTP\r\n")
                await self._session(mode, reader, writer)
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _session(
        self, mode: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while line := await reader.readline():
            verb = line[:4].upper()
            if verb == b"RCPT":
                with self.lock:
                    self.rcpts += 1
                if mode == "rcptcut":
                    return
                if mode == "rcpt421":
                    writer.write(b"421 4.3.2 closing the channel\r\n")
                    return
            if verb == b"DATA":
                writer.write(b"354 go ahead\r\n")
                mid = ""
                while (data := await reader.readline()) not in (b".\r\n", b""):
                    if match := MID.match(data):
                        mid = match.group(1).decode()
                with self.lock:
                    self.arrived[mid] += 1
                writer.write(b"250 queued\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 bye\r\n")
                return
            elif verb in (b"EHLO", b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                writer.write(b"250 OK\r\n")
            else:
                writer.write(b"502 not here\r\n")
            await writer.drain()


@contextmanager
def counting_server(script: Callable[[int], str]) -> Iterator[CountingServer]:
    server = CountingServer(script)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    listening: list[asyncio.Server] = []

    async def start() -> None:
        listening.append(await asyncio.start_server(server.handle, "127.0.0.1", 0))
        server.port = int(listening[0].sockets[0].getsockname()[1])
        started.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()))
    thread.start()
    assert started.wait(10)
    try:
        yield server
    finally:
        loop.call_soon_threadsafe(listening[0].close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def _queue() -> dict[str, datetime]:
    emails = [f"out{i}@example.com" for i in range(N)]
    with session_scope() as s:
        queue_messages(s, add_leads(s, emails), emails, due=T0 - timedelta(minutes=1))
    return {m: due for m, (_, _, due) in _rows().items()}


def _rows() -> dict[str, tuple[str, int, datetime]]:
    with session_scope() as s:
        return {
            m.message_id: (m.status, m.attempts, m.next_attempt_at)
            for m in s.scalars(select(OutboxMessage))
        }


def _runs(server: CountingServer, monkeypatch: pytest.MonkeyPatch, at: list[datetime]) -> list[int]:
    """One send at each time (as the schedule runs it): the connections each run opened."""
    monkeypatch.setenv(
        "NURTURE_SMTP_URL", f"smtp://127.0.0.1:{server.port}?connections={CONNECTIONS}&timeout=2"
    )
    get_settings.cache_clear()
    opened = []
    for when in at:
        before = server.connections
        with pytest.raises(TemporaryDeliveryError, match="unreachable"):
            _send(when)
        opened.append(server.connections - before)
    return opened


def _send(when: datetime) -> SendSummary:
    return asyncio.run(Sender(render_workers=0, now=clock_from(when)).run())


SCHEDULE = [T0 + timedelta(minutes=30 * i) for i in range(3)]


@pytest.mark.parametrize("mode", ["greet421", "hangup"])
def test_a_server_refusing_every_session_gets_one_connection_per_run(
    fresh_db: str, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    due = _queue()
    with counting_server(lambda n: mode) as server:
        assert _runs(server, monkeypatch, SCHEDULE) == [1, 1, 1]
    # given back untouched: still queued, no attempt spent, still due (its place kept)
    assert _rows() == {m: ("queued", 0, when) for m, when in due.items()}


@pytest.mark.parametrize("mode", ["rcpt421", "rcptcut"])
def test_a_server_closing_every_session_at_rcpt_stops_each_run_after_a_few(
    fresh_db: str, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server greets, then closes the channel at RCPT (421) or cuts it there: each run
    stops after a few connections instead of one per message (the defect: 200 per run)."""
    due = _queue()
    with counting_server(lambda n: mode) as server:
        opened = _runs(server, monkeypatch, SCHEDULE)
        rcpts = server.rcpts
    assert all(LIMIT <= n <= MOST_PER_RUN for n in opened), opened
    rows = _rows()
    tried = {m: r for m, r in rows.items() if r[0] != "queued"}
    assert rcpts == sum(attempts for _, attempts, _ in rows.values())  # one per counted try
    assert len(tried) <= len(SCHEDULE) * MOST_PER_RUN
    for m, (status, attempts, next_at) in rows.items():
        if m in tried:  # counted (once per run at most), and waiting for its backoff
            assert status == "failed_temp" and 1 <= attempts <= len(SCHEDULE)
            assert next_at > SCHEDULE[-1]
        else:
            assert (status, attempts, next_at) == ("queued", 0, due[m])
    assert len(rows) == N


def test_a_server_taking_one_session_refuses_the_second_without_a_loop(
    fresh_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A per-client connection limit: the first session works, every other one is refused
    at the greeting. The refused connection retires for the run (the defect: one refused
    connection per message, ~115 of them, and the run stopped half done)."""
    _queue()
    with counting_server(lambda n: "ok" if n == 0 else "greet421") as server:
        monkeypatch.setenv(
            "NURTURE_SMTP_URL", f"smtp://127.0.0.1:{server.port}?connections={CONNECTIONS}"
        )
        get_settings.cache_clear()
        summary = _send(T0)
        assert server.connections == 2
        arrived = Counter(server.arrived)
    # at most the one message the refused connection held is left, queued for the next run
    assert summary.sent == sum(arrived.values()) >= N - 1
    assert set(arrived.values()) == {1}
    states = Counter((status, attempts) for status, attempts, _ in _rows().values())
    assert states == Counter({("sent", 1): summary.sent, ("queued", 0): N - summary.sent})


def test_after_the_outage_everything_arrives_once(
    fresh_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    due = _queue()
    with counting_server(lambda n: "rcptcut") as down:
        _runs(down, monkeypatch, SCHEDULE[:2])
    with counting_server(lambda n: "ok") as up:
        monkeypatch.setenv("NURTURE_SMTP_URL", f"smtp://127.0.0.1:{up.port}?connections=2")
        get_settings.cache_clear()
        summary = _send(T0 + timedelta(days=1))  # past every backoff
        assert up.connections == CONNECTIONS
        arrived = Counter(up.arrived)
    assert summary.sent == N and arrived == Counter({m: 1 for m in due})
    assert {status for status, _, _ in _rows().values()} == {"sent"}
