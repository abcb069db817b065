"""``nurture``: the command line. Each capability registers its own commands."""

from __future__ import annotations

import typer

from nurture.cli_support import JsonOption, NurtureGroup, print_json

app = typer.Typer(
    cls=NurtureGroup,
    help="Nurture: lead intake, routing, months-long nurture and scoring. No lead forgotten.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def root() -> None:
    """Nurture: lead intake, routing, months-long nurture and scoring. No lead forgotten."""


@app.command("init")
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


def _register_capabilities() -> None:
    from nurture.cadence import commands as cadence_commands
    from nurture.intake import commands as intake_commands
    from nurture.mail import commands as mail_commands
    from nurture.routing import commands as routing_commands
    from nurture.scoring import commands as scoring_commands

    for module in (
        intake_commands,
        mail_commands,
        routing_commands,
        cadence_commands,
        scoring_commands,
    ):
        module.register(app)


_register_capabilities()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
