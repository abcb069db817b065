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
from nurture.db.leads import TEMPLATE_FIELDS, Lead
from nurture.db.session import session_scope
from nurture.db.team import Manager
from nurture.mail import outbox
from nurture.mail.jobs import Job
from nurture.mail.suppression import LeadFlags, scopes_for

__all__ = ["CONTEXT_FIELDS", "FLAG_FIELDS", "Claimer", "lead_context"]

#: What a template's ``lead`` holds (plus ``full_name``): the lead's template fields from
#: :data:`nurture.db.leads.TEMPLATE_FIELDS`, its id, owner and extra data.
CONTEXT_FIELDS: tuple[str, ...] = ("id", *TEMPLATE_FIELDS, "owner_id", "extra")
#: What the send decision needs of a lead (:class:`~nurture.mail.blocking.LeadFlags`).
FLAG_FIELDS = ("do_not_contact", "unsubscribed_at", "email_status")

_LEADS: Table = Lead.__table__  # type: ignore[assignment]
_MANAGERS: Table = Manager.__table__  # type: ignore[assignment]
_CAMPAIGNS: Table = Campaign.__table__  # type: ignore[assignment]
#: Built once, ids bound at execution: table columns, not ORM attributes (plain rows without
#: the ORM's loading machinery), and no per-call coercion of a thousand literals.
_LEAD_QUERY = select(*(_LEADS.c[name] for name in (*CONTEXT_FIELDS, *FLAG_FIELDS))).where(
    _LEADS.c.id.in_(bindparam("ids", expanding=True))
)
#: Leads loaded per query (below every backend's bound-parameter limit).
_ID_CHUNK = 1000


def _with_full_name(data: dict[str, Any]) -> dict[str, Any]:
    data["full_name"] = " ".join(p for p in (data["first_name"], data["last_name"]) if p)
    return data


def lead_context(lead: Lead) -> dict[str, Any]:
    """The ``lead`` variable of a template: plain data, plus ``full_name``."""
    return _with_full_name({name: getattr(lead, name) for name in CONTEXT_FIELDS})


def _flags(data: dict[str, Any]) -> LeadFlags:
    """Take the flag fields out of a loaded lead row."""
    unsubscribed_at = data.pop("unsubscribed_at")
    return LeadFlags(
        do_not_contact=bool(data.pop("do_not_contact")),
        unsubscribed=unsubscribed_at is not None,
        undeliverable=data.pop("email_status") == "undeliverable",
    )


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
        for i in range(0, len(lead_ids), _ID_CHUNK):
            chunk = {"ids": lead_ids[i : i + _ID_CHUNK]}
            for row in session.execute(_LEAD_QUERY, chunk):
                data = row._asdict()
                flags[data["id"]] = _flags(data)
                leads[data["id"]] = _with_full_name(data)
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
            for c in session.execute(
                select(_CAMPAIGNS.c.slug, _CAMPAIGNS.c.name).where(_CAMPAIGNS.c.slug.in_(slugs))
            ):
                self._campaigns[c.slug] = {"slug": c.slug, "name": c.name}
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
