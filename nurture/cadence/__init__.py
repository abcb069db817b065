"""Cadences: months-long nurture campaigns, dormant re-engagement and the coverage watchdog.

Public API (flows, the CLI and other capabilities import from here)::

    run_cycle(session, *, now, shard=None) -> CycleSummary  # one nurture cycle, idempotent
    plan_due(session, specs, *, now) -> PlanSummary     # the planner alone
    enrol(session, campaign, spec, *, now, condition, first_time_only) -> int
    load_specs(session) / read_campaign_file(path) / parse_campaign(text) / save_campaign
    compile_filter(text) -> SQL condition               # the --where language
    coverage_report(session, *, now) -> CoverageReport  # the watchdog, read-only

The names are imported on first use, so importing the package (as ``nurture campaign
--help`` does) loads no database code.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nurture.cadence.campaigns import (
        CampaignSpec,
        load_specs,
        parse_campaign,
        read_campaign_file,
        save_campaign,
        spec_of,
    )
    from nurture.cadence.coverage import CoverageReport
    from nurture.cadence.coverage import repair as repair_coverage
    from nurture.cadence.coverage import report as coverage_report
    from nurture.cadence.cycle import CycleSummary, run_cycle, summary_markdown
    from nurture.cadence.dormant import reengage
    from nurture.cadence.enrolment import audience_condition, enrol, enrol_automatic
    from nurture.cadence.filters import FilterError, compile_filter
    from nurture.cadence.guard import CampaignGuard
    from nurture.cadence.planner import LOOKAHEAD, PlanSummary, plan_due
    from nurture.cadence.purchases import import_purchases
    from nurture.cadence.simulate import simulate

# public name -> (module, attribute)
_EXPORTS: dict[str, tuple[str, str]] = {
    "CampaignGuard": ("guard", "CampaignGuard"),
    "CampaignSpec": ("campaigns", "CampaignSpec"),
    "CoverageReport": ("coverage", "CoverageReport"),
    "CycleSummary": ("cycle", "CycleSummary"),
    "FilterError": ("filters", "FilterError"),
    "LOOKAHEAD": ("planner", "LOOKAHEAD"),
    "PlanSummary": ("planner", "PlanSummary"),
    "audience_condition": ("enrolment", "audience_condition"),
    "compile_filter": ("filters", "compile_filter"),
    "coverage_report": ("coverage", "report"),
    "enrol": ("enrolment", "enrol"),
    "enrol_automatic": ("enrolment", "enrol_automatic"),
    "import_purchases": ("purchases", "import_purchases"),
    "load_specs": ("campaigns", "load_specs"),
    "parse_campaign": ("campaigns", "parse_campaign"),
    "plan_due": ("planner", "plan_due"),
    "read_campaign_file": ("campaigns", "read_campaign_file"),
    "reengage": ("dormant", "reengage"),
    "repair_coverage": ("coverage", "repair"),
    "run_cycle": ("cycle", "run_cycle"),
    "save_campaign": ("campaigns", "save_campaign"),
    "simulate": ("simulate", "simulate"),
    "spec_of": ("campaigns", "spec_of"),
    "summary_markdown": ("cycle", "summary_markdown"),
}

__all__ = [
    "LOOKAHEAD",
    "CampaignGuard",
    "CampaignSpec",
    "CoverageReport",
    "CycleSummary",
    "FilterError",
    "PlanSummary",
    "audience_condition",
    "compile_filter",
    "coverage_report",
    "enrol",
    "enrol_automatic",
    "import_purchases",
    "load_specs",
    "parse_campaign",
    "plan_due",
    "read_campaign_file",
    "reengage",
    "repair_coverage",
    "run_cycle",
    "save_campaign",
    "simulate",
    "spec_of",
    "summary_markdown",
]


def __getattr__(name: str) -> Any:
    try:
        module, attr = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"{__name__}.{module}"), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
