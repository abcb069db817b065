"""Unsubscribe: ``GET /unsubscribe/{token}`` shows a confirmation page and changes nothing
(link scanners follow GETs); ``POST /unsubscribe/{token}`` unsubscribes at once. The POST is
both the page's button and RFC 8058 one-click (body ``List-Unsubscribe=One-Click``, sent by
mail providers from the ``List-Unsubscribe-Post`` header).

The token is HMAC-signed (:mod:`nurture.mail.tokens`): a forged or edited token is rejected
with 400 and nothing changes. It names the message the link came in, not the address, so the
page shows the address masked (``i***@e***.ru``): whoever holds a forwarded link learns no
more than the link says. Unsubscribing writes a global suppression and sets
``lead.unsubscribed_at`` in one transaction; the sender checks both before every message.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from nurture.config import get_settings
from nurture.mail import (
    InvalidTokenError,
    UnsubscribeToken,
    get_environment,
    read_token,
    recipient_of,
    unsubscribe,
)

__all__ = ["mask_address", "router"]

router = APIRouter(tags=["unsubscribe"])


def mask_address(email: str) -> str:
    """``ivan.petrov@example.ru`` -> ``i***@e***.ru``: enough for its owner to recognise."""
    local, _, domain = email.partition("@")
    name, dot, tld = domain.rpartition(".")
    if not dot:
        name, tld = domain, ""
    return f"{local[:1]}***@{name[:1]}***{dot}{tld}"


def _page(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = get_environment().get_template(f"web/{name}").render(**context)
    return HTMLResponse(html, status_code=status_code)


def _recipient(token: str) -> UnsubscribeToken | None:
    """Whom a valid token unsubscribes, or None (forged, edited, or its message is gone)."""
    try:
        data = read_token(token, secret=get_settings().secret_key)
    except InvalidTokenError:
        return None
    if data.outbox_id is None:  # an old link: it carries the address itself
        return data
    from nurture.db.session import session_scope

    with session_scope() as session:
        return recipient_of(session, data)


def _shown(data: UnsubscribeToken) -> str:
    """The address as the page shows it: masked, unless the (old) link carries it anyway."""
    email = data.email or ""
    return email if data.outbox_id is None else mask_address(email)


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
def confirm_page(token: str) -> HTMLResponse:
    """The confirmation page with one button; never unsubscribes by itself."""
    data = _recipient(token)
    if data is None:
        return _page("unsubscribe_invalid.html", 400)
    return _page("unsubscribe_confirm.html", email=_shown(data), token=token)


@router.post("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_now(token: str) -> HTMLResponse:
    """One-click (RFC 8058) and the confirmation button: unsubscribe now, idempotently."""
    try:
        data = read_token(token, secret=get_settings().secret_key)
    except InvalidTokenError:
        return _page("unsubscribe_invalid.html", 400)
    from nurture.db.session import session_scope

    with session_scope() as session:
        recipient = recipient_of(session, data)
        if recipient is not None:
            unsubscribe(session, recipient, now=datetime.now(UTC))
    if recipient is None:
        return _page("unsubscribe_invalid.html", 400)
    return _page("unsubscribe_done.html", email=_shown(recipient))
