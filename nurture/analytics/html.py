"""The HTML report: one self-contained file (charts as inline SVG, styles inline, no script,
no font or image fetched), readable by a marketing lead, in English or Russian."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from nurture.analytics.charts import chart_fragments, label

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Sales analytics",
        "period": "Period",
        "leads": "leads met",
        "coverage_note": (
            "Industry surveys find only 30-40% of event leads are worked within 30 days. "
            "Red bars are events below that."
        ),
        "sequences_note": (
            "Steps of a lead's first days that convert above the base rate ({base}). "
            "Lift: conversion over the base; the interval is 95% (Wilson)."
        ),
        "event": "Event",
        "within_24bh": "within 24 business h",
        "within_30d": "within 30 days",
        "never": "never touched",
        "steps": "Steps",
        "leads_col": "Leads",
        "conversion": "Conversion",
        "lift": "Lift",
        "interval": "95% interval",
        "manager": "Manager",
        "overdue_rate": "Overdue",
        "escalated": "Escalated",
        "median": "Median h",
        "revenue": "Revenue",
        "won": "Won",
        "per_lead": "Per lead",
        "generated": "Generated",
        "stage": "Stage",
        "reached": "Deals reached",
        "p90": "p90 h",
        "level": "Level",
        "action": "Action",
        "escalations": "Escalations",
        "hours_late": "Median h late",
        "role": "Role",
        "tasks": "Tasks",
        "hours_total": "Business hours",
        "reassignments": "Reassignments",
    },
    "ru": {
        "title": "Аналитика продаж",
        "period": "Период",
        "leads": "лидов получено",
        "coverage_note": (
            "По отраслевым данным за 30 дней отрабатывают лишь 30-40% лидов с мероприятий. "
            "Красным отмечены мероприятия ниже этого уровня."
        ),
        "sequences_note": (
            "Шаги первых дней лида, после которых покупают чаще базового уровня ({base}). "
            "Лифт: конверсия к базовой; интервал 95% (Уилсон)."
        ),
        "event": "Мероприятие",
        "within_24bh": "за 24 рабочих часа",
        "within_30d": "за 30 дней",
        "never": "без касаний",
        "steps": "Шаги",
        "leads_col": "Лидов",
        "conversion": "Конверсия",
        "lift": "Лифт",
        "interval": "Интервал 95%",
        "manager": "Менеджер",
        "overdue_rate": "Просрочено",
        "escalated": "Эскалаций",
        "median": "Медиана, ч",
        "revenue": "Выручка",
        "won": "Продаж",
        "per_lead": "На лида",
        "generated": "Сформирован",
        "stage": "Этап",
        "reached": "Дошло сделок",
        "p90": "p90, ч",
        "level": "Уровень",
        "action": "Действие",
        "escalations": "Эскалаций",
        "hours_late": "Медиана опоздания, ч",
        "role": "Роль",
        "tasks": "Задач",
        "hours_total": "Рабочих часов",
        "reassignments": "Переназначений",
    },
}


def render_html(
    report: dict[str, Any], *, lang: str = "en", generated: datetime | None = None
) -> str:
    """The report as one HTML document (``lang``: ``en`` or ``ru``)."""
    from nurture.mail.templating import get_environment

    words = TEXT.get(lang, TEXT["en"])
    template = get_environment().get_template("analytics/report.html")
    return template.render(
        report=report,
        charts=chart_fragments(report, lang),
        t=words,
        chart_title=lambda key: label(key, lang),
        lang=lang if lang in TEXT else "en",
        generated=(generated or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC"),
    )
