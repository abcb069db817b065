"""Access-log hygiene: secret path segments never reach a log line.

Calendar feed URLs and unsubscribe links carry their secret in the path. uvicorn's access
logger prints request lines as they came; :class:`RedactSecrets` rewrites the path argument
of each record before any handler formats it.
"""

from __future__ import annotations

import logging
import re

__all__ = ["RedactSecrets", "install", "redact"]

_SECRET_PATHS = re.compile(r"(/(?:feed|unsubscribe)/)[^/?\s\"]+")


def redact(text: str) -> str:
    """``/feed/12.abc.ics`` -> ``/feed/[redacted]``."""
    return _SECRET_PATHS.sub(r"\1[redacted]", text)


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def install() -> None:
    """Attach the filter to uvicorn's loggers (idempotent)."""
    for name in ("uvicorn.access", "uvicorn.error", "nurture.web"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
