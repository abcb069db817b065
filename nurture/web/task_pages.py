"""Task actions from My day, the lead card and the team board: complete with the outcome,
reschedule, reassign (supervisors and admins). All through :mod:`nurture.playbooks`.

A form posted by htmx gets the task's card back (swapped in place); a plain form is
redirected to the page it came from. A mistake (a task done twice, a time in the past) is
shown on the card: 409 or 422 with the library's message.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from nurture.errors import NurtureError
from nurture.playbooks import ConflictError, complete_task, reassign_task, reschedule_task
from nurture.playbooks.tasks import TaskView
from nurture.web.access import ADMIN, DB, MANAGER, SUPERVISOR, allow_form, now, safe_next
from nurture.web.pages import render, words_for
from nurture.web.people import zone_of
from nurture.web.sessions import Current
from nurture.web.tasks_view import outcome_fields, task_for, values_from_form

__all__ = ["router", "task_card"]

router = APIRouter(include_in_schema=False)
Worker = Annotated[Current, allow_form(MANAGER, SUPERVISOR, ADMIN)]
Lead_ = Annotated[Current, allow_form(SUPERVISOR, ADMIN)]


def task_card(
    request: Request,
    session: DB,
    user: Current,
    task: TaskView,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    """The card of one task (``web/_task.html``), as My day shows it."""
    from nurture.web.team_page import team_choices

    zone = zone_of(session, user)
    moment = now()
    key = "overdue" if task.overdue else "today"
    return render(
        request,
        "task_card.html",
        {
            "item": task,
            "key": key,
            "local": moment.astimezone(zone),
            "fields": outcome_fields(session, task.id, words_for(request).lang),
            "task_error": error,
            "can_reassign": user.role in (SUPERVISOR, ADMIN),
            "people": team_choices(session, user) if user.role in (SUPERVISOR, ADMIN) else [],
            "back": request.headers.get("hx-current-url", "/"),
        },
        status_code=status_code,
    )


def _answer(
    request: Request,
    session: DB,
    user: Current,
    task_id: int,
    back: str,
    error: NurtureError | None = None,
) -> Response:
    task = task_for(session, user, task_id, now=now())
    if request.headers.get("hx-request"):
        if error is not None:
            code = 409 if isinstance(error, ConflictError) else 422
            # htmx swaps 2xx answers only: the card with its error comes back as 200
            response = task_card(request, session, user, task, error=error.format_message())
            response.headers["X-Nurture-Error"] = str(code)
            return response
        return task_card(request, session, user, task)
    if error is not None:
        code = 409 if isinstance(error, ConflictError) else 422
        return render(
            request,
            "error.html",
            {
                "title": words_for(request).t("outcome"),
                "text": error.format_message(),
                "status": code,
            },
            status_code=code,
        )
    return RedirectResponse(safe_next(back), status_code=303)


@router.post("/tasks/{task_id}/done")
async def done(request: Request, task_id: int, session: DB, user: Worker) -> Response:
    form = await request.form()
    note = form.get("note")
    back = str(form.get("back") or "/")
    task_for(session, user, task_id, now=now())
    fields = outcome_fields(session, task_id, words_for(request).lang)
    try:
        with session.begin_nested():
            complete_task(
                session,
                task_id,
                now=now(),
                actor=user.email,
                outcome=values_from_form(form, fields),
                note=str(note).strip() or None if isinstance(note, str) else None,
            )
    except NurtureError as exc:
        return _answer(request, session, user, task_id, back, exc)
    return _answer(request, session, user, task_id, back)


@router.post("/tasks/{task_id}/reschedule")
def reschedule(
    request: Request,
    task_id: int,
    session: DB,
    user: Worker,
    to: Annotated[str, Form(max_length=40)],
    reason: Annotated[str, Form(max_length=500)] = "",
    back: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    task_for(session, user, task_id, now=now())
    try:
        local = datetime.fromisoformat(to)
        moment = local if local.tzinfo else local.replace(tzinfo=zone_of(session, user))
        with session.begin_nested():
            reschedule_task(session, task_id, to=moment, reason=reason, now=now(), actor=user.email)
    except ValueError as exc:
        error = exc if isinstance(exc, NurtureError) else NurtureError(f"{to!r} is not a time")
        return _answer(request, session, user, task_id, back, error)
    except NurtureError as exc:
        return _answer(request, session, user, task_id, back, exc)
    return _answer(request, session, user, task_id, back)


@router.post("/tasks/{task_id}/reassign")
def reassign(
    request: Request,
    task_id: int,
    session: DB,
    user: Lead_,
    to: Annotated[str, Form(max_length=320)],
    reason: Annotated[str, Form(max_length=500)] = "",
    back: Annotated[str, Form(max_length=2000)] = "/team",
) -> Response:
    """Give the task to another person of the supervisor's team, with a reason."""
    from nurture.web.team_page import team_choices

    task_for(session, user, task_id, now=now())
    allowed = {email for email, _name in team_choices(session, user)}
    try:
        if to.strip().lower() not in allowed:
            raise NurtureError(f"{to} is not in your team")
        if not reason.strip():
            raise NurtureError("a reason is required to reassign")
        with session.begin_nested():
            reassign_task(
                session, task_id, to=to, now=now(), actor=user.email, reason=reason.strip()
            )
    except NurtureError as exc:
        return _answer(request, session, user, task_id, back, exc)
    return _answer(request, session, user, task_id, back)
