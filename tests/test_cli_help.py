"""``--help`` of every command reads as plain text: metavars like FILE, N, DATE, no Typer
placeholders (``<bool>``, ``<path>``, ``{file}``, ``<int range> [x>=1]``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from nurture import cli

TYPES = r"bool|str|int|float|path|file|dir|directory|datetime|uuid|text"
PLACEHOLDER = re.compile(rf"<(?:{TYPES})(?: range)?>|<list\[|Usage: .*\{{[a-z_]+\}}|\[x[<>]=")


def every_command() -> Iterator[list[str]]:
    def walk(path: list[str], command: Any) -> Iterator[list[str]]:
        yield path
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk([*path, name], sub)

    yield []
    yield ["init"]
    for name, entry in cli.COMMANDS.items():
        if not entry.hidden:
            yield from walk([name], cli.load_command(name))


@pytest.mark.parametrize("path", list(every_command()), ids=lambda p: " ".join(p) or "nurture")
def test_help_has_no_placeholders(path: list[str]) -> None:
    result = CliRunner().invoke(cli.app, [*path, "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    found = PLACEHOLDER.findall(result.output)
    assert not found, f"{' '.join(path)}: {found}\n{result.output}"


def test_arguments_and_options_have_plain_metavars() -> None:
    out = CliRunner().invoke(cli.app, ["team", "absent", "--help"], env={"COLUMNS": "100"}).output
    assert re.search(r"Usage: .* team absent \[OPTIONS\] EMAIL\s", out), out
    assert re.search(r"--from\s+DATE\s", out) and re.search(r"--json\s+Print", out), out
    out = CliRunner().invoke(cli.app, ["campaign", "load", "--help"]).output
    assert "FILES..." in out, out
    out = CliRunner().invoke(cli.app, ["run", "--help"], env={"COLUMNS": "100"}).output
    assert re.search(r"--now\s+DATE-TIME\s", out), out


def test_lead_is_a_hidden_alias_of_leads() -> None:
    top = CliRunner().invoke(cli.app, ["--help"], env={"COLUMNS": "100"}).output
    assert re.search(r"^\W+leads\s", top, re.M) and not re.search(r"^\W+lead\s", top, re.M)
    row = re.compile(r"^│ (\w[\w-]*) ", re.M)
    alias = CliRunner().invoke(cli.app, ["lead", "--help"], env={"COLUMNS": "100"}).output
    group = CliRunner().invoke(cli.app, ["leads", "--help"], env={"COLUMNS": "100"}).output
    assert "show" in row.findall(group) and row.findall(alias) == row.findall(group)


def _command_at(path: list[str]) -> Any:
    command: Any = cli.load_command(path[0])
    for name in path[1:]:
        command = command.commands[name]
    return command


@pytest.mark.parametrize("path", [p for p in every_command() if len(p) > 1], ids=" ".join)
def test_help_paragraphs_reflow(path: list[str]) -> None:
    """No hard line break inside a paragraph of prose (Rich prints them as they are, so a
    docstring wrapped in the source broke mid-sentence on every terminal)."""
    command = _command_at(path)
    for paragraph in (command.help or "").split("\n\n"):
        lines = paragraph.splitlines()
        listed = any(re.match(r"\s*(?:[-*]|\d+[.)])\s", line) or line[:1] == " " for line in lines)
        assert listed or len(lines) <= 1, f"{' '.join(path)}: {paragraph!r}"
        assert "``" not in paragraph, f"{' '.join(path)}: reST markup in {paragraph!r}"


def test_a_wrapped_docstring_reads_as_one_sentence() -> None:
    out = CliRunner().invoke(cli.app, ["leads", "--help"], env={"COLUMNS": "200"}).output
    assert "the `replied` stop rule stop for them in the next cycle" in out, out
