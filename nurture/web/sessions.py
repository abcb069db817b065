"""Signed-in sessions and CSRF tokens.

A session is a random 256-bit token. The browser holds it in the ``nurture_session`` cookie,
signed with the signing key (itsdangerous, with the time of signing), ``HttpOnly`` (scripts
cannot read it), ``SameSite=Lax`` (other sites' forms do not send it) and ``Secure`` when
the public URL is https. The database holds only its SHA-256 (``web_sessions.id``), so
neither a copy of the table nor a forged cookie opens a session.

* **Fixation**: :func:`start` always draws a new token at sign-in; a token the browser had
  before is never promoted.
* **Expiry**: a session ends ``session_max_hours`` after sign-in and after
  ``session_idle_minutes`` without a request; both are checked on every request.
  ``last_seen_at`` is written at most once a minute per session (a write per request would
  cost more than the page).
* **CSRF**: every form carries the session's ``csrf_token`` (htmx sends it as the
  ``X-CSRF-Token`` header); a POST without the right one is refused with 403. The sign-in
  form, before any session exists, uses a signed pre-session cookie ``nurture_presession``
  whose HMAC is the form's token (double submit).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from nurture.config import get_settings
from nurture.db.web import WebSession, WebUser
from nurture.web.settings import get_web_settings

__all__ = [
    "COOKIE",
    "PRESESSION_COOKIE",
    "Current",
    "csrf_matches",
    "current_of",
    "end",
    "load",
    "presession_csrf",
    "read_cookie",
    "sign",
    "start",
]

COOKIE = "nurture_session"
PRESESSION_COOKIE = "nurture_presession"
_TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Current:
    """The signed-in user of a request, as the pages need it."""

    session_id: str
    csrf_token: str
    user_id: int
    email: str
    role: str
    manager_id: int | None
    language: str | None
    timezone: str | None


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(get_settings().secret_key, salt=salt)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign(token: str, *, salt: str = COOKIE) -> str:
    """The cookie value for ``token``."""
    return _serializer(salt).dumps(token)


def read_cookie(value: str | None, *, salt: str = COOKIE, max_age: int | None = None) -> str | None:
    """The token inside a signed cookie value, or ``None`` when it is missing, altered,
    signed with another key or older than ``max_age`` seconds."""
    if not value or len(value) > 400:
        return None
    try:
        token = _serializer(salt).loads(value, max_age=max_age)
    except BadSignature:  # SignatureExpired is one
        return None
    return token if isinstance(token, str) else None


def start(session: Session, user: WebUser, *, now: datetime) -> tuple[str, str]:
    """A new session for ``user``; returns ``(cookie value, csrf token)``."""
    settings = get_web_settings()
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            id=_digest(token),
            user_id=user.id,
            csrf_token=csrf,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=settings.session_max_hours),
        )
    )
    # sessions that ended are of no use to anyone: drop this user's while we are here
    session.execute(
        delete(WebSession).where(WebSession.user_id == user.id, WebSession.expires_at <= now)
    )
    return sign(token), csrf


def load(session: Session, cookie: str | None, *, now: datetime) -> Current | None:
    """The live session of this cookie with its user, or ``None`` (and an expired or idle
    session is deleted)."""
    settings = get_web_settings()
    token = read_cookie(cookie, max_age=settings.session_max_hours * 3600)
    if token is None:
        return None
    sid = _digest(token)
    row = session.execute(
        select(WebSession, WebUser)
        .join(WebUser, WebUser.id == WebSession.user_id)
        .where(WebSession.id == sid)
    ).first()
    if row is None:
        return None
    ws, user = row  # a Row unpacks like a tuple (Row.tuple() is deprecated)
    idle = timedelta(minutes=settings.session_idle_minutes)
    if not user.active or ws.expires_at <= now or ws.last_seen_at + idle <= now:
        session.execute(delete(WebSession).where(WebSession.id == sid))
        return None
    if now - ws.last_seen_at >= _TOUCH_EVERY:
        session.execute(update(WebSession).where(WebSession.id == sid).values(last_seen_at=now))
    return Current(
        session_id=sid,
        csrf_token=ws.csrf_token,
        user_id=user.id,
        email=user.email,
        role=user.role,
        manager_id=user.manager_id,
        language=user.language,
        timezone=user.timezone,
    )


def end(session: Session, cookie: str | None) -> None:
    """Sign out: the session row goes, so the cookie is worthless even if kept."""
    token = read_cookie(cookie)
    if token is not None:
        session.execute(delete(WebSession).where(WebSession.id == _digest(token)))


def presession_csrf(cookie: str | None) -> tuple[str, str | None]:
    """The sign-in form's CSRF token and, when the browser has no valid pre-session cookie
    yet, the cookie value to set (else ``None``)."""
    nonce = read_cookie(cookie, salt=PRESESSION_COOKIE, max_age=24 * 3600)
    new_cookie = None
    if nonce is None:
        nonce = secrets.token_urlsafe(24)
        new_cookie = sign(nonce, salt=PRESESSION_COOKIE)
    key = get_settings().secret_key.encode()
    return hmac.new(key, f"login:{nonce}".encode(), hashlib.sha256).hexdigest(), new_cookie


def csrf_matches(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


def current_of(user: WebUser) -> Current:
    """A user as :class:`Current` outside any session (calendar feeds, API keys)."""
    return Current(
        session_id="",
        csrf_token="",
        user_id=user.id,
        email=user.email,
        role=user.role,
        manager_id=user.manager_id,
        language=user.language,
        timezone=user.timezone,
    )
