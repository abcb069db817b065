"""``nurture team ...``: team file, absences, routing, fairness."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from nurture.cli_support import JsonOption, NowOption, cli_session, parse_now, print_json
from nurture.text import count

if TYPE_CHECKING:
    from nurture.routing.summary import RoutingSummary

team_app = typer.Typer(help="Sales team: load the team file, absences, routing, fairness.")


def _summary_line(prefix: str, s: RoutingSummary) -> str:
    parts = [f"{prefix} {count(s.assigned, 'lead')}"]
    if s.returning:
        parts.append(f"{s.returning} to their previous owner")
    if s.overflow:
        parts.append(f"{s.overflow} over capacity (everyone full)")
    parts.append(f"{count(s.tasks, 'first-contact task')}")
    parts.append(f"{s.unassigned} still unassigned")
    lines = [", ".join(parts)]
    lines += [f"  {email}: {n}" for email, n in sorted(s.by_manager.items())]
    return "\n".join(lines)


def _date_option(option: str, value: str) -> date:
    from nurture.errors import InputError

    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option} {value!r} is not a date: use YYYY-MM-DD") from None


@contextmanager
def _not_found_is_input_error() -> Iterator[None]:
    """A lead or manager the user named is not there: their mistake, exit 2 (the library
    raises NotFoundError, which the web app answers with 404)."""
    from nurture.errors import InputError, NotFoundError

    try:
        yield
    except NotFoundError as exc:
        raise InputError(str(exc)) from None


@team_app.command("load")
def load_command(
    file: Path = typer.Argument(..., help="Team YAML file (see examples/team.yaml)."),
    json_out: bool = JsonOption,
) -> None:
    """Create or update teams, managers, supervisors, absences and routing rules from FILE.

    Safe to run again: it upserts. Managers no longer in the file are marked departed
    (their open leads move on the next `nurture team rebalance`). Every problem of a broken
    file is listed on its own line with its line number (exit 2); nothing is written.
    """
    from nurture.routing import apply_team_file, load_team_file
    from nurture.routing.yamlfile import ConfigProblems

    try:
        spec = load_team_file(file)
    except ConfigProblems as exc:
        for line in exc.messages():  # every problem on its own line, then exit 2
            typer.echo(f"nurture: {line}", err=True)
        raise typer.Exit(exc.exit_code) from None
    with cli_session() as session:
        out = apply_team_file(session, spec)
    if json_out:
        print_json(out)
        return
    typer.echo(
        f"{file}: {out.teams} teams, {out.managers} managers, {out.supervisors} supervisors "
        f"({out.created} new, {out.departed} departed), {out.absences_added} absences added, "
        f"{out.rules} rules"
    )


@team_app.command("absent")
def absent_command(
    email: str = typer.Argument(..., help="The manager's e-mail."),
    start: str = typer.Option(..., "--from", help="First day away (YYYY-MM-DD)."),
    end: str = typer.Option(..., "--to", help="Last day away, inclusive (YYYY-MM-DD)."),
    reason: str | None = typer.Option(None, "--reason", help="e.g. vacation, sick leave."),
    json_out: bool = JsonOption,
) -> None:
    """Record an absence: the manager gets no new leads on those days (in their time zone).

    Their open leads stay with them; run `nurture team rebalance` to redistribute them.
    """
    from nurture.routing import add_absence

    d_from, d_to = _date_option("--from", start), _date_option("--to", end)
    from sqlalchemy import func, select

    from nurture.db.leads import Lead

    with cli_session() as session, _not_found_is_input_error():
        m, added = add_absence(session, email=email, start=d_from, end=d_to, reason=reason)
        name = m.name
        open_leads = session.execute(
            select(func.count()).where(Lead.owner_id == m.id, Lead.status == "open")
        ).scalar_one()
    if json_out:
        print_json(
            {"email": email, "from": d_from, "to": d_to, "added": added, "open_leads": open_leads}
        )
    else:
        state = "recorded" if added else "already recorded"
        typer.echo(f"{name} absent {d_from}..{d_to}: {state}")
        if open_leads:
            typer.echo(
                f"{name} owns {open_leads} open leads: `nurture team rebalance` moves them "
                "(once the absence has started)"
            )


@team_app.command("rebalance")
def rebalance_command(now: str | None = NowOption, json_out: bool = JsonOption) -> None:
    """Give the open leads of absent and departed managers to others.

    The same routing rules decide; each move is logged with its reason, and the new owner
    gets a first-contact task."""
    from nurture.routing import rebalance

    with cli_session() as session:
        summary = rebalance(session, now=parse_now(now))
    if json_out:
        print_json(summary)
    else:
        typer.echo(_summary_line("rebalanced", summary))


@team_app.command("route")
def route_command(now: str | None = NowOption, json_out: bool = JsonOption) -> None:
    """Assign every open lead without an owner now (intake and `nurture run` do this too)."""
    from nurture.routing import route_unassigned

    with cli_session() as session:
        summary = route_unassigned(session, now=parse_now(now))
    if json_out:
        print_json(summary)
    else:
        typer.echo(_summary_line("assigned", summary))


@team_app.command("report")
def report_command(
    now: str | None = NowOption,
    days: int | None = typer.Option(
        None, "--days", min=1, help="Window in days (default NURTURE_ROUTING_WINDOW_DAYS, 28)."
    ),
    json_out: bool = JsonOption,
) -> None:
    """Fairness: leads per manager against their weight share over the window.

    Round-robin leads only, shares scaled by the days each manager was available; with the
    largest deviation and the leads still unassigned."""
    from nurture.routing import fairness_report

    with cli_session() as session:
        rep = fairness_report(session, now=parse_now(now), window_days=days)
    if json_out:
        print_json(rep.as_json())
        return
    typer.echo(
        f"last {rep.window_days} days: unassigned {rep.unassigned}, "
        f"max deviation {rep.max_deviation:g} leads"
    )
    typer.echo(
        f"{'team':<30} {'manager':<26} {'weight':>6} {'assigned':>8} {'expected':>8} "
        f"{'week':>9}  note"
    )
    for r in rep.managers:
        note = f"absent until {r.absent_until}" if r.absent_until else ""
        typer.echo(
            f"{r.team[:30]:<30} {r.name[:26]:<26} {r.weight:>6g} {r.assigned:>8} "
            f"{r.expected:>8.1f} {f'{r.this_week}/{r.capacity}':>9}  {note}"
        )


def register(app: typer.Typer) -> None:
    """Add ``nurture team ...`` to ``app``."""
    app.add_typer(team_app, name="team")


def register_leads(leads: typer.Typer) -> None:
    """Nothing any more: ``nurture leads show`` tells the lead's whole story (playbooks)."""
