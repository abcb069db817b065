"""Property-based bad input for the playbook loader, and the bounds every YAML loader keeps
(playbook, campaign, team): whatever the text, a ConfigError naming the file (and the line
where there is one), never another exception; files too deep, too large or expanding
through aliases are refused before they are built, in bounded time.

The campaign and team files have their own fuzzers (tests/cadence/test_fuzz.py,
tests/routing/test_fuzz.py); the playbook's is here. Parsing writes nothing: what
`nurture playbook load` stores is only what parsed (tests/playbooks)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nurture.cadence.campaigns import parse_campaign
from nurture.config import PROJECT_ROOT
from nurture.errors import ConfigError
from nurture.playbooks.validation import PlaybookError, parse_playbook
from nurture.routing.config import parse_team_file

SHIPPED = (PROJECT_ROOT / "examples/playbooks/b2b-sale.yaml").read_text(encoding="utf-8")
LINES = SHIPPED.splitlines()
FUZZ = settings(max_examples=40, deadline=None)

#: Values that break types, references and the condition language.
NASTY = st.sampled_from(
    [
        "", "~", "null", "[]", "{}", "-1", "0", "1e309", "3.5", "yes", "\"\"", "'", "&a x",
        "*nope", "!!python/object:os.system ls", "{{ lead.__class__ }}", "lead.x ==",
        "P-1D", "99999 days", "Ω" * 300, "\t", "a: b: c", "- - -",
    ]
)  # fmt: skip


@st.composite
def mutated_playbook(draw: st.DrawFn) -> str:
    """The shipped playbook with lines dropped, repeated, re-indented or given odd values."""
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, len(lines) - 1))
        how = draw(st.sampled_from(["drop", "repeat", "indent", "dedent", "value", "key"]))
        line = lines[i]
        if how == "drop":
            del lines[i]
        elif how == "repeat":
            lines.insert(i, line)
        elif how == "indent":
            lines[i] = "  " + line
        elif how == "dedent":
            lines[i] = line[2:]
        elif how == "value" and ":" in line:
            lines[i] = line.split(":", 1)[0] + ": " + draw(NASTY)
        elif how == "key" and ":" in line:
            lines[i] = line[: len(line) - len(line.lstrip())] + draw(NASTY) + ":" + "x"
        if not lines:
            lines = ["x"]
    return "\n".join(lines) + "\n"


def _only_config_errors(parse: Callable[[str], Any], text: str) -> None:
    try:
        parse(text)
    except ConfigError as exc:
        message = exc.format_message()
        assert message.strip() and "Traceback" not in message
        assert len(message) < 20_000, "an error message that repeats the whole input"


def test_the_shipped_playbook_parses() -> None:  # the fuzzer's seed is valid
    assert parse_playbook(SHIPPED).name


@FUZZ
@given(mutated_playbook())
def test_any_mutated_playbook_is_a_clear_error_or_a_spec(text: str) -> None:
    _only_config_errors(lambda t: parse_playbook(t, file="fuzz.yaml"), text)


@settings(max_examples=25, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_a_clear_playbook_error(text: str) -> None:
    _only_config_errors(lambda t: parse_playbook(t, file="fuzz.yaml"), text)


LOADERS: dict[str, Callable[[str], Any]] = {
    "playbook": lambda t: parse_playbook(t, file="x.yaml"),
    "campaign": lambda t: parse_campaign(t, file="x.yaml"),
    "team": lambda t: parse_team_file(t, file="x.yaml"),
}

ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(6)
)
SHAPES = {
    "nested 3,000 levels (flow)": "name: " + "[" * 3000 + "]" * 3000,
    "nested 200 levels (block)": "".join("  " * i + f"k{i}:\n" for i in range(200)) + "  " * 200
    + "v",
    "aliases standing for 10^7 values": ALIAS_BOMB,
    "one 3 MB field": "name: " + "x" * 3_000_000 + "\n",
}  # fmt: skip


@pytest.mark.parametrize("loader", list(LOADERS))
@pytest.mark.parametrize("shape", list(SHAPES))
def test_deep_huge_and_expanding_files_are_refused_quickly(loader: str, shape: str) -> None:
    started = time.process_time()
    with pytest.raises(ConfigError) as refused:
        LOADERS[loader](SHAPES[shape])
    took = time.process_time() - started
    message = refused.value.format_message()
    assert message.startswith("x.yaml") and len(message) < 1000, message[:300]
    # bounded work, not a timing claim: the same files took 3-12 s before check_shape
    assert took < 2.0, f"{loader} spent {took:.1f} s of CPU on {shape}"
    if loader == "playbook":
        assert isinstance(refused.value, PlaybookError)
