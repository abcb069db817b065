"""STARTTLS and AUTH from NURTURE_SMTP_URL against a real server that requires both."""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from mail_support import ScriptedHandler, add_leads, free_port, queue_messages
from sqlalchemy import select

from nurture.config import get_settings
from nurture.db.mail import OutboxMessage
from nurture.db.session import session_scope
from nurture.errors import TemporaryDeliveryError
from nurture.mail import send_due


def _tls_context(tmp_path: Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return ctx


def _authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
    ok = auth_data.login == b"nurture" and auth_data.password == b"p@ss:word"
    return AuthResult(success=ok)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_starttls_and_auth(fresh_db: str, tmp_path: Path, monkeypatch) -> None:
    handler = ScriptedHandler()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        tls_context=_tls_context(tmp_path),
        require_starttls=True,
        authenticator=_authenticator,
        auth_require_tls=True,
    )
    controller.start()
    try:
        with session_scope() as s:
            ids = add_leads(s, ["a@example.com", "b@example.com"])
            queue_messages(s, ids, ["a@example.com", "b@example.com"])
        bad = f"smtp://nurture:wrong@127.0.0.1:{port}?starttls=true&verify=false&timeout=2"
        monkeypatch.setenv("NURTURE_SMTP_URL", bad)
        get_settings.cache_clear()
        # a bad password is the server refusing us, not the messages: one line, none spent
        with pytest.raises(TemporaryDeliveryError, match="unreachable"):
            send_due()
        with session_scope() as s:
            rows = [(m.status, m.attempts) for m in s.scalars(select(OutboxMessage))]
        assert rows == [("queued", 0), ("queued", 0)]
        good = f"smtp://nurture:p%40ss%3Aword@127.0.0.1:{port}?starttls=true&verify=false"
        monkeypatch.setenv("NURTURE_SMTP_URL", good)
        get_settings.cache_clear()
        assert send_due().sent == 2
        assert len(handler.messages) == 2
    finally:
        controller.stop()
