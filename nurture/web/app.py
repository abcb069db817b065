"""The Nurture web app (FastAPI): pages for managers, supervisors and marketing, the JSON API
under ``/api``, the calendar feeds and the unsubscribe pages, in one application.

Run it with ``nurture serve`` or any ASGI server: ``uvicorn --factory
nurture.web.app:create_app``. Either refuses to start in production with the default
signing key (:func:`nurture.config.secret_key_warning`).
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from nurture.config import secret_key_warning
from nurture.web import unsubscribe
from nurture.web.access import CsrfFailed, LoginRequired, login_redirect_target

__all__ = ["STATIC_DIR", "create_app"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
log = logging.getLogger("nurture.web")

#: No inline script and nothing from another origin; htmx runs from /static.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def _wants_html(request: Request) -> bool:
    if request.url.path.startswith("/api/") or request.headers.get("hx-request"):
        return False
    return "application/json" not in request.headers.get("accept", "")


def _error_page(request: Request, status: int, title: str, text: str, **values: Any) -> Response:
    from nurture.web.pages import render, words_for

    if not _wants_html(request):
        return JSONResponse({"detail": words_for(request).t(title)}, status_code=status)
    w = words_for(request)
    return render(
        request,
        "error.html",
        {"title": w.t(title), "text": w.t(text, **values), "status": status},
        status_code=status,
    )


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    def login_required(request: Request, _exc: LoginRequired) -> Response:
        if not _wants_html(request):
            return JSONResponse({"detail": "sign in first"}, status_code=401)
        return RedirectResponse(login_redirect_target(request), status_code=303)

    @app.exception_handler(CsrfFailed)
    def csrf_failed(request: Request, _exc: CsrfFailed) -> Response:
        return _error_page(request, 403, "forbidden", "csrf_failed")

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return _error_page(request, 404, "not_found", "not_found_text")
        if exc.status_code == 403:
            return _error_page(request, 403, "forbidden", "forbidden_text")
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    def invalid_request(_request: Request, exc: RequestValidationError) -> Response:
        # Only where and what: never the submitted values (a password, a key) in the answer.
        detail = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(Exception)
    def server_error(request: Request, exc: Exception) -> Response:
        ref = secrets.token_hex(4)
        log.error("unhandled error %s on %s %s", ref, request.method, request.url.path)
        log.debug("details of %s", ref, exc_info=exc)
        return _error_page(request, 500, "server_error", "server_error_text", ref=ref)


def create_app() -> FastAPI:
    """A new application with every router mounted."""
    warning = secret_key_warning("nurture serve")  # ConfigError in production
    if warning:
        log.warning(warning)
    from nurture.web import (
        analytics_page,
        api,
        auth,
        calendar_page,
        campaign_pages,
        feed,
        home,
        import_pages,
        lead_pages,
        task_pages,
        team_page,
    )

    app = FastAPI(
        title="Nurture API",
        summary="Web-form intake, tasks and outcomes for integrations.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    _install_handlers(app)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        if "cache-control" not in response.headers and not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(auth.router)
    app.include_router(home.router)
    app.include_router(calendar_page.router)
    app.include_router(lead_pages.router)
    app.include_router(task_pages.router)
    app.include_router(team_page.router)
    app.include_router(campaign_pages.router)
    app.include_router(import_pages.router)
    app.include_router(analytics_page.router)
    app.include_router(feed.router)
    app.include_router(api.router)
    app.include_router(unsubscribe.router, include_in_schema=False)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
