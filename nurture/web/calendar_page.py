"""The calendar (``/calendar``): a week or a month of tasks and planned touches in the user's
own zone; supervisors see their team (and may narrow it to one person)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from nurture.db.team import Manager
from nurture.web.access import ADMIN, DB, MANAGER, SUPERVISOR, allow, manager_scope, now
from nurture.web.home import feed_url
from nurture.web.pages import render
from nurture.web.people import zone_of
from nurture.web.sessions import Current
from nurture.web.work import open_work, planned_touches

__all__ = ["Day", "month_grid", "router", "week_grid"]

router = APIRouter(include_in_schema=False)


@dataclass
class Day:
    day: date
    in_range: bool = True
    items: list[dict[str, Any]] = field(default_factory=list)


def week_grid(anchor: date) -> list[date]:
    """Monday to Sunday of ``anchor``'s week."""
    monday = anchor - timedelta(days=anchor.weekday())
    return [monday + timedelta(days=i) for i in range(7)]


def month_grid(anchor: date) -> list[date]:
    """Whole weeks (Monday first) covering ``anchor``'s month."""
    first = anchor.replace(day=1)
    start = first - timedelta(days=first.weekday())
    following = (first + timedelta(days=32)).replace(day=1)
    end = following + timedelta(days=(7 - following.weekday()) % 7)
    return [start + timedelta(days=i) for i in range((end - start).days)]


def _bounds(days: list[date], zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(days[0], time(), zone)
    end = datetime.combine(days[-1] + timedelta(days=1), time(), zone)
    return start, end


@router.get("/calendar")
def calendar(
    request: Request,
    session: DB,
    user: Annotated[Current, allow(MANAGER, SUPERVISOR, ADMIN)],
    view: Annotated[str, Query(pattern="^(week|month)$")] = "week",
    on: Annotated[date | None, Query(alias="date")] = None,
    person: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    zone = zone_of(session, user)
    moment = now()
    today = moment.astimezone(zone).date()
    anchor = on or today
    days = week_grid(anchor) if view == "week" else month_grid(anchor)
    start, end = _bounds(days, zone)
    scope = manager_scope(session, user)
    people: list[tuple[int, str]] = []
    if scope is None or len(scope) > 1:
        query = select(Manager.id, Manager.name).order_by(Manager.name)
        if scope is not None:
            query = query.where(Manager.id.in_(scope))
        people = [(int(i), str(n)) for i, n in session.execute(query)]
    if person is not None and (scope is None or person in scope):
        scope = [person]
    grid = {d: Day(d, in_range=view == "week" or d.month == anchor.month) for d in days}
    if scope != []:
        for item in open_work(session, scope, due_from=start, due_before=end, limit=2000):
            local = item.due_at.astimezone(zone)
            grid[local.date()].items.append(
                {
                    "kind": "task",
                    "time": local.strftime("%H:%M"),
                    "title": item.title,
                    "lead": item.lead_name,
                    "lead_id": item.lead_id,
                    "overdue": item.due_at < moment,
                    "hard": item.hard,
                }
            )
        for touch in planned_touches(session, scope, due_from=start, due_before=end, limit=2000):
            local = touch.scheduled_at.astimezone(zone)
            grid[local.date()].items.append(
                {
                    "kind": touch.channel,
                    "time": local.strftime("%H:%M"),
                    "title": f"{touch.campaign}: {touch.channel}",
                    "lead": touch.lead_name,
                    "lead_id": touch.lead_id,
                    "overdue": False,
                    "hard": False,
                }
            )
    for d in grid.values():
        d.items.sort(key=lambda i: i["time"])
    step = timedelta(days=7) if view == "week" else timedelta(days=31)
    previous = (anchor - step) if view == "week" else (anchor.replace(day=1) - timedelta(days=1))
    following = (
        (anchor + step) if view == "week" else (anchor.replace(day=28) + step).replace(day=1)
    )
    return render(
        request,
        "calendar.html",
        {
            "view": view,
            "days": list(grid.values()),
            "today": today,
            "anchor": anchor,
            "previous": previous.isoformat(),
            "following": following.isoformat(),
            "zone": str(zone),
            "people": people,
            "person": person,
            "feed_url": feed_url(session, user),
        },
    )
