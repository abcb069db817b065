"""Whether the mail destination could be reached lately, remembered across runs.

A send that cannot reach the SMTP server (or write to the file outbox) records it here: since
when, how many tries failed, the last error. The first send that reaches it again clears it.
``nurture outbox status`` reads it, so an outage shows where people look, not only in the log
of a scheduled job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from nurture.db.mail import MailServerState
from nurture.db.sql import dialect_insert

__all__ = ["ServerState", "record_reachable", "record_unreachable", "server_state"]

_T: Table = MailServerState.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class ServerState:
    server: str
    unreachable_since: datetime | None
    last_error: str | None
    last_failure_at: datetime | None
    failures: int
    recovered_at: datetime | None

    @property
    def reachable(self) -> bool:
        return self.unreachable_since is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "reachable": self.reachable,
            "unreachable_since": self.unreachable_since,
            "last_error": self.last_error,
            "last_failure_at": self.last_failure_at,
            "failures": self.failures,
            "recovered_at": self.recovered_at,
        }


def record_unreachable(
    session: Session, *, server: str, error: str, failures: int, now: datetime
) -> None:
    """``failures`` more tries failed, the last with ``error``; the outage starts now unless
    it had already started."""
    stmt = dialect_insert(session, _T).values(
        server=server,
        unreachable_since=now,
        last_error=error[:2000],
        last_failure_at=now,
        failures=failures,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["server"],
        set_={
            "unreachable_since": func.coalesce(
                _T.c.unreachable_since, stmt.excluded.unreachable_since
            ),
            "last_error": stmt.excluded.last_error,
            "last_failure_at": stmt.excluded.last_failure_at,
            "failures": _T.c.failures + stmt.excluded.failures,
        },
    )
    session.execute(stmt)


def record_reachable(session: Session, *, server: str, now: datetime) -> None:
    """The destination was reached: end its outage, if it had one (no write otherwise)."""
    session.execute(
        update(_T)
        .where(_T.c.server == server, _T.c.unreachable_since.is_not(None))
        .values(unreachable_since=None, failures=0, recovered_at=now)
    )


def server_state(session: Session, server: str) -> ServerState:
    """What is known of ``server`` (reachable, as far as we know, when nothing is)."""
    row = session.execute(select(_T).where(_T.c.server == server)).first()
    if row is None:
        return ServerState(server, None, None, None, 0, None)
    return ServerState(
        server=row.server,
        unreachable_since=row.unreachable_since,
        last_error=row.last_error,
        last_failure_at=row.last_failure_at,
        failures=int(row.failures or 0),
        recovered_at=row.recovered_at,
    )
