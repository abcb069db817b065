"""Salted hashes of contacts (pure): how the forgotten list recognises an erased person.

A contact is normalised with intake's own normalisers (``nurture.intake.normalize``), so an
address typed ``Ivan@Mail.RU`` at the next import hashes like the ``ivan@mail.ru`` that was
erased, and ``8 (900) 123-45-67`` like ``+79001234567``. The hash is
``HMAC-SHA256(salt, "<kind>:<value>")``: without the salt nobody can test a list of known
addresses against the table.

The salt is ``NURTURE_PRIVACY_SALT`` or, when that is unset, an HMAC of
``NURTURE_SECRET_KEY``. Changing either changes every hash: entries made before no longer
match (see docs/privacy.md, "Salt and key rotation").
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from nurture.config import DEFAULT_SECRET_KEY, Settings, get_settings
from nurture.errors import ConfigError

__all__ = ["KINDS", "Salt", "contact_digest", "current_salt", "normal_contact", "salt_from"]

KINDS = ("email", "phone")
_DERIVATION = b"nurture.privacy.forgotten-list.v1"


@dataclass(frozen=True)
class Salt:
    """The installation's salt and its fingerprint (``salt_id``, safe to store and show)."""

    key: bytes

    @property
    def salt_id(self) -> str:
        return hashlib.sha256(b"salt-id:" + self.key).hexdigest()[:16]


def salt_from(settings: Settings) -> Salt:
    """The salt of ``settings``. In production a salt derived from the default signing key
    would be public knowledge: that is a :class:`ConfigError`."""
    if settings.privacy_salt:
        return Salt(settings.privacy_salt.encode())
    if settings.secret_key == DEFAULT_SECRET_KEY and settings.env == "production":
        raise ConfigError(
            "the forgotten list needs a secret salt: set NURTURE_PRIVACY_SALT (or "
            "NURTURE_SECRET_KEY) to a long random value"
        )
    return Salt(hmac.new(settings.secret_key.encode(), _DERIVATION, hashlib.sha256).digest())


def current_salt() -> Salt:
    return salt_from(get_settings())


def normal_contact(kind: str, value: str, *, region: str = "RU") -> str | None:
    """``value`` as intake stores it (lower-case e-mail, E.164 phone), or None if invalid."""
    # loaded here: the sender's check needs them only once the forgotten list has entries
    from nurture.intake.normalize import normalize_email, normalize_phone

    if kind == "email":
        return normalize_email(value)[0]
    if kind == "phone":
        return normalize_phone(value, region)[0]
    raise ValueError(f"unknown contact kind {kind!r}")


def contact_digest(kind: str, normalised: str, salt: Salt) -> str:
    """The hash of an already normalised contact (hex, 64 characters)."""
    return hmac.new(salt.key, f"{kind}:{normalised}".encode(), hashlib.sha256).hexdigest()


def digests(contacts: Iterable[tuple[str, str]], salt: Salt) -> dict[str, str]:
    """digest -> kind for ``(kind, normalised value)`` pairs."""
    return {contact_digest(kind, value, salt): kind for kind, value in contacts}
