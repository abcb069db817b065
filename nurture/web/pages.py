"""Rendering a page: the project's Jinja environment, the frame's context, htmx fragments.

Every page extends ``web/base.html`` and gets ``t``/``n`` (words in the user's language),
``user`` (or ``None``), ``csrf_token`` and ``nav`` (the pages the user's role may open).
With ``block=...`` only that block is rendered (an htmx request swapping one part of a
page gets the same markup the full page would have had).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from nurture.mail.templating import get_environment
from nurture.web.i18n import Words, amount, pick_language, words
from nurture.web.sessions import Current

__all__ = ["NAV", "language_of", "render", "words_for"]

#: (path, label key, roles that see it in the menu)
NAV: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("/", "my_day", ("manager", "supervisor", "admin")),
    ("/calendar", "calendar", ("manager", "supervisor", "admin")),
    ("/team", "team", ("supervisor", "admin")),
    ("/campaigns", "campaigns", ("marketing", "admin")),
    ("/imports", "imports", ("marketing", "admin")),
    ("/duplicates", "duplicates", ("marketing", "admin")),
    ("/analytics", "analytics", ("supervisor", "marketing", "admin")),
)


def _current(request: Request) -> Current | None:
    return getattr(request.state, "current", None)


def language_of(request: Request) -> str:
    user = _current(request)
    chosen = user.language if user is not None else request.cookies.get("nurture_lang")
    return pick_language(chosen, request.headers.get("accept-language"))


def words_for(request: Request) -> Words:
    return words(language_of(request))


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    block: str | None = None,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """``templates/web/<name>`` for this request (or one ``block`` of it)."""
    user = _current(request)
    w = words_for(request)
    ctx: dict[str, Any] = {
        "t": w.t,
        "n": w.n,
        "lang": w.lang,
        "amount": lambda value: amount(value, w.lang),
        "user": user,
        "csrf_token": user.csrf_token if user is not None else "",
        "nav": [(p, key) for p, key, roles in NAV if user is not None and user.role in roles],
        "path": request.url.path,
        "flash": request.query_params.get("flash"),
        **(context or {}),
    }
    template = get_environment().get_template(f"web/{name}")
    if block is None:
        html = template.render(ctx)
    else:
        html = "".join(template.blocks[block](template.new_context(ctx)))
    return HTMLResponse(html, status_code=status_code, headers=headers)
