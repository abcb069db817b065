"""Campaign YAML: the shipped examples load; mistakes name the file and the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from nurture.cadence.campaigns import parse_campaign, read_campaign_file
from nurture.config import get_settings
from nurture.errors import ConfigError
from nurture.routing.yamlfile import ConfigProblems

CAMPAIGNS = sorted((Path(__file__).parents[2] / "examples" / "campaigns").glob("*.yaml"))


def test_examples_cover_event_kinds_and_dormant() -> None:
    specs = [read_campaign_file(p) for p in CAMPAIGNS]
    kinds = {k for s in specs for k in s.audience.event_kinds}
    assert {"exhibition", "seminar", "webinar"} <= kinds
    assert any(s.dormant is not None for s in specs)
    for spec in specs:
        assert isinstance(spec.name, dict) and set(spec.name) == {"ru", "en"}


def test_every_email_step_has_its_templates() -> None:
    root = get_settings().templates_dir / "email"
    missing = []
    for path in CAMPAIGNS:
        spec = read_campaign_file(path)
        for step in spec.steps:
            if step.channel != "email":
                continue
            for lang in ("ru", "en"):
                for ext in ("html", "txt"):
                    f = root / f"{spec.template_for(step)}.{lang}.{ext}"
                    if not f.exists():
                        missing.append(str(f))
    for lang in ("ru", "en"):
        for ext in ("html", "txt"):
            f = root / "system" / f"escalation.{lang}.{ext}"
            if not f.exists():
                missing.append(str(f))
    assert missing == []


def test_templates_render_with_the_mail_environment() -> None:
    from nurture.mail import checking

    _count, problems = checking.check_templates(get_settings().templates_dir)
    mine = ("exhibition", "seminar", "webinar", "dormant", "system")
    ours = [p for p in problems if any(f"/{m}/" in str(p) or f"{m}/" in str(p) for m in mine)]
    assert ours == []


GOOD = """slug: demo
name: Demo
steps:
  - {name: hello, day: 0, channel: email}
"""


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (GOOD.replace("channel: email", "channel: fax"), 4, "steps.0.channel"),
        (GOOD.replace("slug: demo", "slug: Demo Campaign"), 1, "slug"),
        (GOOD + "  - {name: hello, day: 2, channel: email}\n", 1, "unique"),
        (
            GOOD
            + "  - {name: call, after: 5, channel: call}\n"
            + "  - {name: x, day: 3, channel: email}\n",
            1,
            "day 3 is before day 5",
        ),
        (GOOD + 'audience:\n  where: "country = "\n', 6, "audience.where"),
        (GOOD + "  - {name: x, day: 1, after: 2, channel: call}\n", 5, "exactly one"),
        (GOOD + "window: {start: '19:00', end: '09:00'}\n", 5, "window"),
        ("slug: demo\nname: [unclosed\n", 3, "not valid YAML"),
        (GOOD + "stop_on: [converted, magic]\n", 5, "stop_on.1"),
    ],
)
def test_errors_name_file_and_line(text: str, line: int, words: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_campaign(text, file="camp.yaml")
    msg = err.value.format_message()
    assert msg.startswith(f"camp.yaml line {line}: "), msg
    assert words in msg
    assert "\n" not in msg


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        read_campaign_file(tmp_path / "missing.yaml")


def test_every_problem_is_listed_with_its_line() -> None:
    """Issue 20 item 3: no "(and 4 more problems)", each problem with its own line."""
    text = (
        "slug: Bad Slug\n"  # 1
        "name: Demo\n"  # 2
        "priority: high\n"  # 3
        "steps:\n"  # 4
        "  - {name: hello, day: 0, channel: fax}\n"  # 5
        "  - {name: call, day: 2, channel: call, deadline: soon}\n"  # 6
        "  - {name: x, day: 3, channel: email, colour: red}\n"  # 7
    )
    with pytest.raises(ConfigProblems) as err:
        parse_campaign(text, file="camp.yaml")
    lines = err.value.messages()
    assert [m.split(":")[0] for m in lines] == [
        "camp.yaml line 1",
        "camp.yaml line 3",
        "camp.yaml line 5",
        "camp.yaml line 6",
        "camp.yaml line 7",
    ], lines
    assert "steps.0.channel" in lines[2] and "steps.1.deadline" in lines[3]
    assert "steps.2.colour" in lines[4]
    assert all("\n" not in m and "more problem" not in m for m in lines)


def _nested_flow(levels: int) -> str:
    return "slug: x\nname: X\nsteps: " + "[" * levels + "]" * levels + "\n"


def _nested_block(levels: int) -> str:
    return "slug: x\nname: X\naudience:\n" + "".join(
        "  " * (i + 1) + f"k{i}:\n" for i in range(levels)
    )


ALIAS_BOMB = (
    "slug: x\nname: X\na: &a [x, x, x, x, x, x, x, x, x, x]\n"
    + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]\n"
        for i in range(8)
    )
    + "audience: {segments: *i}\nsteps: [{name: a, day: 0, channel: email}]\n"
)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (_nested_flow(3000), 3, "nested more than 32 levels deep"),
        (_nested_block(200), 35, "nested more than 32 levels deep"),
        (ALIAS_BOMB, 7, "stands for more than 100,000 values"),
        (
            GOOD
            + 'audience:\n  where: "'
            + " or ".join(f"city = 'c{i}'" for i in range(1200))
            + '"\n',
            6,
            "audience.where: the filter has more than 256 conditions",
        ),
        (GOOD.replace("name: Demo", "name: " + "D" * 301), 2, "name: at most 300 characters"),
        (GOOD + "priority: 99999999999999999999\n", 5, "priority"),
        (
            GOOD.replace("channel: email}", "channel: email, template: ../../etc/passwd}"),
            4,
            "template",
        ),
        (
            "slug: demo\nname: Demo\nsteps:\n"
            + "".join(f"  - {{name: s{i}, day: {i}, channel: email}}\n" for i in range(101)),
            3,
            "at most 100 items",
        ),
        ("- just\n- a list\n", 1, "must be a mapping"),
        (GOOD.replace("name: Demo", 'name: "De\\0mo"'), 2, "no database stores"),
        (GOOD.replace("name: Demo", 'name: "\\ud800"'), 2, "no database stores"),
    ],
    ids=[
        "deep-flow",
        "deep-block",
        "alias-bomb",
        "1200-ors",
        "long-name",
        "huge-priority",
        "template-path",
        "101-steps",
        "not-a-mapping",
        "nul",
        "surrogate",
    ],
)
def test_hostile_files_are_one_clear_line(text: str, line: int, words: str) -> None:
    """Issue 16 item 5 and issue 23: bounded in depth, size and expansion, and within what
    the database columns hold; never a RecursionError or a database error later."""
    with pytest.raises(ConfigError) as err:
        parse_campaign(text, file="camp.yaml")
    msg = err.value.format_message()
    assert msg.startswith(f"camp.yaml line {line}: "), msg
    assert words in msg and "\n" not in msg


def test_a_long_name_never_reaches_the_database() -> None:
    """Names within the bound fit the column (PostgreSQL refused longer ones with a
    traceback at save time)."""
    from nurture.db.cadence import Campaign

    spec = parse_campaign(GOOD.replace("name: Demo", "name: " + "D" * 300))
    assert isinstance(spec.name, str) and len(spec.name) <= Campaign.name.type.length
