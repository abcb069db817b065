"""Dormancy: how long a lead has shown no sign of life.

One definition serves ranking dormant leads (``nurture score rank``) and the cadence's
re-engagement campaigns (:mod:`nurture.cadence.dormant`):

* a lead's **signs of life** are its purchases, its clicks and replies, and its
  ``last_activity_at`` (a reply, purchase or outcome recorded by a person); those of the
  leads merged into it count for it too;
* a lead is **dormant at a cutoff** when its last sign of life is on or before the cutoff.
  A lead with no sign of life at all counts from the last event where it was met, and
  without one from its creation in Nurture, the only date known about it.

The import date never delays dormancy: a customer imported today whose last purchase was
a year ago is dormant today, and so is a lead imported today from a list of an exhibition
held a year ago. Opens are not a sign of life (mail clients and privacy proxies fetch
images on their own); our own touches are not either.

:func:`dormant_at` is a SQL condition on :class:`~nurture.db.leads.Lead` for set-based
queries; :func:`last_signs` reads the date each lead went silent, for showing how long.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from nurture.db.cadence import Engagement, Purchase
from nurture.db.leads import Event, Lead, LeadSource

#: Engagement kinds that show a lead is alive (an open proves nothing).
ACTIVE_ENGAGEMENT: tuple[str, ...] = ("click", "reply")

_IN_CHUNK = 1000


def _merged_member() -> Any:
    return aliased(Lead, name="merged_member")


def _signs(after: datetime | None) -> list[ColumnElement[bool]]:
    """One EXISTS per kind of sign of life (own and merged leads' apart, so each can use
    its index), optionally only those dated after ``after``."""
    member = _merged_member()
    purchase_when = [] if after is None else [Purchase.purchased_at > after]
    engaged_when = [] if after is None else [Engagement.occurred_at > after]
    active = Engagement.kind.in_(ACTIVE_ENGAGEMENT)
    # IS NOT NULL first: a NULL comparison would make the whole OR unknown, and NOT unknown
    # is not true.
    activity: ColumnElement[bool] = Lead.last_activity_at.is_not(None)
    if after is not None:
        activity = and_(activity, Lead.last_activity_at > after)
    return [
        activity,
        exists().where(Purchase.lead_id == Lead.id, *purchase_when),
        exists().where(
            Purchase.lead_id == member.id, member.merged_into_id == Lead.id, *purchase_when
        ),
        exists().where(Engagement.lead_id == Lead.id, active, *engaged_when),
        exists().where(
            Engagement.lead_id == member.id,
            member.merged_into_id == Lead.id,
            active,
            *engaged_when,
        ),
    ]


def _met(after: datetime | None) -> ColumnElement[bool]:
    """The lead was met at an event with a date (after ``after``'s day, when given)."""
    when = Event.event_date.is_not(None) if after is None else Event.event_date > after.date()
    return exists().where(LeadSource.lead_id == Lead.id, Event.id == LeadSource.event_id, when)


def alive_after(cutoff: datetime) -> ColumnElement[bool]:
    """SQL: the lead (correlated :class:`Lead`) showed a sign of life after ``cutoff``."""
    return or_(*_signs(cutoff))


def dormant_at(cutoff: datetime) -> ColumnElement[bool]:
    """SQL: the lead has been silent since ``cutoff`` (see the module docstring)."""
    never_alive_since = and_(~_met(cutoff), or_(_met(None), Lead.created_at <= cutoff))
    return and_(~alive_after(cutoff), or_(*_signs(None), never_alive_since))


def _as_datetime(value: date | datetime | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.combine(value, time(), tzinfo=UTC)


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), _IN_CHUNK):
        yield ids[start : start + _IN_CHUNK]


def last_signs(session: Session, lead_ids: Sequence[int]) -> dict[int, datetime]:
    """When each lead went silent: its last sign of life, else the last event where it was
    met, else its creation. A few grouped queries per thousand leads, never one a lead."""
    owner = func.coalesce(Lead.merged_into_id, Lead.id)
    latest: dict[int, datetime] = {}
    met: dict[int, datetime] = {}

    def note(into: dict[int, datetime], lead_id: Any, when: date | datetime | None) -> None:
        moment = _as_datetime(when)
        if moment is not None and (int(lead_id) not in into or moment > into[int(lead_id)]):
            into[int(lead_id)] = moment

    for chunk in _chunks(list(lead_ids)):
        for lead_id, when in session.execute(
            select(owner, func.max(Purchase.purchased_at))
            .join(Lead, Lead.id == Purchase.lead_id)
            .where(owner.in_(chunk))
            .group_by(owner)
        ):
            note(latest, lead_id, when)
        for lead_id, when in session.execute(
            select(owner, func.max(Engagement.occurred_at))
            .join(Lead, Lead.id == Engagement.lead_id)
            .where(owner.in_(chunk), Engagement.kind.in_(ACTIVE_ENGAGEMENT))
            .group_by(owner)
        ):
            note(latest, lead_id, when)
        for lead_id, day in session.execute(
            select(LeadSource.lead_id, func.max(Event.event_date))
            .join(Event, Event.id == LeadSource.event_id)
            .where(LeadSource.lead_id.in_(chunk))
            .group_by(LeadSource.lead_id)
        ):
            note(met, lead_id, day)
        for lead_id, activity, created in session.execute(
            select(Lead.id, Lead.last_activity_at, Lead.created_at).where(Lead.id.in_(chunk))
        ):
            note(latest, lead_id, activity)
            if int(lead_id) not in latest:
                note(latest, lead_id, met.get(int(lead_id)) or created)
    return latest


__all__ = ["ACTIVE_ENGAGEMENT", "alive_after", "dormant_at", "last_signs"]
