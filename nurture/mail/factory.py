"""Turning a claimed outbox row into the bytes to send: suppression decision, rendering,
MIME building and DKIM signing, as plain functions of plain data.

Rendering and MIME building cost about as much CPU as the SMTP conversation itself, so big
sends run them in a separate process (:class:`RenderPool`, ``NURTURE_RENDER_WORKERS``) while
the sender's event loop only talks SMTP and keeps the books. Everything a worker process needs
travels in :class:`FactoryConfig` (no database, no settings lookups in the worker).
"""

from __future__ import annotations

import asyncio
import collections
import pickle
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import TemplateError

from nurture.mail.blocking import block_reason
from nurture.mail.dkim import DkimSigner, signer_from_settings
from nurture.mail.message import MessageBuilder
from nurture.mail.rendering import Renderer, TemplateMissingError
from nurture.mail.tokens import make_token

if TYPE_CHECKING:
    from nurture.config import Settings
    from nurture.mail.jobs import ClaimedRow
    from nurture.mail.outbox import Outcome
    from nurture.mail.sender import Job

__all__ = [
    "ClaimSetup",
    "FactoryConfig",
    "MessageFactory",
    "Prepared",
    "Ready",
    "RenderPool",
    "RenderPoolError",
]


@dataclass(frozen=True)
class FactoryConfig:
    templates_dir: Path
    sender_email: str
    sender_name: str | None
    secret_key: str
    public_url: str
    unsubscribe_mailto: str
    dkim: DkimSigner | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> FactoryConfig:
        return cls(
            templates_dir=Path(settings.templates_dir),
            sender_email=settings.sender_email,
            sender_name=settings.sender_name,
            secret_key=settings.secret_key,
            public_url=settings.public_url.rstrip("/"),
            unsubscribe_mailto=settings.unsubscribe_mailto,
            dkim=signer_from_settings(settings),
        )


@dataclass(frozen=True)
class Prepared:
    """Bytes ready to send, or the final status (suppressed, failed_perm, failed_temp) and why.

    ``template_error`` marks a problem with the template (not the address)."""

    data: bytes | None = None
    status: str | None = None
    error: str | None = None
    template_error: bool = False


#: A prepared message as the sender's connections use it, in a plain tuple (cheap to pickle
#: from a render worker and to unpack): ``(outbox id, dedupe key, to_addr, attempts, data,
#: status, error, template_error)``; ``data`` is None when ``status`` says why not.
Ready = tuple[int, str, str, int, bytes | None, str | None, str | None, bool]


def ready(row: ClaimedRow, prepared: Prepared) -> Ready:
    """What the sender needs of a claimed row and its prepared message."""
    return (
        row.id,
        row.dedupe_key,
        row.to_addr,
        row.attempts,
        prepared.data,
        prepared.status,
        prepared.error,
        prepared.template_error,
    )


class MessageFactory:
    """Builds messages for claimed rows (in the sender or in a :class:`RenderPool` worker)."""

    def __init__(self, config: FactoryConfig) -> None:
        self.config = config
        self.renderer = Renderer(config.templates_dir)
        self.builder = MessageBuilder(
            sender_email=config.sender_email, sender_name=config.sender_name
        )

    def unsubscribe_links(
        self, to_addr: str, lead_id: int | None, campaign: str | None
    ) -> tuple[str, list[str]]:
        """The https URL for the footer and both List-Unsubscribe URIs (mailto, https)."""
        token = make_token(
            to_addr, secret=self.config.secret_key, lead_id=lead_id, campaign=campaign
        )
        url = f"{self.config.public_url}/unsubscribe/{token}"
        # the token is URL-safe base64 and ".", so only the space needs escaping
        mailto = f"mailto:{self.config.unsubscribe_mailto}?subject=unsubscribe%20{token}"
        return url, [mailto, url]

    def build(self, job: Job, *, now: datetime | None = None) -> bytes:
        """Render and build the bytes of one job (raises on template problems)."""
        row = job.row
        marketing = row.kind == "marketing"
        url, uris = (
            self.unsubscribe_links(row.to_addr, row.lead_id, row.campaign_slug)
            if marketing
            else (None, [])
        )
        # Digests and system mail have no lead: their row context names the language.
        language = (job.lead.get("language") if job.lead else None) or (row.context or {}).get(
            "language"
        )
        context: dict[str, Any] = {
            "lead": job.lead,
            "manager": job.manager,
            "campaign": job.campaign,
            "unsubscribe_url": url,
            "language": language or "en",
        }
        if row.context:
            context.update(row.context)
        rendered = self.renderer.render(row.template, language, context)
        data = self.builder.build(
            to_addr=row.to_addr,
            subject=rendered.subject,
            html=rendered.html,
            text=rendered.text,
            message_id=row.message_id,
            date=now or datetime.now(UTC),
            list_unsubscribe=uris,
        )
        return self.config.dkim.sign(data) if self.config.dkim is not None else data

    def prepare(self, job: Job, *, now: datetime | None = None) -> Prepared:
        """The send decision for one job: bytes to send, or why not."""
        row = job.row
        reason = block_reason(
            kind=row.kind, campaign=row.campaign_slug, scopes=job.scopes, lead=job.flags
        )
        if reason is not None:
            return Prepared(status="suppressed", error=reason)
        try:
            return Prepared(data=self.build(job, now=now))
        except ValueError as exc:
            if "cannot send to" in str(exc):  # an address we cannot encode: not a template bug
                return Prepared(status="failed_perm", error=str(exc))
            return Prepared(
                status="failed_temp", error=_describe(row.template, exc), template_error=True
            )
        except (TemplateError, TemplateMissingError, UnicodeError) as exc:
            return Prepared(
                status="failed_temp", error=_describe(row.template, exc), template_error=True
            )


def _describe(template: str, exc: BaseException) -> str:
    return f"{template}: {type(exc).__name__}: {exc}"


@dataclass(frozen=True)
class ClaimSetup:
    """Lets render workers claim rows themselves, in the sender's name: the database URL and
    the sender's worker id (``claimed_by``; its journal and reconciliation stay the sender's)."""

    database_url: str
    worker: str


class RenderPool:
    """Worker processes (``python -m nurture.mail.render_worker``) that prepare jobs.

    Requests are length-prefixed pickles over the child's stdin, answers come back in order
    on its stdout, so several requests can be in flight. A request is either jobs to prepare
    or, with a :class:`ClaimSetup`, "claim up to n rows and prepare them": then claiming,
    loading leads, rendering and MIME building all happen outside the sender's process, which
    only talks SMTP and keeps the books. If a worker dies, pending and later requests raise
    :class:`RenderPoolError` and the sender claims and prepares by itself again.
    """

    def __init__(
        self, config: FactoryConfig, workers: int, claims: ClaimSetup | None = None
    ) -> None:
        self.config = config
        self.size = max(1, workers)
        self.claims = claims
        self._workers: list[_Worker] = []
        self._next = 0
        self.ready = False

    async def start(self) -> None:
        """Spawn the workers and wait until each has loaded its templates."""
        self._workers = [await _Worker.spawn((self.config, self.claims)) for _ in range(self.size)]
        await asyncio.gather(*(w.call([]) for w in self._workers))
        self.ready = True

    def _pick(self) -> _Worker:
        worker = self._workers[self._next % len(self._workers)]
        self._next += 1
        return worker

    async def prepare(self, jobs: list[Job]) -> list[Ready]:
        """The jobs' messages, in order."""
        result: list[Ready] = await self._pick().call(jobs)
        return result

    async def claim(self, limit: int, now: datetime, outcomes: list[Outcome]) -> list[Ready]:
        """Record ``outcomes`` of the sender's rows, then claim up to ``limit`` due rows (as of
        ``now``) in the sender's name and prepare them."""
        request = ("claim", limit, now, outcomes)
        result: list[Ready] = await self._pick().call(request)
        return result

    async def close(self) -> None:
        for w in self._workers:
            await w.close()


class RenderPoolError(RuntimeError):
    """A render worker process stopped."""


def _frame(obj: Any) -> bytes:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return len(data).to_bytes(8, "big") + data


class _Worker:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.pending: collections.deque[asyncio.Future[Any]] = collections.deque()
        self.reader = asyncio.ensure_future(self._read())

    @classmethod
    async def spawn(cls, config: tuple[FactoryConfig, ClaimSetup | None]) -> _Worker:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "nurture.mail.render_worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert proc.stdin is not None
        proc.stdin.write(_frame(config))
        return cls(proc)

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        try:
            while True:
                size = int.from_bytes(await self.proc.stdout.readexactly(8), "big")
                answer = pickle.loads(await self.proc.stdout.readexactly(size))
                waiter = self.pending.popleft()
                if not waiter.done():  # its caller may have been cancelled
                    waiter.set_result(answer)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            while self.pending:
                waiter = self.pending.popleft()
                if not waiter.done():
                    waiter.set_exception(RenderPoolError(f"render worker: {exc}"))

    async def call(self, request: Any) -> Any:
        if self.reader.done() or self.proc.stdin is None:
            raise RenderPoolError("render worker stopped")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending.append(future)
        try:
            self.proc.stdin.write(_frame(request))
            await self.proc.stdin.drain()
        except (ConnectionError, RuntimeError) as exc:  # the pipe closed under us
            raise RenderPoolError(f"render worker: {exc}") from exc
        return await future

    async def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), timeout=10)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        self.reader.cancel()
