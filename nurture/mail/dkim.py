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
    """The configured signer, or None when no key file is set."""
    if settings.dkim_key_file is None:
        return None
    path = Path(settings.dkim_key_file)
    try:
        key = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the DKIM key: {exc.strerror}", file=str(path)) from exc
    if b"PRIVATE KEY" not in key:
        raise ConfigError("not a PEM private key", file=str(path))
    domain = settings.dkim_domain or settings.sender_email.rpartition("@")[2]
    return DkimSigner(private_key=key, selector=settings.dkim_selector, domain=domain)
