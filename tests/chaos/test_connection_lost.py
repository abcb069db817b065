"""Which database errors the CLI reports as a lost connection (one line, exit 1) and which
stay bugs (a traceback): the restart tests in test_pg_restart.py exercise it for real."""

from __future__ import annotations

import sqlite3

import psycopg
from sqlalchemy.exc import OperationalError

from nurture.cli_support import connection_lost


def _wrapped(orig: Exception, *, invalidated: bool = False) -> OperationalError:
    return OperationalError("SELECT 1", {}, orig, connection_invalidated=invalidated)


def test_a_server_shutting_down_or_unreachable_is_a_lost_connection() -> None:
    shutdown = _wrapped(psycopg.errors.AdminShutdown("terminating connection"))
    refused = _wrapped(psycopg.OperationalError("connection failed: shutting down"))
    for exc in (shutdown, refused):
        line = connection_lost(exc)
        assert line is not None and "run the command again" in line
    try:  # as a command sees it: the driver's error as the cause of another
        raise RuntimeError("recording failed") from shutdown
    except RuntimeError as outer:
        assert connection_lost(outer) is not None


def test_locks_deadlocks_and_other_errors_stay_bugs() -> None:
    assert connection_lost(_wrapped(sqlite3.OperationalError("database is locked"))) is None
    assert connection_lost(_wrapped(psycopg.errors.DeadlockDetected("deadlock"))) is None
    assert connection_lost(ValueError("no database here")) is None
    invalidated = _wrapped(sqlite3.OperationalError("disk I/O error"), invalidated=True)
    assert connection_lost(invalidated) is not None
