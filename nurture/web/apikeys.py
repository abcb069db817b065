"""API keys for integrations: ``nrt_<prefix>_<secret>``, shown once when created.

Only the prefix (to find the row) and the SHA-256 of the whole key are stored; a key is
compared in constant time. Each key carries scopes (:data:`SCOPES`) and every API route
names the one it needs; a revoked key is refused at once (403 and 401 never say which part
was wrong). Keys are high-entropy random strings, so a plain SHA-256 is enough (a password
hash is for guessable secrets).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.db.web import ApiKey
from nurture.errors import InputError
from nurture.web.accounts import UnknownAccountError

__all__ = ["DEFAULT_SCOPES", "SCOPES", "create_key", "list_keys", "revoke_key", "verify_key"]

#: What a key may do.
SCOPES: dict[str, str] = {
    "leads:write": "send leads from web forms (POST /api/leads)",
    "tasks:read": "read tasks (GET /api/tasks)",
    "tasks:write": "record task outcomes (POST /api/tasks/{id}/outcome)",
}
DEFAULT_SCOPES = ("leads:write",)
_PREFIX = "nrt"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(
    session: Session, name: str, scopes: tuple[str, ...] = DEFAULT_SCOPES
) -> tuple[ApiKey, str]:
    """A new key named ``name``; returns the row and the key itself (shown only now)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise InputError("an API key needs a name of 1-100 characters", field="name")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise InputError(
            f"unknown scope {', '.join(unknown) or '(none)'} (one of {', '.join(SCOPES)})",
            field="scope",
        )
    if session.scalars(select(ApiKey.id).where(ApiKey.name == name)).first() is not None:
        raise InputError(f"an API key named {name!r} exists already", field="name")
    prefix = secrets.token_hex(4)
    key = f"{_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(name=name, prefix=prefix, key_hash=_digest(key), scopes=sorted(set(scopes)))
    session.add(row)
    session.flush()
    return row, key


def revoke_key(session: Session, name: str, *, now: datetime) -> ApiKey:
    row = session.scalars(select(ApiKey).where(ApiKey.name == name.strip())).first()
    if row is None:
        raise UnknownAccountError(f"no API key named {name!r} (see `nurture apikeys list`)")
    row.revoked_at = row.revoked_at or now
    return row


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.name)))


def verify_key(session: Session, presented: str | None) -> ApiKey | None:
    """The live key row for ``presented``, or ``None``."""
    if not presented or len(presented) > 200:
        return None
    parts = presented.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != _PREFIX:
        return None
    row = session.scalars(select(ApiKey).where(ApiKey.prefix == parts[1])).first()
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.key_hash, _digest(presented.strip())):
        return None
    return row
