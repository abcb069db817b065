"""CLI of the cadence capability: campaigns, purchases, the nurture cycle, simulation,
coverage. Registered on the root ``nurture`` app by :func:`register`."""

from __future__ import annotations

import re
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import typer

from nurture.cli_support import JsonOption, NowOption, cli_session, parse_now, print_json
from nurture.errors import ConfigError, InputError
from nurture.text import count

campaign_app = typer.Typer(help="Nurture campaigns: load YAML files, list them, enrol leads.")
purchases_app = typer.Typer(help="Purchases and conversions (feed stop rules and dormancy).")


@campaign_app.command("load")
def campaign_load(
    files: list[Path] = typer.Argument(..., help="Campaign YAML files (examples/campaigns/)."),
    json_out: bool = JsonOption,
) -> None:
    """Validate and load campaign files (insert or update by slug; safe to run twice).

    Every problem of a broken file is reported on its own line naming the file and the
    line (exit 2); the other files still load.
    """
    from nurture.cadence import read_campaign_file, save_campaign
    from nurture.routing.yamlfile import problems_of

    loaded: list[dict[str, Any]] = []
    errors: list[str] = []
    specs = []
    for path in files:
        try:
            specs.append(read_campaign_file(path))
        except ConfigError as exc:
            errors.extend(p.format_message() for p in problems_of(exc))
    if specs:
        with cli_session() as session:
            for spec in specs:
                _campaign, created = save_campaign(session, spec)
                loaded.append(
                    {
                        "slug": spec.slug,
                        "steps": len(spec.steps),
                        "priority": spec.priority,
                        "created": created,
                    }
                )
    if json_out:
        print_json({"loaded": loaded, "errors": errors})
    else:
        for row in loaded:
            verb = "created" if row["created"] else "updated"
            steps = count(row["steps"], "step")
            typer.echo(f"{row['slug']}: {verb}, {steps}, priority {row['priority']}")
        for err in errors:
            typer.echo(f"nurture: {err}", err=True)
    if errors:
        raise typer.Exit(2)


@campaign_app.command("list")
def campaign_list(json_out: bool = JsonOption) -> None:
    """Campaigns with their priority, steps and enrolments by status."""
    from sqlalchemy import func, select

    from nurture.db.cadence import Campaign, CampaignStep, Enrollment

    with cli_session() as session:
        steps = dict(
            session.execute(
                select(CampaignStep.campaign_id, func.count(CampaignStep.id)).group_by(
                    CampaignStep.campaign_id
                )
            ).all()
        )
        counts: dict[int, dict[str, int]] = {}
        for cid, status, n in session.execute(
            select(Enrollment.campaign_id, Enrollment.status, func.count(Enrollment.id)).group_by(
                Enrollment.campaign_id, Enrollment.status
            )
        ):
            counts.setdefault(cid, {})[status] = n
        rows = [
            {
                "slug": c.slug,
                "name": c.name,
                "priority": c.priority,
                "active": c.active,
                "steps": steps.get(c.id, 0),
                "event_kinds": (c.definition.get("audience") or {}).get("event_kinds", []),
                "enrollments": counts.get(c.id, {}),
            }
            for c in session.scalars(select(Campaign).order_by(Campaign.priority.desc()))
        ]
    if json_out:
        print_json({"campaigns": rows})
        return
    if not rows:
        typer.echo("no campaigns: load some with `nurture campaign load examples/campaigns/*.yaml`")
    for r in rows:
        enr = ", ".join(f"{k} {v}" for k, v in sorted(r["enrollments"].items())) or "none"
        kinds = ",".join(r["event_kinds"]) or "manual"
        typer.echo(
            f"{r['slug']:<16} priority {r['priority']:>3}  {r['steps']:>2} steps  "
            f"events: {kinds:<12} enrolments: {enr}{'' if r['active'] else '  (inactive)'}"
        )


@campaign_app.command("enroll")
def campaign_enroll(
    slug: str = typer.Argument(..., help="Campaign slug."),
    where: str = typer.Option(
        ...,
        "--where",
        help="Filter on lead fields, e.g. \"country = 'RU' and city in ('Moscow','Kazan')\".",
    ),
    now: str | None = NowOption,
    json_out: bool = JsonOption,
) -> None:
    """Enrol open leads matching --where (parsed safely, never pasted into SQL).

    Leads already active in the campaign are left alone; finished ones start a new cycle.
    """
    from sqlalchemy import select

    from nurture.cadence import compile_filter, enrol, spec_of
    from nurture.cadence.campaigns import SLUG
    from nurture.db.cadence import Campaign

    condition = compile_filter(where)
    moment = parse_now(now)
    with cli_session() as session:
        campaign = None
        if SLUG.match(slug):
            campaign = session.scalars(select(Campaign).where(Campaign.slug == slug)).one_or_none()
        if campaign is None:
            raise InputError(f"no campaign {slug!r} (see `nurture campaign list`)")
        spec = spec_of(campaign)
        n = enrol(session, campaign, spec, now=moment, condition=condition, first_time_only=False)
    if json_out:
        print_json({"campaign": slug, "enrolled": n, "where": where})
    else:
        typer.echo(f"{slug}: {count(n, 'lead')} enrolled")


@purchases_app.command("import")
def purchases_import(
    file: Path = typer.Argument(..., help="CSV: lead_id or email, date, amount, product."),
    now: str | None = NowOption,
    json_out: bool = JsonOption,
) -> None:
    """Import purchases (idempotent); buyers become converted and stop their campaigns."""
    from nurture.cadence import import_purchases

    with cli_session() as session:
        result = import_purchases(session, file, now=parse_now(now))
    if json_out:
        print_json(result)
        return
    typer.echo(
        f"{result.file}: {count(result.rows, 'row')}, {result.imported} imported, "
        f"{result.duplicates} already known, {len(result.rejected)} rejected, "
        f"{count(result.leads_converted, 'lead')} converted"
    )
    for line in result.rejected:
        typer.echo(f"  {line}", err=True)


ShardOption = typer.Option(
    None,
    "--shard",
    metavar="K/N",
    help="Plan only shard K of N (K from 1 to N): the leads whose id modulo N is K-1. Start "
    "N workers with 1/N ... N/N at the same --now to share one large cycle; the common part "
    "(routing, stop rules, enrolment, escalations, coverage) is done by the first to get "
    "there, the others find it done.",
)


def run_command(
    now: str | None = NowOption, shard: str | None = ShardOption, json_out: bool = JsonOption
) -> None:
    """Run one nurture cycle (idempotent at the same --now).

    Route, stop, enrol, plan touches, queue e-mails, create tasks, escalate missed hard
    deadlines, repair coverage. A campaign that fails is rolled back and skipped (one line
    on stderr each, `failed_campaigns` in --json); the other campaigns still run.

    With --shard K/N the planning is split by lead between N workers, which can run at
    once: nothing is planned twice and no lead is left out once all N have run (see
    docs/cadence.md). A sharded run commits in three steps; its touch figures are its
    shard's, its coverage figures the whole database's.
    """
    from nurture.cadence.cycle import run_configured_cycle
    from nurture.cadence.shards import parse_shard

    part = parse_shard(shard) if shard is not None else None
    moment = parse_now(now)
    summary = run_configured_cycle(now=moment, shard=part)
    if json_out:
        print_json(summary.as_dict())
        return
    s = summary
    where = f", shard {s.shard}" if s.shard else ""
    typer.echo(f"nurture cycle at {moment:%Y-%m-%d %H:%M} UTC{where}")
    typer.echo(f"  routed:      {s.routed}")
    typer.echo(f"  stopped:     {_fmt(s.stopped)}")
    typer.echo(f"  enrolled:    {_fmt(s.enrolled)}; re-engaged {s.reengaged}")
    typer.echo(
        f"  touches:     {s.planned} planned, {s.skipped} skipped, {s.shifted} shifted by the cap,"
        f" {count(s.completed, 'enrolment')} completed"
    )
    queued = f"{count(s.emails_queued, 'e-mail')}, {count(s.tasks_created, 'owner task')}"
    typer.echo(f"  queued:      {queued}")
    typer.echo(f"  escalations: {s.escalations}")
    typer.echo(
        f"  coverage:    {s.open_leads} open leads, next step scheduled for {s.next_step_share:.1%}"
    )
    if s.uncovered_found or s.untouched_over_30d_found or s.repaired:
        typer.echo(
            f"  repaired:    found {s.uncovered_found} without next step and "
            f"{s.untouched_over_30d_found} untouched > 30 days; created {_fmt(s.repaired)}"
        )
    if s.failed_campaigns:
        names = ", ".join(sorted(s.failed_campaigns))
        typer.echo(f"  failed:      {names} (rolled back and skipped; the others ran)")
    for slug, why in sorted(s.failed_campaigns.items()):
        typer.echo(f"nurture: campaign {slug!r} skipped in this cycle: {why}", err=True)


def _fmt(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"


def coverage_command(
    now: str | None = NowOption,
    json_out: bool = JsonOption,
    limit: int = typer.Option(20, "--limit", help="Lead ids listed in the human output."),
) -> None:
    """Coverage watchdog: is any open lead forgotten? (read-only; `nurture run` repairs)

    Open leads, first touch within 24 h, next step scheduled, and leads untouched for more
    than 30 days (must be none).
    """
    from nurture.cadence import coverage_report

    moment = parse_now(now)
    with cli_session() as session:
        rep = coverage_report(session, now=moment)
    if json_out:
        print_json(rep.as_dict())
        return
    typer.echo(f"coverage at {moment:%Y-%m-%d %H:%M} UTC")
    typer.echo(f"  open leads:                {rep.open_leads}")
    if rep.first_touch_eligible:
        typer.echo(
            f"  first touch within 24 h:   {rep.first_touch_24h_share or 0:.1%} "
            f"(of {count(rep.first_touch_eligible, 'lead')} older than a day)"
        )
    else:
        typer.echo("  first touch within 24 h:   n/a (no lead is a day old yet)")
    typer.echo(f"  next step scheduled:       {rep.next_step_share:.1%}")
    typer.echo(f"  untouched over 30 days:    {len(rep.untouched_over_30d)}")
    if rep.untouched_over_30d:
        typer.echo("    " + ", ".join(map(str, rep.untouched_over_30d[:limit])))
    if rep.uncovered:
        typer.echo(f"  without a next step:       {len(rep.uncovered)}")
        typer.echo("    " + ", ".join(map(str, rep.uncovered[:limit])))
        typer.echo("  `nurture run` gives their owners a follow-up task.")


def _parse_step(text: str) -> timedelta:
    m = re.fullmatch(r"\s*(\d+)\s*([dh])\s*", text)
    if not m or int(m.group(1)) == 0:
        raise InputError(f"--step {text!r} is not a duration: use e.g. 1d or 6h")
    n = int(m.group(1))
    return timedelta(days=n) if m.group(2) == "d" else timedelta(hours=n)


def _scratch_engine(url: str) -> Any:
    """An engine on the empty database ``--database`` names, schema created; a URL that
    is not one, a database that cannot be opened or one that holds leads is the user's
    mistake (one line, the password never shown)."""
    from sqlalchemy import func, inspect, select
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, DBAPIError

    from nurture.db.leads import Lead
    from nurture.db.session import init_db, make_engine

    try:
        shown = make_url(url).render_as_string(hide_password=True)
        engine = make_engine(url)
    except (ArgumentError, ValueError, ImportError):
        raise InputError("--database is not a database URL (e.g. sqlite:///sim.db)") from None
    try:
        held = 0
        if inspect(engine).has_table(Lead.__tablename__):  # looked at before any migration
            with engine.connect() as conn:
                held = conn.execute(select(func.count()).select_from(Lead)).scalar_one()
        if not held:
            init_db(engine)
    except DBAPIError as exc:
        engine.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise InputError(f"--database {shown}: cannot use it: {reason}") from None
    if held:
        engine.dispose()
        raise InputError(
            f"--database {shown} holds {count(held, 'lead')}: simulate needs an empty one"
        )
    return engine


def simulate_command(
    start: str = typer.Option(..., "--start", help="First simulated day (YYYY-MM-DD)."),
    days: int = typer.Option(..., "--days", min=1, max=3650, help="How many days to simulate."),
    step: str = typer.Option("1d", "--step", help="Time between cycles: 1d, 12h, ..."),
    leads: int = typer.Option(1000, "--leads", min=12, help="Synthetic leads from 12 events."),
    seed: int = typer.Option(7, "--seed", help="Random seed (same seed, same world)."),
    campaigns: Path = typer.Option(
        None, "--campaigns", help="Directory of campaign YAML files (default: the examples)."
    ),
    database: str = typer.Option(
        None,
        "--database",
        help="Empty database URL to simulate in (default: a temporary SQLite file).",
    ),
    json_out: bool = JsonOption,
) -> None:
    """Run cycles over simulated time on a scratch database and print a day-by-day summary.

    Never touches your real database. Columns: touches, tasks, stops, escalations, coverage.
    """
    from rich.progress import Progress

    from nurture.cadence.simulate import DEFAULT_CAMPAIGNS, DayRow, simulate

    try:
        first = date.fromisoformat(start)
    except ValueError as exc:
        raise InputError(f"--start {start!r} is not a date: use YYYY-MM-DD") from exc
    delta = _parse_step(step)
    if campaigns is not None and not any(campaigns.glob("*.yaml")):
        raise InputError(f"--campaigns {str(campaigns)!r} is not a folder of campaign files")
    with tempfile.TemporaryDirectory(prefix="nurture-sim-") as tmp:
        url = database or f"sqlite:///{Path(tmp) / 'sim.db'}"
        engine = _scratch_engine(url)
        rows: list[DayRow] = []
        total_steps = int(timedelta(days=days) / delta)
        with Progress(disable=json_out, transient=True) as progress:
            bar = progress.add_task("simulating", total=total_steps)

            def on_step(row: DayRow) -> None:
                rows.append(row)
                progress.update(bar, advance=1, description=f"simulating {row.day}")

            result = simulate(
                engine,
                start=first,
                days=days,
                step=delta,
                leads=leads,
                seed=seed,
                campaigns_dir=campaigns or DEFAULT_CAMPAIGNS,
                on_step=on_step,
            )
        engine.dispose()
    table = [r.as_dict() for r in rows]
    if json_out:
        print_json({"leads": result.leads, "days": table, "totals": result.totals()})
        return
    cols = [
        ("day", 10),
        ("new_leads", 5),
        ("enrolled", 5),
        ("emails_queued", 6),
        ("tasks_created", 5),
        ("shifted", 5),
        ("stopped", 5),
        ("escalations", 4),
        ("open_leads", 6),
        ("next_step_share", 6),
        ("untouched_over_30d", 4),
    ]
    heads = ["day", "new", "enrol", "mails", "tasks", "shift", "stop", "esc", "open", "next", "30d"]
    typer.echo("  ".join(h.rjust(w) for h, (_, w) in zip(heads, cols, strict=True)))
    for r in table:
        cells = []
        for key, width in cols:
            v = r[key]
            cells.append((f"{v:.0%}" if isinstance(v, float) else str(v)).rjust(width))
        typer.echo("  ".join(cells))
    tot = result.totals()
    typer.echo(
        f"{result.leads} leads, {tot['emails_queued']} e-mails, {tot['tasks_created']} tasks, "
        f"{tot['escalations']} escalations; lowest next-step share "
        f"{tot['min_next_step_share']:.1%}; most leads untouched > 30 days on a day: "
        f"{tot['max_untouched_over_30d']}"
    )


def register(app: typer.Typer) -> None:
    """Add this capability's commands and sub-groups to ``app``."""
    app.add_typer(campaign_app, name="campaign")
    app.add_typer(purchases_app, name="purchases")
    app.command("run")(run_command)
    app.command("simulate")(simulate_command)
    app.command("coverage")(coverage_command)
