"""``nurture``: the command line.

Every top-level command is declared in :data:`COMMANDS` with its one-line help and the
capability module that implements it. A module is imported only when one of its commands
runs, so ``nurture --help`` and small commands start without loading pandas, SQLAlchemy or
Prefect.

A capability's ``commands`` module provides ``register(app)``, which adds its top-level
commands and groups to ``app``, and optionally ``register_leads(leads)``, which adds commands
to the shared ``nurture leads`` group (also reachable as ``nurture lead``). The modules that
contribute to that group are listed in :data:`LEADS_MODULES`. ``tests/test_cli_registry.py``
checks that the declarations here match what the modules register.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import typer
from typer.core import TyperCommand

from nurture.cli_support import JsonOption, NurtureGroup, print_json, tidy_help, tidy_param

LEADS = "leads"
LEADS_HELP = (
    "Leads: show a lead's story, export, sources, duplicates, merges, outcomes; forget a person."
)

# The modules whose ``register_leads`` adds commands to ``nurture leads``.
LEADS_MODULES: tuple[str, ...] = (
    "nurture.intake.commands",
    "nurture.routing.commands",
    "nurture.playbooks.commands",
    "nurture.privacy.commands",
)

# Help panels of ``nurture --help``, in the order a new user meets them.
SETUP = "Set up"
INTAKE = "Leads in"
PROCESS = "Nurture and the sales process"
MAIL = "E-mail"
SCORING = "Scoring"
WEB = "Web app"
ANALYTICS = "Analytics"


@dataclass(frozen=True)
class Entry:
    """A top-level command: where it lives and what ``nurture --help`` says of it."""

    module: str
    help: str
    panel: str
    hidden: bool = False


COMMANDS: dict[str, Entry] = {
    "team": Entry(
        "nurture.routing.commands",
        "Sales team: load the team file, absences, routing, fairness.",
        SETUP,
    ),
    "import": Entry(
        "nurture.intake.commands",
        "Import an event's lead list (CSV, XLSX or JSON Lines): clean, deduplicate, route.",
        INTAKE,
    ),
    "quarantine": Entry(
        "nurture.intake.commands", "Rows that could not become leads, with the reasons.", INTAKE
    ),
    LEADS: Entry(LEADS, LEADS_HELP, INTAKE),
    "lead": Entry(LEADS, LEADS_HELP, INTAKE, hidden=True),
    "campaign": Entry(
        "nurture.cadence.commands",
        "Nurture campaigns: load YAML files, list them, enrol leads.",
        PROCESS,
    ),
    "purchases": Entry(
        "nurture.cadence.commands",
        "Purchases and conversions (feed stop rules and dormancy).",
        PROCESS,
    ),
    "run": Entry(
        "nurture.cadence.commands",
        "Run one nurture cycle: route, enrol, plan touches, queue e-mails, create tasks.",
        PROCESS,
    ),
    "reengage": Entry(
        "nurture.cadence.reengage_commands",
        "Re-engage dormant customers, best value first, within owners' capacity.",
        PROCESS,
    ),
    "coverage": Entry(
        "nurture.cadence.commands",
        "Open leads with no next step, and leads untouched for 30 days.",
        PROCESS,
    ),
    "simulate": Entry(
        "nurture.cadence.commands",
        "Run nurture over simulated days on a scratch database (never your real one).",
        PROCESS,
    ),
    "task": Entry(
        "nurture.playbooks.commands",
        "Tasks of managers: list, complete with an outcome, reschedule, reassign.",
        PROCESS,
    ),
    "playbook": Entry(
        "nurture.playbooks.deal_commands",
        "Sales playbooks: validate and load YAML files, versions, role pools.",
        PROCESS,
    ),
    "deal": Entry(
        "nurture.playbooks.deal_commands",
        "Deals: open one on a playbook, show, advance, list stalled ones.",
        PROCESS,
    ),
    "doc": Entry(
        "nurture.playbooks.deal_commands",
        "Documents of deals: render to HTML and PDF, approve, reject, send.",
        PROCESS,
    ),
    "requests": Entry(
        "nurture.playbooks.deal_commands",
        "Requests to other systems (finance, production, support): status, dead letters.",
        PROCESS,
    ),
    "escalate": Entry(
        "nurture.playbooks.deal_commands",
        "Escalate missed deadlines, report stalled deals, daily digests, automated steps.",
        PROCESS,
    ),
    "send": Entry(
        "nurture.mail.commands", "Send every due e-mail once (SMTP or the file outbox).", MAIL
    ),
    "outbox": Entry(
        "nurture.mail.commands", "The outbox: what is queued, sent, failed or unknown.", MAIL
    ),
    "suppress": Entry(
        "nurture.mail.commands", "The suppression list: addresses never to e-mail.", MAIL
    ),
    "bounces": Entry("nurture.mail.commands", "Bounced addresses (DSN messages or CSV).", MAIL),
    "template": Entry(
        "nurture.mail.commands", "E-mail templates: check them, preview one for a lead.", MAIL
    ),
    "serve": Entry(
        "nurture.web.commands",
        "Serve the web app: my day, calendar, leads, team, campaigns, imports, API.",
        WEB,
    ),
    "web": Entry("nurture.web.commands", "Serve the web app (alias of serve).", WEB, hidden=True),
    "users": Entry(
        "nurture.web.commands", "Web accounts: add, list, disable; calendar feed URLs.", WEB
    ),
    "apikeys": Entry("nurture.web.commands", "API keys for web forms and integrations.", WEB),
    "report": Entry(
        "nurture.analytics.commands",
        "Sales analytics: funnel, time in stage, speed to lead, sequences that convert.",
        ANALYTICS,
    ),
    "score": Entry(
        "nurture.scoring.commands",
        "Lead scoring: train, evaluate, score leads, rank dormant leads by value.",
        SCORING,
    ),
}


class LazyGroup(NurtureGroup):
    """The root group: lists :data:`COMMANDS` without importing them, loads one to run it.

    Commands are typed ``Any``: Typer vendors its own copy of Click, whose classes are private.
    """

    def list_commands(self, ctx: Any) -> list[str]:
        names = list(super().list_commands(ctx))
        return names + [name for name in COMMANDS if name not in names]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        known = super().get_command(ctx, cmd_name)
        if known is not None:
            return tidy_help(known)
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        # A stand-in that only knows its help: enough for ``nurture --help``.
        return TyperCommand(
            cmd_name,
            help=entry.help,
            short_help=entry.help,
            hidden=entry.hidden,
            rich_help_panel=entry.panel,
        )

    def get_help_option(self, ctx: Any) -> Any:
        return tidy_param(super().get_help_option(ctx))

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if name in COMMANDS and name not in self.commands:
            command = load_command(name)
        return name, command, rest


@cache
def _module_group(module: str) -> Any:
    """Every top-level command and group that ``module.register`` adds."""
    sub = typer.Typer()
    importlib.import_module(module).register(sub)
    return tidy_help(typer.main.get_group(sub))


@lru_cache(maxsize=1)
def _leads_group() -> Any:
    leads = typer.Typer(help=LEADS_HELP, no_args_is_help=True)
    for module in LEADS_MODULES:
        importlib.import_module(module).register_leads(leads)
    return tidy_help(typer.main.get_group(leads))


def load_command(name: str) -> Any:
    """The real command ``name`` (imports its capability module)."""
    entry = COMMANDS[name]
    if entry.module == LEADS:
        return _leads_group()
    command = _module_group(entry.module).commands.get(name)
    if command is None:
        raise LookupError(f"{entry.module}.register adds no command {name!r}")
    return command


app = typer.Typer(
    cls=LazyGroup,
    help="Nurture: lead intake, routing, months-long nurture and scoring. No lead forgotten.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def root() -> None:
    """Nurture: lead intake, routing, months-long nurture and scoring. No lead forgotten."""


@app.command("init", rich_help_panel=SETUP)
def init_command(json_out: bool = JsonOption) -> None:
    """Create or upgrade the database schema (safe to run twice)."""
    from nurture.config import get_settings
    from nurture.db.session import init_db

    revision = init_db()
    url = get_settings().database_url
    if json_out:
        print_json({"revision": revision, "database_url": url})
    else:
        typer.echo(f"database ready at revision {revision} ({url})")


def main() -> Any:
    return app()


if __name__ == "__main__":
    main()
