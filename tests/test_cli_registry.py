"""The lazy command table in ``nurture.cli`` matches what the capability modules register."""

from __future__ import annotations

import importlib
import subprocess
import sys

import typer

from nurture import cli


def _registered(module: str) -> set[str]:
    sub = typer.Typer()
    importlib.import_module(module).register(sub)
    return set(typer.main.get_group(sub).commands)


def test_every_declared_command_is_registered_by_its_module_and_nothing_else() -> None:
    modules = {e.module for e in cli.COMMANDS.values() if e.module != cli.LEADS}
    for module in modules:
        declared = {name for name, e in cli.COMMANDS.items() if e.module == module}
        assert _registered(module) == declared, module


def test_the_leads_group_collects_every_contributor_and_lead_is_its_alias() -> None:
    group = cli.load_command("leads")
    assert isinstance(group, typer.core.TyperGroup)
    assert {"show", "export", "sources", "merge", "unmerge"} <= set(group.commands)
    assert cli.load_command("lead") is group
    assert cli.COMMANDS["lead"].hidden and not cli.COMMANDS["leads"].hidden


def test_help_lists_every_command_without_importing_a_capability() -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from nurture.cli import app\n"
        "out = CliRunner().invoke(app, ['--help']).output\n"
        "heavy = [m for m in ('sqlalchemy', 'pandas', 'prefect', 'nurture.intake.commands')"
        " if m in sys.modules]\n"
        "print(heavy)\n"
        "print(out)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    heavy, _, text = out.partition("\n")
    assert heavy == "[]"
    for name, entry in cli.COMMANDS.items():
        if not entry.hidden:
            assert f" {name} " in text, name
