"""The report's charts as inline SVG (matplotlib figures drawn without pyplot, so no global
backend or state is touched): for the HTML report, the web app's analytics page and the
notebook alike. Labels in English or Russian (:data:`LABELS`)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import matplotlib
from matplotlib import ticker
from matplotlib.figure import Figure

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "funnel": "Lead funnel",
        "coverage": "Leads worked within 30 days, per event",
        "industry": "industry: 30-40%",
        "never": "never touched",
        "speed": "Speed to lead: intake to first touch (business hours)",
        "median": "median",
        "p90": "90th percentile",
        "stages": "Time in stage (business hours)",
        "deal_stages": "Time in deal stage (business hours)",
        "managers": "Overdue tasks per manager",
        "sequences": "Sequences that convert (first {days} days)",
        "base": "base conversion",
        "revenue": "Revenue per event",
        "share": "share of leads",
        "hours": "business hours",
        "intake": "intake",
        "assigned": "assigned",
        "touched": "touched",
        "engaged": "engaged",
        "converted": "converted",
        "new": "new",
        "contacted": "contacted",
    },
    "ru": {
        "funnel": "Воронка лидов",
        "coverage": "Лиды, отработанные за 30 дней, по мероприятиям",
        "industry": "по отрасли: 30-40%",
        "never": "ни одного касания",
        "speed": "Скорость реакции: от получения до первого касания (рабочие часы)",
        "median": "медиана",
        "p90": "90-й процентиль",
        "stages": "Время на этапе (рабочие часы)",
        "deal_stages": "Время на этапе сделки (рабочие часы)",
        "managers": "Просроченные задачи по менеджерам",
        "sequences": "Последовательности, которые продают (первые {days} дней)",
        "base": "базовая конверсия",
        "revenue": "Выручка по мероприятиям",
        "share": "доля лидов",
        "hours": "рабочие часы",
        "intake": "получены",
        "assigned": "назначены",
        "touched": "было касание",
        "engaged": "ответили",
        "converted": "купили",
        "new": "новый",
        "contacted": "на связи",
    },
}
BLUE, GREY, RED, GREEN = "#2f6db5", "#b8c4d6", "#c8423b", "#3d8b4f"


def label(key: str, lang: str) -> str:
    return LABELS.get(lang, LABELS["en"]).get(key, key)


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    # a fixed salt: the same report gives the same SVG (ids are hashes otherwise)
    with matplotlib.rc_context({"svg.hashsalt": "nurture", "svg.fonttype": "path"}):
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # no XML prolog: the SVG goes inside HTML


def _bars(height: float) -> tuple[Figure, Any]:
    fig = Figure(figsize=(8, max(1.6, height)), dpi=96)
    ax = fig.subplots()
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def _legend(ax: Any) -> None:
    """The legend beside the plot, where it covers no bar (``bbox_inches="tight"`` makes
    room for it)."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)


def _short(text: str, width: int = 38) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def funnel_chart(report: dict[str, Any], lang: str = "en") -> Figure:
    stages = report["funnel"]["overall"]["stages"]
    names = list(stages)
    fig, ax = _bars(0.45 * len(names) + 0.8)
    values = [stages[n] for n in names]
    ax.barh([label(n, lang) for n in names][::-1], values[::-1], color=BLUE)
    top = max(values) if values and max(values) else 1
    for y, v in enumerate(values[::-1]):
        ax.text(v + top * 0.01, y, f"{v:,} ({v / top:.0%})", va="center", fontsize=9)
    ax.set_xlim(0, top * 1.25)
    ax.set_title(label("funnel", lang))
    return fig


def coverage_chart(report: dict[str, Any], lang: str = "en") -> Figure:
    rows = report["coverage"]["events"]
    fig, ax = _bars(0.4 * len(rows) + 1.0)
    names = [_short(r["event"]) for r in rows][::-1]
    worked = [r["within_30d"] or 0 for r in rows][::-1]
    never = [r["never"] for r in rows][::-1]
    low, high = report["coverage"]["industry_30d"]
    ax.axvspan(low, high, color=GREY, alpha=0.5, label=label("industry", lang))
    colors = [RED if w < low else BLUE for w in worked]
    ax.barh(names, worked, color=colors)
    ax.scatter(never, names, color="black", marker="x", zorder=3, label=label("never", lang))
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(ticker.PercentFormatter(1.0))
    ax.set_title(label("coverage", lang))
    _legend(ax)
    return fig


def speed_chart(report: dict[str, Any], lang: str = "en") -> Figure:
    rows = [r for r in report["speed_to_lead"] if r["median_hours"] is not None]
    fig, ax = _bars(0.4 * len(rows) + 1.0)
    names = [_short(r["event"]) for r in rows][::-1]
    ax.barh(names, [r["p90_hours"] for r in rows][::-1], color=GREY, label=label("p90", lang))
    ax.barh(names, [r["median_hours"] for r in rows][::-1], color=BLUE, label=label("median", lang))
    ax.axvline(24, color=RED, linestyle="--", linewidth=1)
    ax.set_xlabel(label("hours", lang))
    ax.set_title(label("speed", lang))
    _legend(ax)
    return fig


def stage_chart(report: dict[str, Any], lang: str = "en") -> Figure:
    rows = [r for r in report["time_in_stage"]["stages"] if r["median_hours"] is not None]
    fig, ax = _bars(0.45 * len(rows) + 1.0)
    names = [label(r["stage"], lang) for r in rows][::-1]
    ax.barh(names, [r["p90_hours"] for r in rows][::-1], color=GREY, label=label("p90", lang))
    ax.barh(
        names,
        [r["median_hours"] for r in rows][::-1],
        color=[RED if r["slowest"] else BLUE for r in rows][::-1],
        label=label("median", lang),
    )
    ax.set_xlabel(label("hours", lang))
    ax.set_title(label("stages", lang))
    _legend(ax)
    return fig


def deal_stage_chart(report: dict[str, Any], lang: str = "en") -> Figure:
    rows = [r for r in report["time_in_stage"]["deal_stages"] if r["median_hours"] is not None]
    fig, ax = _bars(0.45 * max(len(rows), 1) + 1.0)
    names = [r["stage"] for r in rows][::-1]
    ax.barh(names, [r["p90_hours"] for r in rows][::-1], color=GREY, label=label("p90", lang))
    ax.barh(
        names,
        [r["median_hours"] for r in rows][::-1],
        color=[RED if r["slowest"] else BLUE for r in rows][::-1],
        label=label("median", lang),
    )
    ax.set_xlabel(label("hours", lang))
    ax.set_title(label("deal_stages", lang))
    if rows:
        _legend(ax)
    return fig


def manager_chart(report: dict[str, Any], lang: str = "en") -> Figure:
    rows = [r for r in report["time_in_stage"]["managers"] if r["overdue_rate"] is not None]
    fig, ax = _bars(0.4 * len(rows) + 1.0)
    rates = [r["overdue_rate"] for r in rows]
    mean = sum(rates) / len(rates) if rates else 0
    ax.barh(
        [_short(r["manager"]) for r in rows][::-1],
        rates[::-1],
        color=[RED if r > mean * 1.5 else BLUE for r in rates][::-1],
    )
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(ticker.PercentFormatter(1.0))
    ax.set_title(label("managers", lang))
    return fig


def sequence_chart(report: dict[str, Any], lang: str = "en") -> Figure:
    seq = report["sequences"]
    rows = seq["patterns"][:10]
    fig, ax = _bars(0.45 * len(rows) + 1.0)
    names = [_short(" → ".join(r["steps"]), 60) for r in rows][::-1]
    conv = [r["conversion"] for r in rows][::-1]
    err = [
        [r["conversion"] - r["ci_low"] for r in rows][::-1],
        [r["ci_high"] - r["conversion"] for r in rows][::-1],
    ]
    ax.barh(names, conv, xerr=err, color=GREEN, capsize=3)
    if seq["base_conversion"] is not None:
        ax.axvline(seq["base_conversion"], color=RED, linestyle="--", label=label("base", lang))
        _legend(ax)
    ax.xaxis.set_major_formatter(ticker.PercentFormatter(1.0))
    ax.set_title(label("sequences", lang).format(days=seq["days"]))
    return fig


def revenue_chart(report: dict[str, Any], lang: str = "en") -> Figure:
    rows = report["revenue"]["by_event"]
    fig, ax = _bars(0.4 * len(rows) + 1.0)
    ax.barh(
        [_short(r["event"]) for r in rows][::-1], [r["revenue"] for r in rows][::-1], color=GREEN
    )
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_title(label("revenue", lang))
    return fig


#: Every chart of the report, in reading order.
CHARTS: dict[str, Callable[[dict[str, Any], str], Figure]] = {
    "funnel": funnel_chart,
    "coverage": coverage_chart,
    "speed_to_lead": speed_chart,
    "time_in_stage": stage_chart,
    "deal_stages": deal_stage_chart,
    "managers": manager_chart,
    "sequences": sequence_chart,
    "revenue": revenue_chart,
}


def chart_fragments(report: dict[str, Any], lang: str = "en") -> dict[str, str]:
    """Each chart of ``report`` as an inline ``<svg>`` element, by name (:data:`CHARTS`)."""
    return {name: _svg(draw(report, lang)) for name, draw in CHARTS.items()}
