"""Web accounts: who may sign in, with which role, tied to which person of the team file.

* Passwords are hashed with Argon2id (argon2-cffi's defaults, RFC 9106's second
  recommendation); a hash made with older parameters is re-hashed at the next sign-in.
* :func:`authenticate` costs one hash verification whether or not the e-mail exists, so the
  answer's timing does not tell which addresses have accounts.
* Throttling: each failure is a row keyed by the e-mail tried and by the client address;
  more than ``login_max_failures`` for an e-mail (or ``login_max_failures_per_address`` from
  an address) within ``login_window_minutes`` locks sign-in for that key until the window
  has passed, even with the right password. Rows live in the database, so every server
  process of one deployment sees the same counts.
* Calendar feed URLs: ``/feed/<user id>.<HMAC(signing key, user id, feed_nonce)>.ics``.
  Unguessable without the key and the nonce; :func:`rotate_feed` draws a new nonce, which
  revokes the old URL at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from nurture.config import get_settings
from nurture.db.team import Manager
from nurture.db.web import ROLES, LoginFailure, WebSession, WebUser
from nurture.errors import InputError, NotFoundError
from nurture.web.settings import get_web_settings

__all__ = [
    "ROLES",
    "Account",
    "LockedOut",
    "UnknownAccountError",
    "add_user",
    "authenticate",
    "disable_user",
    "feed_path",
    "feed_user",
    "find_user",
    "hash_password",
    "list_users",
    "rotate_feed",
    "set_password",
]


@lru_cache(maxsize=4)
def _hashers(time_cost: int, memory_kib: int, parallelism: int) -> tuple[PasswordHasher, str]:
    """The hasher for these costs and a hash to verify against when the e-mail is unknown
    (so both answers take as long)."""
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
    return hasher, hasher.hash(secrets.token_urlsafe(16))


def _hasher() -> tuple[PasswordHasher, str]:
    s = get_web_settings()
    return _hashers(s.password_time_cost, s.password_memory_kib, s.password_parallelism)


class UnknownAccountError(NotFoundError):
    """No such account, person or key: a user's mistake (exit 2)."""

    exit_code = 2


class LockedOut(Exception):
    """Too many failed sign-ins for this e-mail or address; try again after ``retry_after``."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"too many failed sign-ins; try again in {retry_after} s")


@dataclass(frozen=True)
class Account:
    """What the CLI and the pages show of a user (never the hash)."""

    id: int
    email: str
    role: str
    active: bool
    manager_id: int | None
    name: str | None
    language: str | None


def hash_password(password: str) -> str:
    shortest = get_web_settings().password_min_length
    if len(password) < shortest:
        raise InputError(
            f"the password needs at least {shortest} characters (NURTURE_WEB_PASSWORD_MIN_LENGTH)"
        )
    return _hasher()[0].hash(password)


def _normal_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise InputError(f"{email!r} is not an e-mail address", field="email")
    return email


def find_user(session: Session, email: str) -> WebUser:
    user = session.scalars(select(WebUser).where(WebUser.email == _normal_email(email))).first()
    if user is None:
        raise UnknownAccountError(
            f"no web account {email.strip().lower()!r} (see `nurture users list`)"
        )
    return user


def add_user(
    session: Session,
    email: str,
    *,
    role: str,
    password: str | None = None,
    language: str | None = None,
) -> WebUser:
    """Create an account. A manager or supervisor account is tied to the team file's person
    with the same e-mail (it must exist: ``nurture team load`` first)."""
    email = _normal_email(email)
    if role not in ROLES:
        raise InputError(f"unknown role {role!r} (one of {', '.join(ROLES)})", field="role")
    if language is not None and language not in ("ru", "en"):
        raise InputError(f"unknown language {language!r} (ru or en)", field="language")
    if session.scalars(select(WebUser.id).where(WebUser.email == email)).first() is not None:
        raise InputError(f"a web account {email!r} exists already", field="email")
    manager_id = None
    if role in ("manager", "supervisor"):
        person = session.scalars(select(Manager).where(func.lower(Manager.email) == email)).first()
        if person is None:
            raise UnknownAccountError(
                f"{email} is not in the team file: a {role} account needs the person "
                "(load it with `nurture team load`)"
            )
        manager_id = person.id
    user = WebUser(
        email=email,
        role=role,
        manager_id=manager_id,
        password_hash=hash_password(password) if password is not None else None,
        language=language,
        active=True,
        feed_nonce=secrets.token_urlsafe(24),
    )
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, user: WebUser, password: str) -> None:
    """A new password; every session of the user ends (a stolen cookie stops working)."""
    user.password_hash = hash_password(password)
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))


def disable_user(session: Session, email: str, *, now: datetime) -> WebUser:
    """The account can no longer sign in; its sessions end and its feed URL stops working."""
    user = find_user(session, email)
    user.active = False
    user.disabled_at = user.disabled_at or now
    user.feed_nonce = secrets.token_urlsafe(24)
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    return user


def list_users(session: Session) -> list[Account]:
    rows = session.execute(
        select(WebUser, Manager.name)
        .outerjoin(Manager, Manager.id == WebUser.manager_id)
        .order_by(WebUser.email)
    ).all()
    return [
        Account(
            id=u.id,
            email=u.email,
            role=u.role,
            active=u.active,
            manager_id=u.manager_id,
            name=name,
            language=u.language,
        )
        for u, name in rows
    ]


# ---- sign-in -----------------------------------------------------------------------------


def _failures(session: Session, key: str, since: datetime) -> tuple[int, datetime | None]:
    n, first = session.execute(
        select(func.count(), func.min(LoginFailure.failed_at)).where(
            LoginFailure.key == key, LoginFailure.failed_at > since
        )
    ).one()
    return int(n), first


def _check_throttle(session: Session, keys: list[tuple[str, int]], now: datetime) -> None:
    window = timedelta(minutes=get_web_settings().login_window_minutes)
    for key, limit in keys:
        n, first = _failures(session, key, now - window)
        if n >= limit and first is not None:
            raise LockedOut(max(1, int((first + window - now).total_seconds())))


def authenticate(
    session: Session, email: str, password: str, *, client: str | None, now: datetime
) -> WebUser | None:
    """The active user with these credentials, or ``None`` (the failure is recorded).

    Raises :class:`LockedOut` while the e-mail or the client address is throttled, before
    the password is looked at.
    """
    settings = get_web_settings()
    email = email.strip().lower()[:320]
    keys = [(f"email:{email}", settings.login_max_failures)]
    if client:
        keys.append((f"ip:{client}"[:400], settings.login_max_failures_per_address))
    _check_throttle(session, keys, now)
    user = session.scalars(select(WebUser).where(WebUser.email == email)).first()
    stored = user.password_hash if user is not None and user.active else None
    hasher, dummy = _hasher()
    try:
        hasher.verify(stored or dummy, password)
        ok = stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None:
        session.add_all(LoginFailure(key=key, failed_at=now) for key, _ in keys)
        return None
    session.execute(delete(LoginFailure).where(LoginFailure.key == keys[0][0]))
    if hasher.check_needs_rehash(stored or ""):
        user.password_hash = hasher.hash(password)
    return user


def forget_old_failures(session: Session, *, now: datetime) -> int:
    """Delete failures older than the window (they no longer count)."""
    window = timedelta(minutes=get_web_settings().login_window_minutes)
    result = session.execute(delete(LoginFailure).where(LoginFailure.failed_at <= now - window))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# ---- calendar feed URLs --------------------------------------------------------------------


def _feed_mac(user_id: int, nonce: str) -> str:
    key = get_settings().secret_key.encode()
    digest = hmac.new(key, f"feed:{user_id}:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def feed_path(user: WebUser) -> str:
    """The path of the user's calendar feed (``/feed/<token>.ics``)."""
    return f"/feed/{user.id}.{_feed_mac(user.id, user.feed_nonce)}.ics"


def feed_user(session: Session, token: str) -> WebUser | None:
    """The active user whose feed token this is, or ``None`` (wrong, revoked, disabled)."""
    user_part, _, mac = token.partition(".")
    if not user_part.isdigit() or not mac or len(user_part) > 12:
        return None
    user = session.get(WebUser, int(user_part))
    if user is None or not user.active:
        return None
    if not hmac.compare_digest(mac, _feed_mac(user.id, user.feed_nonce)):
        return None
    return user


def rotate_feed(session: Session, email: str) -> WebUser:
    """A new feed URL for the user; the old one answers 404 from now on."""
    user = find_user(session, email)
    user.feed_nonce = secrets.token_urlsafe(24)
    session.execute(update(WebUser).where(WebUser.id == user.id).values(feed_nonce=user.feed_nonce))
    return user
