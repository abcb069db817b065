"""The start page: My day for people who work leads, the campaigns for marketing."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from nurture.config import get_settings
from nurture.db.web import WebUser
from nurture.web.access import ALL_ROLES, DB, MARKETING, allow, manager_scope, now
from nurture.web.accounts import feed_path
from nurture.web.pages import render
from nurture.web.people import zone_of
from nurture.web.sessions import Current
from nurture.web.work import WorkItem, open_work

__all__ = ["day_buckets", "router"]

router = APIRouter(include_in_schema=False)
UPCOMING_DAYS = 7


def day_buckets(
    items: list[WorkItem], *, moment: datetime, zone_start: datetime, zone_end: datetime
) -> dict[str, list[WorkItem]]:
    """Overdue (due before now), today (the rest of the user's day) and upcoming."""
    out: dict[str, list[WorkItem]] = {"overdue": [], "today": [], "upcoming": []}
    for item in items:
        if item.due_at < moment:
            out["overdue"].append(item)
        elif zone_start <= item.due_at < zone_end:
            out["today"].append(item)
        else:
            out["upcoming"].append(item)
    return out


def feed_url(session: DB, user: Current) -> str | None:
    account = session.get(WebUser, user.user_id)
    if account is None:
        return None
    return get_settings().public_url.rstrip("/") + feed_path(account)


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
    items = open_work(session, scope, due_before=horizon) if scope != [] else []
    return render(
        request,
        "my_day.html",
        {
            "buckets": day_buckets(items, moment=moment, zone_start=start, zone_end=end),
            "zone": str(zone),
            "local": local,
            "feed_url": feed_url(session, user),
            "no_person": user.role != "admin" and user.manager_id is None,
        },
    )
