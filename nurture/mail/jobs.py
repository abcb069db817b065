"""What the sender hands to the message factory, as plain data.

These classes travel to render worker processes (pickled), so this module imports nothing
heavy: a worker loads templates, not the database layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nurture.mail.blocking import LeadFlags

__all__ = ["ClaimedRow", "Job"]


@dataclass(frozen=True)
class ClaimedRow:
    id: int
    dedupe_key: str
    message_id: str
    kind: str
    lead_id: int | None
    manager_id: int | None
    campaign_slug: str | None
    step: str | None
    template: str
    to_addr: str
    context: dict[str, Any] | None
    attempts: int


@dataclass
class Job:
    row: ClaimedRow
    lead: dict[str, Any] | None
    flags: LeadFlags | None
    manager: dict[str, Any] | None
    campaign: dict[str, Any]
    scopes: dict[str, str]
