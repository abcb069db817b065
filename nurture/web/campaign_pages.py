"""Campaign pages (marketing, admin): the list with its numbers, one campaign with its steps,
launch / pause / resume, and each e-mail step previewed in English and Russian."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from nurture.errors import NotFoundError
from nurture.web import campaigns
from nurture.web.access import ADMIN, DB, MARKETING, allow, allow_form
from nurture.web.pages import render
from nurture.web.sessions import Current

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Marketing = Annotated[Current, allow(MARKETING, ADMIN)]
MarketingForm = Annotated[Current, allow_form(MARKETING, ADMIN)]

#: What a previewed e-mail may do inside its frame: its own inline styles and data images.
PREVIEW_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        "frame-ancestors 'self'; sandbox"
    ),
    "X-Frame-Options": "SAMEORIGIN",
}


def _campaign(session: DB, slug: str) -> campaigns.CampaignRow:
    rows = campaigns.campaign_rows(session, slug=slug)
    if not rows:
        raise HTTPException(status_code=404)
    return rows[0]


@router.get("/campaigns")
def campaign_list(request: Request, session: DB, _user: Marketing) -> Response:
    return render(request, "campaigns.html", {"campaigns": campaigns.campaign_rows(session)})


@router.get("/campaigns/{slug}")
def campaign_page(request: Request, slug: str, session: DB, _user: Marketing) -> Response:
    row = _campaign(session, slug)
    return render(
        request,
        "campaign.html",
        {"c": row, "sample": campaigns.sample_lead(session, slug)},
    )


def _set(session: DB, slug: str, running: bool) -> Response:
    try:
        campaigns.set_running(session, slug, running)
    except NotFoundError as exc:
        raise HTTPException(status_code=404) from exc
    flash = "campaign_launched" if running else "campaign_paused"
    return RedirectResponse(f"/campaigns/{slug}?flash={flash}", status_code=303)


@router.post("/campaigns/{slug}/launch")
def launch(slug: str, session: DB, _user: MarketingForm) -> Response:
    return _set(session, slug, True)


@router.post("/campaigns/{slug}/resume")
def resume(slug: str, session: DB, _user: MarketingForm) -> Response:
    return _set(session, slug, True)


@router.post("/campaigns/{slug}/pause")
def pause(slug: str, session: DB, _user: MarketingForm) -> Response:
    return _set(session, slug, False)


def _step_template(row: campaigns.CampaignRow, step: str) -> str:
    for s in row.steps:
        if s["name"] == step and s["template"]:
            return str(s["template"])
    raise HTTPException(status_code=404)


@router.get("/campaigns/{slug}/preview/{step}")
def preview_page(
    request: Request,
    slug: str,
    step: str,
    session: DB,
    _user: Marketing,
    lead: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    row = _campaign(session, slug)
    template = _step_template(row, step)
    lead_id = lead or campaigns.sample_lead(session, slug)
    previews = campaigns.preview_step(session, template, lead_id) if lead_id else []
    return render(
        request,
        "campaign_preview.html",
        {"c": row, "step": step, "template": template, "lead_id": lead_id, "previews": previews},
    )


@router.get("/campaigns/{slug}/preview/{step}/{language}.html")
def preview_html(
    slug: str,
    step: str,
    language: str,
    session: DB,
    _user: Marketing,
    lead: Annotated[int, Query(ge=1)],
) -> Response:
    """The e-mail's HTML alone, for a sandboxed frame (its scripts never run)."""
    row = _campaign(session, slug)
    template = _step_template(row, step)
    for p in campaigns.preview_step(session, template, lead):
        if p.language == language and p.error is None:
            return HTMLResponse(p.html, headers=PREVIEW_HEADERS)
    raise HTTPException(status_code=404)
