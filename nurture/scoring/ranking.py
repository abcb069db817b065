"""Dormant leads ranked by their latest score, and why a ranking came out empty.

Who is ranked: leads that can be re-engaged (:data:`REENGAGEABLE` statuses, not
do-not-contact, not unsubscribed, not merged) and are dormant in the sense of
:mod:`nurture.scoring.dormancy`: no purchase, click, reply, recorded activity or event after
the cutoff, whenever they were imported. Query functions take ``session`` as a keyword and
never commit.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from nurture.db.cadence import Purchase
from nurture.db.leads import Lead
from nurture.scoring.dormancy import dormant_at, last_signs
from nurture.scoring.store import latest_scores_subquery
from nurture.text import count

#: Statuses worth winning back: prospects, customers and lost deals (not ``closed``).
REENGAGEABLE: tuple[str, ...] = ("open", "converted", "lost")


def reengageable() -> ColumnElement[bool]:
    """SQL: the lead (correlated :class:`Lead`) may be contacted to win it back."""
    return and_(
        Lead.merged_into_id.is_(None),
        Lead.do_not_contact.is_(False),
        Lead.unsubscribed_at.is_(None),
        Lead.status.in_(REENGAGEABLE),
    )


def _silent_days(now: datetime, since: datetime | None) -> int | None:
    return None if since is None else max(0, (now - since).days)


def rank_dormant(
    *,
    session: Session,
    dormant_days: int = 180,
    top: int = 100,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Dormant leads that can be re-engaged, highest predicted value first.

    Each row has the lead's contact fields, its latest score (value, probability, the
    version or method that wrote it) and how long it has been silent."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    cutoff = now - timedelta(days=dormant_days)
    latest = latest_scores_subquery()
    last_purchase = (
        select(func.max(Purchase.purchased_at))
        .where(Purchase.lead_id == Lead.id)
        .correlate(Lead)
        .scalar_subquery()
    )
    stmt = (
        select(
            Lead.id,
            Lead.email,
            Lead.first_name,
            Lead.last_name,
            Lead.company,
            Lead.segment,
            Lead.status,
            Lead.owner_id,
            Lead.last_activity_at,
            last_purchase.label("last_purchase_at"),
            latest.c.predicted_value,
            latest.c.p_purchase,
            latest.c.model_version,
            latest.c.scored_at,
        )
        .join(latest, latest.c.lead_id == Lead.id)
        .where(reengageable(), dormant_at(cutoff))
        .order_by(latest.c.predicted_value.desc(), Lead.id)
        .limit(top)
    )
    rows = list(session.execute(stmt))
    signs = last_signs(session, [row.id for row in rows])
    out = []
    for rank, row in enumerate(rows, start=1):
        name = " ".join(p for p in (row.first_name, row.last_name) if p) or None
        out.append(
            {
                "rank": rank,
                "lead_id": row.id,
                "name": name,
                "email": row.email,
                "company": row.company,
                "segment": row.segment,
                "status": row.status,
                "owner_id": row.owner_id,
                "last_activity_at": row.last_activity_at,
                "last_purchase_at": row.last_purchase_at,
                "last_sign_of_life_at": signs.get(row.id),
                "silent_days": _silent_days(now, signs.get(row.id)),
                "predicted_value": round(float(row.predicted_value), 2),
                "p_purchase": round(float(row.p_purchase), 4),
                "model_version": row.model_version,
                "scored_at": row.scored_at,
            }
        )
    return out


def why_none_dormant(*, session: Session, dormant_days: int, now: datetime | None = None) -> str:
    """The real reason :func:`rank_dormant` found nobody, in one sentence."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    latest = latest_scores_subquery()
    scored = int(session.scalar(select(func.count()).select_from(latest)) or 0)
    if scored == 0:
        leads = int(
            session.scalar(select(func.count(Lead.id)).where(Lead.merged_into_id.is_(None))) or 0
        )
        if leads == 0:
            return "there are no leads yet: import an event list with `nurture import`"
        return (
            f"no lead has a score yet ({count(leads, 'lead')} in the database):"
            " run `nurture score leads`"
        )
    eligible = list(
        session.scalars(
            select(Lead.id).join(latest, latest.c.lead_id == Lead.id).where(reengageable())
        )
    )
    if not eligible:
        return (
            f"no scored lead can be re-engaged ({count(scored, 'scored lead')}, each closed,"
            " merged, do-not-contact or unsubscribed)"
        )
    signs = last_signs(session, eligible)
    lead_id, since = min(signs.items(), key=lambda item: (item[1], item[0]))
    days = _silent_days(now, since) or 0
    return (
        f"no lead that can be re-engaged has been silent for {count(dormant_days, 'day')}"
        f" ({count(len(eligible), 'scored lead')} checked): the longest silence is"
        f" {count(days, 'day')} (lead {lead_id}); try --dormant-days {days}"
    )


__all__ = ["REENGAGEABLE", "rank_dormant", "reengageable", "why_none_dormant"]
