"""``nurture report``: the sales analytics report (text, ``--json`` or ``--html FILE``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

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


def _summary(report: dict[str, Any]) -> list[str]:
    lines = [
        f"{report['period']['since'][:10]} .. {report['period']['until'][:10]}: "
        f"{report['leads']:,} leads met",
    ]
    overall = report["coverage"]["overall"]
    if overall["within_30d"] is not None:
        lines.append(
            f"worked within 30 days: {overall['within_30d']:.0%} (industry 30-40%); "
            f"never touched: {overall['never']:.0%}"
        )
    for row in report["coverage"]["events"]:
        if row["versus_industry"] == "below":
            lines.append(f"  below industry: {row['event']} (never touched {row['never']:.0%})")
    for stage in report["time_in_stage"]["stages"]:
        if stage["slowest"]:
            lines.append(
                f"slowest stage: {stage['stage']} (median {stage['median_hours']} business h)"
            )
    managers = report["time_in_stage"]["managers"]
    if managers and managers[0]["overdue_rate"] is not None:
        m = managers[0]
        lines.append(f"most overdue: {m['manager']} ({m['overdue_rate']:.0%} of tasks late)")
    seq = report["sequences"]
    for p in seq["patterns"][:5]:
        lines.append(
            f"  {' -> '.join(p['steps'])}: {p['conversion']:.1%} convert "
            f"(lift {p['lift']}, {p['leads']} leads)"
        )
    lines.append(f"revenue: {report['revenue']['total']:,.2f}")
    return lines


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
        for line in _summary(report):
            typer.echo(line)
        if html is not None:
            typer.echo(f"HTML report: {html}")
