"""Imports and duplicates (marketing, admin): upload a lead list for an event, see what
became of every row, download the quarantine, review possible duplicates."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from nurture.errors import NurtureError
from nurture.web import imports
from nurture.web.access import ADMIN, DB, MARKETING, allow, allow_form
from nurture.web.pages import render
from nurture.web.sessions import Current
from nurture.web.settings import get_web_settings

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Marketing = Annotated[Current, allow(MARKETING, ADMIN)]
MarketingForm = Annotated[Current, allow_form(MARKETING, ADMIN)]


def _form(
    request: Request,
    session: DB,
    *,
    error: str | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "imports.html",
        {
            "batches": imports.recent_batches(session),
            "kinds": imports.KINDS,
            "error": error,
            "values": values or {"event": "", "kind": "exhibition", "date": ""},
        },
        status_code=status_code,
    )


@router.get("/imports")
def imports_page(request: Request, session: DB, _user: Marketing) -> Response:
    return _form(request, session)


@router.post("/imports")
def upload(
    request: Request,
    session: DB,
    _user: MarketingForm,
    file: Annotated[UploadFile, File()],
    event: Annotated[str, Form(min_length=1, max_length=300)],
    kind: Annotated[str, Form(max_length=20)] = "exhibition",
    on: Annotated[str, Form(alias="date", max_length=10)] = "",
) -> Response:
    values = {"event": event, "kind": kind, "date": on}
    try:
        try:
            event_date = date.fromisoformat(on) if on else None
        except ValueError as exc:
            raise NurtureError(f"{on!r} is not a date (YYYY-MM-DD)") from exc
        summary = imports.import_upload(
            file.file,
            file_name=file.filename,
            event=event,
            kind=kind,
            event_date=event_date,
            max_bytes=get_web_settings().max_upload_mb * 1024 * 1024,
        )
    except NurtureError as exc:
        return _form(request, session, error=exc.format_message(), values=values, status_code=422)
    flash = "&flash=already_imported" if summary["already_imported"] else ""
    return RedirectResponse(
        f"/imports/{summary['batch_id']}?routed={summary['routed']}{flash}", status_code=303
    )


@router.get("/imports/{batch_id}")
def batch_page(request: Request, batch_id: int, session: DB, _user: Marketing) -> Response:
    batch = imports.batch_row(session, batch_id)
    if batch is None:
        raise HTTPException(status_code=404)
    return render(
        request,
        "import_batch.html",
        {
            "b": batch,
            "quarantine": imports.quarantine_of(session, batch_id, limit=50),
            "routed": request.query_params.get("routed"),
        },
    )


@router.get("/imports/{batch_id}/quarantine.csv")
def quarantine_download(batch_id: int, session: DB, _user: Marketing) -> Response:
    batch = imports.batch_row(session, batch_id)
    if batch is None:
        raise HTTPException(status_code=404)
    stem = batch.file_name.rsplit(".", 1)[0]
    return Response(
        imports.quarantine_csv(session, batch_id).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="quarantine-{batch_id}-{stem}.csv"'},
    )


@router.get("/duplicates")
def duplicates_page(request: Request, session: DB, _user: Marketing) -> Response:
    from nurture.intake import list_duplicates

    return render(request, "duplicates.html", {"duplicates": list_duplicates(session)})


def _duplicate(session: DB, duplicate_id: int) -> tuple[int, int]:
    from nurture.db.leads import PossibleDuplicate

    dup = session.get(PossibleDuplicate, duplicate_id)
    if dup is None or dup.status != "open":
        raise HTTPException(status_code=404)
    return dup.lead_id, dup.candidate_id


@router.post("/duplicates/{duplicate_id}/merge")
def merge(duplicate_id: int, session: DB, user: MarketingForm) -> Response:
    """The newer record (the one flagged at import) goes into the one it resembles."""
    from nurture.intake import merge_leads

    lead_id, candidate_id = _duplicate(session, duplicate_id)
    try:
        merge_leads(
            session,
            survivor_id=candidate_id,
            merged_id=lead_id,
            reason=f"possible duplicate {duplicate_id} merged by {user.email} (web)",
        )
    except NurtureError as exc:
        raise HTTPException(status_code=409, detail=exc.format_message()) from exc
    return RedirectResponse("/duplicates?flash=merged_done", status_code=303)


@router.post("/duplicates/{duplicate_id}/dismiss")
def dismiss(duplicate_id: int, session: DB, _user: MarketingForm) -> Response:
    from nurture.intake import dismiss_duplicate

    _duplicate(session, duplicate_id)
    dismiss_duplicate(session, duplicate_id=duplicate_id)
    return RedirectResponse("/duplicates?flash=dismissed_done", status_code=303)
