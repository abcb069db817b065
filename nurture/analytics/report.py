"""The whole report as plain data: what ``nurture report --json`` prints, what the HTML
report, the weekly flow and the web app's analytics page show.

:func:`build_report` reads the facts (:mod:`nurture.analytics.extract`, a few set-based
queries) and computes each part in pandas; :func:`report_from_facts` is the same on facts
already in memory (tests, notebooks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from nurture.analytics import extract, process_extract
from nurture.analytics.business import Calendar
from nurture.analytics.funnel import funnel
from nurture.analytics.money import revenue
from nurture.analytics.process import deal_funnel, deal_stage_times, escalations_by_level
from nurture.analytics.sequences import MiningOptions, mine
from nurture.analytics.speed import INDUSTRY_30D, speed_and_coverage
from nurture.analytics.timing import action_times, lead_stage_intervals, stage_times

#: The keys of the report, in the order people read them.
REPORT_KEYS: tuple[str, ...] = (
    "funnel",
    "time_in_stage",
    "speed_to_lead",
    "coverage",
    "sequences",
    "revenue",
)


@dataclass
class Facts:
    """Everything the report is computed from (plain DataFrames and lookups)."""

    period: extract.Period
    leads: pd.DataFrame
    tasks: pd.DataFrame
    sequences: pd.DataFrame
    reassignments: pd.DataFrame
    names: extract.Directory
    deal_visits: pd.DataFrame = field(default_factory=pd.DataFrame)
    escalations: pd.DataFrame = field(default_factory=pd.DataFrame)
    default_calendar: Calendar = field(default_factory=Calendar)


def default_period(now: datetime, days: int = 90) -> tuple[datetime, datetime]:
    return now - timedelta(days=days), now


def read_facts(
    session: Session,
    *,
    since: datetime,
    until: datetime,
    mining: MiningOptions | None = None,
    country: str | None = None,
) -> Facts:
    """Run the report's queries (read-only) for the period ``[since, until)``."""
    from nurture.config import get_settings

    region = country or get_settings().default_region
    period = extract.Period(since.astimezone(UTC), until.astimezone(UTC))
    opts = mining or MiningOptions()
    names = extract.directory(session, country=region)
    moved = process_extract.task_reassignments(session, period)
    return Facts(
        period=period,
        leads=extract.lead_facts(session, period),
        tasks=extract.task_facts(session, period),
        sequences=extract.sequence_counts(session, period, days=opts.days),
        reassignments=_all_reassignments(
            extract.reassignment_counts(session, period), moved, names.managers
        ),
        names=names,
        deal_visits=process_extract.deal_stage_visits(session, period),
        escalations=process_extract.escalation_facts(session, period),
        default_calendar=Calendar(country=region),
    )


def _all_reassignments(
    leads: pd.DataFrame, tasks: pd.DataFrame, managers: pd.DataFrame
) -> pd.DataFrame:
    """Lead reassignments (routing) and task reassignments (by hand or by an escalation)
    in one table of ``kind, from_id, to_id, leads``."""
    if tasks.empty:
        return leads
    ids = managers.set_index("email")["manager_id"] if len(managers) else pd.Series(dtype=int)
    moved = pd.DataFrame(
        {
            "kind": "task",
            "from_id": tasks["from_email"].map(ids),
            "to_id": tasks["to_email"].map(ids),
            "leads": tasks["tasks"],
        }
    )
    return pd.concat([leads, moved], ignore_index=True) if len(leads) else moved


def _named(frame: pd.DataFrame, managers: pd.DataFrame, column: str) -> pd.DataFrame:
    people = managers.set_index("manager_id") if len(managers) else None
    out = frame.copy()
    out["manager"] = (
        frame[column].map(people["manager"]).fillna("(unassigned)")
        if people is not None
        else "(unassigned)"
    )
    out["team"] = (
        frame[column].map(people["team"]).replace("", None).fillna("(none)")
        if people is not None
        else "(none)"
    )
    return out


def _named_leads(facts: Facts) -> pd.DataFrame:
    leads = facts.leads
    names = facts.names
    out = leads.copy()
    events = names.events.set_index("event_id") if len(names.events) else None
    out["event"] = leads["event_id"].map(events["event"]) if events is not None else None
    out["kind"] = leads["event_id"].map(events["kind"]) if events is not None else None
    campaigns = names.campaigns.set_index("campaign_id") if len(names.campaigns) else None
    out["campaign"] = (
        leads["campaign_id"].map(campaigns["campaign"]) if campaigns is not None else None
    )
    people = names.managers.set_index("manager_id") if len(names.managers) else None
    out["manager"] = leads["owner_id"].map(people["manager"]) if people is not None else None
    out["team"] = (
        leads["owner_id"].map(people["team"]).replace("", None) if people is not None else None
    )
    return out


def report_from_facts(facts: Facts, mining: MiningOptions | None = None) -> dict[str, Any]:
    """The report (plain data: dicts, lists, numbers, strings) from ``facts``."""
    leads = _named_leads(facts)
    cal, default = facts.names.calendars, facts.default_calendar
    until_s = facts.period.until_s
    speed, coverage = speed_and_coverage(leads, until_s=until_s, calendars=cal, default=default)
    stages = stage_times(
        lead_stage_intervals(leads),
        calendars=cal,
        default=default,
        order=["new", "contacted", "engaged"],
    )
    actions = action_times(
        facts.tasks,
        until_s=until_s,
        managers=facts.names.managers,
        reassignments=facts.reassignments,
        calendars=cal,
        default=default,
    )
    visits = _named(facts.deal_visits, facts.names.managers, "owner_id")
    deals = deal_stage_times(visits, calendars=cal, default=default) if len(visits) else {}
    if len(facts.escalations):
        actions["escalations"] = escalations_by_level(facts.escalations, facts.names.managers)
    return {
        "period": {
            "since": facts.period.since.isoformat(),
            "until": facts.period.until.isoformat(),
        },
        "leads": len(leads),
        "funnel": {**funnel(leads), "deals": deal_funnel(visits)},
        "time_in_stage": {
            "stages": stages,
            "deal_stages": deals.get("stages", []),
            "deal_stages_by_manager": deals.get("managers", []),
            "deal_stages_by_team": deals.get("teams", []),
            **actions,
        },
        "speed_to_lead": speed,
        "coverage": {
            "industry_30d": list(INDUSTRY_30D),
            "overall": _overall_coverage(coverage),
            "events": coverage,
        },
        "sequences": mine(facts.sequences, mining),
        "revenue": revenue(leads),
    }


def _overall_coverage(rows: list[dict[str, Any]]) -> dict[str, Any]:
    leads = sum(r["leads"] for r in rows)
    never = sum(r["never_leads"] for r in rows)
    eligible = sum(r["eligible_30d"] for r in rows)
    worked = sum(round((r["within_30d"] or 0) * r["eligible_30d"]) for r in rows)
    return {
        "leads": leads,
        "never": round(never / leads, 4) if leads else None,
        "within_30d": round(worked / eligible, 4) if eligible else None,
        "events_below_industry": [r["event"] for r in rows if r["versus_industry"] == "below"],
    }


def build_report(
    session: Session,
    *,
    since: datetime,
    until: datetime,
    mining: MiningOptions | None = None,
    country: str | None = None,
) -> dict[str, Any]:
    """The whole report for ``[since, until)`` as plain data (read-only)."""
    facts = read_facts(session, since=since, until=until, mining=mining, country=country)
    return report_from_facts(facts, mining)
