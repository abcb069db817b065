"""What a demo run did, for a marketing lead: counts gathered while it runs (:class:`Totals`)
and read back from the database at the end (:func:`finish_workspace`), told in English or
Russian (:func:`render`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nurture.demo.workspace import PASSWORD, Workspace

#: Silence that makes a lead dormant in the summary's ranking (the dormant campaign's own).
DORMANT_DAYS = 180
COUNTED = ("planned", "emails_queued", "tasks_created", "escalations", "reengaged")


@dataclass
class Totals:
    """Running totals over the simulated steps (plain counters the flow adds up)."""

    loaded: dict[str, Any] = field(default_factory=dict)
    intake: list[dict[str, Any]] = field(default_factory=list)
    cycle: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTED, 0))
    people: dict[str, float] = field(default_factory=dict)
    playbooks: dict[str, int] = field(default_factory=dict)
    send: dict[str, int] = field(default_factory=dict)
    scoring_runs: int = 0
    scored: int = 0
    steps: int = 0
    finished: dict[str, Any] = field(default_factory=dict)

    def add_intake(self, results: list[dict[str, Any]]) -> None:
        self.intake.extend(results)

    def add_cycle(self, summary: dict[str, Any]) -> None:
        self.steps += 1
        for key in COUNTED:
            self.cycle[key] += int(summary.get(key) or 0)

    def add_people(self, activity: dict[str, Any]) -> None:
        _add(self.people, activity)

    def add_playbooks(self, summary: dict[str, Any]) -> None:
        _add(self.playbooks, {k: v for k, v in summary.items() if isinstance(v, int)})

    def add_send(self, summary: dict[str, Any]) -> None:
        keys = ("sent", "failed_temp", "failed_perm", "suppressed", "unknown")
        _add(self.send, {k: summary.get(k, 0) for k in keys})

    def add_scoring(self, result: dict[str, Any]) -> None:
        self.scoring_runs += 1
        self.scored = int(result.get("scored") or 0)

    def progress_line(self) -> str:
        from nurture.text import count

        return (
            f"{count(self.send.get('sent', 0), 'e-mail')} sent, "
            f"{count(int(self.people.get('tasks_done', 0)), 'task')} done, "
            f"{count(self.cycle['escalations'], 'escalation')}, "
            f"{count(int(self.people.get('converted', 0)), 'lead')} converted"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "loaded": self.loaded,
            "intake": self.intake,
            "cycle": self.cycle,
            "people": self.people,
            "playbooks": self.playbooks,
            "send": self.send,
            "scoring_runs": self.scoring_runs,
            "scored": self.scored,
            "steps": self.steps,
            **self.finished,
        }


def _add(into: dict[str, Any], values: dict[str, Any]) -> None:
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        into[key] = into.get(key, 0) + value


def finish_workspace(
    space: Workspace, *, start: datetime, end: datetime, lang: str = "en", cdnow: bool = True
) -> dict[str, Any]:
    """Write the report, the leads export and the CDNOW predictions; return the figures."""
    from nurture.analytics import build_report
    from nurture.analytics.html import render_html
    from nurture.db.session import session_scope
    from nurture.intake.export import export_leads
    from nurture.scoring.ranking import rank_dormant

    with session_scope() as session:
        report = build_report(session, since=start, until=end)
        space.report.write_text(render_html(report, lang=lang, generated=end), encoding="utf-8")
        exported = export_leads(session, out=space.leads_export)
        figures = database_figures(session)
        dormant = rank_dormant(session=session, dormant_days=DORMANT_DAYS, top=5, now=end)
        reengaged = top_reengaged(session, top=5)
    coverage = report["coverage"]["overall"]
    return {
        "figures": figures,
        "coverage_30d": coverage["within_30d"],
        "industry_30d": report["coverage"]["industry_30d"],
        "never_touched": coverage["never"],
        "top_dormant": [_dormant_row(r) for r in dormant],
        "top_reengaged": reengaged,
        "exported": exported,
        "cdnow": cdnow_predictions(space.cdnow_predictions) if cdnow else None,
        "paths": {
            "database": str(space.database),
            "outbox": str(space.outbox),
            "report": str(space.report),
            "leads_export": str(space.leads_export),
            "cdnow_predictions": str(space.cdnow_predictions),
        },
        "eml_files": sum(1 for _ in space.outbox.glob("*.eml")),
        "period": {"start": start.isoformat(), "end": end.isoformat()},
    }


def database_figures(session: Session) -> dict[str, Any]:
    """Counts read back from the tables (what the database says happened)."""
    from nurture.db.cadence import Task
    from nurture.db.leads import Lead, LeadSource, QuarantineRow
    from nurture.db.mail import OutboxMessage
    from nurture.db.playbooks import Deal, ProcessEvent

    def grouped(column: Any, *where: Any) -> dict[str, int]:
        stmt = select(column, func.count()).group_by(column)
        for clause in where:
            stmt = stmt.where(clause)
        return {str(k): int(n) for k, n in session.execute(stmt)}

    sources = grouped(LeadSource.outcome)
    tasks = grouped(Task.status)
    late = session.scalar(
        select(func.count()).where(Task.status == "done", Task.completed_at > Task.due_at)
    )
    overdue = session.scalar(select(func.count()).where(Task.status == "open"))
    events = grouped(ProcessEvent.type)
    deals = grouped(Deal.status)
    won = session.scalar(
        select(func.coalesce(func.sum(Deal.amount), 0)).where(Deal.status == "won")
    )
    return {
        "leads": int(session.scalar(select(func.count()).select_from(Lead)) or 0),
        "lead_status": grouped(Lead.status),
        "rows_created": sources.get("created", 0),
        "rows_merged": sources.get("merged", 0),
        "rows_quarantined": int(
            session.scalar(select(func.count()).select_from(QuarantineRow)) or 0
        ),
        "emails": grouped(OutboxMessage.kind, OutboxMessage.status == "sent"),
        "emails_by_status": grouped(OutboxMessage.status),
        "tasks": tasks,
        "tasks_done_late": int(late or 0),
        "tasks_open": int(overdue or 0),
        "escalation_levels": events.get("task.escalated", 0),
        "replies": events.get("lead.replied", 0),
        "documents_approved": events.get("document.approved", 0),
        "documents_sent": events.get("document.sent", 0),
        "deals": deals,
        "revenue_won": float(won or 0),
        "converted": events.get("lead.converted", 0),
    }


def top_reengaged(session: Session, *, top: int) -> list[dict[str, Any]]:
    """Dormant customers the cycle brought back (a ``reengage`` task), highest predicted
    value first, by their latest score."""
    from nurture.db.cadence import Task
    from nurture.db.leads import Lead
    from nurture.scoring.store import latest_scores_subquery

    latest = latest_scores_subquery()
    rows = session.execute(
        select(
            Lead.id,
            Lead.first_name,
            Lead.last_name,
            Lead.email,
            Lead.company,
            latest.c.predicted_value,
        )
        .join(latest, latest.c.lead_id == Lead.id)
        .where(Lead.id.in_(select(Task.lead_id).where(Task.kind == "reengage")))
        .order_by(latest.c.predicted_value.desc(), Lead.id)
        .limit(top)
    ).all()
    return [
        {
            "lead_id": r.id,
            "name": " ".join(p for p in (r.first_name, r.last_name) if p) or r.email,
            "company": r.company,
            "predicted_value": round(float(r.predicted_value), 2),
        }
        for r in rows
    ]


def _dormant_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "lead_id": row["lead_id"],
        "name": row["name"] or row["email"] or f"lead {row['lead_id']}",
        "company": row["company"],
        "predicted_value": row["predicted_value"],
        "silent_days": row["silent_days"],
    }


def cdnow_predictions(out: Path) -> dict[str, Any]:
    """The CDNOW reference cohort's predicted value per customer at its reference cut."""
    from nurture.scoring import CDNOW_AS_OF, CDNOW_HORIZON_DAYS, load_cdnow, predict_values

    pred = predict_values(
        load_cdnow(None), as_of=CDNOW_AS_OF.date(), horizon_days=CDNOW_HORIZON_DAYS
    )
    pred.to_csv(out, index=False, float_format="%.4f")
    return {
        "customers": len(pred),
        "predicted_total": round(float(pred["predicted_value"].sum()), 2),
    }


LABELS = {
    "en": {
        "title": "Nurture demo: {days} days from {start} to {end}, {steps} simulated steps",
        "intake": "Leads in: {rows} rows from {files} event files: {created} new leads, "
        "{merged} merged into existing ones, {quarantined} quarantined with a reason",
        "touches": "Touches: {planned} planned, {marketing} e-mails sent to leads, "
        "{internal} notices and digests to the team, {reengaged} dormant customers re-engaged",
        "tasks": "Work: {created} tasks created, {done} done ({late} late), {open} still open",
        "escalations": "Escalations: {levels} missed deadlines escalated to supervisors",
        "deals": "Sales: {replies} replies, {deals} deals opened, {won} won "
        "({revenue:,.0f} in revenue), {docs} documents approved, {sent} sent to clients",
        "coverage": "Worked within 30 days: {coverage} of leads (industry: 30-40%); "
        "never touched: {never:.0%}",
        "dormant": "Dormant customers re-engaged, highest predicted value first:",
        "dormant_none": "No dormant customer needed re-engaging.",
        "still_dormant": "Still dormant, highest predicted value first:",
        "files": "Files: outbox {outbox} ({eml} .eml), report {report}, leads {leads}, "
        "CDNOW predictions {cdnow} ({customers:,} customers)",
        "prefect": "Prefect flow runs: {runs}; {tasks:,} task runs",
        "web": "Open the web app on this database:\n  NURTURE_DATABASE_URL={url} "
        ".venv/bin/nurture serve\nand sign in as {accounts} (password {password})",
    },
    "ru": {
        "title": "Демо Nurture: {days} дней с {start} по {end}, {steps} шагов модели",
        "intake": "Лиды: {rows} строк из {files} файлов мероприятий: {created} новых, "
        "{merged} слиты с существующими, {quarantined} в карантине с причиной",
        "touches": "Касания: {planned} запланировано, {marketing} писем лидам, "
        "{internal} уведомлений и сводок команде, {reengaged} спящих клиентов возвращено",
        "tasks": "Работа: {created} задач создано, {done} выполнено ({late} с опозданием), "
        "{open} ещё открыто",
        "escalations": "Эскалации: {levels} пропущенных сроков доведено до руководителей",
        "deals": "Продажи: {replies} ответов, {deals} сделок открыто, {won} выиграно "
        "(выручка {revenue:,.0f}), {docs} документов согласовано, {sent} отправлено клиентам",
        "coverage": "Отработано за 30 дней: {coverage} лидов (по отрасли: 30-40%); "
        "без касаний: {never:.0%}",
        "dormant": "Возвращённые спящие клиенты, по ожидаемой ценности:",
        "dormant_none": "Возвращать спящих клиентов не понадобилось.",
        "still_dormant": "Ещё спят, по ожидаемой ценности:",
        "files": "Файлы: письма {outbox} ({eml} .eml), отчёт {report}, лиды {leads}, "
        "прогнозы CDNOW {cdnow} ({customers:,} клиентов)",
        "prefect": "Запуски потоков Prefect: {runs}; задач: {tasks:,}",
        "web": "Веб-приложение на этой базе:\n  NURTURE_DATABASE_URL={url} "
        ".venv/bin/nurture serve\nвход: {accounts} (пароль {password})",
    },
}


def render(
    result: dict[str, Any], *, flow_runs: dict[str, int], task_runs: int, lang: str = "en"
) -> str:
    """The summary a marketing lead reads at the end of ``make demo``."""
    t = LABELS.get(lang, LABELS["en"])
    f = result["figures"]
    period = result["period"]
    start, end = _date(period["start"]), _date(period["end"])
    rows = sum(r["summary"].get("rows", 0) for r in result["intake"] if r.get("ok"))
    emails = f["emails"]
    tasks = f["tasks"]
    coverage = result["coverage_30d"]
    lines = [
        t["title"].format(days=(end - start).days + 1, start=start, end=end, steps=result["steps"]),
        "",
        t["intake"].format(
            rows=rows,
            files=len(result["intake"]),
            created=f["rows_created"],
            merged=f["rows_merged"],
            quarantined=f["rows_quarantined"],
        ),
        t["touches"].format(
            planned=result["cycle"]["planned"],
            marketing=emails.get("marketing", 0),
            internal=sum(n for k, n in emails.items() if k != "marketing"),
            reengaged=result["cycle"]["reengaged"],
        ),
        t["tasks"].format(
            created=sum(tasks.values()),
            done=tasks.get("done", 0),
            late=f["tasks_done_late"],
            open=f["tasks_open"],
        ),
        t["escalations"].format(levels=f["escalation_levels"]),
        t["deals"].format(
            replies=f["replies"],
            deals=sum(f["deals"].values()),
            won=f["deals"].get("won", 0),
            revenue=f["revenue_won"],
            docs=f["documents_approved"],
            sent=f["documents_sent"],
        ),
        t["coverage"].format(
            coverage="n/a" if coverage is None else f"{coverage:.0%}",
            never=result["never_touched"],
        ),
        "",
    ]
    if not result["top_reengaged"] and not result["top_dormant"]:
        lines.append(t["dormant_none"])
    if result["top_reengaged"]:
        lines.append(t["dormant"])
    for row in result["top_reengaged"]:
        company = f", {row['company']}" if row["company"] else ""
        lines.append(f"  #{row['lead_id']} {row['name']}{company}: {row['predicted_value']:,.0f}")
    if result["top_dormant"]:
        lines.append(t["still_dormant"])
    for row in result["top_dormant"]:
        company = f", {row['company']}" if row["company"] else ""
        lines.append(
            f"  #{row['lead_id']} {row['name']}{company}: {row['predicted_value']:,.0f}"
            f" ({row['silent_days']} d)"
        )
    paths = {key: _shown(value) for key, value in result["paths"].items()}
    lines += [
        "",
        t["files"].format(
            outbox=paths["outbox"],
            eml=result["eml_files"],
            report=paths["report"],
            leads=paths["leads_export"],
            cdnow=paths["cdnow_predictions"],
            customers=(result["cdnow"] or {}).get("customers", 0),
        ),
        t["prefect"].format(
            tasks=task_runs,
            runs=", ".join(f"{name} x{n}" for name, n in sorted(flow_runs.items())) or "none",
        ),
        t["web"].format(
            url=f"sqlite:///{paths['database']}",
            accounts=", ".join(result["loaded"].get("accounts", [])),
            password=PASSWORD,
        ),
    ]
    return "\n".join(lines)


def _shown(path: str) -> str:
    """``path`` relative to the working folder when it is inside it (as people type it)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return path


def _date(value: str) -> date:
    return datetime.fromisoformat(value).date()
