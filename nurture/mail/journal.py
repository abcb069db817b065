"""The sender's local journal: what was handed to the SMTP server, line by line.

Each sender process appends to ``<outbox_dir>/.journal/<worker>.log``:

* ``D <outbox id>`` just before the message content (SMTP ``DATA``) is transmitted;
* ``R <outbox id> <status>`` once the outcome is known.

A ``D`` line reaches the kernel (one ``write`` system call on an unbuffered file, so it
survives ``kill -9``) before the content is sent: that is the line crash safety rests on. ``R``
lines are held in memory and go out with the next ``D`` write (in the same system call) or
with :meth:`Journal.flush`, which the sender calls before it hands outcomes over to be
recorded in the database. A sender killed in between loses only pending ``R`` lines: those
rows read as ``D`` without ``R`` and become ``unknown`` (counted, never re-sent), so the policy
trades a few more ``unknown`` rows after a ``kill -9`` for one system call per message
instead of two. After a
crash, :func:`nurture.mail.outbox.reconcile` reads the journal of the dead sender: ``R`` tells
the outcome, ``D`` without ``R`` marks the only truly ambiguous messages (cut after DATA,
before the server's answer was recorded), no ``D`` means never transmitted.

A write that fails or is cut short (a full disk) raises :class:`JournalError` before the
content goes out: without its ``D`` line a message must not be sent, so the sender stops.
A torn last line (no newline) is ignored when the journal is read.

The journal is deleted when its sender exits cleanly or after reconciliation.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from nurture.errors import TemporaryDeliveryError

__all__ = ["Journal", "JournalError", "JournalState", "journal_path", "read_journal"]


class JournalError(TemporaryDeliveryError):
    """The journal cannot be written (a full disk): nothing more may be sent."""


def journal_path(directory: Path, worker: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in worker)
    return directory / f"{safe}.log"


class Journal:
    """Append-only: each ``D`` line is written (with the ``R`` lines pending before it) in one
    syscall before the content goes out; ``R`` lines wait for the next write or :meth:`flush`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:
            raise JournalError(f"cannot open the send journal {path}: {exc.strerror}") from exc
        self._pending = bytearray()

    def _write(self, data: bytearray) -> None:
        try:
            written = os.write(self._fd, data)
        except OSError as exc:
            raise JournalError(
                f"cannot write the send journal {self.path}: {exc.strerror}"
            ) from exc
        if written != len(data):  # cut short: the disk is full
            raise JournalError(f"cannot write the send journal {self.path}: the disk is full")

    def data_started(self, outbox_id: int) -> None:
        """Called just before DATA: the line is in the kernel when this returns."""
        pending = self._pending
        pending += b"D %d\n" % outbox_id
        self._write(pending)
        pending.clear()

    def result(self, outbox_id: int, status: str) -> None:
        """Remember an outcome; written with the next ``D`` line or :meth:`flush`."""
        self._pending += b"R %d %s\n" % (outbox_id, status.encode("ascii"))

    def flush(self) -> None:
        """Write the pending ``R`` lines (before their outcomes are handed to the database)."""
        if self._pending and self._fd >= 0:
            pending, self._pending = self._pending, bytearray()
            self._write(pending)

    def close(self, *, delete: bool) -> None:
        try:
            if self._fd >= 0:
                try:
                    self.flush()
                finally:
                    os.close(self._fd)
                    self._fd = -1
        finally:
            if delete:
                self.path.unlink(missing_ok=True)


@dataclass
class JournalState:
    data_started: set[int] = field(default_factory=set)
    results: dict[int, str] = field(default_factory=dict)


def read_journal(path: Path) -> JournalState | None:
    """What the journal says, or None when there is no journal (another host's sender)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    state = JournalState()
    for line in raw.split(b"\n")[:-1]:  # the last piece is empty, or a torn line
        parts = line.split()
        if len(parts) == 2 and parts[0] == b"D" and parts[1].isdigit():
            state.data_started.add(int(parts[1]))
        elif len(parts) == 3 and parts[0] == b"R" and parts[1].isdigit():
            state.results[int(parts[1])] = parts[2].decode("ascii", "replace")
    return state
