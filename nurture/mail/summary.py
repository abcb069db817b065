"""What one run of the sender did: counts for the CLI, the flow and the bench."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["SendSummary"]


@dataclass
class SendSummary:
    claimed: int = 0
    sent: int = 0
    failed_temp: int = 0
    failed_perm: int = 0
    unknown: int = 0
    suppressed: int = 0
    template_errors: int = 0
    #: Claimed, then given back untried (the destination failed): their attempts do not count.
    not_attempted: int = 0
    reconciled_requeued: int = 0
    reconciled_sent: int = 0
    reconciled_unknown: int = 0
    #: Rows in state ``unknown`` in the whole outbox after the run (to check by hand).
    unknown_total: int = 0
    seconds: float = 0.0
    transport: str = ""
    render_processes: int = 0
    rendered_in_pool: int = 0
    render_start: str = ""  # how render workers started: fork or spawn
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
