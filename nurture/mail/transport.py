"""Where messages go: an SMTP server (aiosmtplib, persistent connections) or ``.eml`` files.

``NURTURE_SMTP_URL`` configures SMTP, options in the query string::

    smtp://user:pass@host:587?starttls=true&connections=4&rate=50&domain_rate=5&timeout=30
    smtps://user:pass@host:465            (implicit TLS)

* ``connections``: persistent connections, one message in flight on each (default 4);
* ``rate``: messages per second overall; ``domain_rate``: per recipient domain (default: no
  limit); ``timeout``: seconds per SMTP command (default 30);
* ``starttls``: true (required), false (never); unset = when the server offers it;
  ``verify=false`` accepts any certificate (test servers only).

SMTP answers are classified per recipient: a refused RCPT (4xx/5xx) or DATA answer is a
definite outcome; losing the connection or a timeout after the message content was handed
over leaves the outcome ``unknown`` (it may have been delivered: never blindly re-sent).

Without ``NURTURE_SMTP_URL`` messages are written as ``<outbox_dir>/<dedupe_key>.eml``
(written to a temporary name, then renamed: a file is either complete or absent).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from nurture.errors import ConfigError

__all__ = [
    "Attempt",
    "Connection",
    "FileConnection",
    "RateLimiter",
    "SmtpConfig",
    "SmtpConnection",
    "Transport",
    "make_transport",
]

SENT = "sent"
TEMP = "failed_temp"
PERM = "failed_perm"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Attempt:
    """The outcome of one delivery attempt: status is sent|failed_temp|failed_perm|unknown."""

    status: str
    detail: str | None = None
    code: int | None = None
    recipient_refused: bool = False  # a 5xx about this recipient: suppress the address
    connect_failed: bool = False  # the server could not be reached at all


_DELIVERED = Attempt(SENT)


def classify(code: int, message: str, stage: str) -> Attempt:
    """An SMTP reply to an attempt: 4xx temporary, 5xx permanent."""
    text = f"{stage} {code} {message}".strip()
    if 500 <= code < 600:
        return Attempt(PERM, text, code, recipient_refused=stage in ("RCPT", "DATA"))
    return Attempt(TEMP, text, code)


def _flag(values: dict[str, list[str]], name: str) -> bool | None:
    if name not in values:
        return None
    return values[name][-1].lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    use_tls: bool = False
    start_tls: bool | None = None
    validate_certs: bool = True
    timeout: float = 30.0
    connections: int = 4
    rate: float | None = None
    domain_rate: float | None = None

    @classmethod
    def from_url(cls, url: str) -> SmtpConfig:
        """Parse ``smtp://user:pass@host:port?options`` (see the module docstring)."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ConfigError(
                f"NURTURE_SMTP_URL must look like smtp://user:pass@host:587, got {parts.scheme}://"
            )
        q = parse_qs(parts.query)
        try:
            connections = int(q.get("connections", ["4"])[-1])
            timeout = float(q.get("timeout", ["30"])[-1])
            rate = float(q["rate"][-1]) if "rate" in q else None
            domain_rate = float(q["domain_rate"][-1]) if "domain_rate" in q else None
        except ValueError as exc:
            raise ConfigError(f"NURTURE_SMTP_URL has a bad number: {exc}") from exc
        use_tls = parts.scheme == "smtps" or bool(_flag(q, "tls"))
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if use_tls else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=use_tls,
            start_tls=None if use_tls else _flag(q, "starttls"),
            validate_certs=_flag(q, "verify") is not False,
            timeout=timeout,
            connections=max(1, connections),
            rate=rate,
            domain_rate=domain_rate,
        )


class Connection(Protocol):
    async def send(
        self, *, key: str, mail_from: str, rcpt: str, data: bytes, on_data: Callable[[], None]
    ) -> Attempt: ...

    async def close(self) -> None: ...


class SmtpConnection:
    """One persistent SMTP connection; reconnects when the server drops it."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._smtp: aiosmtplib.SMTP | None = None

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._smtp is not None and self._smtp.is_connected:
            return self._smtp
        c = self.config
        smtp = aiosmtplib.SMTP(
            hostname=c.host,
            port=c.port,
            username=c.username,
            password=c.password,
            use_tls=c.use_tls,
            start_tls=c.start_tls,
            validate_certs=c.validate_certs,
            timeout=c.timeout,
        )
        await smtp.connect()
        self._smtp = smtp
        return smtp

    def _drop(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
        self._smtp = None

    async def _reset(self, smtp: aiosmtplib.SMTP, code: int | None = None) -> None:
        if code == 421:  # the server is closing this channel
            self._drop()
            return
        try:
            await smtp.rset()
        except (aiosmtplib.SMTPException, OSError):
            self._drop()

    async def send(
        self, *, key: str, mail_from: str, rcpt: str, data: bytes, on_data: Callable[[], None]
    ) -> Attempt:
        """MAIL, RCPT, then DATA; ``on_data`` is called just before the content is sent."""
        try:
            smtp = await self._connected()
        except (aiosmtplib.SMTPException, OSError) as exc:
            self._drop()
            return Attempt(TEMP, f"connect: {exc}", connect_failed=True)
        try:
            await smtp.mail(mail_from)
            await smtp.rcpt(rcpt)
        except aiosmtplib.SMTPResponseException as exc:
            stage = "RCPT" if isinstance(exc, aiosmtplib.SMTPRecipientRefused) else "MAIL"
            await self._reset(smtp, exc.code)
            attempt = classify(exc.code, exc.message, stage)
            if stage == "MAIL" and attempt.status == PERM:  # our sender refused: not the lead
                return Attempt(TEMP, attempt.detail, exc.code)
            return attempt
        except (aiosmtplib.SMTPException, OSError) as exc:
            self._drop()
            return Attempt(TEMP, f"connection lost before DATA: {exc}")
        on_data()
        try:
            await smtp.data(data)
        except aiosmtplib.SMTPResponseException as exc:
            await self._reset(smtp, exc.code)
            return classify(exc.code, exc.message, "DATA")
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            self._drop()
            return Attempt(UNKNOWN, f"connection lost after DATA: {type(exc).__name__}: {exc}")
        return _DELIVERED

    async def close(self) -> None:
        if self._smtp is not None and self._smtp.is_connected:
            try:
                await self._smtp.quit()
            except (aiosmtplib.SMTPException, OSError):
                self._smtp.close()
        self._smtp = None


class FileConnection:
    """The embedded default: ``<dir>/<dedupe_key>.eml``, written atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def path_for(self, key: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in key)
        return self.directory / f"{safe}.eml"

    async def send(
        self, *, key: str, mail_from: str, rcpt: str, data: bytes, on_data: Callable[[], None]
    ) -> Attempt:
        target = self.path_for(key)
        if target.exists():  # written before a crash: never twice
            return Attempt(SENT, "already in the outbox directory")
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        on_data()
        try:
            envelope = f"X-Envelope-From: {mail_from}\r\nX-Envelope-To: {rcpt}\r\n".encode()
            tmp.write_bytes(envelope + data)
            os.replace(tmp, target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            return Attempt(TEMP, f"cannot write {target}: {exc.strerror}")
        return Attempt(SENT)

    async def close(self) -> None:
        return None


class RateLimiter:
    """At most ``rate`` acquisitions per second (evenly spaced), shared by coroutines."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self._next = 0.0

    async def wait(self) -> None:
        if not self.interval:
            return
        now = time.monotonic()
        slot = max(now, self._next)
        self._next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


@dataclass
class Transport:
    """A set of connections plus the rate limits that apply across them."""

    connections: list[Connection]
    rate: RateLimiter
    domain_rate: float | None
    description: str
    _domains: dict[str, RateLimiter] | None = None

    @property
    def limited(self) -> bool:
        """Whether :meth:`throttle` can ever wait (no rate set: skip the call)."""
        return bool(self.rate.interval or self.domain_rate)

    async def throttle(self, rcpt: str) -> None:
        await self.rate.wait()
        if self.domain_rate:
            if self._domains is None:
                self._domains = {}
            domain = rcpt.rpartition("@")[2].lower()
            limiter = self._domains.setdefault(domain, RateLimiter(self.domain_rate))
            await limiter.wait()

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.connections), return_exceptions=True)


def make_transport(
    smtp_url: str | None, outbox_dir: Path, *, connections: int | None = None
) -> Transport:
    """SMTP when ``smtp_url`` is set, else the ``.eml`` directory (one writer)."""
    if not smtp_url:
        return Transport(
            connections=[FileConnection(Path(outbox_dir))],
            rate=RateLimiter(None),
            domain_rate=None,
            description=f"files in {outbox_dir}",
        )
    config = SmtpConfig.from_url(smtp_url)
    n = connections or config.connections
    return Transport(
        connections=[SmtpConnection(config) for _ in range(n)],
        rate=RateLimiter(config.rate),
        domain_rate=config.domain_rate,
        description=f"smtp {config.host}:{config.port} x{n}",
    )
