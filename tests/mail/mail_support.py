"""Helpers of the mail tests: real SMTP servers on loopback (aiosmtpd whose answers can be
chosen per recipient; a server that never greets; one that refuses every session), and helpers
to put leads and outbox rows into a database."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import insert
from sqlalchemy.orm import Session

from nurture.db.leads import Lead
from nurture.db.mail import OutboxMessage

MID = re.compile(rb"^Message-ID:\s*(<[^>]+>)", re.MULTILINE | re.IGNORECASE)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ScriptedHandler:
    """Delivers everything, except for recipients given a scripted answer:

    * ``rcpt_codes[addr] = "550 5.1.1 no such user"`` (or 421/451...) at RCPT;
    * ``drop_at_rcpt``: close the connection at RCPT (before DATA: safe to retry);
    * ``drop_after_data``: accept the content, then close without answering (ambiguous);
    * ``data_delay``: seconds to wait before answering DATA (slows a run down for crash tests),
      ``data_delays[addr]`` for one recipient;
    * ``mail_code``: answer every MAIL FROM with this (e.g. ``"451 4.3.0 try later"``);
      ``drop_at_mail``: close the connection at MAIL.

    ``rcpt_tries`` counts the RCPT commands per address (what the server saw tried).
    """

    rcpt_codes: dict[str, str] = field(default_factory=dict)
    drop_at_rcpt: set[str] = field(default_factory=set)
    drop_after_data: set[str] = field(default_factory=set)
    data_delay: float = 0.0
    data_delays: dict[str, float] = field(default_factory=dict)
    mail_code: str | None = None
    drop_at_mail: bool = False
    messages: list[tuple[str, bytes]] = field(default_factory=list)
    rcpt_tries: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.drop_at_mail:
            server.transport.close()
            return "421 closing"
        if self.mail_code:
            return self.mail_code
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        with self.lock:
            self.rcpt_tries[address] += 1
        if address in self.drop_at_rcpt:
            server.transport.close()
            return "421 closing"
        code = self.rcpt_codes.get(address)
        if code:
            return code
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = bytes(envelope.original_content or envelope.content)
        match = MID.search(data)
        with self.lock:  # the content is here: the message may be delivered from now on
            for _rcpt in envelope.rcpt_tos:
                self.messages.append((match.group(1).decode() if match else "", data))
        delay = max([self.data_delay, *(self.data_delays.get(a, 0.0) for a in envelope.rcpt_tos)])
        if delay:
            await asyncio.sleep(delay)
        if set(envelope.rcpt_tos) & self.drop_after_data:
            server.transport.close()
            return "250 never seen by the client"
        return "250 OK queued"

    def arrivals(self) -> Counter[str]:
        with self.lock:
            return Counter(mid for mid, _ in self.messages)


@dataclass
class SmtpServer:
    handler: ScriptedHandler
    host: str
    port: int

    def url(self, **options: Any) -> str:
        query = "&".join(f"{k}={v}" for k, v in options.items())
        return f"smtp://{self.host}:{self.port}" + (f"?{query}" if query else "")


@contextmanager
def running_smtp_server(
    port: int | None = None, handler: ScriptedHandler | None = None
) -> Iterator[SmtpServer]:
    """aiosmtpd on 127.0.0.1 (``port``: a given one, e.g. where a server was down before)."""
    handler = handler or ScriptedHandler()
    port = port or free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    try:
        yield SmtpServer(handler, "127.0.0.1", port)
    finally:
        controller.stop()


@dataclass
class RawServer:
    """A TCP server on loopback that speaks no SMTP: it counts the connections it accepts and
    answers each with ``greeting`` (None: never a word) before holding or closing it."""

    port: int
    connections: int = 0


@contextmanager
def raw_server(greeting: bytes | None) -> Iterator[RawServer]:
    """``greeting=None``: a server that accepts and never greets (every client times out);
    ``greeting=b"554 ..."``: one that refuses every session and hangs up."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.1)
    server = RawServer(int(listener.getsockname()[1]))
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            server.connections += 1
            if greeting is None:
                held.append(conn)
            else:
                conn.sendall(greeting)
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        listener.close()


def add_leads(session: Session, emails: list[str], **fields: Any) -> list[int]:
    ids = []
    for i, email in enumerate(emails):
        lead = Lead(
            email=email,
            first_name=fields.get("first_name", f"Lead{i}"),
            company=fields.get("company"),
            language=fields.get("language", "en"),
        )
        session.add(lead)
        session.flush()
        ids.append(lead.id)
    return ids


def queue_messages(
    session: Session,
    lead_ids: list[int],
    emails: list[str],
    *,
    template: str = "sample/welcome",
    campaign: str = "sample",
    kind: str = "marketing",
    due: datetime | None = None,
) -> None:
    """Outbox rows exactly as the cadence planner inserts them (set-based)."""
    when = due or datetime.now(UTC) - timedelta(seconds=1)
    rows = []
    for lead_id, email in zip(lead_ids, emails, strict=True):
        key = f"touch.{lead_id}.{campaign}.1.0"
        rows.append(
            {
                "dedupe_key": key,
                "message_id": f"<{key}@nurture.local>",
                "kind": kind,
                "lead_id": lead_id,
                "campaign_slug": campaign,
                "step": template.rpartition("/")[2],
                "template": template,
                "to_addr": email,
                "status": "queued",
                "next_attempt_at": when,
            }
        )
    session.execute(insert(OutboxMessage), rows)
