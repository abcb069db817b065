"""Routing decisions on plain data: previous owner, rules, teams, fallback, reasons."""

from __future__ import annotations

from datetime import date

from nurture.routing.engine import ManagerInfo, Router, TeamInfo
from nurture.routing.rules import LeadFacts, Rule


def make_router(*, olga_absent: bool = False, capacity: int = 40) -> Router:
    olga = ManagerInfo(
        1,
        "olga@x.ru",
        "Olga Petrova",
        "Moscow",
        weight=2,
        capacity=capacity,
        absent_until=date(2026, 12, 1) if olga_absent else None,
    )
    ivan = ManagerInfo(2, "ivan@x.ru", "Ivan Sidorov", "Moscow", weight=1, capacity=capacity)
    anna = ManagerInfo(3, "anna@x.ru", "Anna Smirnova", "Moscow", role="supervisor")
    john = ManagerInfo(
        4,
        "john@x.com",
        "John Smith",
        "Intl",
        weight=1,
        capacity=capacity,
        profile={"languages": ["en"]},
    )
    kate = ManagerInfo(
        5,
        "kate@x.com",
        "Kate Brown",
        "Intl",
        weight=1,
        capacity=capacity,
        profile={"languages": ["de"]},
    )
    teams = [
        TeamInfo(10, "Moscow", managers=[olga, ivan, anna]),
        TeamInfo(20, "Intl", fallback=True, managers=[john, kate]),
    ]
    rules = [
        Rule("Key accounts", {"company": ["*gazprom*"]}, manager="olga@x.ru"),
        Rule("Moscow, CRM", {"city": ["Moscow"], "interest": ["CRM"]}, team="Moscow"),
    ]
    return Router(teams, rules)


def test_reason_names_rule_team_manager_weight_and_load() -> None:
    router = make_router()
    d = router.decide(LeadFacts(7, city="Moscow", interest="CRM"))
    assert d is not None and d.round_robin and d.team_id == 10
    assert d.reason in {
        'rule "Moscow, CRM" -> team Moscow -> Olga Petrova (weight 2, 1 of 40 this week)',
        'rule "Moscow, CRM" -> team Moscow -> Ivan Sidorov (weight 1, 1 of 40 this week)',
    }


def test_supervisor_is_not_in_the_rotation() -> None:
    router = make_router()
    got = {
        d.manager_id
        for i in range(30)
        if (d := router.decide(LeadFacts(i, city="Moscow", interest="CRM")))
    }
    assert got == {1, 2}


def test_direct_manager_rule_and_fall_through_when_absent() -> None:
    d = make_router().decide(LeadFacts(1, company="Gazprom Neft"))
    assert d is not None and d.manager_id == 1 and not d.round_robin
    d = make_router(olga_absent=True).decide(LeadFacts(1, company="Gazprom Neft"))
    assert d is not None and d.manager_id == 2
    assert "Olga Petrova absent until 2026-12-01" in d.reason


def test_fallback_team_and_profile_preference() -> None:
    router = make_router()
    d = router.decide(LeadFacts(1, language="en"))
    assert d is not None and d.manager_id == 4
    assert d.reason.startswith("no rule matched -> team Intl")
    d = router.decide(LeadFacts(2, language="de"))
    assert d is not None and d.manager_id == 5


def test_returning_lead_goes_to_previous_owner_while_available() -> None:
    d = make_router().decide(LeadFacts(1, language="en"), previous_owner_id=1)
    assert d is not None and d.kind == "returning" and d.manager_id == 1
    d = make_router(olga_absent=True).decide(LeadFacts(1, language="en"), previous_owner_id=1)
    assert d is not None and d.kind == "initial" and d.manager_id != 1


def test_overflow_only_when_everyone_is_full() -> None:
    router = make_router(capacity=1)
    picks = [router.decide(LeadFacts(i, city="Moscow", interest="CRM")) for i in range(5)]
    assert all(p is not None for p in picks)
    # Moscow (2) then the fallback team (2) fill up before anyone gets more than capacity
    assert [p.overflow for p in picks if p] == [False, False, False, False, True]
    assert picks[4] is not None and "everyone at capacity" in picks[4].reason


def test_nobody_present_leaves_the_lead_unassigned() -> None:
    router = make_router()
    for m in router.managers.values():
        m.member.available = False
    assert router.decide(LeadFacts(1)) is None
