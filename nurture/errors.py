"""The one error hierarchy of Nurture.

    NurtureError
     +-- ConfigError            (settings, YAML files: team, campaigns, mappings)      exit 2
     |    +-- DatabaseNotReadyError (no schema, an older one, or no server: `nurture init`)
     +-- InputError(ValueError) (a user's file or argument is wrong; names file/row/field) 2
     |    +-- NotALeadListError (the file is binary or has no recognisable columns)
     +-- NotFoundError(LookupError) (no such lead, campaign, manager, model version)     2
     +-- ModelError             (lead-scoring artifacts: missing, untrusted, invalid)    2
     +-- DeliveryError          (SMTP and outbox problems)                               1
          +-- TemporaryDeliveryError
          +-- PermanentDeliveryError

Errors that reach the CLI are printed as one line by :meth:`NurtureError.format_message`
with :attr:`exit_code`: 2 for what the user can fix (a file, an argument, a setting, the
database's schema), 1 for a failure worth retrying later; anything else is a bug and keeps
its traceback.
"""

from __future__ import annotations

from typing import Any


class NurtureError(Exception):
    """Base of every error Nurture raises on purpose."""

    exit_code: int = 1

    def format_message(self) -> str:
        """One line for a human, no traceback."""
        return str(self)


class ConfigError(NurtureError):
    """A settings value or a configuration file (YAML) is invalid."""

    exit_code = 2

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None):
        self.file = file
        self.line = line
        super().__init__(message)

    def format_message(self) -> str:
        where = self.file or ""
        if self.file and self.line is not None:
            where += f" line {self.line}"
        return f"{where}: {self}" if where else str(self)


class InputError(NurtureError, ValueError):
    """A user's input is wrong; the message names the file, row and field when known."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        field: str | None = None,
    ):
        self.file = file
        self.row = row
        self.field = field
        super().__init__(message)

    def format_message(self) -> str:
        prefix = " ".join(p for p in (self.file, f"row {self.row}" if self.row else None) if p)
        if self.field:
            prefix += f'{", " if prefix else ""}column "{self.field}"'
        return f"{prefix}: {self}" if prefix else str(self)


class DatabaseNotReadyError(ConfigError):
    """The configured database cannot be used as it is: it has no Nurture schema, an older
    (or unknown) one, or its server cannot be reached. The message says what to do."""


class DatabaseConnectionLostError(NurtureError):
    """The database server went away in the middle of a command (a restart, a failover): what
    was committed stays, the open transaction was rolled back, and running the command again
    finishes the work (every command is safe to rerun)."""


class NotALeadListError(InputError):
    """The file cannot be read as a lead list at all; nothing is written."""


class NotFoundError(NurtureError, LookupError):
    """A lead, campaign, manager or model version does not exist."""

    exit_code = 2


class DeliveryError(NurtureError):
    """Sending failed."""


class TemporaryDeliveryError(DeliveryError):
    """Worth retrying later (4xx, connection dropped before DATA)."""


class PermanentDeliveryError(DeliveryError):
    """Not worth retrying (5xx): the address is suppressed."""


class ModelError(NurtureError):
    """A scoring model is missing, untrusted or incompatible."""

    exit_code = 2


def transient(exc: BaseException) -> bool:
    """Whether ``exc`` is worth retrying as it is: a lost or busy database connection, a
    network timeout, a temporary delivery failure (never a user's mistake or a bug)."""
    from sqlalchemy.exc import OperationalError

    return isinstance(
        exc, OperationalError | TemporaryDeliveryError | ConnectionError | TimeoutError
    )


def retry_transient(task: Any, task_run: Any, state: Any) -> bool:
    """A Prefect ``retry_condition_fn``: retry a task run only when it failed on a
    :func:`transient` error (the flows' retries; every step they retry is idempotent)."""
    try:
        state.result()
    except Exception as exc:
        return transient(exc)
    return False
