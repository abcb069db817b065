"""Unsubscribe: ``GET /unsubscribe/{token}`` shows a confirmation page and changes nothing
(link scanners follow GETs); ``POST /unsubscribe/{token}`` unsubscribes at once. The POST is
both the page's button and RFC 8058 one-click (body ``List-Unsubscribe=One-Click``, sent by
mail providers from the ``List-Unsubscribe-Post`` header).

The token is HMAC-signed (:mod:`nurture.mail.tokens`): a forged or edited token is rejected
with 400 and nothing changes. Unsubscribing writes a global suppression and sets
``lead.unsubscribed_at`` in one transaction; the sender checks both before every message.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from nurture.config import get_settings
from nurture.mail.suppression import unsubscribe as apply_unsubscribe
from nurture.mail.templating import get_environment
from nurture.mail.tokens import InvalidTokenError, UnsubscribeToken, read_token

__all__ = ["router"]

router = APIRouter(tags=["unsubscribe"])


def _page(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = get_environment().get_template(f"web/{name}").render(**context)
    return HTMLResponse(html, status_code=status_code)


def _token(token: str) -> UnsubscribeToken | None:
    try:
        return read_token(token, secret=get_settings().secret_key)
    except InvalidTokenError:
        return None


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
def confirm_page(token: str) -> HTMLResponse:
    """The confirmation page with one button; never unsubscribes by itself."""
    data = _token(token)
    if data is None:
        return _page("unsubscribe_invalid.html", 400)
    return _page("unsubscribe_confirm.html", email=data.email, token=token)


@router.post("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe(token: str) -> HTMLResponse:
    """One-click (RFC 8058) and the confirmation button: unsubscribe now, idempotently."""
    data = _token(token)
    if data is None:
        return _page("unsubscribe_invalid.html", 400)
    from nurture.db.session import session_scope

    with session_scope() as session:
        apply_unsubscribe(session, data, now=datetime.now(UTC))
    return _page("unsubscribe_done.html", email=data.email)
