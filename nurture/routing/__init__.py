"""Routing: every lead to the right manager, fairly, explained, and the manager told.

Public API::

    route_unassigned(session, *, now) -> RoutingSummary   # intake and the nurture cycle call it
    rebalance(session, *, now) -> RoutingSummary          # absent/departed managers' open leads
"""

from nurture.routing.service import RoutingSummary, rebalance, route_unassigned

__all__ = ["RoutingSummary", "rebalance", "route_unassigned"]
