"""The team file: the example is valid; every mistake is one line naming file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from nurture.errors import ConfigError
from nurture.routing.config import load_team_file, parse_team_file

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "team.yaml"


def test_example_is_valid() -> None:
    spec = load_team_file(EXAMPLE)
    assert len(spec.teams) == 3
    assert all(t.supervisor is not None for t in spec.teams)
    weights = {m.weight for t in spec.teams for m in t.managers}
    assert len(weights) > 1
    assert any(m.absences for t in spec.teams for m in t.managers)
    assert spec.fallback_team().fallback


MINI = """\
teams:
  - name: A
    managers:
      - name: Olga
        email: olga@x.ru
        weight: 2
rules:
  - name: r1
    when: {country: [NO, RU]}
    team: A
"""


def _error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_team_file(text, file="t.yaml")
    return info.value


def test_country_no_stays_a_string() -> None:
    spec = parse_team_file(MINI)
    assert spec.rules[0].when.country == ["NO", "RU"]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (MINI.replace("weight: 2", "weight: -2"), 6, "weight"),
        (MINI.replace("weight: 2", "wieght: 2"), 6, "unknown field"),
        (MINI.replace("email: olga@x.ru", "email: olga"), 5, "not an e-mail"),
        (MINI.replace("team: A", "team: B"), 10, "'B' is not defined"),
        (MINI.replace("team: A", "manager: olga@x.ru\n    team: A"), 8, "exactly one"),
        (MINI.replace("{country: [NO, RU]}", "{cuntry: [RU]}"), 9, "cuntry"),
        (MINI.replace("weight: 2", "weight: 2\n        timezone: Mars/Base"), 7, "IANA"),
        (MINI.replace("    when:", "  when"), 9, "not valid YAML"),
        (MINI + "  - name: r2\n    team: A\n    when: {score_min: high}\n", 13, "score_min"),
    ],
)
def test_errors_name_file_and_line(text: str, line: int, words: str) -> None:
    err = _error(text)
    assert err.file == "t.yaml"
    assert err.line == line, err.format_message()
    assert words in err.format_message()
    assert "\n" not in err.format_message()


def test_duplicate_email_across_teams() -> None:
    text = MINI + "  - name: r2\n    team: A\n"
    text = text.replace(
        "rules:",
        "  - name: B\n    managers:\n      - {name: O2, email: olga@x.ru}\nrules:",
    )
    err = _error(text)
    assert "appears twice" in str(err) and err.line == 9
