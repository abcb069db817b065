"""Per-user iCalendar feeds at a secret URL (no sign-in: Google Calendar and Outlook cannot
send credentials).

``GET /feed/<token>.ics`` answers the user's open tasks (a supervisor's: the team's), each a
``VEVENT`` (Google and iOS ignore ``VTODO``) of 30 minutes at its due time, with:

* a stable ``UID`` per task (``task-<id>@<host>``), so moving a task moves the event instead
  of adding a second one;
* ``DTSTART`` in the user's time zone with its ``VTIMEZONE`` (the icalendar library writes
  the zone's rules), so clients never shift times twice;
* ``X-PUBLISHED-TTL`` (Outlook) and ``REFRESH-INTERVAL`` (RFC 7986) of 15 minutes;
* lines folded at 75 octets by the library (a badly folded line makes Google drop a feed).

The token is an HMAC (:func:`nurture.web.accounts.feed_path`); a wrong or revoked one gets
404, as does a disabled account. The access log never shows it (:mod:`nurture.web.logs`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response
from icalendar import Calendar, Event, vDuration, vText

from nurture.web.access import DB, manager_scope
from nurture.web.address import public_base_url
from nurture.web.work import WorkItem, open_work

__all__ = ["REFRESH", "build_calendar", "router"]

router = APIRouter(include_in_schema=False)
REFRESH = timedelta(minutes=15)
DURATION = timedelta(minutes=30)
MAX_EVENTS = 5000


def build_calendar(
    items: Iterable[WorkItem],
    *,
    name: str,
    timezone: str,
    base_url: str,
    stamp: datetime,
) -> bytes:
    """The feed's bytes: one ``VEVENT`` per item, times in ``timezone``."""
    zone = ZoneInfo(timezone)
    host = urlsplit(base_url).hostname or "nurture.local"
    cal = Calendar()
    cal.add("prodid", "-//Nurture//Tasks//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", timezone)
    cal.add("x-published-ttl", vDuration(REFRESH))
    cal.add("refresh-interval", vDuration(REFRESH), parameters={"VALUE": "DURATION"})
    for item in items:
        start = item.due_at.astimezone(zone)
        event = Event()
        event.add("uid", f"task-{item.id}@{host}")
        event.add("dtstamp", stamp.astimezone(UTC))
        event.add("dtstart", start)
        event.add("dtend", start + DURATION)
        summary = f"{item.title} — {item.lead_name}"
        event.add("summary", ("! " if item.hard else "") + summary)
        link = f"{base_url.rstrip('/')}/leads/{item.lead_id}"
        description = "\n\n".join(p for p in (item.instructions, link) if p)
        event.add("description", vText(description))
        event.add("url", link)
        event.add("categories", [item.kind])
        event.add("status", "CONFIRMED")
        event.add("transp", "TRANSPARENT")  # a task does not make the user look busy
        if item.hard:
            event.add("priority", 1)
        cal.add_component(event)
    cal.add_missing_timezones()
    return bytes(cal.to_ical())


@router.get("/feed/{token}.ics")
def feed(token: str, session: DB) -> Response:
    from nurture.web.accounts import feed_user
    from nurture.web.people import user_timezone
    from nurture.web.sessions import current_of

    user = feed_user(session, token)
    if user is None:
        raise HTTPException(status_code=404)
    current = current_of(user)
    scope = manager_scope(session, current)
    items = open_work(session, scope, limit=MAX_EVENTS) if scope != [] else []
    body = build_calendar(
        items,
        name=f"Nurture: {user.email}",
        timezone=user_timezone(session, current),
        base_url=public_base_url(session),
        stamp=datetime.now(UTC),
    )
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Cache-Control": "private, max-age=300",
            "Content-Disposition": 'inline; filename="nurture.ics"',
        },
    )
