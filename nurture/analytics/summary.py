"""The report in words and small tables: the CLI's text, the weekly flow's Prefect
Markdown and table artifacts."""

from __future__ import annotations

from typing import Any


def summary_lines(report: dict[str, Any]) -> list[str]:
    """What needs attention, in a few lines (``nurture report`` without ``--json``)."""
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


def summary_markdown(report: dict[str, Any]) -> str:
    """The report's headline as Markdown (the weekly flow's artifact)."""
    lines = ["# Sales analytics", ""]
    lines += [f"- {line.strip()}" for line in summary_lines(report)]
    lines += [
        "",
        "## Coverage per event",
        "",
        "| event | leads | within 24 business h | within 30 days | never touched |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in report["coverage"]["events"]:
        lines.append(
            f"| {r['event']} | {r['leads']} | {_pct(r['within_24bh'])} | "
            f"{_pct(r['within_30d'])} | {_pct(r['never'])} |"
        )
    return "\n".join(lines) + "\n"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def artifact_tables(report: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Flat tables by artifact key: coverage, speed to lead, stages, managers, sequences,
    revenue per event."""
    return {
        "analytics-coverage": [
            {k: r[k] for k in ("event", "kind", "leads", "within_24bh", "within_30d", "never")}
            for r in report["coverage"]["events"]
        ],
        "analytics-speed-to-lead": report["speed_to_lead"],
        "analytics-time-in-stage": report["time_in_stage"]["stages"],
        "analytics-managers": report["time_in_stage"]["managers"],
        "analytics-sequences": [
            {**p, "steps": " -> ".join(p["steps"])} for p in report["sequences"]["patterns"]
        ],
        "analytics-revenue": report["revenue"]["by_event"],
    }
