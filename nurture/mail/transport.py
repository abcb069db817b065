"""Where messages go: an SMTP server (aiosmtplib, persistent connections) or ``.eml`` files.

SMTP is configured by ``NURTURE_SMTP_URL`` (:mod:`nurture.mail.smtp_url`). Answers are
classified per message: a refused RCPT (4xx/5xx) or DATA answer is a definite outcome; losing
the connection or a timeout after the content was handed over leaves the outcome ``unknown``
(it may have been delivered: never blindly re-sent). A failure before any recipient was
offered (connection refused, DNS, TLS, login, a refused or lost ``MAIL``) is the server's, not
the message's: the attempt is marked ``untried`` and the message goes back to the outbox
without spending one of its attempts.

Without ``NURTURE_SMTP_URL`` messages are written as ``<outbox_dir>/<dedupe_key>.eml`` (to a
temporary name, then renamed: a file is either complete or absent). A write that fails (a full
disk, a file-size limit, a read-only directory) is ``untried`` too: nothing is marked sent
that was not written, and nothing is lost.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import aiosmtplib

from nurture.mail.smtp_url import SmtpConfig, mask_url

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
    #: Failed before any recipient was offered: the server (or the outbox directory) is at
    #: fault, not the message, so the attempt does not count.
    untried: bool = False
    #: The attempt counts, but the server closed the connection under it (a ``421``, or the
    #: connection lost): the breaker counts it against the destination, so a server that
    #: cuts every session stops the run instead of getting one connection per message.
    connection_closed: bool = False


_DELIVERED = Attempt(SENT)


def classify(code: int, message: str, stage: str) -> Attempt:
    """An SMTP reply to an attempt: 4xx temporary, 5xx permanent; 421 also closes the channel."""
    text = f"{stage} {code} {message}".strip()
    if 500 <= code < 600:
        return Attempt(PERM, text, code, recipient_refused=stage in ("RCPT", "DATA"))
    return Attempt(TEMP, text, code, connection_closed=code == 421)


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


class Connection(Protocol):
    async def open(self) -> str | None:
        """Make sure messages can go out now; None when they can, else why not."""
        ...

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

    async def open(self) -> str | None:
        try:
            await self._connected()
        except (aiosmtplib.SMTPException, OSError) as exc:
            self._drop()
            return f"connect: {_describe(exc)}"
        return None

    async def send(
        self, *, key: str, mail_from: str, rcpt: str, data: bytes, on_data: Callable[[], None]
    ) -> Attempt:
        """MAIL, RCPT, then DATA; ``on_data`` is called just before the content is sent (if
        it raises, the transaction is reset and nothing is sent)."""
        try:
            smtp = await self._connected()
        except (aiosmtplib.SMTPException, OSError) as exc:
            self._drop()
            return Attempt(TEMP, f"connect: {_describe(exc)}", untried=True)
        try:
            await smtp.mail(mail_from)
        except aiosmtplib.SMTPResponseException as exc:  # our sender refused: not the lead
            await self._reset(smtp, exc.code)
            return Attempt(TEMP, f"MAIL {exc.code} {exc.message}", exc.code, untried=True)
        except (aiosmtplib.SMTPException, OSError) as exc:
            self._drop()
            return Attempt(TEMP, f"connection lost before RCPT: {_describe(exc)}", untried=True)
        try:
            await smtp.rcpt(rcpt)
        except aiosmtplib.SMTPResponseException as exc:
            await self._reset(smtp, exc.code)
            return classify(exc.code, exc.message, "RCPT")
        except (aiosmtplib.SMTPException, OSError) as exc:
            self._drop()
            return Attempt(
                TEMP, f"connection lost before DATA: {_describe(exc)}", connection_closed=True
            )
        try:
            on_data()
        except BaseException:
            await self._reset(smtp)
            raise
        try:
            await smtp.data(data)
        except aiosmtplib.SMTPResponseException as exc:
            await self._reset(smtp, exc.code)
            return classify(exc.code, exc.message, "DATA")
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            self._drop()
            return Attempt(
                UNKNOWN,
                f"connection lost after DATA: {type(exc).__name__}: {exc}",
                connection_closed=True,
            )
        return _DELIVERED

    async def close(self) -> None:
        if self._smtp is not None and self._smtp.is_connected:
            try:
                await self._smtp.quit()
            except (aiosmtplib.SMTPException, OSError):
                self._smtp.close()
        self._smtp = None


#: File names stay well below the usual 255-byte limit: longer keys are cut and hashed.
_MAX_NAME = 200


class FileConnection:
    """The embedded default: ``<dir>/<dedupe_key>.eml``, written atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_for(self, key: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in key)
        if len(safe) > _MAX_NAME:
            digest = hashlib.sha256(key.encode()).hexdigest()[:16]
            safe = f"{safe[: _MAX_NAME - 17]}.{digest}"
        return self.directory / f"{safe}.eml"

    async def open(self) -> str | None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return f"cannot create the outbox directory {self.directory}: {_describe(exc)}"
        return None

    async def send(
        self, *, key: str, mail_from: str, rcpt: str, data: bytes, on_data: Callable[[], None]
    ) -> Attempt:
        """Write the file under a temporary name, then rename it: ``on_data`` is called just
        before the rename, the moment the message counts as delivered."""
        target = self.path_for(key)
        if target.exists():  # written before a crash: never twice
            return Attempt(SENT, "already in the outbox directory")
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            envelope = f"X-Envelope-From: {mail_from}\r\nX-Envelope-To: {rcpt}\r\n".encode()
            tmp.write_bytes(envelope + data)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            return Attempt(
                TEMP, f"cannot write to {self.directory}: {_describe(exc)}", untried=True
            )
        try:
            on_data()
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        try:
            os.replace(tmp, target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            return Attempt(
                TEMP, f"cannot write to {self.directory}: {_describe(exc)}", untried=True
            )
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
    #: What status and errors call the destination: ``host:port``, or the outbox directory.
    server: str = ""
    #: ``NURTURE_SMTP_URL`` with the password masked (None for the file outbox).
    url: str | None = None
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
            server=f"files:{Path(outbox_dir).resolve()}",
        )
    config = SmtpConfig.from_url(smtp_url)
    n = connections or config.connections
    return Transport(
        connections=[SmtpConnection(config) for _ in range(n)],
        rate=RateLimiter(config.rate),
        domain_rate=config.domain_rate,
        description=f"smtp {config.server} x{n}",
        server=config.server,
        url=mask_url(smtp_url.strip()),
    )
