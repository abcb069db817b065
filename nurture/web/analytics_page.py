"""The analytics page (``/analytics``, marketing, supervisors and admins): the report of
``nurture report`` for a period (the last 90 days unless asked), with its charts.

The numbers are :func:`nurture.analytics.build_report`'s and the charts
:func:`nurture.analytics.chart_fragments`'s, on the same database, so the page, the
command and the weekly HTML report agree. Marketing sees the aggregates (by event, kind,
campaign, source, stage, sequence); a supervisor also the rows about their team's people;
an admin everyone's (:class:`nurture.web.analytics_view.Audience`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from nurture.db.team import Manager, Team
from nurture.errors import InputError
from nurture.web.access import ADMIN, DB, MARKETING, SUPERVISOR, allow, manager_scope, now
from nurture.web.analytics_view import (
    Audience,
    chart_images,
    for_audience,
    number,
    parse_period,
    percent,
)
from nurture.web.pages import render, words_for
from nurture.web.sessions import Current

__all__ = ["audience_of", "router"]

router = APIRouter(include_in_schema=False)
Reader = Annotated[Current, allow(MARKETING, SUPERVISOR, ADMIN)]


def audience_of(session: Session, user: Current) -> Audience:
    """Whose rows ``user`` sees: an admin everyone's, a supervisor their team's people and
    teams (:func:`nurture.web.access.manager_scope`), marketing nobody's."""
    if user.role == ADMIN:
        return Audience.everyone()
    if user.role != SUPERVISOR:
        return Audience.nobody()
    ids = manager_scope(session, user) or []
    people = session.execute(select(Manager.name, Manager.team_id).where(Manager.id.in_(ids)))
    names, team_ids = set(), set()
    for name, team_id in people:
        names.add(str(name))
        if team_id is not None:
            team_ids.add(team_id)
    teams = session.scalars(
        select(Team.name).where(or_(Team.id.in_(team_ids), Team.supervisor_email == user.email))
    )
    return Audience.of(names, (str(t) for t in teams))


@router.get("/analytics")
def analytics(
    request: Request,
    session: DB,
    user: Reader,
    since: str | None = None,
    until: str | None = None,
) -> Response:
    from nurture.analytics import build_report, chart_fragments
    from nurture.analytics.charts import label

    w = words_for(request)
    lang = w.lang
    context: dict[str, Any] = {
        "since": since or "",
        "until": until or "",
        "report": None,
        "charts": {},
        "error": None,
        "pct": lambda v, digits=0: percent(v, lang, digits),
        "num": lambda v, digits=0: number(v, lang, digits),
        "chart_title": lambda key: label(key, lang),
        "as_is": lambda text: text,
        "people": False,
    }
    try:
        start, end = parse_period(since, until, now=now())
    except InputError:
        context["error"] = w.t("an_bad_period")
        return render(request, "analytics.html", context, status_code=422)
    audience = audience_of(session, user)
    report = for_audience(build_report(session, since=start, until=end), audience)
    context.update(
        since=since or start.date().isoformat(),
        report=report,
        charts=chart_images(chart_fragments(report, lang)),
        people=audience.sees_people,
    )
    return render(request, "analytics.html", context)
