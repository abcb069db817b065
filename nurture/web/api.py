"""The JSON API under ``/api`` (OpenAPI schema at ``/api/openapi.json``, a readable page at
``/api/docs``), for web forms and integrations. Every call carries an API key in the
``X-API-Key`` header; each route needs one scope (:mod:`nurture.web.apikeys`).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from nurture.errors import NurtureError
from nurture.web import apikeys, webform
from nurture.web.access import DB, now

__all__ = ["LeadIn", "router"]

router = APIRouter(prefix="/api", tags=["api"])


class KeyGuard:
    """Depends on a valid, unrevoked key holding ``scope``: 401 without a valid key, 403
    when the key lacks the scope."""

    def __init__(self, scope: str) -> None:
        if scope not in apikeys.SCOPES:
            raise ValueError(scope)
        self.scope = scope

    def __call__(
        self,
        session: DB,
        x_api_key: Annotated[str | None, Header(description="Your API key.")] = None,
    ) -> int:
        key = apikeys.verify_key(session, x_api_key)
        if key is None:
            raise HTTPException(status_code=401, detail="a valid X-API-Key header is needed")
        if self.scope not in key.scopes:
            raise HTTPException(status_code=403, detail=f"this key lacks the {self.scope} scope")
        key.last_used_at = now()
        return key.id


def needs(scope: str) -> Any:
    return Depends(KeyGuard(scope))


def _lead_fields() -> dict[str, Any]:
    return {
        name: (str | None, Field(default=None, max_length=300)) for name in webform.WEBFORM_FIELDS
    }


class _LeadBase(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    event: str = Field(
        default="Web form", min_length=1, max_length=300, description="Where the lead came from."
    )
    event_date: date | None = Field(default=None, description="The event's date, if any.")
    notes: str | None = Field(default=None, max_length=4000, description="The form's message.")

    @model_validator(mode="after")
    def _contact(self) -> _LeadBase:
        if not (getattr(self, "email", None) or getattr(self, "phone", None)):
            raise ValueError("a lead needs an email or a phone")
        return self


#: The body of ``POST /api/leads``: the lead fields intake reads, plus the event.
LeadIn = create_model("LeadIn", __base__=_LeadBase, **_lead_fields())


class LeadAnswer(BaseModel):
    lead_id: int | None
    outcome: str = Field(description="created, merged (into a known lead) or quarantined")
    batch_id: int
    reasons: list[str] | None = None


@router.post(
    "/leads",
    response_model=LeadAnswer,
    status_code=201,
    responses={
        200: {"model": LeadAnswer, "description": "Merged into a lead Nurture knew already."},
        409: {"description": "The same Idempotency-Key is being processed: retry."},
        422: {"description": "Invalid body, or the row was quarantined (reasons given)."},
    },
    summary="Send a lead from a web form",
)
def post_lead(
    body: LeadIn,
    key_id: Annotated[int, needs("leads:write")],
    idempotency_key: Annotated[
        str | None,
        Header(
            max_length=200,
            description="Any unique string per submission; a retry with it is answered "
            "again without importing twice.",
        ),
    ] = None,
) -> Response:
    """Import one lead through the same intake as files: cleaned, deduplicated against every
    known lead, kept with its source, routed to a manager; or quarantined with reasons."""
    data = body.model_dump()
    event, event_date = data.pop("event"), data.pop("event_date")
    try:
        answer = webform.submit(
            data,
            event=event,
            event_date=event_date,
            api_key_id=key_id,
            idempotency_key=idempotency_key,
        )
    except NurtureError as exc:
        return JSONResponse({"detail": exc.format_message()}, status_code=422)
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else None
    return JSONResponse(answer.body, status_code=answer.status_code, headers=headers)


class TaskOut(BaseModel):
    """A task as ``nurture task list --json`` prints it."""

    model_config = ConfigDict(extra="allow")

    id: int
    lead_id: int
    deal_id: int | None
    title: str
    instructions: str | None
    assignee: str | None
    due_at: str
    hard: bool
    status: str
    overdue: bool


class TaskList(BaseModel):
    tasks: list[TaskOut]


class OutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="The outcome form's values (key: value)."
    )
    note: str | None = Field(default=None, max_length=5000)


def _actor(session: DB, key_id: int) -> str:
    from nurture.db.web import ApiKey

    key = session.get(ApiKey, key_id)
    return f"api:{key.name}" if key is not None else "api"


@router.get("/tasks", response_model=TaskList, summary="List tasks")
def get_tasks(
    session: DB,
    _key: Annotated[int, needs("tasks:read")],
    assignee: Annotated[str | None, Query(max_length=320, description="E-mail.")] = None,
    lead_id: Annotated[int | None, Query(ge=1)] = None,
    overdue: bool = False,
    include_closed: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Response:
    """Open tasks (with ``include_closed``, all), by due time, as the CLI lists them."""
    from nurture.playbooks import list_tasks

    try:
        tasks = list_tasks(
            session,
            now=now(),
            assignee=assignee,
            lead_id=lead_id,
            overdue=overdue,
            include_closed=include_closed,
            limit=limit,
        )
    except NurtureError as exc:
        return JSONResponse({"detail": exc.format_message()}, status_code=422)
    return JSONResponse({"tasks": [t.as_json() for t in tasks]})


@router.post(
    "/tasks/{task_id}/outcome",
    response_model=TaskOut,
    responses={
        404: {"description": "No such task."},
        409: {"description": "The task is done or cancelled already."},
        422: {"description": "The outcome does not fit the task's form."},
    },
    summary="Complete a task with its outcome",
)
def post_outcome(
    task_id: int,
    body: OutcomeIn,
    session: DB,
    key_id: Annotated[int, needs("tasks:write")],
) -> Response:
    """Mark the task done with the outcome (validated against its action's form); the same
    as ``nurture task done``. Done twice: 409, nothing recorded twice."""
    from nurture.playbooks import ConflictError, UnknownRecordError, complete_task

    try:
        with session.begin_nested():
            task = complete_task(
                session,
                task_id,
                now=now(),
                actor=_actor(session, key_id),
                outcome=body.outcome,
                note=body.note,
            )
    except UnknownRecordError as exc:
        return JSONResponse({"detail": exc.format_message()}, status_code=404)
    except ConflictError as exc:
        return JSONResponse({"detail": exc.format_message()}, status_code=409)
    except NurtureError as exc:
        return JSONResponse({"detail": exc.format_message()}, status_code=422)
    return JSONResponse(task.as_json())


@router.get("/docs", include_in_schema=False)
def docs(request: Request, session: DB) -> Response:
    """The API described for people, from the same OpenAPI schema (nothing from a CDN)."""
    from nurture.web.address import public_base_url
    from nurture.web.pages import render

    schema = request.app.openapi()
    operations = [
        {"method": method.upper(), "path": path, **op}
        for path, item in schema.get("paths", {}).items()
        for method, op in item.items()
    ]
    return render(
        request,
        "api_docs.html",
        {
            "schema": schema,
            "operations": operations,
            "scopes": apikeys.SCOPES,
            "base_url": public_base_url(session),
        },
    )
