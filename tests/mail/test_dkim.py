"""DKIM: a message sent through SMTP verifies with dkimpy, and the signature covers the
RFC 8058 headers."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from mail_support import SmtpServer, add_leads, queue_messages

from nurture.config import get_settings
from nurture.db.session import session_scope
from nurture.mail.sender import send_due


@pytest.fixture()
def dkim_key(tmp_path: Path) -> tuple[Path, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    path = tmp_path / "dkim.pem"
    path.write_bytes(pem)
    return path, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_sent_message_verifies_and_signs_list_unsubscribe(
    fresh_db: str, smtp_server: SmtpServer, dkim_key: tuple[Path, bytes], monkeypatch
) -> None:
    key_path, txt = dkim_key
    monkeypatch.setenv("NURTURE_SMTP_URL", smtp_server.url())
    monkeypatch.setenv("NURTURE_DKIM_KEY_FILE", str(key_path))
    monkeypatch.setenv("NURTURE_DKIM_SELECTOR", "s1")
    monkeypatch.setenv("NURTURE_SENDER_EMAIL", "hello@nurture.example")
    get_settings.cache_clear()
    with session_scope() as s:
        ids = add_leads(s, ["ivan@example.ru"], language="ru", first_name="Иван")
        queue_messages(s, ids, ["ivan@example.ru"])
    assert send_due().sent == 1
    ((_, data),) = smtp_server.handler.messages

    def dns(name: bytes, timeout: int = 5) -> bytes | None:
        return txt if name == b"s1._domainkey.nurture.example." else None

    assert dkim.verify(data, dnsfunc=dns)
    header = re.search(rb"^DKIM-Signature:(.*?)\r\n(?! )", data, re.S | re.M)
    assert header is not None
    signed = re.search(rb"h=([^;]+)", header.group(1).replace(b"\r\n", b"").replace(b" ", b""))
    assert signed is not None
    names = signed.group(1).lower().split(b":")
    assert b"list-unsubscribe" in names and b"list-unsubscribe-post" in names
    # tampering with the one-click header breaks the signature
    tampered = data.replace(b"List-Unsubscribe=One-Click", b"List-Unsubscribe=One-Clack")
    assert not dkim.verify(tampered, dnsfunc=dns)
