"""The one error hierarchy of Nurture.

    NurtureError
     +-- ConfigError            (settings, YAML files: team, campaigns, mappings)
     +-- InputError(ValueError) (a user's file or argument is wrong; names file/row/field)
     |    +-- NotALeadListError (the file is binary or has no recognisable columns)
     +-- NotFoundError(LookupError)
     +-- DeliveryError          (SMTP and outbox problems)
     |    +-- TemporaryDeliveryError
     |    +-- PermanentDeliveryError
     +-- ModelError             (lead-scoring artifacts)

Errors that reach the CLI are printed as one line by :meth:`NurtureError.format_message`
with :attr:`exit_code`; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


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


class NotALeadListError(InputError):
    """The file cannot be read as a lead list at all; nothing is written."""


class NotFoundError(NurtureError, LookupError):
    """A lead, campaign, manager or model version does not exist."""


class DeliveryError(NurtureError):
    """Sending failed."""


class TemporaryDeliveryError(DeliveryError):
    """Worth retrying later (4xx, connection dropped before DATA)."""


class PermanentDeliveryError(DeliveryError):
    """Not worth retrying (5xx): the address is suppressed."""


class ModelError(NurtureError):
    """A scoring model is missing, untrusted or incompatible."""
