"""The outbox at a glance (``nurture outbox status``): messages per state, how many are due,
and whether the destination could be reached lately."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from nurture.config import Settings
from nurture.mail import outbox
from nurture.mail.server_state import ServerState, server_state
from nurture.mail.smtp_url import SmtpConfig, mask_url

__all__ = ["OutboxStatus", "outbox_status"]


@dataclass(frozen=True)
class OutboxStatus:
    counts: dict[str, int]
    due: int
    transport: str  # "smtp" or "files"
    #: ``NURTURE_SMTP_URL`` with the password masked, or the outbox directory.
    destination: str
    state: ServerState

    def as_dict(self) -> dict[str, Any]:
        return {
            "counts": self.counts,
            "due": self.due,
            "server": {"transport": self.transport, "url": self.destination} | self.state.as_dict(),
        }

    def lines(self) -> list[str]:
        """For a person: one line per state, then the destination's."""
        out = [f"{status}\t{n}" for status, n in sorted(self.counts.items())]
        out.append(f"due now\t{self.due}")
        state = self.state
        where = f"SMTP server {state.server}" if self.transport == "smtp" else "outbox directory"
        if state.reachable:
            out.append(f"{where} ({self.destination}): reachable as far as last sends know")
        else:
            since = state.unreachable_since.isoformat() if state.unreachable_since else "?"
            out.append(
                f"{where} ({self.destination}): UNREACHABLE since {since}, "
                f"{state.failures} failed tries, last error: {state.last_error}"
            )
        return out


def outbox_status(session: Session, settings: Settings, *, now: datetime) -> OutboxStatus:
    """Counts, what is due at ``now``, and the configured destination's state."""
    if settings.smtp_url:
        config = SmtpConfig.from_url(settings.smtp_url)  # a bad URL: one ConfigError
        transport, server, destination = "smtp", config.server, mask_url(settings.smtp_url)
    else:
        directory = Path(settings.outbox_dir).resolve()
        transport, server, destination = "files", f"files:{directory}", str(directory)
    return OutboxStatus(
        counts=outbox.status_counts(session),
        due=outbox.due_count(session, now=now),
        transport=transport,
        destination=destination,
        state=server_state(session, server),
    )
