"""What flows between the pieces of a send: the feed of messages to deliver, and the outcomes
waiting to be written.

Both are plain containers shared by coroutines of one event loop (never by threads), so they
need no locks: a coroutine is never interrupted between two statements without an ``await``.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable, Sequence

from nurture.mail.factory import Ready
from nurture.mail.jobs import Job
from nurture.mail.journal import Journal, JournalError
from nurture.mail.outbox import Outcome

__all__ = ["Feed", "Outcomes"]


class Feed:
    """Messages for the connections: a deque they pop from without an ``await`` per message
    (an ``asyncio.Queue`` would add coroutine calls and wake-ups to every message), filled a
    batch at a time; :meth:`put` waits while ``limit`` items are waiting (back-pressure, so
    claimed rows do not pile up in memory ahead of the connections)."""

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
        """An item was popped: wake :meth:`put` when there is room again."""
        if len(self.items) < self.limit and not self._room.is_set():
            self._room.set()

    async def wait(self) -> None:
        """Until items arrive or the feed closes (the deque was empty)."""
        self._more.clear()
        self._room.set()
        await self._more.wait()


class Outcomes:
    """Outcomes decided but not yet written to the outbox.

    Connections append to :attr:`items`; :meth:`take` hands a batch over to be written, after
    the journal's pending ``R`` lines for them are on disk (see :mod:`nurture.mail.journal`).
    A journal that cannot be written calls ``halt``: the batch is still handed over (the
    database is the truth; the journal only covers the moments before it is written)."""

    def __init__(self, journal: Journal, halt: Callable[[str], None]) -> None:
        self.items: list[Outcome] = []
        self._journal = journal
        self._halt = halt

    def take(self) -> list[Outcome]:
        try:
            self._journal.flush()
        except JournalError as exc:
            self._halt(str(exc))
        batch = self.items[:]
        del self.items[: len(batch)]  # connections keep appending to this same list
        return batch

    def put_back(self, outcomes: Sequence[Outcome]) -> None:
        """Outcomes handed over but perhaps not written (a render worker died with them)."""
        self.items.extend(outcomes)
