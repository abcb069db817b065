"""Playbook files: the shipped ones are valid; every kind of mistake is named with its file
and line, all at once; conditions are a safe little language."""

from __future__ import annotations

import pytest

from nurture.config import PROJECT_ROOT
from nurture.playbooks import PlaybookError, parse_playbook
from nurture.playbooks.conditions import ConditionError, parse

TEMPLATES = PROJECT_ROOT / "templates"
SHIPPED = sorted((PROJECT_ROOT / "examples" / "playbooks").glob("*.yaml"))

GOOD = """\
name: tiny
roles: [engineer]
documents:
  offer: {template: proposal, title: Offer, approvals: [supervisor]}
stages:
  - key: first
    actions:
      - key: call
        title: Call
        who: owner
        outcome:
          interested: {type: yesno, required: true}
    exits:
      - {to: second, when: "outcome.interested"}
      - {to: lost}
  - key: second
    actions:
      - key: check
        title: Check
        who: engineer
    exits:
      - {to: won}
"""


def problems(text: str) -> list[tuple[int | None, str]]:
    with pytest.raises(PlaybookError) as caught:
        parse_playbook(text, file="tiny.yaml", templates_dir=TEMPLATES)
    assert caught.value.file == "tiny.yaml"
    return [(p.line, p.message) for p in caught.value.problems]


def test_the_shipped_playbooks_are_valid() -> None:
    names = set()
    for path in SHIPPED:
        spec = parse_playbook(
            path.read_text(encoding="utf-8"), file=path.name, templates_dir=TEMPLATES
        )
        names.add(spec.name)
    assert {"b2b-sale", "event-invitation"} <= names
    assert parse_playbook(GOOD, templates_dir=TEMPLATES).stages[1].actions[0].who == "engineer"


@pytest.mark.parametrize(
    ("change", "line", "words"),
    [
        (("template: proposal", "template: nosuch"), 4, "unknown template 'nosuch'"),
        (("who: engineer", "who: enginer"), 20, "unknown role 'enginer'"),
        (("approvals: [supervisor]", "approvals: [ceo]"), 4, "unknown role 'ceo'"),
        (
            ('when: "outcome.interested"', 'when: "outcome.intrested"'),
            14,
            "no action of this stage",
        ),
        (('when: "outcome.interested"', 'when: "outcome.interested =="'), 14, "bad condition"),
        (('when: "outcome.interested"', "when: \"__import__('os')\""), 14, "bad condition"),
        (("{to: second, when", "{to: third, when"), 14, "no stage 'third'"),
        (("      - {to: won}", "      - {to: second}"), 21, "never reaches won or lost"),
        (("      - {to: lost}", "      - {to: lost, when: 'outcome.interested'}"), 15, "last exit"),
    ],
)
def test_each_mistake_is_named_with_its_line(
    change: tuple[str, str], line: int, words: str
) -> None:
    found = problems(GOOD.replace(*change))
    assert any(words in msg and at == line for at, msg in found), found


def test_unreachable_stages_and_every_problem_at_once() -> None:
    text = GOOD.replace(
        '{to: second, when: "outcome.interested"}', '{to: won, when: "outcome.interested"}'
    )
    text = text.replace("who: engineer", "who: nobody").replace("template: proposal", "template: x")
    found = problems(text)
    messages = " | ".join(m for _l, m in found)
    assert "stage 'second' is unreachable from 'first'" in messages
    assert "unknown role 'nobody'" in messages and "unknown template 'x'" in messages
    assert len(found) == 3
    with pytest.raises(PlaybookError) as caught:
        parse_playbook(text, file="tiny.yaml", templates_dir=TEMPLATES)
    lines = caught.value.format_message().splitlines()
    assert len(lines) == 3 and all(x.startswith("tiny.yaml line ") for x in lines)


def test_schema_mistakes_name_the_field_and_line() -> None:
    found = problems(GOOD.replace("title: Check", "title: Check\n        due: someday"))
    assert found[0][0] == 20 and "is not a duration" in found[0][1]
    found = problems(GOOD.replace("who: owner", "who: owner\n        colour: red"))
    assert found[0] == (11, "stages[0].actions[0].colour: unknown field")
    found = problems("name: x\nstages: [\n")
    assert "not valid YAML" in found[0][1]


def test_conditions_evaluate_safely() -> None:
    scope = {
        "outcome": {"interested": True, "result": "meeting"},
        "deal": {"amount": 5},
        "lead": {},
    }
    assert parse("outcome.interested and deal.amount >= 5")(scope)
    assert parse("outcome.result in ('meeting', 'call')")(scope)
    assert not parse("deal.price > 100")(scope)  # missing: None is never greater
    assert parse("not outcome.budget")(scope)
    assert parse("outcome.interested == yes")(scope)
    for bad in (
        "open('x')",
        "outcome.__class__.__bases__",
        "[x for x in y]",
        "deal.amount + 1 > 2",
    ):
        with pytest.raises(ConditionError):
            parse(bad)
