"""Telling the owner, on plain data: one digest e-mail per manager per routing run (an
outbox row; the mail capability renders and sends it) and one first-contact task per
assigned lead, with a hard deadline in the manager's business hours (the cadence capability
escalates missed hard deadlines to the supervisor)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

DIGEST_TEMPLATE = "system/manager_digest"
DIGEST_LEADS_SHOWN = 100


def digest_key(manager_id: int, now: datetime, first_lead_id: int) -> str:
    """``digest.<manager>.<yyyymmddhhmm>.<lowest lead id>``: unique per manager and run, the
    same on a retry of the same run (so ON CONFLICT DO NOTHING never queues it twice)."""
    return f"digest.{manager_id}.{now.astimezone(UTC):%Y%m%d%H%M}.{first_lead_id}"


def task_key(lead_id: int, manager_id: int) -> str:
    return f"first_contact.{lead_id}.{manager_id}"


def local_label(moment: datetime, tz: str) -> str:
    """``2026-11-27 13:00 MSK`` in the manager's zone."""
    return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z")


def digest_entry(
    row: Any, *, name: str, kind: str, reason: str, due: datetime, tz: str
) -> dict[str, Any]:
    """One lead as the digest template sees it (JSON-ready)."""
    return {
        "id": row.id,
        "name": name,
        "company": row.company,
        "title": row.title,
        "city": row.city,
        "email": row.email,
        "phone": row.phone,
        "interest": row.interest,
        "kind": kind,
        "reason": reason,
        "due_at": due.isoformat(),
        "due_local": local_label(due, tz),
    }


def digest_row(
    *,
    manager_id: int,
    manager_name: str,
    manager_email: str,
    languages: tuple[str, ...] | list[str],
    entries: list[dict[str, Any]],
    total: int,
    first_lead_id: int,
    now: datetime,
    send_at: datetime,
    first_contact_hours: float,
    message_id_domain: str,
) -> dict[str, Any]:
    """The outbox row of one manager's digest (kind ``digest``, never per lead)."""
    key = digest_key(manager_id, now, first_lead_id)
    language = next((lg for lg in languages if lg in ("ru", "en")), "ru")
    return {
        "dedupe_key": key,
        "message_id": f"<{key}@{message_id_domain}>",
        "kind": "digest",
        "lead_id": None,
        "manager_id": manager_id,
        "campaign_slug": None,
        "step": None,
        "template": DIGEST_TEMPLATE,
        "to_addr": manager_email,
        "context": {
            # the digest goes TO the manager: no signature block of the base layout
            "manager": None,
            "language": language,
            "manager_name": manager_name,
            "leads": entries,
            "total": total,
            "more": total - len(entries),
            "first_contact_hours": (
                int(first_contact_hours)
                if first_contact_hours == int(first_contact_hours)
                else first_contact_hours
            ),
            "cycle_at": now.isoformat(),
        },
        "status": "queued",
        "attempts": 0,
        "next_attempt_at": send_at,
        "created_at": now,
    }
