"""``nurture report``: the sales analytics report (text, ``--json`` or ``--html FILE``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import typer

from nurture.cli_support import JsonOption, NowOption, cli_session, parse_now, print_json
from nurture.errors import InputError

DEFAULT_DAYS = 90


def parse_day(value: str | None, option: str) -> datetime | None:
    """``--since``/``--until``: an ISO date (midnight UTC) or date-time (UTC if naive)."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"{option} {value!r} is not a date: write it as YYYY-MM-DD", field=option
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def period_of(since: str | None, until: str | None, now: datetime) -> tuple[datetime, datetime]:
    """The report's ``[since, until)``: ``until`` defaults to now, ``since`` to 90 days
    before ``until``."""
    end = parse_day(until, "--until") or now
    start = parse_day(since, "--since") or end - timedelta(days=DEFAULT_DAYS)
    if start >= end:
        raise InputError(f"--since {start.date()} is not before --until {end.date()}")
    return start, end


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report_command(
        since: str | None = typer.Option(
            None, "--since", help="First day of the period (YYYY-MM-DD; default: 90 days back)."
        ),
        until: str | None = typer.Option(
            None, "--until", help="Day after the period (YYYY-MM-DD; default: now)."
        ),
        html: Path | None = typer.Option(
            None, "--html", help="Also write the report with charts to this HTML file."
        ),
        lang: str = typer.Option("en", "--lang", help="Language of the HTML report: en or ru."),
        days: int = typer.Option(
            30, "--days", min=1, help="Sequences: the window after intake, in days."
        ),
        min_support: float = typer.Option(
            0.02, "--min-support", min=0.0, max=1.0, help="Sequences: least share of leads."
        ),
        json_out: bool = JsonOption,
        now: str | None = NowOption,
    ) -> None:
        """Sales analytics: funnel, time in stage, speed to lead, 30-day coverage,
        sequences that convert and revenue, per event, campaign, source and manager.

        Counts leads met in [--since, --until) as of --until."""
        from nurture.analytics.html import render_html
        from nurture.analytics.report import build_report
        from nurture.analytics.sequences import MiningOptions

        if lang not in ("en", "ru"):
            raise InputError(f"--lang {lang!r}: choose en or ru", field="--lang")
        start, end = period_of(since, until, parse_now(now))
        with cli_session() as session:
            report = build_report(
                session,
                since=start,
                until=end,
                mining=MiningOptions(days=days, min_support=min_support),
            )
        if html is not None:
            try:
                html.write_text(render_html(report, lang=lang), encoding="utf-8")
            except OSError as exc:
                raise InputError(f"cannot write {html}: {exc.strerror}", file=str(html)) from None
        if json_out:
            print_json(report)
            return
        from nurture.analytics.summary import summary_lines

        for line in summary_lines(report):
            typer.echo(line)
        if html is not None:
            typer.echo(f"HTML report: {html}")
