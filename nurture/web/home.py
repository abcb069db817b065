"""The start page: My day for people who work leads, the campaigns for marketing."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from nurture.db.web import WebUser
from nurture.playbooks import TaskView
from nurture.web.access import ALL_ROLES, DB, MARKETING, allow, manager_scope, now
from nurture.web.accounts import feed_path
from nurture.web.address import public_base_url
from nurture.web.pages import render, words_for
from nurture.web.people import zone_of
from nurture.web.sessions import Current
from nurture.web.tasks_view import outcome_fields, predicted_values, tasks_of

__all__ = ["day_buckets", "router"]

router = APIRouter(include_in_schema=False)
UPCOMING_DAYS = 7


def day_buckets(
    items: list[TaskView],
    *,
    moment: datetime,
    zone_start: datetime,
    zone_end: datetime,
    values: dict[int, float] | None = None,
) -> dict[str, list[TaskView]]:
    """Overdue (due before now), today (the rest of the user's day) and upcoming; each
    sorted by deadline (the day it falls on in the user's zone, hard deadlines first), then
    by the lead's predicted value, highest first."""
    out: dict[str, list[TaskView]] = {"overdue": [], "today": [], "upcoming": []}
    for item in items:
        if item.due_at < moment:
            out["overdue"].append(item)
        elif zone_start <= item.due_at < zone_end:
            out["today"].append(item)
        else:
            out["upcoming"].append(item)
    value = values or {}
    zone = zone_start.tzinfo

    def order(t: TaskView) -> tuple[object, ...]:
        return (t.due_at.astimezone(zone).date(), not t.hard, -value.get(t.lead_id, 0.0), t.due_at)

    for bucket in out.values():
        bucket.sort(key=order)
    return out


def feed_url(session: DB, user: Current) -> str | None:
    account = session.get(WebUser, user.user_id)
    if account is None:
        return None
    return public_base_url(session) + feed_path(account)


@router.get("/")
def my_day(request: Request, session: DB, user: Annotated[Current, allow(*ALL_ROLES)]) -> Response:
    if user.role == MARKETING:
        return RedirectResponse("/campaigns", status_code=303)
    zone = zone_of(session, user)
    moment = now()
    local = moment.astimezone(zone)
    start = datetime.combine(local.date(), time(), zone)
    end = start + timedelta(days=1)
    horizon = start + timedelta(days=UPCOMING_DAYS + 1)
    scope = manager_scope(session, user)
    if user.role == "supervisor" and user.manager_id is not None:
        scope = [user.manager_id]  # my day is mine; the team is on /team and the calendar
    items = tasks_of(session, scope, now=moment, due_before=horizon) if scope != [] else []
    lang = words_for(request).lang
    return render(
        request,
        "my_day.html",
        {
            "buckets": day_buckets(
                items,
                moment=moment,
                zone_start=start,
                zone_end=end,
                values=predicted_values(session, (t.lead_id for t in items)),
            ),
            "fields": {t.id: outcome_fields(session, t.id, lang) for t in items},
            "can_reassign": False,
            "people": [],
            "back": "/",
            "zone": str(zone),
            "local": local,
            "feed_url": feed_url(session, user),
            "no_person": user.role != "admin" and user.manager_id is None,
        },
    )
