"""Unsubscribe endpoints: GET never unsubscribes, POST does (form and RFC 8058 one-click),
a forged token changes nothing, the next send skips the address; the links Nurture sends name
the message, not the person, and links of the old format keep working."""

from __future__ import annotations

import base64
import email
import re
from datetime import datetime
from email import policy
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from mail_support import add_leads, queue_messages
from sqlalchemy import delete, func, select

from nurture.config import get_settings
from nurture.db.leads import Lead
from nurture.db.mail import OutboxMessage, Suppression
from nurture.db.session import session_scope
from nurture.mail import message_token, send_due
from nurture.mail.tokens import make_token
from nurture.web.app import create_app
from nurture.web.unsubscribe import mask_address

ADDRESS = "ivan.petrov@example.ru"


@pytest.fixture(autouse=True)
def _signing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """A key of our own, as production must have (with the default one, anyone can sign)."""
    monkeypatch.setenv("NURTURE_SECRET_KEY", "web-tests-signing-key-0123456789abcdef")
    get_settings.cache_clear()


@pytest.fixture()
def client(fresh_db: str) -> TestClient:
    return TestClient(create_app())


def _sent_links(address: str = ADDRESS) -> tuple[int, str, str]:
    """A lead, its campaign e-mail really sent to the file outbox, and the two unsubscribe
    links of that e-mail: (lead id, the https link's token, the whole List-Unsubscribe)."""
    with session_scope() as s:
        (lead_id,) = add_leads(s, [address])
        queue_messages(s, [lead_id], [address])
    assert send_due().sent == 1
    (eml,) = Path(get_settings().outbox_dir).glob("*.eml")
    msg = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    header = str(msg["List-Unsubscribe"])
    match = re.search(r"/unsubscribe/([A-Za-z0-9_.-]+)>", header)
    assert match is not None, header
    return lead_id, match.group(1), header


def _state(lead_id: int) -> tuple[datetime | None, int]:
    with session_scope() as s:
        lead = s.get(Lead, lead_id)
        assert lead is not None
        n = s.scalar(select(func.count()).select_from(Suppression)) or 0
        return lead.unsubscribed_at, n


def test_links_in_sent_mail_reveal_no_address(client: TestClient) -> None:
    _, token, header = _sent_links()
    assert "ivan" not in header.lower() and "example.ru" not in header
    for part in token.split("."):
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        assert b"ivan" not in raw and b"example" not in raw
    page = client.get(f"/unsubscribe/{token}")  # the page masks it too
    assert page.status_code == 200 and ADDRESS not in page.text
    assert mask_address(ADDRESS) == "i***@e***.ru" and "i***@e***.ru" in page.text


def test_get_shows_a_confirmation_and_changes_nothing(client: TestClient) -> None:
    lead_id, token, _ = _sent_links()
    for _ in range(3):  # link scanners may follow it several times
        page = client.get(f"/unsubscribe/{token}")
        assert page.status_code == 200
        assert 'method="post"' in page.text
    assert _state(lead_id) == (None, 0)


def test_post_from_the_button_unsubscribes(client: TestClient) -> None:
    lead_id, token, _ = _sent_links()
    page = client.post(f"/unsubscribe/{token}", data={})
    assert page.status_code == 200 and "unsubscribed" in page.text
    assert ADDRESS not in page.text
    unsubscribed_at, suppressions = _state(lead_id)
    assert unsubscribed_at is not None and suppressions == 1
    again = client.post(f"/unsubscribe/{token}")  # idempotent
    assert again.status_code == 200
    assert _state(lead_id) == (unsubscribed_at, 1)


def test_one_click_post_rfc8058_and_the_next_send_skips(client: TestClient) -> None:
    lead_id, token, _ = _sent_links()
    with session_scope() as s:
        queue_messages(s, [lead_id], [ADDRESS], campaign="next")
    response = client.post(
        f"/unsubscribe/{token}",
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    with session_scope() as s:
        row = s.scalar(select(Suppression))
        assert row is not None and (row.email, row.scope, row.reason, row.detail) == (
            ADDRESS,
            "*",
            "unsubscribe",
            "link in campaign sample",
        )
    summary = send_due()
    assert (summary.suppressed, summary.sent) == (1, 0)


def test_old_format_links_already_sent_still_work(client: TestClient) -> None:
    with session_scope() as s:
        (lead_id,) = add_leads(s, ["Mixed.Case@Example.RU"])
    old = make_token("mixed.case@example.ru", secret=get_settings().secret_key, lead_id=lead_id)
    page = client.get(f"/unsubscribe/{old}")
    assert page.status_code == 200 and "mixed.case@example.ru" in page.text  # it is in the link
    assert client.post(f"/unsubscribe/{old}").status_code == 200
    assert _state(lead_id)[0] is not None
    assert client.get("/healthz").json() == {"status": "ok"}


def test_a_forged_token_is_rejected(client: TestClient) -> None:
    lead_id, token, _ = _sent_links()
    payload, mac = token.split(".")
    key = get_settings().secret_key
    forged = [
        message_token(10**6, secret="x").split(".")[0] + "." + mac,  # another message's id
        payload + "." + ("A" * len(mac)),  # new signature
        "not-a-token",
        message_token(1, secret="attacker"),  # another key
        make_token("victim@example.com", secret="change-me-in-production"),  # the default key
        make_token("victim@example.com", secret="x").split(".")[0] + "." + mac,
    ]
    for bad in forged:
        assert client.get(f"/unsubscribe/{bad}").status_code == 400
        assert client.post(f"/unsubscribe/{bad}").status_code == 400
    assert _state(lead_id) == (None, 0)
    # a valid token whose message is gone (erased) unsubscribes nobody
    gone = message_token(10**6, secret=key)
    assert client.get(f"/unsubscribe/{gone}").status_code == 400
    assert client.post(f"/unsubscribe/{gone}").status_code == 400
    with session_scope() as s:
        s.execute(delete(OutboxMessage))
    assert client.post(f"/unsubscribe/{token}").status_code == 400
    assert _state(lead_id) == (None, 0)
