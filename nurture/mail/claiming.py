"""Claiming due outbox rows and loading what their messages need, in set-based queries.

Used by the sender's database thread and by render worker processes (which claim in the
sender's name), so it imports only the database layer: a worker never loads the SMTP side.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Table, bindparam, select
from sqlalchemy.orm import Session

from nurture.db.cadence import Campaign
from nurture.db.leads import Lead
from nurture.db.session import session_scope
from nurture.db.team import Manager
from nurture.mail import outbox
from nurture.mail.jobs import Job
from nurture.mail.suppression import LeadFlags, scopes_for

__all__ = ["FLAG_FIELDS", "LEAD_FIELDS", "Claimer", "lead_context"]

LEAD_FIELDS = (
    "id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "middle_name",
    "company",
    "title",
    "city",
    "country",
    "language",
    "timezone",
    "interest",
    "segment",
    "owner_id",
    "extra",
)
FLAG_FIELDS = ("do_not_contact", "unsubscribed_at", "email_status")

_LEADS: Table = Lead.__table__  # type: ignore[assignment]
_MANAGERS: Table = Manager.__table__  # type: ignore[assignment]
_CAMPAIGNS: Table = Campaign.__table__  # type: ignore[assignment]
#: Built once, ids bound at execution: table columns, not ORM attributes (plain rows without
#: the ORM's loading machinery), and no per-call coercion of a thousand literals.
_LEAD_QUERY = select(*(_LEADS.c[name] for name in (*LEAD_FIELDS, *FLAG_FIELDS))).where(
    _LEADS.c.id.in_(bindparam("ids", expanding=True))
)


def _with_full_name(data: dict[str, Any]) -> dict[str, Any]:
    data["full_name"] = " ".join(p for p in (data["first_name"], data["last_name"]) if p)
    return data


def lead_context(lead: Lead) -> dict[str, Any]:
    """The ``lead`` variable of a template: plain data, plus ``full_name``."""
    return _with_full_name({name: getattr(lead, name) for name in LEAD_FIELDS})


class Claimer:
    """Claims due rows for one sender and loads what their messages need, in set-based
    queries. Runs in the sender's database thread, or in a render worker process (which then
    claims in the sender's name: the rows, the journal and reconciliation stay the sender's).
    """

    def __init__(self, engine: Engine, worker: str) -> None:
        self.engine = engine
        self.worker = worker
        self._campaigns: dict[str, dict[str, Any]] = {}

    def record(self, outcomes: Sequence[outbox.Outcome], now: datetime) -> None:
        """Write the outcomes of the sender's rows (one transaction)."""
        with session_scope(self.engine) as session:
            outbox.record(session, worker=self.worker, outcomes=outcomes, now=now)

    def claim(self, limit: int, now: datetime) -> list[Job]:
        """Claim up to ``limit`` due rows for the sender (one transaction) and load their jobs."""
        with session_scope(self.engine) as session:
            rows = outbox.claim(session, worker=self.worker, limit=limit, now=now)
            if not rows:
                return []
            return self.jobs(session, rows)

    def jobs(self, session: Session, rows: Sequence[outbox.ClaimedRow]) -> list[Job]:
        """What each row's message needs: lead, flags, manager, campaign, suppressions."""
        lead_ids = sorted({r.lead_id for r in rows if r.lead_id is not None})
        leads: dict[int, dict[str, Any]] = {}
        flags: dict[int, LeadFlags] = {}
        n = len(LEAD_FIELDS)
        for i in range(0, len(lead_ids), 1000):
            chunk = {"ids": lead_ids[i : i + 1000]}
            for values in session.execute(_LEAD_QUERY, chunk).all():
                data = _with_full_name(dict(zip(LEAD_FIELDS, values[:n], strict=True)))
                leads[data["id"]] = data
                do_not_contact, unsubscribed_at, email_status = values[n:]
                flags[data["id"]] = LeadFlags(
                    do_not_contact=bool(do_not_contact),
                    unsubscribed=unsubscribed_at is not None,
                    undeliverable=email_status == "undeliverable",
                )
        manager_ids = {r.manager_id for r in rows if r.manager_id is not None}
        manager_ids |= {ld["owner_id"] for ld in leads.values() if ld["owner_id"] is not None}
        managers = (
            {
                m.id: {"id": m.id, "name": m.name, "email": m.email}
                for m in session.execute(
                    select(_MANAGERS.c.id, _MANAGERS.c.name, _MANAGERS.c.email).where(
                        _MANAGERS.c.id.in_(manager_ids)
                    )
                )
            }
            if manager_ids
            else {}
        )
        slugs = {r.campaign_slug for r in rows if r.campaign_slug} - set(self._campaigns)
        if slugs:
            for slug, name in session.execute(
                select(_CAMPAIGNS.c.slug, _CAMPAIGNS.c.name).where(_CAMPAIGNS.c.slug.in_(slugs))
            ):
                self._campaigns[slug] = {"slug": slug, "name": name}
        scopes = scopes_for(session, (r.to_addr for r in rows))
        jobs = []
        for r in rows:
            lead = leads.get(r.lead_id) if r.lead_id is not None else None
            manager_id = r.manager_id or (lead["owner_id"] if lead is not None else None)
            slug = r.campaign_slug or ""
            jobs.append(
                Job(
                    row=r,
                    lead=lead,
                    flags=flags.get(r.lead_id) if r.lead_id is not None else None,
                    manager=managers.get(manager_id) if manager_id is not None else None,
                    campaign=self._campaigns.get(slug, {"slug": slug, "name": slug}),
                    scopes=scopes.get(r.to_addr.strip().lower(), {}),
                )
            )
        return jobs
