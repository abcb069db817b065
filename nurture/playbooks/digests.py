"""Digest e-mails as plain data: the supervisor's escalation digest (one per recipient per
run, whatever the number of missed deadlines) and the manager's daily digest (one per
manager per local day, at the start of their work hours).

Both go to staff, in the recipient's language and zone, signed by Nurture (never by the
manager who missed the deadline), each item with a link to the lead's page in the web app
(``NURTURE_PUBLIC_URL/leads/{id}``). Their dedupe keys make them exactly-once: the daily
key names the manager and the local date; the escalation key names the recipient and the
run's moment.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from nurture.text import count

DAILY_TEMPLATE = "system/daily_digest"
ESCALATION_TEMPLATE = "system/escalation_digest"


def lateness(late: timedelta, language: str) -> str:
    """``2 days 3 hours`` / ``2 дня 3 часа`` (minutes under an hour)."""
    seconds = max(0, int(late.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    ru = language == "ru"
    parts = []
    if days:
        parts.append(count(days, "день" if ru else "day", lang=language))
    if hours:
        parts.append(count(hours, "час" if ru else "hour", lang=language))
    if not parts:
        minutes = max(1, rest // 60)
        parts.append(f"{minutes} мин" if ru else f"{minutes} min")
    return " ".join(parts)


def local_label(moment: datetime, tz: str) -> str:
    """``2026-03-30 10:00 MSK`` in the recipient's zone."""
    return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z")


@dataclass
class Recipient:
    """Who a digest goes to: an address, their name, zone and language."""

    email: str
    name: str | None
    tz: str
    language: str
    manager_id: int | None = None


@dataclass
class EscalationItem:
    """One missed deadline (or a stalled deal) as a digest line."""

    lead_id: int
    lead_name: str
    task_title: str
    assignee: str | None
    due_at: datetime | None
    late: timedelta
    level: int
    action: str  # notify|reassign|stalled
    reassigned_to: str | None = None
    deal_id: int | None = None
    task_id: int | None = None


@dataclass
class EscalationDigest:
    recipient: Recipient
    items: list[EscalationItem] = field(default_factory=list)


def escalation_row(
    digest: EscalationDigest, *, now: datetime, public_url: str, shown: int, domain: str
) -> dict[str, Any]:
    """The outbox row of one recipient's escalation digest for the run at ``now``."""
    r = digest.recipient
    ordered = sorted(digest.items, key=lambda i: (-i.late.total_seconds(), i.lead_id))
    lines = [
        {
            "lead_id": i.lead_id,
            "lead": i.lead_name,
            "url": f"{public_url}/leads/{i.lead_id}",
            "task": i.task_title,
            "task_id": i.task_id,
            "deal_id": i.deal_id,
            "assignee": i.assignee,
            "due_local": local_label(i.due_at, r.tz) if i.due_at else None,
            "late": lateness(i.late, r.language),
            "level": i.level,
            "action": i.action,
            "reassigned_to": i.reassigned_to,
        }
        for i in ordered[:shown]
    ]
    stalled = sum(1 for i in digest.items if i.action == "stalled")
    who = hashlib.sha256(r.email.encode()).hexdigest()[:16]
    key = f"escalations.{who}.{now:%Y%m%dT%H%M%S}"
    return _row(
        key,
        template=ESCALATION_TEMPLATE,
        recipient=r,
        now=now,
        send_at=now,
        domain=domain,
        context={
            "manager": None,  # signed by Nurture, not by anyone who missed a deadline
            "language": r.language,
            "recipient_name": r.name,
            "items": lines,
            "total": len(digest.items),
            "missed": len(digest.items) - stalled,
            "stalled": stalled,
            "more": max(0, len(digest.items) - shown),
            "run_local": local_label(now, r.tz),
        },
    )


@dataclass
class DailyItem:
    task_id: int
    lead_id: int
    lead_name: str
    title: str
    due_at: datetime
    hard: bool
    deal_id: int | None
    section: str  # overdue|today|reminder


def daily_key(manager_id: int, day: date) -> str:
    return f"daily.{manager_id}.{day:%Y%m%d}"


def daily_row(
    recipient: Recipient,
    items: list[DailyItem],
    *,
    day: date,
    now: datetime,
    public_url: str,
    shown: int,
    domain: str,
) -> dict[str, Any]:
    """The outbox row of one manager's digest for their local ``day``."""
    assert recipient.manager_id is not None
    sections: dict[str, list[dict[str, Any]]] = {"overdue": [], "today": [], "reminder": []}
    counts = {name: 0 for name in sections}
    for item in sorted(items, key=lambda i: (i.due_at, i.task_id)):
        counts[item.section] += 1
        if len(sections[item.section]) < shown:
            sections[item.section].append(
                {
                    "task_id": item.task_id,
                    "lead_id": item.lead_id,
                    "lead": item.lead_name,
                    "url": f"{public_url}/leads/{item.lead_id}",
                    "title": item.title,
                    "due_local": local_label(item.due_at, recipient.tz),
                    "hard": item.hard,
                    "deal_id": item.deal_id,
                }
            )
    return _row(
        daily_key(recipient.manager_id, day),
        template=DAILY_TEMPLATE,
        recipient=recipient,
        now=now,
        send_at=now,
        domain=domain,
        context={
            "manager": None,
            "language": recipient.language,
            "recipient_name": recipient.name,
            "day": day.isoformat(),
            "overdue": sections["overdue"],
            "today": sections["today"],
            "reminders": sections["reminder"],
            "counts": counts,
            "total": len(items),
            "tasks_url": f"{public_url}/",
        },
    )


def _row(
    key: str,
    *,
    template: str,
    recipient: Recipient,
    now: datetime,
    send_at: datetime,
    domain: str,
    context: dict[str, Any],
) -> dict[str, Any]:
    return {
        "dedupe_key": key,
        "message_id": f"<{key}@{domain}>",
        "kind": "digest",
        "lead_id": None,
        "manager_id": recipient.manager_id,
        "campaign_slug": None,
        "step": None,
        "template": template,
        "to_addr": recipient.email,
        "context": context,
        "status": "queued",
        "attempts": 0,
        "next_attempt_at": send_at,
        "created_at": now,
    }
