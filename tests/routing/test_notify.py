"""The digest row renders through the mail capability's templates (ru and en)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from nurture.routing.notify import digest_entry, digest_key, digest_row


def _row() -> dict[str, object]:
    now = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
    due = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    lead = SimpleNamespace(
        id=7,
        company="ООО Ромашка",
        title="CTO",
        city="Москва",
        email="ivan@romashka.ru",
        phone="+79161234567",
        interest="CRM",
    )
    entry = digest_entry(
        lead,
        name="Иван Петров",
        kind="initial",
        reason='rule "Moscow, CRM" -> team Moscow -> Olga Petrova (weight 2, 14 of 40 this week)',
        due=due,
        tz="Europe/Moscow",
    )
    return digest_row(
        manager_id=3,
        manager_name="Olga Petrova",
        manager_email="olga@example.ru",
        languages=["ru"],
        entries=[entry],
        total=3,
        first_lead_id=7,
        now=now,
        send_at=now,
        first_contact_hours=4.0,
        message_id_domain="nurture.local",
    )


def test_digest_row_follows_the_outbox_contract() -> None:
    row = _row()
    assert row["dedupe_key"] == digest_key(3, datetime(2026, 11, 27, 14, 0, tzinfo=UTC), 7)
    assert row["dedupe_key"] == "digest.3.202611271400.7"
    assert row["message_id"] == "<digest.3.202611271400.7@nurture.local>"
    assert row["kind"] == "digest" and row["lead_id"] is None and row["status"] == "queued"
    ctx = row["context"]
    assert isinstance(ctx, dict) and ctx["more"] == 2 and ctx["first_contact_hours"] == 4
    assert ctx["leads"][0]["due_local"] == "2026-11-30 12:00 MSK"


@pytest.mark.parametrize("language", ["ru", "en"])
def test_digest_renders(language: str) -> None:
    from nurture.mail import rendering

    row = _row()
    context = {"lead": None, "campaign": {"slug": "", "name": ""}, "unsubscribe_url": None}
    context |= row["context"]  # type: ignore[arg-type]
    out = rendering.Renderer(inline_css=False).render(row["template"], language, context)
    assert "3" in out.subject and "2026-11-30 12:00 MSK" in out.subject
    for text in (out.text, out.html):
        assert "Иван Петров" in text and "ivan@romashka.ru" in text
        assert "14 of 40 this week" in text
    assert ("и ещё 2" if language == "ru" else "and 2 more") in out.text
