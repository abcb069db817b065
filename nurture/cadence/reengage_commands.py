"""CLI of dormant re-engagement on its own: ``nurture reengage`` (the ``reengage-dormant``
flow's work; the nurture cycle, ``nurture run``, also does it among its steps)."""

from __future__ import annotations

import typer

from nurture.cli_support import JsonOption, NowOption, cli_session, parse_now, print_json


def reengage_command(now: str | None = NowOption, json_out: bool = JsonOption) -> None:
    """Re-engage dormant customers: best value first, within each owner's weekly capacity.

    Each campaign with a `dormant:` block enrols its dormant customers and gives their
    owners a win-back task. Safe to run twice: a second run the same week adds no one.
    """
    from nurture.cadence.dormant import run_reengagement

    moment = parse_now(now)
    with cli_session() as session:
        out = run_reengagement(session, now=moment)
    if json_out:
        print_json(out)
        return
    typer.echo(
        f"re-engagement at {moment:%Y-%m-%d %H:%M} UTC: {out['reengaged']} dormant customers "
        f"enrolled in {out['campaigns']} campaigns, {out['waiting']} wait for their owner's "
        "capacity"
    )
    for slug, why in sorted(out["failed_campaigns"].items()):
        typer.echo(f"nurture: campaign {slug!r} skipped: {why}", err=True)


def register(app: typer.Typer) -> None:
    """Add ``reengage`` to ``app``."""
    app.command("reengage")(reengage_command)
