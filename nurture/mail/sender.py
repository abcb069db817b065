"""The send loop: claim a batch, render, build, send over a few connections, record.

Three things run at once in one event loop: a claimer (claims the next batch in a thread
while the current one is being sent), one worker per connection (check suppression, render,
build the MIME bytes, sign, send), and a recorder that writes outcomes to the outbox in
batched transactions. The journal (:mod:`nurture.mail.journal`) bridges the gap between a
server's answer and the next commit, so a ``kill -9`` loses nothing.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gc
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from jinja2 import TemplateError
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from nurture.config import Settings, get_settings
from nurture.db.leads import Lead
from nurture.db.session import get_engine, session_scope
from nurture.errors import TemporaryDeliveryError
from nurture.mail import outbox
from nurture.mail.claiming import Claimer, lead_context
from nurture.mail.factory import ClaimSetup, FactoryConfig, MessageFactory, Ready, ready
from nurture.mail.jobs import Job
from nurture.mail.journal import Journal, journal_path
from nurture.mail.pool import RenderPool, RenderPoolError, can_fork
from nurture.mail.rendering import TemplateMissingError
from nurture.mail.transport import Connection, RateLimiter, Transport, make_transport

__all__ = ["Claimer", "Job", "SendSummary", "Sender", "lead_context", "send_due"]

_T = TypeVar("_T")


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class SendSummary:
    claimed: int = 0
    sent: int = 0
    failed_temp: int = 0
    failed_perm: int = 0
    unknown: int = 0
    suppressed: int = 0
    template_errors: int = 0
    not_attempted: int = 0
    reconciled_requeued: int = 0
    reconciled_sent: int = 0
    reconciled_unknown: int = 0
    unknown_total: int = 0
    seconds: float = 0.0
    transport: str = ""
    render_processes: int = 0
    rendered_in_pool: int = 0
    render_start: str = ""  # how render workers started: fork or spawn
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Feed:
    """Work for the connections: a deque they pop from without an await per message (an
    ``asyncio.Queue`` costs a few coroutine calls and wake-ups per item), filled a chunk at a
    time; the claimer waits while ``limit`` items are waiting (back-pressure)."""

    def __init__(self, limit: int) -> None:
        self.items: collections.deque[Job | Ready] = collections.deque()
        self.limit = limit
        self.closed = False
        self._more = asyncio.Event()
        self._room = asyncio.Event()

    async def put(self, items: Sequence[Job | Ready]) -> None:
        while len(self.items) >= self.limit and not self.closed:
            self._room.clear()
            await self._room.wait()
        self.items.extend(items)
        self._more.set()

    def close(self) -> None:
        """No more items: connections stop once the deque is empty."""
        self.closed = True
        self._more.set()

    def taken(self) -> None:
        if len(self.items) < self.limit and not self._room.is_set():
            self._room.set()

    async def wait(self) -> None:
        """Until items arrive or the feed closes (the deque was empty)."""
        self._more.clear()
        self._room.set()
        await self._more.wait()


class Sender:
    """Sends what is due from the outbox; one instance per run."""

    #: Start the render pool only when at least this many messages are due: a spawned worker
    #: takes ~0.8 s of CPU to start (below this, rendering in the sender is as fast), a
    #: forked one a few milliseconds.
    POOL_THRESHOLD = 5000
    FORK_THRESHOLD = 500
    #: Jobs per round trip to a render worker.
    CHUNK = 50

    def __init__(
        self,
        *,
        engine: Engine | None = None,
        settings: Settings | None = None,
        transport: Transport | None = None,
        batch_size: int | None = None,
        render_workers: int | None = None,
        pool_threshold: int | None = None,
        wait_for_pool: bool = False,
        worker: str | None = None,
        now: Callable[[], datetime] = _now,
    ) -> None:
        self.settings = settings or get_settings()
        self.engine = engine or get_engine()
        self.transport = transport or make_transport(
            self.settings.smtp_url, Path(self.settings.outbox_dir)
        )
        self.factory_config = FactoryConfig.from_settings(self.settings)
        self.factory = MessageFactory(self.factory_config)
        self.batch_size = batch_size or min(self.settings.batch_size, 500)
        self.render_workers = (
            self.settings.render_workers if render_workers is None else render_workers
        )
        self.pool_threshold = pool_threshold
        self.wait_for_pool = wait_for_pool
        self.worker = worker or outbox.worker_id()
        self.now = now
        self.journal_dir = Path(self.settings.outbox_dir) / ".journal"
        self.claimer = Claimer(self.engine, self.worker)
        self._connect_failures = 0
        self._last_connect_error = ""

    @property
    def server_unreachable(self) -> bool:
        """Several connection attempts in a row failed: stop claiming (circuit breaker)."""
        return self._connect_failures >= 2 * max(1, len(self.transport.connections))

    # -- database edges (run in a thread) ------------------------------------------------

    def _reconcile(self, only_worker: str | None = None) -> outbox.ReconcileReport:
        with session_scope(self.engine) as session:
            report = outbox.reconcile(
                session, journal_dir=self.journal_dir, now=self.now(), only_worker=only_worker
            )
        for path in report.journals:
            if only_worker is None:
                path.unlink(missing_ok=True)
        return report

    def _due(self, limit: int | None) -> int:
        with session_scope(self.engine) as session:
            return outbox.due_count(session, now=self.now(), limit=limit)

    def _claim(self, limit: int) -> list[Job]:
        return self.claimer.claim(limit, self.now())

    def _jobs(self, session: Session, rows: Sequence[outbox.ClaimedRow]) -> list[Job]:
        return self.claimer.jobs(session, rows)

    def _record(self, outcomes: list[outbox.Outcome]) -> None:
        self.claimer.record(outcomes, self.now())

    def _unknown_total(self) -> int:
        with session_scope(self.engine) as session:
            return outbox.status_counts(session).get(outbox.UNKNOWN, 0)

    # -- the loop -----------------------------------------------------------------------------

    async def run(self, limit: int | None = None) -> SendSummary:
        """Send up to ``limit`` due messages (all due when None) and return the counts.

        The objects alive before the run (modules, templates, the ORM's metadata) are frozen
        out of the cyclic garbage collector for its duration: a full collection would otherwise
        walk all of them every few thousand messages and stall every connection meanwhile.
        """
        gc.freeze()
        self._db_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nurture-send-db")
        try:
            return await self._run(limit)
        finally:
            self._db_thread.shutdown(wait=True)
            gc.unfreeze()

    def _claim_setup(self) -> ClaimSetup | None:
        """Render workers claim too, unless the database lives only in this process."""
        url = self.engine.url
        if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
            return None
        return ClaimSetup(url.render_as_string(hide_password=False), self.worker)

    async def _in_db_thread(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Run ``fn`` in the sender's one database thread: claims and result writes never
        wait for each other's write lock (SQLite's busy handler sleeps for milliseconds)."""
        return await asyncio.get_running_loop().run_in_executor(self._db_thread, fn, *args)

    async def _run(self, limit: int | None) -> SendSummary:
        started = time.perf_counter()
        summary = SendSummary(transport=self.transport.description)
        # before any thread or connection exists, so render workers can be forked (pool.py)
        fork = self.render_workers > 0 and can_fork()
        if fork:
            report = self._reconcile()
        else:
            report = await self._in_db_thread(self._reconcile)
        summary.reconciled_requeued = report.requeued
        summary.reconciled_sent = report.sent
        summary.reconciled_unknown = report.unknown
        pool: RenderPool | None = None
        warm: asyncio.Task[None] | None = None
        if self.render_workers > 0:
            due = self._due(limit) if fork else await self._in_db_thread(self._due, limit)
            threshold = self.pool_threshold
            if threshold is None:
                threshold = self.FORK_THRESHOLD if fork else self.POOL_THRESHOLD
            if due >= threshold:
                setup = self._claim_setup()
                pool = RenderPool(
                    self.factory_config, self.render_workers, setup, factory=self.factory
                )
                if fork and setup is not None:
                    # a child must not inherit an open database connection: close ours, and
                    # spawn instead when one is in use elsewhere (a caller's session)
                    checkedout = getattr(self.engine.pool, "checkedout", None)
                    fork = checkedout is not None and checkedout() == 0
                    if fork:
                        self.engine.dispose()
                if fork:
                    pool.fork()
                warm = asyncio.create_task(pool.start())  # spawns while we start sending
                summary.render_processes = self.render_workers
                summary.render_start = pool.method
                if self.wait_for_pool:
                    await warm
        journal = Journal(journal_path(self.journal_dir, self.worker))
        feed = _Feed(self.batch_size)
        results: list[outbox.Outcome] = []
        workers_done = asyncio.Event()
        clean = False

        async def enqueue(jobs: list[Job]) -> None:
            if pool is None or not pool.ready:  # small send, or workers still starting
                await feed.put(jobs)
                return
            chunks = [jobs[i : i + self.CHUNK] for i in range(0, len(jobs), self.CHUNK)]
            futures = [asyncio.ensure_future(pool.prepare(c)) for c in chunks]
            for chunk, future in zip(chunks, futures, strict=True):
                try:
                    await feed.put(await future)
                    summary.rendered_in_pool += len(chunk)
                except RenderPoolError:  # a worker died: prepare these here instead
                    await feed.put(chunk)

        async def claim_in_pool(remaining: int | None) -> int | None:
            """Let the render workers claim and prepare, two requests in flight, each also
            carrying the outcomes to record so far; returns what is left of the limit when a
            worker stops (the sender goes on by itself)."""
            assert pool is not None
            size = max(self.CHUNK, self.batch_size // 2)
            inflight: collections.deque[tuple[asyncio.Future[Any], int, list[outbox.Outcome]]] = (
                collections.deque()
            )
            drained = False
            try:
                while True:
                    while (
                        len(inflight) < 2
                        and not drained
                        and (remaining is None or remaining > 0)
                        and not self.server_unreachable
                    ):
                        n = size if remaining is None else min(size, remaining)
                        journal.flush()  # their R lines first (see the journal's policy)
                        done = results[:]
                        del results[: len(done)]
                        request = pool.claim(n, self.now(), done)
                        inflight.append((asyncio.ensure_future(request), n, done))
                        if remaining is not None:
                            remaining -= n
                    if not inflight:
                        return 0
                    future, asked, done = inflight.popleft()
                    try:
                        pairs = await future
                    except RenderPoolError:
                        # rows a dead worker claimed stay 'sending' in our name: the final
                        # reconcile gives them back (never sent: no journal line). Outcomes it
                        # may not have written are written here (again is harmless: only rows
                        # still 'sending' match).
                        results.extend(done)
                        for _, n, lost in inflight:
                            asked += n
                            results.extend(lost)
                        inflight.clear()
                        return None if remaining is None else remaining + asked
                    drained = drained or not pairs
                    summary.claimed += len(pairs)
                    summary.rendered_in_pool += len(pairs)
                    if remaining is not None:
                        remaining += asked - len(pairs)
                    await feed.put(pairs)
            finally:
                for future, _, lost in inflight:
                    future.cancel()
                    results.extend(lost)

        async def claimer() -> None:
            remaining = limit
            try:
                while (remaining is None or remaining > 0) and not self.server_unreachable:
                    if pool is not None and pool.ready and pool.claims is not None:
                        left = await claim_in_pool(remaining)
                        if left == 0:
                            break
                        pool.claims = None  # a worker stopped: claim here from now on
                        remaining = left
                        continue
                    n = self.batch_size if remaining is None else min(self.batch_size, remaining)
                    if pool is not None and not pool.ready:  # small bites until it is up
                        n = min(n, self.CHUNK)
                    jobs = await self._in_db_thread(self._claim, n)
                    if not jobs:
                        break
                    summary.claimed += len(jobs)
                    if remaining is not None:
                        remaining -= len(jobs)
                    await enqueue(jobs)
            finally:
                feed.close()

        async def worker(conn: Connection) -> None:
            items, append, one = feed.items, results.append, self._one
            while True:
                if items:
                    item = items.popleft()
                    feed.taken()
                    append(await one(item, conn, journal, summary))
                elif feed.closed:
                    return
                else:
                    await feed.wait()

        async def recorder() -> None:
            while not workers_done.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(workers_done.wait(), timeout=0.25)
                if results:
                    journal.flush()
                    batch = results[:]
                    del results[: len(batch)]
                    await self._in_db_thread(self._record, batch)

        rec = asyncio.create_task(recorder())
        try:
            outcomes = await asyncio.gather(
                claimer(), *(worker(c) for c in self.transport.connections), return_exceptions=True
            )  # every worker has stopped before the books are closed, even after an error
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome
            clean = True
        finally:
            workers_done.set()
            await rec
            await self.transport.close()
            if warm is not None and not warm.done():
                warm.cancel()
            if pool is not None:
                await pool.close()
            journal.flush()
            if results:
                await self._in_db_thread(self._record, results[:])
            leftover = await self._in_db_thread(self._reconcile, self.worker)
            summary.reconciled_requeued += leftover.requeued
            summary.reconciled_unknown += leftover.unknown
            journal.close(delete=True)
        if clean:
            summary.unknown_total = await self._in_db_thread(self._unknown_total)
        summary.seconds = round(time.perf_counter() - started, 3)
        if self.server_unreachable:
            raise TemporaryDeliveryError(
                f"SMTP server unreachable ({self._last_connect_error}); stopped after "
                f"{summary.claimed} claimed, {summary.sent} sent: the rest waits, nothing is lost"
            )
        return summary

    async def _one(
        self, item: Job | Ready, conn: Connection, journal: Journal, summary: SendSummary
    ) -> outbox.Outcome:
        """Send one message (a job is prepared here first) and say what became of it."""
        if not isinstance(item, tuple):
            item = ready(item.row, self.factory.prepare(item, now=self.now()))
        row_id, key, to_addr, attempts, data, status, error, template_error = item
        if data is None:
            if status == outbox.SUPPRESSED:
                summary.suppressed += 1
                return outbox.Outcome(row_id, outbox.SUPPRESSED, error)
            if template_error:
                summary.template_errors += 1
                if len(summary.errors) < 20:
                    summary.errors.append(f"outbox {row_id}: {error}")
            if status == outbox.FAILED_PERM:
                summary.failed_perm += 1
                return outbox.Outcome(row_id, outbox.FAILED_PERM, error)
            out = outbox.temporary_outcome(row_id, attempts, error or "", self.now())
            summary.failed_temp += out.status == outbox.FAILED_TEMP
            summary.failed_perm += out.status == outbox.FAILED_PERM
            return out
        if self.server_unreachable:  # give it back untouched: due again right away
            summary.not_attempted += 1
            return outbox.Outcome(row_id, outbox.QUEUED, "SMTP server unreachable", self.now())
        if self.transport.limited:
            await self.transport.throttle(to_addr)
        attempt = await conn.send(
            key=key,
            mail_from=self.settings.sender_email,
            rcpt=to_addr,
            data=data,
            on_data=lambda: journal.data_started(row_id),
        )
        journal.result(row_id, attempt.status)
        if attempt.connect_failed:
            self._connect_failures += 1
            self._last_connect_error = attempt.detail or ""
        else:
            self._connect_failures = 0
        if attempt.status == outbox.SENT:
            summary.sent += 1
            return outbox.Outcome(row_id, outbox.SENT)
        if attempt.status == outbox.UNKNOWN:
            summary.unknown += 1
            return outbox.Outcome(row_id, outbox.UNKNOWN, attempt.detail)
        if attempt.status == outbox.FAILED_PERM:
            summary.failed_perm += 1
            return outbox.Outcome(
                row_id,
                outbox.FAILED_PERM,
                attempt.detail,
                bounce_email=to_addr if attempt.recipient_refused else None,
            )
        out = outbox.temporary_outcome(row_id, attempts, attempt.detail or "temporary", self.now())
        summary.failed_temp += out.status == outbox.FAILED_TEMP
        summary.failed_perm += out.status == outbox.FAILED_PERM
        return out


def send_due(limit: int | None = None, **kwargs: Any) -> SendSummary:
    """Synchronous entry point (CLI, flows): send what is due and return the summary.

    Works inside a running event loop too (it then runs in a helper thread).
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(Sender(**kwargs).run(limit))
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(Sender(**kwargs).run(limit))).result()


def preview(session: Session, name: str, lead_id: int, settings: Settings | None = None) -> bytes:
    """The message ``name`` would be for lead ``lead_id`` (as a marketing e-mail)."""
    from nurture.errors import NotFoundError

    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFoundError(f"lead {lead_id} does not exist")
    settings = settings or get_settings()
    slug = name.split("/", 1)[0]
    row = outbox.ClaimedRow(
        id=0,
        dedupe_key=f"preview.{lead_id}.{slug}",
        message_id=f"<preview.{lead_id}.{slug}@{settings.message_id_domain}>",
        kind="marketing",
        lead_id=lead_id,
        manager_id=None,
        campaign_slug=slug,
        step=name.rpartition("/")[2],
        template=name,
        to_addr=lead.email or "no-address@invalid",
        context=None,
        attempts=0,
    )
    none = Transport(connections=[], rate=RateLimiter(None), domain_rate=None, description="")
    sender = Sender(engine=session.get_bind().engine, settings=settings, transport=none)
    (job,) = sender._jobs(session, [row])
    try:
        return sender.factory.build(job)
    except (TemplateError, TemplateMissingError) as exc:
        from nurture.errors import InputError

        raise InputError(f"{name}: {type(exc).__name__}: {exc}") from exc
