"""The web app's own tables: accounts, sessions, login failures, API keys, idempotent requests.

Nothing here holds a secret in a form that can be replayed: passwords are Argon2 hashes,
session ids and API keys are stored as SHA-256 digests of the values the client holds, and
a calendar feed URL is an HMAC of the user's ``feed_nonce`` under the signing key (a new
nonce revokes the old URL).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nurture.db.base import Base, utcnow

ROLES: tuple[str, ...] = ("manager", "supervisor", "marketing", "admin")


class WebUser(Base):
    """A person who signs in to the web app.

    ``manager_id`` ties a manager or supervisor account to the team file's person with the
    same e-mail (``managers.id``): what they may see follows from that person's leads and
    team. Marketing and admin accounts have none. ``password_hash`` is an Argon2id hash
    (``None``: the account cannot sign in with a password).
    """

    __tablename__ = "web_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    role: Mapped[str] = mapped_column(String(20))  # manager|supervisor|marketing|admin
    manager_id: Mapped[int | None] = mapped_column(Integer, index=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(8))  # ru|en; None: from the person
    timezone: Mapped[str | None] = mapped_column(String(64))  # None: the person's, else default
    active: Mapped[bool] = mapped_column(default=True)
    feed_nonce: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None]


class WebSession(Base):
    """A signed-in browser. ``id`` is the SHA-256 of the token in the (signed) cookie, so a
    copy of this table cannot be replayed as a cookie. Ends at ``expires_at`` or after
    ``idle`` minutes without a request (see :mod:`nurture.web.sessions`)."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class LoginFailure(Base):
    """One failed sign-in, keyed by the e-mail tried and by the client address, for throttling."""

    __tablename__ = "web_login_failures"
    __table_args__ = (Index("ix_web_login_failures_key_failed_at", "key", "failed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(400))  # "email:<addr>" or "ip:<addr>"
    failed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """A key for the JSON API: ``nrt_<prefix>_<secret>``; only the prefix and the SHA-256 of
    the whole key are stored. ``scopes`` name what it may do; ``revoked_at`` ends it."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class ApiRequest(Base):
    """The answer to an API call made with an ``Idempotency-Key``: a retry with the same key
    (and the same body) gets this answer again instead of doing the work twice."""

    __tablename__ = "api_requests"
    __table_args__ = (UniqueConstraint("api_key_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    api_key_id: Mapped[int] = mapped_column(Integer)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebEndpoint(Base):
    """Where ``nurture serve`` last listened (one row, ``id`` 1): the base of the links the
    CLI prints (calendar feed URLs) when ``NURTURE_PUBLIC_URL`` is not set."""

    __tablename__ = "web_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    base_url: Mapped[str] = mapped_column(String(300))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
