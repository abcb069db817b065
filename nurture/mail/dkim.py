"""Optional DKIM signing (dkimpy), on when ``NURTURE_DKIM_KEY_FILE`` is set.

The signature covers ``List-Unsubscribe`` and ``List-Unsubscribe-Post`` (RFC 8058 requires
both to be signed for one-click unsubscribe to be honoured) with relaxed/relaxed
canonicalisation. It is computed over the final bytes from :mod:`nurture.mail.message` and
prepended; nothing re-folds the message afterwards, so the signature verifies as sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import dkim as dkimpy

from nurture.errors import ConfigError

if TYPE_CHECKING:
    from nurture.config import Settings

__all__ = ["SIGNED_HEADERS", "DkimSigner", "signer_from_settings"]

SETTING = "NURTURE_DKIM_KEY_FILE"
#: Signed once when the key is loaded, so a key that cannot sign fails there.
_PROBE = b"From: probe@nurture.invalid\r\nSubject: probe\r\n\r\nprobe\r\n"

SIGNED_HEADERS = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"mime-version",
    b"content-type",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
)


@dataclass(frozen=True)
class DkimSigner:
    private_key: bytes
    selector: str
    domain: str

    def sign(self, message: bytes) -> bytes:
        """``message`` with a ``DKIM-Signature`` header in front."""
        present = message.split(b"\r\n\r\n", 1)[0].lower()
        headers = [h for h in SIGNED_HEADERS if b"\r\n" + h + b":" in b"\r\n" + present]
        signature = dkimpy.sign(
            message,
            self.selector.encode(),
            self.domain.encode(),
            self.private_key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=headers,
            linesep=b"\r\n",
        )
        return bytes(signature) + message


def signer_from_settings(settings: Settings) -> DkimSigner | None:
    """The configured signer, or None when no key file is set. A key that cannot be read or
    cannot sign is one :class:`~nurture.errors.ConfigError` naming the setting, before any
    message is built (not one failure per message)."""
    if settings.dkim_key_file is None:
        return None
    path = Path(settings.dkim_key_file)
    try:
        key = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(f"{SETTING}: cannot read {path}: {reason}") from None
    if b"PRIVATE KEY" not in key:
        raise ConfigError(f"{SETTING}: {path} is not a PEM private key")
    domain = settings.dkim_domain or settings.sender_email.rpartition("@")[2]
    signer = DkimSigner(private_key=key, selector=settings.dkim_selector, domain=domain)
    try:
        signer.sign(_PROBE)
    except (dkimpy.DKIMException, ValueError, TypeError, IndexError) as exc:
        reason = " ".join(str(exc).split())  # one line
        raise ConfigError(f"{SETTING}: {path} cannot sign: {reason}") from None
    return signer
