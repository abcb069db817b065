"""Unsubscribe endpoints: GET never unsubscribes, POST does (form and RFC 8058 one-click),
a forged token changes nothing, and the next send skips the address."""

from __future__ import annotations

from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from mail_support import add_leads, queue_messages
from sqlalchemy import func, select

from nurture.config import get_settings
from nurture.db.leads import Lead
from nurture.db.mail import OutboxMessage, Suppression
from nurture.db.session import session_scope
from nurture.mail.sender import send_due
from nurture.mail.tokens import make_token
from nurture.web.app import create_app


@pytest.fixture()
def client(fresh_db: str) -> TestClient:
    return TestClient(create_app())


def _lead_and_token(email: str = "ivan@example.ru") -> tuple[int, str]:
    with session_scope() as s:
        (lead_id,) = add_leads(s, [email])
    token = make_token(email, secret=get_settings().secret_key, lead_id=lead_id, campaign="sample")
    return lead_id, token


def _state(lead_id: int) -> tuple[datetime | None, int]:
    with session_scope() as s:
        lead = s.get(Lead, lead_id)
        assert lead is not None
        n = s.scalar(select(func.count()).select_from(Suppression)) or 0
        return lead.unsubscribed_at, n


def test_get_shows_a_confirmation_and_changes_nothing(client: TestClient) -> None:
    lead_id, token = _lead_and_token()
    for _ in range(3):  # link scanners may follow it several times
        page = client.get(f"/unsubscribe/{token}")
        assert page.status_code == 200
        assert 'method="post"' in page.text and "ivan@example.ru" in page.text
    assert _state(lead_id) == (None, 0)


def test_post_from_the_button_unsubscribes(client: TestClient) -> None:
    lead_id, token = _lead_and_token()
    page = client.post(f"/unsubscribe/{token}", data={})
    assert page.status_code == 200 and "unsubscribed" in page.text
    unsubscribed_at, suppressions = _state(lead_id)
    assert unsubscribed_at is not None and suppressions == 1
    again = client.post(f"/unsubscribe/{token}")  # idempotent
    assert again.status_code == 200
    assert _state(lead_id) == (unsubscribed_at, 1)


def test_one_click_post_rfc8058_and_the_next_send_skips(client: TestClient) -> None:
    lead_id, token = _lead_and_token()
    with session_scope() as s:
        queue_messages(s, [lead_id], ["ivan@example.ru"])
    response = client.post(
        f"/unsubscribe/{token}",
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    with session_scope() as s:
        row = s.scalar(select(Suppression))
        assert row is not None and (row.email, row.scope, row.reason) == (
            "ivan@example.ru",
            "*",
            "unsubscribe",
        )
    summary = send_due()
    assert (summary.suppressed, summary.sent) == (1, 0)
    with session_scope() as s:
        assert s.scalar(select(OutboxMessage.status)) == "suppressed"


def test_a_forged_token_is_rejected(client: TestClient) -> None:
    lead_id, token = _lead_and_token()
    payload, mac = token.split(".")
    forged = [
        make_token("victim@example.com", secret="x").split(".")[0] + "." + mac,  # new payload
        payload + "." + ("A" * len(mac)),  # new signature
        "not-a-token",
        make_token("ivan@example.ru", secret="attacker", lead_id=lead_id),  # another key
    ]
    for bad in forged:
        assert client.get(f"/unsubscribe/{bad}").status_code == 400
        assert client.post(f"/unsubscribe/{bad}").status_code == 400
    assert _state(lead_id) == (None, 0)


def test_unsubscribe_marks_lead_by_address_too(client: TestClient) -> None:
    lead_id, _ = _lead_and_token("Mixed.Case@Example.RU")
    token = make_token("mixed.case@example.ru", secret=get_settings().secret_key)
    assert client.post(f"/unsubscribe/{token}").status_code == 200
    assert _state(lead_id)[0] is not None
    assert client.get("/healthz").json() == {"status": "ok"}
