"""The outbox: the only truth about what was sent (never Prefect's task state).

States and transitions::

    queued ──claim──> sending ──> sent
       ^                 │──────> failed_temp ──(due again)──> sending ...
       │                 │          (4xx, connection lost after RCPT and before DATA:
       │                 │           exponential backoff with jitter; after MAX_ATTEMPTS:
       │                 │           failed_perm)
       │                 │──────> failed_perm  (5xx: lead.email_status='undeliverable' and a
       │                 │                      global suppression)
       │                 │──────> unknown      (cut after DATA before the answer: counted,
       │                 │                      reported, never re-sent blindly)
       │                 │──────> suppressed   (unsubscribed, do-not-contact, bounced before)
       └──give back──────┘   (never tried: the server was unreachable, the outbox directory
                              could not be written, the sender stopped or was killed first)

``attempts`` counts tries that reached a recipient. The claim adds one; a row given back
(:data:`GIVE_BACK`) loses it again and keeps its place in the queue, so an outage of hours
spends none of a message's attempts. Attempts that count are followed by the backoff.

Claiming is one statement: ``UPDATE ... WHERE id IN (<due ids>)`` with the due ids chosen by
:func:`nurture.mail.sqlfuncs.due_ids` (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two
senders never get the same row; SQLite serialises writers). Results are written in batches
with ``WHERE status='sending' AND claimed_by=<me>``, so a row taken over by reconciliation is
never overwritten by a late sender.

Reconcile policy for rows left in ``sending`` (see :mod:`nurture.mail.journal`): a sender is
dead when it ran on this host and its pid is gone, or when its claim is older than the lease
(another host). For a dead sender, its journal decides row by row: ``R sent`` stays sent,
``R unknown`` or ``D`` without outcome becomes ``unknown`` (ambiguous: counted), a definite
non-delivery (``R failed_temp``/``R failed_perm``) counts and waits for the backoff, and a row
never transmitted is given back. Without a journal (another host), every row becomes
``unknown``: we never risk a duplicate to save a message.
"""

from __future__ import annotations

import os
import random
import socket
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Table, bindparam, case, func, select, update
from sqlalchemy.orm import Session

from nurture.db.base import UTCDateTime
from nurture.db.mail import OutboxMessage
from nurture.mail.jobs import ClaimedRow
from nurture.mail.journal import JournalState, journal_path, read_journal
from nurture.mail.sqlfuncs import due_ids

__all__ = [
    "DUE",
    "FAILED_PERM",
    "FAILED_TEMP",
    "GIVE_BACK",
    "MAX_ATTEMPTS",
    "QUEUED",
    "SENDING",
    "SENT",
    "SUPPRESSED",
    "UNKNOWN",
    "ClaimedRow",
    "Outcome",
    "ReconcileReport",
    "backoff_delay",
    "claim",
    "due_count",
    "reconcile",
    "record",
    "requeue",
    "status_counts",
    "temporary_outcome",
    "worker_id",
]

QUEUED = "queued"
SENDING = "sending"
SENT = "sent"
FAILED_TEMP = "failed_temp"
FAILED_PERM = "failed_perm"
UNKNOWN = "unknown"
SUPPRESSED = "suppressed"
CANCELLED = "cancelled"
#: Not a state: the outcome of a row never tried. It returns to ``queued`` (or ``failed_temp``
#: when earlier attempts counted) with its attempt uncounted and its due time unchanged.
GIVE_BACK = "give_back"
DUE = (QUEUED, FAILED_TEMP)
FINAL = (SENT, FAILED_PERM, UNKNOWN, SUPPRESSED, CANCELLED)

MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=6)
DEFAULT_LEASE = timedelta(minutes=15)

_T: Table = OutboxMessage.__table__  # type: ignore[assignment]


class Outcome(NamedTuple):
    """What happened to one claimed row (decided by the sender, written by :func:`record`).

    A named tuple: one is made per message in the sender and pickled to the render worker
    that records it, and a tuple is the cheapest object to build and to pickle."""

    id: int
    status: str
    error: str | None = None
    next_attempt_at: datetime | None = None
    bounce_email: str | None = None  # failed_perm: suppress this address


@dataclass
class ReconcileReport:
    requeued: int = 0
    sent: int = 0
    unknown: int = 0
    workers: list[str] = field(default_factory=list)
    journals: list[Path] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.requeued + self.sent + self.unknown


def worker_id() -> str:
    """``host:pid:random``: unique per sender run, and tells reconcile where it ran."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def backoff_delay(attempts: int, *, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff with jitter: 1, 2, 4... minutes (x0.5-1.5), at most 6 hours."""
    base: timedelta = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(0, attempts - 1)))
    factor: float = (rng or random).uniform(0.5, 1.5)
    return base * factor


def temporary_outcome(row_id: int, attempts: int, error: str, now: datetime) -> Outcome:
    """failed_temp with the next attempt scheduled, or failed_perm after MAX_ATTEMPTS."""
    if attempts >= MAX_ATTEMPTS:
        return Outcome(row_id, FAILED_PERM, f"gave up after {attempts} attempts: {error}")
    return Outcome(row_id, FAILED_TEMP, error, next_attempt_at=now + backoff_delay(attempts))


_RETURNING = [_T.c[name] for name in ClaimedRow.__dataclass_fields__]


def claim(session: Session, *, worker: str, limit: int, now: datetime) -> list[ClaimedRow]:
    """Atomically move up to ``limit`` due rows to ``sending`` for ``worker`` (one
    statement), counting the attempt; returns them by id."""
    due, recheck = due_ids(session, _T, statuses=DUE, now=now, limit=limit)
    where = [_T.c.id.in_(due.scalar_subquery())]
    if recheck:
        where.append(_T.c.status.in_(DUE))
    stmt = (
        update(_T)
        .where(*where)
        .values(status=SENDING, claimed_by=worker, claimed_at=now, attempts=_T.c.attempts + 1)
        .returning(*_RETURNING)
    )
    rows = [ClaimedRow(**r._asdict()) for r in session.execute(stmt)]
    rows.sort(key=lambda r: r.id)
    return rows


_RECORD = (
    update(_T)
    .where(
        _T.c.id == bindparam("b_id"),
        _T.c.status == SENDING,
        _T.c.claimed_by == bindparam("b_worker"),
    )
    .values(
        status=bindparam("b_status"),
        last_error=bindparam("b_error"),
        next_attempt_at=func.coalesce(
            bindparam("b_next", type_=UTCDateTime()), _T.c.next_attempt_at
        ),
        sent_at=func.coalesce(bindparam("b_sent", type_=UTCDateTime()), _T.c.sent_at),
    )
)

#: A row never tried goes back with its claim's attempt taken off again (the ``SET`` reads
#: the values before the update on both backends).
_GIVE_BACK = (
    update(_T)
    .where(
        _T.c.id == bindparam("b_id"),
        _T.c.status == SENDING,
        _T.c.claimed_by == bindparam("b_worker"),
    )
    .values(
        status=case((_T.c.attempts > 1, FAILED_TEMP), else_=QUEUED),
        attempts=_T.c.attempts - 1,
        last_error=bindparam("b_error"),
    )
)


#: Rows per ``UPDATE ... WHERE id IN (...)`` (below every backend's bound-parameter limit).
_IN_CHUNK = 500


def record(session: Session, *, worker: str, outcomes: Sequence[Outcome], now: datetime) -> int:
    """Write the outcomes of ``worker``'s claimed rows; 5xx addresses become undeliverable and
    globally suppressed in the same transaction. Returns rows updated.

    Plain deliveries (the bulk of a send) are one ``UPDATE ... WHERE id IN (...)`` per 500 rows;
    rows given back one executemany, every other outcome (its own error text, retry time)
    another."""
    if not outcomes:
        return 0
    conn = session.connection()
    updated = 0
    sent = [o.id for o in outcomes if o.status == SENT and o.error is None]
    for i in range(0, len(sent), _IN_CHUNK):
        result = conn.execute(
            update(_T)
            .where(
                _T.c.id.in_(sent[i : i + _IN_CHUNK]),
                _T.c.status == SENDING,
                _T.c.claimed_by == worker,
            )
            .values(status=SENT, last_error=None, sent_at=now)
        )
        updated += int(result.rowcount or 0)
    rest = [o for o in outcomes if not (o.status == SENT and o.error is None)]
    if not rest:
        return updated
    back = [
        {"b_id": o.id, "b_worker": worker, "b_error": (o.error or None) and o.error[:2000]}
        for o in rest
        if o.status == GIVE_BACK
    ]
    if back:
        updated += int(conn.execute(_GIVE_BACK, back).rowcount or 0)
        rest = [o for o in rest if o.status != GIVE_BACK]
    params = [
        {
            "b_id": o.id,
            "b_worker": worker,
            "b_status": o.status,
            "b_error": (o.error or None) and o.error[:2000],
            "b_next": o.next_attempt_at,
            "b_sent": now if o.status == SENT else None,
        }
        for o in rest
    ]
    if params:
        updated += int(conn.execute(_RECORD, params).rowcount or 0)
    bounced = sorted({o.bounce_email.lower() for o in outcomes if o.bounce_email})
    if bounced:
        from nurture.mail.suppression import add_suppressions, mark_undeliverable

        errors = {o.bounce_email.lower(): o.error for o in outcomes if o.bounce_email}
        add_suppressions(
            session,
            [
                {"email": e, "scope": "*", "reason": "bounce", "detail": errors.get(e)}
                for e in bounced
            ],
            now=now,
        )
        mark_undeliverable(session, bounced)
    return updated


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sender_is_dead(
    worker: str, claimed_at: datetime | None, *, now: datetime, lease: timedelta
) -> bool:
    """Dead = ran on this host and its pid is gone, or its claim is older than the lease."""
    host, _, rest = worker.partition(":")
    pid_text = rest.partition(":")[0]
    if host == socket.gethostname() and pid_text.isdigit() and not _pid_alive(int(pid_text)):
        return True
    return claimed_at is None or now - claimed_at > lease


def reconcile(
    session: Session,
    *,
    journal_dir: Path,
    now: datetime,
    lease: timedelta = DEFAULT_LEASE,
    only_worker: str | None = None,
) -> ReconcileReport:
    """Settle rows left in ``sending`` by dead senders (policy in the module docstring).

    ``only_worker`` settles that worker's rows regardless of liveness (a sender cleaning up
    after itself). The caller deletes ``report.journals`` after committing.
    """
    query = select(_T.c.id, _T.c.claimed_by, _T.c.claimed_at, _T.c.attempts).where(
        _T.c.status == SENDING
    )
    if only_worker is not None:
        query = query.where(_T.c.claimed_by == only_worker)
    by_worker: dict[str, list[Any]] = defaultdict(list)
    for row in session.execute(query):
        by_worker[row.claimed_by or ""].append(row)
    report = ReconcileReport()
    outcomes: dict[str, list[Outcome]] = {}
    for worker, rows in by_worker.items():
        newest = max((r.claimed_at for r in rows if r.claimed_at is not None), default=None)
        if only_worker is None and not sender_is_dead(worker, newest, now=now, lease=lease):
            continue
        path = journal_path(journal_dir, worker)
        state = read_journal(path)
        report.workers.append(worker)
        if state is not None:
            report.journals.append(path)
        settled = outcomes[worker] = [_settle(r.id, r.attempts, worker, state, now) for r in rows]
        for outcome in settled:
            if outcome.status == SENT:
                report.sent += 1
            elif outcome.status == UNKNOWN:
                report.unknown += 1
            else:
                report.requeued += 1
    for worker, settled in outcomes.items():
        record(session, worker=worker, outcomes=settled, now=now)
    return report


def _settle(
    row_id: int, attempts: int, worker: str, state: JournalState | None, now: datetime
) -> Outcome:
    if state is None:
        return Outcome(
            row_id, UNKNOWN, f"sender {worker} stopped; no journal on this host: delivery unknown"
        )
    result = state.results.get(row_id)
    if result == SENT:
        return Outcome(row_id, SENT)
    if result == UNKNOWN or (result is None and row_id in state.data_started):
        return Outcome(
            row_id,
            UNKNOWN,
            f"sender {worker} stopped after DATA, before the answer: may be delivered",
        )
    if result in (FAILED_TEMP, FAILED_PERM):  # a definite non-delivery: it counts; asked again
        return temporary_outcome(
            row_id, attempts, f"answered {result}; sender {worker} stopped", now
        )
    # never transmitted: back in the queue as it was
    return Outcome(row_id, GIVE_BACK, f"given back after sender {worker} stopped")


def due_count(session: Session, *, now: datetime, limit: int | None = None) -> int:
    """How many rows are due (counting stops at ``limit``)."""
    query = select(_T.c.id).where(_T.c.status.in_(DUE), _T.c.next_attempt_at <= now)
    if limit is not None:
        query = query.limit(limit)
    return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)


def status_counts(session: Session) -> dict[str, int]:
    """How many outbox rows are in each state."""
    rows = session.execute(select(_T.c.status, func.count()).group_by(_T.c.status))
    return {status: int(n) for status, n in rows}


def requeue(session: Session, *, ids: Iterable[int] | None, status: str, now: datetime) -> int:
    """Put rows in ``status`` (e.g. unknown, after checking the mail log) back to queued, due
    at ``now`` with a fresh count of attempts (a person decided to try again)."""
    stmt = (
        update(_T)
        .where(_T.c.status == status)
        .values(status=QUEUED, next_attempt_at=now, last_error=None, attempts=0)
    )
    if ids is not None:
        stmt = stmt.where(_T.c.id.in_(list(ids)))
    return int(session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]
