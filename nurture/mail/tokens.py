"""HMAC-signed unsubscribe tokens: nobody can unsubscribe someone else by editing a URL.

A token is ``<payload>.<mac>``, both URL-safe base64 without padding; the payload is
``v1|<lead id or empty>|<campaign slug or empty>|<email>`` and the MAC is the first 16 bytes
of HMAC-SHA256 over it with ``settings.secret_key``. Tokens do not expire: an unsubscribe link
in a two-year-old e-mail must still work.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

from nurture.errors import InputError

__all__ = ["InvalidTokenError", "UnsubscribeToken", "make_token", "read_token"]

_VERSION = "v1"


class InvalidTokenError(InputError):
    """The token was not made by us (forged, truncated or signed with another key)."""


@dataclass(frozen=True)
class UnsubscribeToken:
    email: str
    lead_id: int | None = None
    campaign: str | None = None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(payload: bytes, secret: str) -> bytes:
    return hmac.new(secret.encode("utf-8"), payload, hashlib.sha256).digest()[:16]


def make_token(
    email: str, *, secret: str, lead_id: int | None = None, campaign: str | None = None
) -> str:
    """A signed token for ``email`` (and the lead and campaign it was sent for)."""
    lead = "" if lead_id is None else str(lead_id)
    payload = f"{_VERSION}|{lead}|{campaign or ''}|{email.strip().lower()}".encode()
    return f"{_b64(payload)}.{_b64(_mac(payload, secret))}"


def read_token(token: str, *, secret: str) -> UnsubscribeToken:
    """The token's content, or :class:`InvalidTokenError` when the signature does not match."""
    try:
        payload_b64, mac_b64 = token.split(".", 1)
        payload, mac = _unb64(payload_b64), _unb64(mac_b64)
    except (ValueError, binascii.Error) as exc:
        raise InvalidTokenError("this unsubscribe link is damaged") from exc
    if _b64(payload) != payload_b64 or _b64(mac) != mac_b64:  # unused low bits of the last
        raise InvalidTokenError("this unsubscribe link is not valid")  # character were edited
    if not hmac.compare_digest(mac, _mac(payload, secret)):
        raise InvalidTokenError("this unsubscribe link is not valid")
    try:
        version, lead, campaign, email = payload.decode("utf-8").split("|", 3)
    except (UnicodeDecodeError, ValueError) as exc:  # pragma: no cover - we signed it
        raise InvalidTokenError("this unsubscribe link is damaged") from exc
    if version != _VERSION or "@" not in email:
        raise InvalidTokenError("this unsubscribe link is not valid")
    return UnsubscribeToken(
        email=email, lead_id=int(lead) if lead else None, campaign=campaign or None
    )
