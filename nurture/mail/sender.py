"""The sender: one run sends what is due from the outbox, exactly once.

A run, in order:

1. **recover**: settle rows that dead senders left in ``sending`` (their journals decide);
2. **count** what is due, and start render workers when there is enough of it;
3. **reach** the destination (connect once, or make sure the outbox directory exists): when
   it cannot be reached nothing is claimed, the outage is remembered for ``nurture outbox
   status``, and the run stops with one line;
4. **send**: three kinds of coroutine share one event loop: the :class:`~nurture.mail.supply.
   Supply` claims rows and feeds prepared messages, one :class:`~nurture.mail.delivery.Courier`
   loop per connection delivers them, and a recorder writes outcomes to the outbox in
   batches. The journal (:mod:`nurture.mail.journal`) bridges the gap between a server's
   answer and the commit that records it, so a ``kill -9`` loses nothing;
5. **close**: write what is left, give back rows claimed but never tried, and remember whether
   the destination was reached.

Every database call runs in the sender's one database thread, so claims and result writes
never wait for each other's write lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine

from nurture.config import Settings, get_settings, secret_key_warning
from nurture.db.session import get_engine, session_scope
from nurture.errors import ConfigError, TemporaryDeliveryError
from nurture.mail import outbox
from nurture.mail.claiming import Claimer
from nurture.mail.delivery import Breaker, Courier
from nurture.mail.factory import ClaimSetup, FactoryConfig, MessageFactory
from nurture.mail.feed import Feed, Outcomes
from nurture.mail.jobs import Job
from nurture.mail.journal import Journal, JournalError, journal_path
from nurture.mail.pool import RenderPool, can_fork
from nurture.mail.server_state import record_reachable, record_unreachable
from nurture.mail.sqlfuncs import is_process_local
from nurture.mail.summary import SendSummary
from nurture.mail.supply import Supply
from nurture.mail.transport import Transport, make_transport

__all__ = ["SendSummary", "Sender", "clock_from", "send_due"]

_T = TypeVar("_T")

#: How often outcomes are written while a run sends (they are also written with every claim
#: request to a render worker).
RECORD_EVERY = 0.25


def _now() -> datetime:
    return datetime.now(UTC)


def clock_from(start: datetime) -> Callable[[], datetime]:
    """A clock that reads ``start`` now and advances in real time (``nurture send --now``):
    claims, results and retry times of one run stay in order. A naive ``start`` is UTC."""
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    began = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - began)


def check_outbox_dir(path: Path) -> None:
    """``NURTURE_OUTBOX_DIR`` holds the journal (and the ``.eml`` files without SMTP)."""
    if path.exists() and not path.is_dir():
        raise ConfigError(f"NURTURE_OUTBOX_DIR: {path} exists and is not a directory")


@dataclass
class _Pool:
    """The render workers of one run, and the task that starts them."""

    pool: RenderPool
    warm: asyncio.Task[None]


class Sender:
    """Sends what is due from the outbox; one instance per run."""

    #: Start the render pool only when at least this many messages are due: a spawned worker
    #: imports the renderer before its first message (below this, rendering in the sender
    #: finishes sooner), a forked one shares the sender's loaded modules.
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
        secret_key_warning("nurture send", self.settings)  # refuses in production
        check_outbox_dir(Path(self.settings.outbox_dir))
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
        self._db_thread: ThreadPoolExecutor | None = None

    # -- database edges (run in the database thread) ---------------------------------------------

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

    def _record(self, outcomes: list[outbox.Outcome]) -> None:
        self.claimer.record(outcomes, self.now())

    def _unknown_total(self) -> int:
        with session_scope(self.engine) as session:
            return outbox.status_counts(session).get(outbox.UNKNOWN, 0)

    def _remember_destination(self, breaker: Breaker) -> None:
        """Keep the destination's state for ``nurture outbox status``."""
        server = self.transport.server
        if not server or not (breaker.total or breaker.halted or breaker.reached):
            return
        with session_scope(self.engine) as session:
            if breaker.open:
                record_unreachable(
                    session,
                    server=server,
                    error=breaker.error,
                    failures=breaker.total,
                    now=self.now(),
                )
            elif breaker.reached:
                record_reachable(session, server=server, now=self.now())

    async def _db(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Run ``fn`` in the sender's one database thread."""
        return await asyncio.get_running_loop().run_in_executor(self._db_thread, fn, *args)

    # -- a run ---------------------------------------------------------------------------------

    async def run(self, limit: int | None = None) -> SendSummary:
        """Send up to ``limit`` due messages (all due when None) and return the counts.

        The objects alive before the run (modules, templates, the ORM's metadata) are frozen
        out of the cyclic garbage collector for its duration: a full collection would walk
        all of them every few thousand messages and stall every connection meanwhile.
        """
        gc.freeze()
        self._db_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nurture-send-db")
        try:
            return await self._run(limit)
        finally:
            self._db_thread.shutdown(wait=True)
            gc.unfreeze()

    async def _run(self, limit: int | None) -> SendSummary:
        started = time.perf_counter()
        summary = SendSummary(transport=self.transport.description)
        # before any thread or connection exists, so render workers can be forked (pool.py)
        fork = self.render_workers > 0 and can_fork()
        await self._recover(summary, here=fork)
        due = await self._count_due(limit, here=fork)
        workers = self._start_pool(due, fork, summary)
        breaker = Breaker(2 * len(self.transport.connections))
        journal: Journal | None = None
        outcomes: Outcomes | None = None
        clean = False
        try:
            journal = Journal(journal_path(self.journal_dir, self.worker))
            outcomes = Outcomes(journal, breaker.halt)
            if workers is not None and self.wait_for_pool:
                await workers.warm
            if due:
                await self._reach(breaker)
            if not breaker.open:
                await self._send(limit, workers, journal, outcomes, breaker, summary)
            clean = True
        finally:
            await self._close(workers, journal, outcomes, breaker, summary)
        if clean:
            summary.unknown_total = await self._db(self._unknown_total)
        summary.seconds = round(time.perf_counter() - started, 3)
        if breaker.open:
            raise TemporaryDeliveryError(await self._stopped_because(breaker, summary))
        return summary

    async def _recover(self, summary: SendSummary, *, here: bool) -> None:
        """Settle what dead senders left (``here``: in this thread, before any other exists)."""
        report = self._reconcile() if here else await self._db(self._reconcile)
        summary.reconciled_requeued = report.requeued
        summary.reconciled_sent = report.sent
        summary.reconciled_unknown = report.unknown

    def _pool_threshold(self, fork: bool) -> int:
        if self.pool_threshold is not None:
            return self.pool_threshold
        return self.FORK_THRESHOLD if fork else self.POOL_THRESHOLD

    async def _count_due(self, limit: int | None, *, here: bool) -> int:
        """How many rows are due, counted up to what decides anything (the pool threshold)."""
        cap = self._pool_threshold(here) if self.render_workers > 0 else 1
        cap = max(1, cap if limit is None else min(cap, limit))
        return self._due(cap) if here else await self._db(self._due, cap)

    def _start_pool(self, due: int, fork: bool, summary: SendSummary) -> _Pool | None:
        """Render workers, when enough is due; forked when that is safe (see pool.py)."""
        if self.render_workers <= 0 or not due or due < self._pool_threshold(fork):
            return None
        setup = self._claim_setup()
        pool = RenderPool(self.factory_config, self.render_workers, setup, factory=self.factory)
        if fork and setup is not None:
            # a child must not inherit an open database connection: close ours, and spawn
            # instead when one is in use elsewhere (a caller's session)
            checkedout = getattr(self.engine.pool, "checkedout", None)
            fork = checkedout is not None and checkedout() == 0
            if fork:
                self.engine.dispose()
        if fork:
            pool.fork()
        summary.render_processes = self.render_workers
        summary.render_start = pool.method
        return _Pool(pool, asyncio.create_task(pool.start()))  # spawns while we send

    def _claim_setup(self) -> ClaimSetup | None:
        """Render workers claim too, unless the database lives only in this process."""
        if is_process_local(self.engine):
            return None
        return ClaimSetup(self.engine.url.render_as_string(hide_password=False), self.worker)

    async def _reach(self, breaker: Breaker) -> None:
        """Open the first connection (or the outbox directory) before anything is claimed."""
        problem = await self.transport.connections[0].open()
        if problem is None:
            breaker.succeeded()  # reached: an earlier outage ends even if nothing is sent
        else:
            breaker.trip(problem)

    async def _send(
        self,
        limit: int | None,
        workers: _Pool | None,
        journal: Journal,
        outcomes: Outcomes,
        breaker: Breaker,
        summary: SendSummary,
    ) -> None:
        """Claim, deliver and record until nothing is due, the limit or the breaker."""
        feed = Feed(self.batch_size)
        supply = Supply(
            feed=feed,
            outcomes=outcomes,
            summary=summary,
            pool=workers.pool if workers is not None else None,
            claim_here=lambda n: self._db(self._claim, n),
            now=self.now,
            stopped=lambda: breaker.open,
            limit=limit,
            batch_size=self.batch_size,
            chunk=self.CHUNK,
        )
        courier = Courier(
            factory=self.factory,
            transport=self.transport,
            journal=journal,
            breaker=breaker,
            summary=summary,
            mail_from=self.settings.sender_email,
            now=self.now,
        )
        done = asyncio.Event()
        recorder = asyncio.create_task(self._record_until(done, outcomes))
        try:
            results = await asyncio.gather(
                supply.run(),
                *(courier.work(c, feed, outcomes) for c in self.transport.connections),
                return_exceptions=True,
            )  # every connection has stopped before the books are closed, even after an error
            for result in results:
                if isinstance(result, BaseException):
                    raise result
        finally:
            done.set()
            await recorder

    async def _record_until(self, done: asyncio.Event, outcomes: Outcomes) -> None:
        """Write outcomes every :data:`RECORD_EVERY` seconds until ``done``."""
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), timeout=RECORD_EVERY)
            if outcomes.items:
                await self._db(self._record, outcomes.take())

    async def _close(
        self,
        workers: _Pool | None,
        journal: Journal | None,
        outcomes: Outcomes | None,
        breaker: Breaker,
        summary: SendSummary,
    ) -> None:
        """Write what is left, give back what was claimed and never tried, close the books."""
        await self.transport.close()
        if workers is not None:  # before the give-back: a worker may still claim or record
            if not workers.warm.done():
                workers.warm.cancel()
            await workers.pool.close()
        if outcomes is not None and outcomes.items:
            await self._db(self._record, outcomes.take())
        leftover = await self._db(self._reconcile, self.worker)
        summary.reconciled_requeued += leftover.requeued
        summary.reconciled_unknown += leftover.unknown
        await self._db(self._remember_destination, breaker)
        if journal is not None:
            # every outcome is in the outbox now: R lines that cannot be written are moot
            with contextlib.suppress(JournalError):
                journal.close(delete=True)

    async def _stopped_because(self, breaker: Breaker, summary: SendSummary) -> str:
        """The one line a stopped run ends with."""
        waiting = await self._db(self._due, None)
        if self.transport.url is not None and not breaker.halted:
            problem = f"SMTP server {self.transport.server} unreachable: {breaker.error}"
        else:
            problem = breaker.error
        done = f"{summary.sent} sent" if summary.sent else "nothing sent"
        # connections lost under an attempt count it (and stop the run, see delivery.py)
        spent = (
            f"{summary.failed_temp} retried after the backoff"
            if summary.failed_temp
            else "no attempt spent"
        )
        return (
            f"{problem}; {done}, {waiting} waiting (nothing lost, {spent}; "
            "`nurture outbox status` shows the outage)"
        )


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
