"""Mail without a lead (manager digests) is written in the language its row names."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert

from nurture.db.mail import OutboxMessage
from nurture.db.session import session_scope
from nurture.mail.sender import send_due
from nurture.routing.notify import digest_entry, digest_row


def _digest(language: str) -> dict[str, object]:
    now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # in the past: due at once
    entry = digest_entry(
        type(
            "L",
            (),
            {
                "id": 1,
                "company": "Acme",
                "title": "CTO",
                "city": "Kazan",
                "email": "a@example.com",
                "phone": None,
                "interest": None,
            },
        )(),
        name="Anna Smirnova",
        kind="initial",
        reason="no rule matched -> team Moscow -> Olga Petrova",
        due=now,
        tz="Europe/Moscow",
    )
    return digest_row(
        manager_id=None,  # type: ignore[arg-type]
        manager_name="Olga Petrova",
        manager_email=f"olga.{language}@example.ru",
        languages=[language],
        entries=[entry],
        total=1,
        first_lead_id=1,
        now=now,
        send_at=now,
        first_contact_hours=4.0,
        message_id_domain="nurture.local",
    )


@pytest.mark.parametrize("language", ["ru", "en"])
def test_digest_follows_row_language(fresh_db: str, tmp_path: Path, language: str) -> None:
    with session_scope() as session:  # the engine of NURTURE_DATABASE_URL, closed by fresh_db
        session.execute(insert(OutboxMessage), [_digest(language)])
    summary = send_due()
    assert summary.sent == 1
    (eml,) = (tmp_path / "outbox").rglob("*.eml")
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    subject = str(msg["Subject"])
    has_cyrillic = any("а" <= ch.lower() <= "я" for ch in subject)
    assert has_cyrillic is (language == "ru"), subject
