"""Dormant re-engagement: customers silent for months are brought back, best first.

A campaign with a ``dormant:`` block (see ``examples/campaigns/dormant.yaml``) enrols leads
dormant for ``days`` days (:mod:`nurture.scoring.dormancy`: no purchase, click, reply or
recorded activity since, whatever the import date; ``customers_only``: who bought at least
once). They are ranked by predicted lifetime value from ``lead_scores`` (the latest score
per lead) when present, else by a recency-frequency-monetary heuristic, and taken in that
order *within each owner's capacity*: the owner's ``weekly_capacity`` (or the rule's
``max_per_owner_per_week``) minus the re-engagement tasks they got in the last 7 days.
The owner gets a task ``reengage`` with a suggested letter; the campaign's steps follow.

:func:`reengage` runs inside every nurture cycle; :func:`run_reengagement` runs it alone
(the daily ``reengage-dormant`` flow, ``nurture reengage``). A second run at any time in the
same week finds no one new: the enrolled are no longer candidates and capacity is spent.

:func:`rank` is pure (plain rows in, ordered ids out) and tested without a database.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from string import Template
from typing import Any

from sqlalchemy import exists, func, not_, or_, select
from sqlalchemy.orm import Session

from nurture.cadence.campaigns import CampaignSpec, load_specs, text_for
from nurture.cadence.guard import CampaignGuard
from nurture.cadence.statements import rowcount
from nurture.db.cadence import Campaign, Enrollment, Purchase, Task
from nurture.db.leads import Lead
from nurture.db.scoring import LeadScore
from nurture.db.sql import dialect_insert
from nurture.db.team import Manager
from nurture.scoring import dormant_at

DEFAULT_LETTER = {
    "ru": (
        "Здравствуйте, $first_name!\n\nДавно не общались. Мы подготовили для $company "
        "новые предложения по $product. Удобно ли созвониться на этой неделе?"
    ),
    "en": (
        "Hello $first_name,\n\nIt has been a while. We have something new for $company "
        "around $product. Would a short call this week suit you?"
    ),
}


@dataclass(frozen=True)
class Candidate:
    lead_id: int
    owner_id: int | None
    last_purchase: datetime | None
    purchases: int
    amount: float
    predicted_value: float | None


def rfm_score(c: Candidate, now: datetime) -> float:
    """A simple recency-frequency-monetary value: total spend, boosted by the log of the
    number of purchases, discounted by half-years since the last one (higher is better)."""
    if c.last_purchase is None:
        return 0.0
    months = max(0.0, (now - c.last_purchase).days / 30.4)
    return c.amount * (1.0 + math.log1p(c.purchases)) / (1.0 + months / 6.0)


def rank(candidates: list[Candidate], now: datetime) -> list[Candidate]:
    """Best first: leads with a predicted value by that value, then the rest by RFM."""
    scored = [c for c in candidates if c.predicted_value is not None]
    unscored = [c for c in candidates if c.predicted_value is None]
    scored.sort(key=lambda c: (-(c.predicted_value or 0.0), c.lead_id))
    unscored.sort(key=lambda c: (-rfm_score(c, now), c.lead_id))
    return scored + unscored


def pick(ranked: list[Candidate], capacity: dict[int, int]) -> tuple[list[Candidate], int]:
    """Take ranked candidates while their owner has capacity; (picked, left for later)."""
    left = dict(capacity)
    chosen: list[Candidate] = []
    waiting = 0
    for c in ranked:
        if c.owner_id is None or left.get(c.owner_id, 0) <= 0:
            waiting += 1
            continue
        left[c.owner_id] -= 1
        chosen.append(c)
    return chosen, waiting


def candidates(
    session: Session, campaign: Campaign, spec: CampaignSpec, *, now: datetime
) -> list[Candidate]:
    assert spec.dormant is not None
    since = now - timedelta(days=spec.dormant.days)
    enrolled_recently = exists(
        select(Enrollment.id).where(
            Enrollment.lead_id == Lead.id,
            Enrollment.campaign_id == campaign.id,
            or_(Enrollment.status == "active", Enrollment.enrolled_at >= since),
        )
    )
    agg = (
        select(
            Purchase.lead_id.label("lead_id"),
            func.max(Purchase.purchased_at).label("last"),
            func.count(Purchase.id).label("n"),
            func.sum(Purchase.amount).label("amount"),
        )
        .group_by(Purchase.lead_id)
        .subquery()
    )
    latest_score = (
        select(LeadScore.predicted_value)
        .where(LeadScore.lead_id == Lead.id)
        .order_by(LeadScore.scored_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    query = (
        select(Lead.id, Lead.owner_id, agg.c.last, agg.c.n, agg.c.amount, latest_score)
        .select_from(Lead)
        .join(agg, agg.c.lead_id == Lead.id, isouter=not spec.dormant.customers_only)
        .where(
            Lead.merged_into_id.is_(None),
            Lead.status.in_(["open", "converted"]),
            Lead.do_not_contact.is_(False),
            Lead.unsubscribed_at.is_(None),
            dormant_at(since),
            not_(enrolled_recently),
        )
    )
    return [
        Candidate(
            lead_id=int(r[0]),
            owner_id=r[1],
            last_purchase=r[2],
            purchases=int(r[3] or 0),
            amount=float(r[4] or 0.0),
            predicted_value=None if r[5] is None else float(r[5]),
        )
        for r in session.execute(query)
    ]


def owner_capacity(session: Session, spec: CampaignSpec, *, now: datetime) -> dict[int, int]:
    assert spec.dormant is not None
    week_ago = now - timedelta(days=7)
    given = dict(
        session.execute(
            select(Task.manager_id, func.count(Task.id))
            .where(Task.kind == "reengage", Task.created_at >= week_ago)
            .group_by(Task.manager_id)
        ).all()
    )
    out: dict[int, int] = {}
    for manager_id, weekly in session.execute(
        select(Manager.id, Manager.weekly_capacity).where(Manager.active.is_(True))
    ):
        limit = spec.dormant.max_per_owner_per_week
        cap = weekly if limit is None else min(weekly, limit)
        out[int(manager_id)] = max(0, cap - int(given.get(manager_id, 0)))
    return out


def suggested_letter(spec: CampaignSpec, language: str, fields: dict[str, Any]) -> str:
    assert spec.dormant is not None
    template = text_for(spec.dormant.letter, language) or DEFAULT_LETTER.get(
        language, DEFAULT_LETTER["en"]
    )
    return Template(template).safe_substitute({k: v or "" for k, v in fields.items()})


def reengage(
    session: Session,
    specs: list[tuple[Campaign, CampaignSpec]],
    *,
    now: datetime,
    guard: CampaignGuard | None = None,
) -> dict[str, int]:
    """Enrol dormant customers into each re-engagement campaign, best first, within each
    owner's capacity, and give the owner a ``reengage`` task. Returns counts. Each campaign
    runs under ``guard`` (by default: errors propagate)."""
    guard = guard or CampaignGuard(session, isolate=False)
    out = {"reengaged": 0, "waiting": 0}
    for campaign, spec in guard.live(specs):
        if spec.dormant is None:
            continue
        with guard.campaign(spec.slug):
            reengaged, waiting = _reengage_one(session, campaign, spec, now=now)
            out["reengaged"] += reengaged
            out["waiting"] += waiting
    return out


def run_reengagement(session: Session, *, now: datetime) -> dict[str, Any]:
    """Re-engagement on its own, in the caller's transaction: every live campaign with a
    ``dormant:`` block, each under its own :class:`CampaignGuard` savepoint (a failing
    campaign is rolled back and reported while the others go on, as in the cycle).

    Returns ``{"now", "reengaged", "waiting", "campaigns", "failed_campaigns"}``:
    ``campaigns`` counts the re-engagement campaigns that ran to the end; a stored
    definition that no longer validates is among ``failed_campaigns``, whatever its kind."""
    # The nurture cycle's own lock, as its re-engagement step writes the same rows: the two
    # never interleave, so an owner's weekly capacity is read after the other's tasks commit.
    from nurture.cadence.cycle import serialise  # the cycle imports this module

    serialise(session)
    guard = CampaignGuard(session)
    specs = [(c, s) for c, s in load_specs(session, guard=guard) if s.dormant is not None]
    counts = reengage(session, specs, now=now, guard=guard)
    return {
        "now": now.isoformat(),
        "reengaged": counts["reengaged"],
        "waiting": counts["waiting"],
        "campaigns": len(guard.live(specs)),
        "failed_campaigns": dict(guard.failed),
    }


def _reengage_one(
    session: Session, campaign: Campaign, spec: CampaignSpec, *, now: datetime
) -> tuple[int, int]:
    """Re-engage the dormant customers of one campaign: (enrolled, left waiting)."""
    assert spec.dormant is not None
    cands = candidates(session, campaign, spec, now=now)
    if not cands:
        return 0, 0
    chosen, waiting = pick(rank(cands, now), owner_capacity(session, spec, now=now))
    if not chosen:
        return 0, waiting
    reengaged = 0
    ids = [c.lead_id for c in chosen]
    cycles: dict[int, int] = defaultdict(int)
    for lead_id, cycle in session.execute(
        select(Enrollment.lead_id, func.max(Enrollment.cycle))
        .where(Enrollment.campaign_id == campaign.id, Enrollment.lead_id.in_(ids))
        .group_by(Enrollment.lead_id)
    ):
        cycles[int(lead_id)] = int(cycle)
    info = {
        int(r[0]): r
        for r in session.execute(
            select(Lead.id, Lead.first_name, Lead.company, Lead.language).where(Lead.id.in_(ids))
        )
    }
    last_product = dict(
        session.execute(
            select(Purchase.lead_id, func.max(Purchase.product))
            .where(Purchase.lead_id.in_(ids))
            .group_by(Purchase.lead_id)
        ).all()
    )
    first_due = now + timedelta(days=spec.steps[0].delay_days)
    enrol_rows = []
    task_rows = []
    for c in chosen:
        cycle = cycles[c.lead_id] + 1
        enrol_rows.append(
            {
                "lead_id": c.lead_id,
                "campaign_id": campaign.id,
                "cycle": cycle,
                "status": "active",
                "next_position": 0,
                "next_due_at": first_due,
                "enrolled_at": now,
                "stop_reason": None,
                "finished_at": None,
            }
        )
        _, first_name, company, language = info[c.lead_id]
        lang = "ru" if language == "ru" else "en"
        letter = suggested_letter(
            spec,
            lang,
            {
                "first_name": first_name,
                "company": company,
                "product": last_product.get(c.lead_id) or "",
            },
        )
        title = (
            f"Вернуть клиента (ценность {c.predicted_value or rfm_score(c, now):,.0f})"
            if lang == "ru"
            else f"Win back this customer (value {c.predicted_value or rfm_score(c, now):,.0f})"
        )
        task_rows.append(
            {
                "source_key": f"reengage.{c.lead_id}.{spec.slug}.{cycle}",
                "lead_id": c.lead_id,
                "manager_id": c.owner_id,
                "kind": "reengage",
                "title": title,
                "instructions": letter,
                "due_at": now + timedelta(days=2),
                "deadline": "recommended",
                "status": "open",
                "created_at": now,
                "outcome": None,
                "escalated_at": None,
                "escalated_to": None,
                "completed_at": None,
            }
        )
    for i in range(0, len(enrol_rows), 1000):
        res = session.execute(
            dialect_insert(session, Enrollment)
            .values(enrol_rows[i : i + 1000])
            .on_conflict_do_nothing()
            .execution_options(preserve_rowcount=True)
        )
        reengaged += rowcount(res)
        session.execute(
            dialect_insert(session, Task).values(task_rows[i : i + 1000]).on_conflict_do_nothing()
        )
    return reengaged, waiting


__all__ = ["Candidate", "pick", "rank", "reengage", "rfm_score", "run_reengagement"]
