"""Delivering one message over one connection, and knowing when to stop trying.

:class:`Courier` turns a claimed message into an :class:`~nurture.mail.outbox.Outcome`:
suppressed or unrenderable messages are settled without the server; the rest go out over the
connection with a ``D`` journal line written just before the content. :class:`Breaker` watches
the failures that are the destination's fault (nothing offered to a recipient yet, or the
connection closed under an attempt) and stops the run when they repeat, giving every message
still waiting back to the outbox untried.

A connection the server refuses (at connect, greeting, login or ``MAIL``) is not reopened
for the rest of the run while another connection still works: a
server that takes one session from us and refuses the second (a per-client connection limit)
gets one refused connection per run, not one per message. The last working connection never
retires; its failures go to the breaker, which ends the run.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from nurture.mail.factory import MessageFactory, Ready, ready
from nurture.mail.feed import Feed, Outcomes
from nurture.mail.jobs import Job
from nurture.mail.journal import Journal, JournalError
from nurture.mail.outbox import (
    FAILED_PERM,
    FAILED_TEMP,
    GIVE_BACK,
    SENT,
    SUPPRESSED,
    UNKNOWN,
    Outcome,
    temporary_outcome,
)
from nurture.mail.summary import SendSummary
from nurture.mail.transport import Connection, Transport

__all__ = ["Breaker", "Courier"]

#: Template errors listed in a run's summary (the rest are only counted).
MAX_LISTED_ERRORS = 20


class Breaker:
    """Counts the destination's failures in a row: connections refused or cut before any
    recipient was offered, writes to the outbox directory that failed. At ``limit`` it opens:
    nothing more is claimed or tried in this run (the next scheduled run tries again), so an
    outage costs one short run instead of a loop of doomed attempts.

    Connections the server closed under an attempt (a ``421``, a cut before or after
    ``DATA``) count too (:meth:`closed`), with :data:`CLOSED_GRACE` more allowed: each of
    them spent its message's attempt, and a server may drop a session or two by chance.

    :meth:`trip` and :meth:`halt` open it at once: the destination failed the run's first
    try, or the sender itself cannot go on (the journal cannot be written)."""

    #: Closed connections in a row tolerated beyond ``limit``.
    CLOSED_GRACE = 3

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self.failures = 0  # untried, in a row
        self.streak = 0  # untried or closed, in a row
        self.total = 0  # in this run
        self.reached = False  # the destination answered about a recipient at least once
        self.error = ""
        self.halted = False

    @property
    def open(self) -> bool:
        return (
            self.halted
            or self.failures >= self.limit
            or self.streak >= self.limit + self.CLOSED_GRACE
        )

    def failed(self, error: str) -> None:
        self.failures += 1
        self.streak += 1
        self.total += 1
        self.error = error

    def closed(self, error: str) -> None:
        """The server answered (it was reached), then closed the connection under an attempt."""
        self.reached = True
        self.streak += 1
        self.total += 1
        self.error = error

    def succeeded(self) -> None:
        self.failures = 0
        self.streak = 0
        self.reached = True

    def trip(self, error: str) -> None:
        """The destination failed in a way retrying within the run will not mend (the first
        connection of the run was refused): open now."""
        self.failed(error)
        self.failures = max(self.failures, self.limit)

    def halt(self, reason: str) -> None:
        """A fault of our own (the journal cannot be written): open now."""
        self.halted = True
        self.error = reason


class Courier:
    """Delivers messages from the feed, one connection per :meth:`work` coroutine."""

    def __init__(
        self,
        *,
        factory: MessageFactory,
        transport: Transport,
        journal: Journal,
        breaker: Breaker,
        summary: SendSummary,
        mail_from: str,
        now: Callable[[], datetime],
    ) -> None:
        self.factory = factory
        self.transport = transport
        self.journal = journal
        self.breaker = breaker
        self.summary = summary
        self.mail_from = mail_from
        self.now = now
        #: Connections still delivering; :attr:`refused`: the ones the server just refused.
        self.working = len(transport.connections)
        self.refused: set[int] = set()

    async def work(self, conn: Connection, feed: Feed, outcomes: Outcomes) -> None:
        """Deliver over ``conn`` until the feed is closed and empty, or until the server
        refuses ``conn`` while another connection still works (see the module docstring)."""
        items, append, deliver = feed.items, outcomes.items.append, self.deliver
        while True:
            if items:
                item = items.popleft()
                feed.taken()
                append(await deliver(item, conn))
                if self.refused and id(conn) in self.refused:
                    self.refused.discard(id(conn))
                    if self.working > 1:  # the others go on; the last one meets the breaker
                        self.working -= 1
                        return
            elif feed.closed:
                return
            else:
                await feed.wait()

    async def deliver(self, item: Job | Ready, conn: Connection) -> Outcome:
        """Send one message (a job is prepared here first) and say what became of it."""
        if not isinstance(item, tuple):
            item = ready(item.row, self.factory.prepare(item, now=self.now()))
        row_id, key, to_addr, attempts, data, status, error, template_error = item
        if data is None:
            return self._settle_unsendable(row_id, attempts, status, error, template_error)
        if self.breaker.open:  # the destination failed: back to the outbox untouched
            self.summary.not_attempted += 1
            return Outcome(row_id, GIVE_BACK, f"not tried: {self.breaker.error}")
        if self.transport.limited:
            await self.transport.throttle(to_addr)
        journal = self.journal
        try:
            attempt = await conn.send(
                key=key,
                mail_from=self.mail_from,
                rcpt=to_addr,
                data=data,
                on_data=lambda: journal.data_started(row_id),
            )
        except JournalError as exc:  # no D line, so the content was not sent
            self.breaker.halt(str(exc))
            self.summary.not_attempted += 1
            return Outcome(row_id, GIVE_BACK, f"not tried: {exc}")
        if attempt.untried:
            self.breaker.failed(attempt.detail or "failed")
            self.refused.add(id(conn))
            self.summary.not_attempted += 1
            journal.result(row_id, GIVE_BACK)
            return Outcome(row_id, GIVE_BACK, f"not tried: {attempt.detail}")
        if attempt.connection_closed:
            self.breaker.closed(attempt.detail or "connection closed")
        else:
            self.breaker.succeeded()
        journal.result(row_id, attempt.status)
        summary = self.summary
        if attempt.status == SENT:
            summary.sent += 1
            return Outcome(row_id, SENT)
        if attempt.status == UNKNOWN:
            summary.unknown += 1
            return Outcome(row_id, UNKNOWN, attempt.detail)
        if attempt.status == FAILED_PERM:
            summary.failed_perm += 1
            return Outcome(
                row_id,
                FAILED_PERM,
                attempt.detail,
                bounce_email=to_addr if attempt.recipient_refused else None,
            )
        return self._temporary(row_id, attempts, attempt.detail or "temporary")

    def _settle_unsendable(
        self,
        row_id: int,
        attempts: int,
        status: str | None,
        error: str | None,
        template_error: bool,
    ) -> Outcome:
        """A message settled without the server: suppressed, or it could not be built."""
        summary = self.summary
        if status == SUPPRESSED:
            summary.suppressed += 1
            return Outcome(row_id, SUPPRESSED, error)
        if template_error:
            summary.template_errors += 1
            if len(summary.errors) < MAX_LISTED_ERRORS:
                summary.errors.append(f"outbox {row_id}: {error}")
        if status == FAILED_PERM:
            summary.failed_perm += 1
            return Outcome(row_id, FAILED_PERM, error)
        return self._temporary(row_id, attempts, error or "")

    def _temporary(self, row_id: int, attempts: int, error: str) -> Outcome:
        out = temporary_outcome(row_id, attempts, error, self.now())
        self.summary.failed_temp += out.status == FAILED_TEMP
        self.summary.failed_perm += out.status == FAILED_PERM
        return out
