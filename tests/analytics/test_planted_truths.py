"""The report finds what was planted in a simulated history, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from nurture.analytics import build_report, history
from nurture.analytics.report import REPORT_KEYS
from tests.analytics.conftest import by


@pytest.fixture()
def report(planted_session: Session, planted: history.History) -> dict[str, Any]:
    return build_report(planted_session, since=planted.start, until=planted.until)


def test_report_has_every_part(report: dict[str, Any]) -> None:
    assert set(REPORT_KEYS) <= set(report)
    assert report["leads"] == 3000


def test_best_converting_sequence_ranks_first(
    report: dict[str, Any], planted: history.History
) -> None:
    seq = report["sequences"]
    best = seq["patterns"][0]
    assert tuple(best["steps"]) == planted.truth.best_sequence
    assert set(best) >= {"steps", "support", "conversion", "lift", "ci_low", "ci_high"}
    # it converts far above the base rate, and the interval says so
    assert best["lift"] > 3
    assert best["ci_low"] > seq["base_conversion"]
    assert best["ci_low"] <= best["conversion"] <= best["ci_high"]


def test_slow_stage_is_the_slowest(report: dict[str, Any], planted: history.History) -> None:
    stages = report["time_in_stage"]["stages"]
    slowest = [s["stage"] for s in stages if s["slowest"]]
    assert slowest == [planted.truth.slow_stage]


def test_late_manager_misses_deadlines(report: dict[str, Any], planted: history.History) -> None:
    managers = report["time_in_stage"]["managers"]
    worst = managers[0]
    assert worst["manager"] == planted.truth.late_manager
    others = [m["overdue_rate"] for m in managers[1:]]
    assert worst["overdue_rate"] > max(others) + 0.3
    assert worst["escalated"] > 3 * max(m["escalated"] for m in managers[1:])


def test_silent_event_is_never_touched(report: dict[str, Any], planted: history.History) -> None:
    coverage = report["coverage"]["events"]
    silent = coverage[0]
    assert silent["event"] == planted.truth.silent_event
    assert silent["never"] == 1.0 and silent["within_30d"] == 0.0
    assert silent["versus_industry"] == "below"
    assert all(r["never"] < 0.05 for r in coverage[1:])
    assert report["coverage"]["overall"]["events_below_industry"] == [planted.truth.silent_event]
    speed = by(report["speed_to_lead"], "event")
    assert speed[planted.truth.silent_event]["median_hours"] is None


def test_funnel_and_money_add_up(report: dict[str, Any], planted: history.History) -> None:
    leads = planted.tables["leads"]
    purchases = planted.tables["purchases"]
    overall = report["funnel"]["overall"]
    assert overall["stages"]["intake"] == len(leads)
    assert overall["stages"]["converted"] == int((leads["status"] == "converted").sum())
    stages = list(overall["stages"].values())
    assert stages == sorted(stages, reverse=True)
    events = by(report["funnel"]["by"]["event"], "event")
    assert events[planted.truth.silent_event]["stages"]["touched"] == 0
    assert report["revenue"]["total"] == pytest.approx(purchases["amount"].sum(), abs=0.05)
    top = report["revenue"]["by_event"][0]
    assert top["event"] == "Innoprom 2026"  # planted: three times the order size
    managers = {r["manager"] for r in report["funnel"]["by"]["manager"]}
    assert planted.truth.late_manager in managers


def test_period_selects_the_cohort(planted_session: Session, planted: history.History) -> None:
    events = planted.tables["events"]
    first_day = events["event_date"].min()
    from datetime import UTC, datetime, timedelta

    since = datetime.fromisoformat(first_day).replace(tzinfo=UTC)
    until = since + timedelta(days=5)
    report = build_report(planted_session, since=since, until=until)
    expected = int(
        (
            (planted.tables["leads"]["created_at"] >= since.timestamp())
            & (planted.tables["leads"]["created_at"] < until.timestamp())
        ).sum()
    )
    assert report["leads"] == expected > 0
    assert [r["event"] for r in report["funnel"]["by"]["event"]] == [events["name"].iloc[0]]


def test_a_slow_contact_stage_is_found_too(session: Session) -> None:
    """The other planted variant: replies come late, conversions soon after them."""
    sim = history.generate(1200, seed=4, slow_stage="contacted")
    history.write(session, sim)
    report = build_report(session, since=sim.start, until=sim.until)
    stages = report["time_in_stage"]["stages"]
    assert [s["stage"] for s in stages if s["slowest"]] == ["contacted"]


def test_sales_process_from_the_event_log(report: dict[str, Any], planted: history.History) -> None:
    """Deal stages, roles pulled in, escalations by level and reassignments."""
    truth = planted.truth
    deals = planted.tables["deals"]
    times = report["time_in_stage"]
    assert [s["stage"] for s in times["deal_stages"] if s["slowest"]] == [truth.slow_deal_stage]
    # the slowest stage holds per manager too, and each manager's rows are there
    per_manager = [r for r in times["deal_stages_by_manager"] if r["slowest"]]
    assert {r["stage"] for r in per_manager} == {truth.slow_deal_stage}
    assert {r["team"] for r in times["deal_stages_by_team"]} == {"Sales"}
    funnel = report["funnel"]["deals"]
    assert funnel["stages"][:3] == ["qualification", "proposal", "negotiation"]
    overall = funnel["overall"]
    assert overall["deals"] == len(deals)
    assert overall["won"] == int((deals["status"] == "won").sum())
    assert overall["reached"]["negotiation"] < overall["reached"]["proposal"]
    roles = {r["role"]: r for r in times["roles"]}
    assert roles[truth.pulled_in_role]["tasks"] == int(
        (planted.tables["tasks"]["role"] == truth.pulled_in_role).sum()
    )
    assert roles[truth.pulled_in_role]["hours_total"] > 0
    levels = {(r["level"], r["action"]): r for r in times["escalations"]}
    assert set(levels) == {(1, "notify"), (2, "reassign")}
    first = levels[(1, "notify")]["by_manager"]
    assert max(first, key=first.get) == truth.late_manager
    second = planted.tables["escalations"]
    assert levels[(2, "reassign")]["escalations"] == int((second["level"] == 2).sum())
    assert times["reassignments"] == int((second["level"] == 2).sum())
    late = next(m for m in times["managers"] if m["manager"] == truth.late_manager)
    assert late["reassigned_away"] > 0
    assert report["revenue"]["deals_won"] == int((deals["status"] == "won").sum())
