"""Campaign YAML: the shipped examples load; mistakes name the file and the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from nurture.cadence.campaigns import parse_campaign, read_campaign_file
from nurture.config import get_settings
from nurture.errors import ConfigError

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
