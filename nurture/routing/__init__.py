"""Routing: every lead to the right manager, fairly, explained, and the manager told.

Public API (intake, the nurture cycle, flows and the CLI import from here)::

    route_unassigned(session, *, now) -> RoutingSummary   # every open lead without an owner
    rebalance(session, *, now) -> RoutingSummary          # absent/departed managers' open leads
    load_team_file(path) -> TeamFile; apply_team_file(session, spec) -> LoadSummary
    fairness_report(session, *, now) -> Report            # round-robin share per manager

The names are imported on first use, so importing the package (as ``nurture team --help``
does) loads no database code.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nurture.routing.admin import LoadSummary, add_absence, apply_team_file
    from nurture.routing.config import TeamFile, load_team_file, parse_team_file
    from nurture.routing.engine import Decision, Router
    from nurture.routing.report import Report, fairness_report, lead_details
    from nurture.routing.service import count_unassigned, rebalance, route_unassigned
    from nurture.routing.summary import RoutingSummary

_EXPORTS: dict[str, str] = {
    "Decision": "engine",
    "LoadSummary": "admin",
    "Report": "report",
    "Router": "engine",
    "RoutingSummary": "summary",
    "TeamFile": "config",
    "add_absence": "admin",
    "apply_team_file": "admin",
    "count_unassigned": "service",
    "fairness_report": "report",
    "lead_details": "report",
    "load_team_file": "config",
    "parse_team_file": "config",
    "rebalance": "service",
    "route_unassigned": "service",
}

__all__ = [
    "Decision",
    "LoadSummary",
    "Report",
    "Router",
    "RoutingSummary",
    "TeamFile",
    "add_absence",
    "apply_team_file",
    "count_unassigned",
    "fairness_report",
    "lead_details",
    "load_team_file",
    "parse_team_file",
    "rebalance",
    "route_unassigned",
]


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
