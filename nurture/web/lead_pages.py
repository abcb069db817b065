"""The lead card (``/leads/{id}``) and the deal card (``/deals/{id}``).

The card shows the lead's contact data, every event and file row it came from, its whole
timeline (:func:`nurture.playbooks.lead_story`), its deals with the current stage's open
actions (instructions) and documents, and the next step; it records outcomes, replies,
conversions and losses through :mod:`nurture.playbooks`; supervisors reassign. A lead or
deal outside the user's scope is 404, like one that does not exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from nurture.db.leads import LEAD_FIELDS, field_label
from nurture.db.playbooks import Deal, Document
from nurture.errors import NurtureError
from nurture.playbooks import convert_lead, lead_story, list_tasks, lose_lead, record_reply
from nurture.privacy import record_access
from nurture.web.access import (
    ADMIN,
    DB,
    MANAGER,
    SUPERVISOR,
    allow,
    allow_form,
    lead_for,
    now,
)
from nurture.web.pages import render, words_for
from nurture.web.people import zone_of
from nurture.web.sessions import Current
from nurture.web.tasks_view import outcome_fields

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Worker = Annotated[Current, allow(MANAGER, SUPERVISOR, ADMIN)]
WorkerForm = Annotated[Current, allow_form(MANAGER, SUPERVISOR, ADMIN)]


def _deal_cards(session: DB, lead_id: int, moment: datetime) -> list[dict[str, Any]]:
    deals = []
    for d in session.scalars(select(Deal).where(Deal.lead_id == lead_id).order_by(Deal.id)):
        deals.append(
            {
                "deal": d,
                "actions": list_tasks(session, now=moment, deal_id=d.id),
                "documents": list(
                    session.scalars(
                        select(Document).where(Document.deal_id == d.id).order_by(Document.id)
                    )
                ),
            }
        )
    return deals


@router.get("/leads/{lead_id}")
def lead_card(
    request: Request, lead_id: int, session: DB, user: Worker, error: str | None = None
) -> Response:
    lead = lead_for(session, user, lead_id)
    moment = now()
    story = lead_story(session, lead.id)
    if error is None:  # a re-shown card after a failed action is the same view
        record_access(  # the audit log of personal data (docs/privacy.md)
            session,
            actor=user.email,
            channel="web",
            action="viewed",
            via="web lead card",
            lead_id=lead.id,
            email=lead.email,
            now=moment,
        )
    lang = words_for(request).lang
    zone = zone_of(session, user)
    open_tasks = list_tasks(session, now=moment, lead_id=lead.id)
    from nurture.web.team_page import team_choices

    return render(
        request,
        "lead.html",
        {
            "lead": lead,
            "story": story,
            "contact": [
                (field_label(f.name, lang), story["lead"].get(f.name))
                for f in LEAD_FIELDS
                if story["lead"].get(f.name)
            ],
            "timeline": list(reversed(story["story"])),
            "deals": _deal_cards(session, lead.id, moment),
            "tasks": open_tasks,
            "next_task": open_tasks[0] if open_tasks else None,
            "fields": {t.id: outcome_fields(session, t.id, lang) for t in open_tasks},
            "local": moment.astimezone(zone),
            "zone": zone,
            "can_reassign": user.role in (SUPERVISOR, ADMIN),
            "people": team_choices(session, user) if user.role in (SUPERVISOR, ADMIN) else [],
            "error": error,
            "back": f"/leads/{lead.id}",
        },
    )


def _act(request: Request, session: DB, user: Current, lead_id: int, action: Any) -> Response:
    lead_for(session, user, lead_id)
    try:
        with session.begin_nested():
            action()
    except NurtureError as exc:
        response = lead_card(request, lead_id, session, user, error=exc.format_message())
        response.status_code = 409 if "Conflict" in type(exc).__name__ else 422
        return response
    return RedirectResponse(f"/leads/{lead_id}", status_code=303)


@router.post("/leads/{lead_id}/reply")
def reply(
    request: Request,
    lead_id: int,
    session: DB,
    user: WorkerForm,
    note: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    return _act(
        request,
        session,
        user,
        lead_id,
        lambda: record_reply(session, lead_id, at=now(), actor=user.email, note=note or None),
    )


@router.post("/leads/{lead_id}/convert")
def convert(
    request: Request,
    lead_id: int,
    session: DB,
    user: WorkerForm,
    amount: Annotated[str, Form(max_length=30)] = "",
    currency: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    def run() -> None:
        value = None
        if amount.strip():
            try:
                value = float(amount.replace(",", ".").replace(" ", ""))
            except ValueError as exc:
                raise NurtureError(f"{amount!r} is not an amount") from exc
        convert_lead(
            session,
            lead_id,
            now=now(),
            actor=user.email,
            amount=value,
            currency=currency.strip().upper() or None,
        )

    return _act(request, session, user, lead_id, run)


@router.post("/leads/{lead_id}/lose")
def lose(
    request: Request,
    lead_id: int,
    session: DB,
    user: WorkerForm,
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    return _act(
        request,
        session,
        user,
        lead_id,
        lambda: lose_lead(session, lead_id, now=now(), actor=user.email, reason=reason),
    )


@router.get("/deals/{deal_id}")
def deal_card(request: Request, deal_id: int, session: DB, user: Worker) -> Response:
    deal = session.get(Deal, deal_id)
    if deal is None:
        raise HTTPException(status_code=404)
    lead_for(session, user, deal.lead_id)  # 404 unless the deal's lead is the user's to see
    moment = now()
    story = lead_story(session, deal.lead_id)
    return render(
        request,
        "deal.html",
        {
            "deal": deal,
            "lead": story["lead"],
            "card": [
                c for c in _deal_cards(session, deal.lead_id, moment) if c["deal"].id == deal.id
            ],
            "timeline": [e for e in reversed(story["story"]) if e.get("deal_id") == deal.id],
            "local": moment.astimezone(zone_of(session, user)),
        },
    )
