"""HMAC-signed unsubscribe tokens: nobody can unsubscribe someone else by editing a URL, and a
link forwarded or logged does not reveal whom it unsubscribes.

A token is ``<payload>.<mac>``, both URL-safe base64 without padding; the MAC is the first 16
bytes of HMAC-SHA256 over the payload with ``NURTURE_SECRET_KEY``. The payload is
``v2|<outbox id>``: an opaque id of the message the link came in. The address, lead and
campaign are read from that outbox row when the link is used
(:func:`nurture.mail.suppression.recipient_of`), so the link itself carries nothing personal.

Links sent before this format carried ``v1|<lead id>|<campaign>|<email>``, the address in
readable base64. They are still accepted: they are checked with the same key, so accepting
them lets no one in who could not get in before, and refusing them would break the
unsubscribe link of every e-mail already delivered. They are never issued any more
(:func:`make_token` remains for tests of that promise). Tokens do not expire: an unsubscribe
link in a two-year-old e-mail must still work.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

from nurture.errors import InputError

__all__ = ["InvalidTokenError", "UnsubscribeToken", "make_token", "message_token", "read_token"]

_MESSAGE = "v2"
_LEGACY = "v1"


class InvalidTokenError(InputError):
    """The token was not made by us (forged, truncated or signed with another key)."""


@dataclass(frozen=True)
class UnsubscribeToken:
    """What a verified token says: the message it came in (``outbox_id``), or, for a link of
    the old format, the address, lead and campaign themselves."""

    outbox_id: int | None = None
    email: str | None = None
    lead_id: int | None = None
    campaign: str | None = None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(payload: bytes, secret: str) -> bytes:
    return hmac.new(secret.encode("utf-8"), payload, hashlib.sha256).digest()[:16]


def _sign(payload: bytes, secret: str) -> str:
    return f"{_b64(payload)}.{_b64(_mac(payload, secret))}"


def message_token(outbox_id: int, *, secret: str) -> str:
    """The token of the unsubscribe link in outbox message ``outbox_id``."""
    return _sign(f"{_MESSAGE}|{int(outbox_id)}".encode("ascii"), secret)


def make_token(
    email: str, *, secret: str, lead_id: int | None = None, campaign: str | None = None
) -> str:
    """A token of the old format (the address inside). Nurture no longer puts these in
    e-mails; they exist in e-mails already sent, and tests make them to check they work."""
    lead = "" if lead_id is None else str(lead_id)
    return _sign(f"{_LEGACY}|{lead}|{campaign or ''}|{email.strip().lower()}".encode(), secret)


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
        version, _, rest = payload.decode("utf-8").partition("|")
        if version == _MESSAGE and rest.isdigit():
            return UnsubscribeToken(outbox_id=int(rest))
        if version == _LEGACY:
            lead, campaign, email = rest.split("|", 2)
            if "@" in email:
                return UnsubscribeToken(
                    email=email, lead_id=int(lead) if lead else None, campaign=campaign or None
                )
    except (UnicodeDecodeError, ValueError) as exc:  # pragma: no cover - we signed it
        raise InvalidTokenError("this unsubscribe link is damaged") from exc
    raise InvalidTokenError("this unsubscribe link is not valid")
