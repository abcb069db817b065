"""Ordered rule matching and manager profiles (pure)."""

from __future__ import annotations

from nurture.routing.rules import LeadFacts, Rule, compatible, first_match, matches


def test_conditions_all_must_hold_any_value_matches() -> None:
    rule = Rule("Moscow, CRM", {"city": ["Moscow", "Москва"], "interest": ["crm"]}, team="M")
    assert matches(rule, LeadFacts(1, city="  москва ", interest="CRM, analytics"))
    assert not matches(rule, LeadFacts(2, city="Москва", interest="analytics"))
    assert not matches(rule, LeadFacts(3, interest="CRM"))  # no city: no match


def test_yo_wildcards_and_case() -> None:
    rule = Rule("Key", {"company": ["*газпром*"], "city": ["Королёв"]}, manager="o@x.ru")
    assert matches(rule, LeadFacts(1, company="ООО «Газпром нефть»", city="Королев"))
    assert not matches(rule, LeadFacts(2, company="Лукойл", city="Королёв"))


def test_score_and_event_kind() -> None:
    rule = Rule("Hot webinar", {"event_kind": ["webinar"], "score_min": 0.5}, team="T")
    assert matches(rule, LeadFacts(1, event_kinds=frozenset({"exhibition", "webinar"}), score=0.7))
    assert not matches(rule, LeadFacts(2, event_kinds=frozenset({"webinar"}), score=0.2))
    assert not matches(rule, LeadFacts(3, event_kinds=frozenset({"webinar"})))
    assert matches(Rule("cold", {"score_max": 0.3}, team="T"), LeadFacts(4, score=0.3))


def test_first_match_in_order_and_catch_all() -> None:
    rules = [
        Rule("RU", {"country": ["RU"]}, team="A"),
        Rule("Moscow", {"city": ["Moscow"]}, team="B"),
        Rule("all", {}, team="C"),
    ]
    hit = first_match(rules, LeadFacts(1, country="RU", city="Moscow"))
    assert hit is not None and hit.name == "RU"
    hit = first_match(rules, LeadFacts(2, country="DE", city="Moscow"))
    assert hit is not None and hit.name == "Moscow"
    hit = first_match(rules, LeadFacts(3))
    assert hit is not None and hit.name == "all"
    assert first_match(rules[:2], LeadFacts(4)) is None


def test_manager_profile_compatibility() -> None:
    profile = {"languages": ["en"], "countries": ["GB", "DE"], "cities": None}
    assert compatible(profile, LeadFacts(1, language="EN", country="de"))
    assert not compatible(profile, LeadFacts(2, language="ru"))
    assert compatible(profile, LeadFacts(3))  # unknown values do not exclude


def test_routing_reads_the_one_list_of_lead_fields() -> None:
    """Every routing field of LEAD_FIELDS is a fact routing reads, a rule can test and a
    batch selects; nothing else is."""
    from dataclasses import fields

    from nurture.db.leads import ROUTING_FIELDS
    from nurture.routing.config import Conditions
    from nurture.routing.facts import COLUMNS
    from nurture.routing.rules import CONDITION_FIELDS, LIST_FIELDS

    facts = {f.name for f in fields(LeadFacts)} - {"id", "event_kinds", "score"}
    assert facts == set(ROUTING_FIELDS)
    assert set(LIST_FIELDS) == {*ROUTING_FIELDS, "event_kind"}
    assert set(Conditions.model_fields) == set(CONDITION_FIELDS)
    assert COLUMNS[3:] == ROUTING_FIELDS
