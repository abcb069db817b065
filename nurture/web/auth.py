"""Sign-in, sign-out and the language switch.

``GET /login`` shows the form with a hidden ``csrf_token``; ``POST /login`` with ``email``,
``password`` and that token answers 303 to the page asked for and sets a new session cookie,
or 401 with the form again (no cookie) when the e-mail or password is wrong, or 429 while
the e-mail or the client address is throttled (:mod:`nurture.web.accounts`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from nurture.config import get_settings
from nurture.web import accounts, sessions
from nurture.web.access import ALL_ROLES, DB, CsrfFailed, allow_form, now, safe_next
from nurture.web.pages import render, words_for
from nurture.web.sessions import Current

__all__ = ["cookie_options", "router"]

router = APIRouter(include_in_schema=False)


def cookie_options() -> dict[str, object]:
    """HttpOnly, SameSite=Lax, whole site; Secure when the app is served over https."""
    secure = get_settings().public_url.lower().startswith("https://")
    return {"httponly": True, "samesite": "lax", "secure": secure, "path": "/"}


def _login_form(
    request: Request,
    *,
    error: str | None = None,
    status_code: int = 200,
    email: str = "",
) -> Response:
    token, new_cookie = sessions.presession_csrf(request.cookies.get(sessions.PRESESSION_COOKIE))
    response = render(
        request,
        "login.html",
        {
            "form_csrf": token,
            "error": error,
            "email": email,
            "next": safe_next(request.query_params.get("next")),
            "notice": request.query_params.get("notice"),
        },
        status_code=status_code,
    )
    if new_cookie is not None:
        response.set_cookie(sessions.PRESESSION_COOKIE, new_cookie, **cookie_options())  # type: ignore[arg-type]
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/login")
def login_page(request: Request) -> Response:
    return _login_form(request)


@router.post("/login")
def login(
    request: Request,
    session: DB,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    expected, _ = sessions.presession_csrf(request.cookies.get(sessions.PRESESSION_COOKIE))
    if request.cookies.get(sessions.PRESESSION_COOKIE) is None or not sessions.csrf_matches(
        expected, csrf_token
    ):
        raise CsrfFailed()
    w = words_for(request)
    client = request.client.host if request.client else None
    try:
        user = accounts.authenticate(session, email, password, client=client, now=now())
    except accounts.LockedOut as exc:
        minutes = max(1, (exc.retry_after + 59) // 60)
        response = _login_form(
            request, error=w.t("locked_out", minutes=minutes), status_code=429, email=email
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if user is None:
        return _login_form(request, error=w.t("bad_credentials"), status_code=401, email=email)
    # A new token every time: whatever session cookie the browser had is not reused.
    sessions.end(session, request.cookies.get(sessions.COOKIE))
    cookie, _csrf = sessions.start(session, user, now=now())
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(sessions.COOKIE, cookie, **cookie_options())  # type: ignore[arg-type]
    response.delete_cookie(sessions.PRESESSION_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(
    request: Request, session: DB, _user: Annotated[Current, allow_form(*ALL_ROLES)]
) -> Response:
    sessions.end(session, request.cookies.get(sessions.COOKIE))
    response = RedirectResponse("/login?notice=signed_out", status_code=303)
    response.delete_cookie(sessions.COOKIE, path="/")
    return response


@router.post("/settings/language")
def set_language(
    request: Request,
    session: DB,
    user: Annotated[Current, allow_form(*ALL_ROLES)],
    language: Annotated[str, Form(pattern="^(en|ru)$")],
    back: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    from nurture.db.web import WebUser

    account = session.get(WebUser, user.user_id)
    if account is not None:
        account.language = language
    return RedirectResponse(safe_next(back), status_code=303)
