"""What one routing run did."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RoutingSummary:
    """Counts of one routing run (``route_unassigned`` or ``rebalance``)."""

    assigned: int = 0
    unassigned: int = 0  # open leads still without an owner after the run
    returning: int = 0  # went back to their previous owner
    tasks: int = 0  # first-contact tasks created
    by_manager: dict[str, int] = field(default_factory=dict)  # e-mail -> leads assigned
    rebalanced: int = 0
    overflow: int = 0  # given to someone at capacity: everyone present was full
