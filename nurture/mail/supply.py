"""Keeping the feed full: claim due rows, prepare their messages, put them on the feed.

There is one way rows are claimed, :meth:`nurture.mail.claiming.Claimer.claim` (one ``UPDATE``
in :func:`nurture.mail.outbox.claim`), run in one of two places:

* **in a render worker**, when a :class:`~nurture.mail.pool.RenderPool` is up and may use the
  database: the worker claims in the sender's name, loads what the messages need, renders
  them and answers with ready bytes. Two requests are in flight so the connections never
  wait for a round trip, and each request carries the outcomes decided so far, which the
  worker writes before it claims (the rows' results reach the outbox with no extra commit);
* **in the sender's database thread** otherwise (a small send, a database only this process
  can open, the pool still starting, or a worker that died): the jobs are then rendered by
  the pool when it is ready, else by the connections themselves.

When a worker dies the supply goes on claiming in the sender; the rows the worker had claimed
were never transmitted and are given back when the run ends (see :mod:`nurture.mail.outbox`).
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nurture.mail.factory import Ready
from nurture.mail.feed import Feed, Outcomes
from nurture.mail.jobs import Job
from nurture.mail.outbox import Outcome
from nurture.mail.pool import RenderPool, RenderPoolError
from nurture.mail.summary import SendSummary

__all__ = ["Supply"]

#: Requests to a render worker that are in flight at once.
IN_FLIGHT = 2


@dataclass
class _Request:
    """A claim sent to a render worker: the rows asked for and the outcomes it carries."""

    future: asyncio.Future[list[Ready]]
    asked: int
    outcomes: list[Outcome] = field(default_factory=list)


class Supply:
    """Claims up to ``limit`` due rows (all when None) for one run and feeds their messages to
    the connections, until the outbox has nothing due or ``stopped()`` says so."""

    def __init__(
        self,
        *,
        feed: Feed,
        outcomes: Outcomes,
        summary: SendSummary,
        pool: RenderPool | None,
        claim_here: Callable[[int], Awaitable[list[Job]]],
        now: Callable[[], datetime],
        stopped: Callable[[], bool],
        limit: int | None,
        batch_size: int,
        chunk: int,
    ) -> None:
        self.feed = feed
        self.outcomes = outcomes
        self.summary = summary
        self.pool = pool
        self.claim_here = claim_here
        self.now = now
        self.stopped = stopped
        self.remaining = limit
        self.batch_size = batch_size
        self.chunk = chunk

    async def run(self) -> None:
        try:
            while self._wanted() and not self.stopped():
                pool = self.pool
                if pool is not None and pool.ready and pool.claims is not None:
                    if await self._claim_in_pool(pool):
                        break
                    pool.claims = None  # a worker stopped: claim here from now on
                elif not await self._claim_in_sender():
                    break
        finally:
            self.feed.close()

    # -- the limit -------------------------------------------------------------------------

    def _wanted(self) -> bool:
        return self.remaining is None or self.remaining > 0

    def _ask(self, size: int) -> int:
        """Reserve up to ``size`` rows of what is left of the limit."""
        if self.remaining is None:
            return size
        n = min(size, self.remaining)
        self.remaining -= n
        return n

    def _got(self, asked: int, got: int) -> None:
        """``got`` rows of the ``asked`` were claimed: count them, return the rest."""
        self.summary.claimed += got
        if self.remaining is not None:
            self.remaining += asked - got

    # -- claiming in the sender --------------------------------------------------------------

    async def _claim_in_sender(self) -> bool:
        """One batch claimed in the sender; False when nothing was due."""
        pool = self.pool
        starting = pool is not None and not pool.ready  # small bites until it is up
        n = self._ask(self.chunk if starting else self.batch_size)
        jobs = await self.claim_here(n)
        self._got(n, len(jobs))
        if not jobs:
            return False
        await self._prepare_and_put(jobs)
        return True

    async def _prepare_and_put(self, jobs: list[Job]) -> None:
        """Jobs onto the feed, rendered by the pool when it is up (else by the connections)."""
        pool = self.pool
        if pool is None or not pool.ready:
            await self.feed.put(jobs)
            return
        chunks = [jobs[i : i + self.chunk] for i in range(0, len(jobs), self.chunk)]
        futures = [asyncio.ensure_future(pool.prepare(c)) for c in chunks]
        for chunk, future in zip(chunks, futures, strict=True):
            try:
                await self.feed.put(await future)
                self.summary.rendered_in_pool += len(chunk)
            except RenderPoolError:  # a worker died: the connections prepare these
                await self.feed.put(chunk)

    # -- claiming in a render worker -----------------------------------------------------------

    async def _claim_in_pool(self, pool: RenderPool) -> bool:
        """Let the render workers claim and prepare until nothing more is wanted (True) or a
        worker stops (False: the sender claims by itself from then on)."""
        size = max(self.chunk, self.batch_size // 2)
        inflight: collections.deque[_Request] = collections.deque()
        drained = False
        try:
            while True:
                while (
                    len(inflight) < IN_FLIGHT
                    and not drained
                    and self._wanted()
                    and not self.stopped()
                ):
                    inflight.append(self._request(pool, size))
                if not inflight:
                    return True
                request = inflight.popleft()
                try:
                    ready = await request.future
                except RenderPoolError:
                    self._abandon(request)
                    return False
                drained = drained or not ready
                self._got(request.asked, len(ready))
                self.summary.rendered_in_pool += len(ready)
                await self.feed.put(ready)
        finally:
            for request in inflight:  # a worker stopped, or the run is being cancelled
                request.future.cancel()
                self._abandon(request)

    def _request(self, pool: RenderPool, size: int) -> _Request:
        n = self._ask(size)
        outcomes = self.outcomes.take()  # their R lines are on disk first
        future: asyncio.Future[Any] = asyncio.ensure_future(pool.claim(n, self.now(), outcomes))
        return _Request(future, n, outcomes)

    def _abandon(self, request: _Request) -> None:
        """A request that got no answer: the worker may not have written its outcomes (writing
        them again is harmless: only rows still ``sending`` in our name match), and its rows
        were never claimed as far as the limit is concerned."""
        self.outcomes.put_back(request.outcomes)
        if self.remaining is not None:
            self.remaining += request.asked
