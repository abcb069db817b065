"""Bounces from DSN messages and CSV files become suppressions and undeliverable leads."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from mail_support import add_leads
from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.db.leads import Lead
from nurture.db.mail import Suppression
from nurture.errors import InputError
from nurture.mail.bounces import apply_bounces, parse_dsn, read_bounces

DSN = b"""From: MAILER-DAEMON@mx.example.ru
To: hello@nurture.example
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

This is the mail system.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.ru

Final-Recipient: rfc822; Gone@Example.ru
Original-Recipient: rfc822;gone@example.ru
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 user unknown

Final-Recipient: rfc822; full@example.ru
Action: delayed
Status: 4.2.2

--B
Content-Type: text/rfc822-headers

Message-ID: <touch.1.sample.1.0@nurture.local>

--B--
"""


def test_parse_dsn() -> None:
    bounces = parse_dsn(DSN)
    assert [(b.email, b.permanent, b.status) for b in bounces] == [
        ("gone@example.ru", True, "5.1.1"),
        ("full@example.ru", False, "4.2.2"),
    ]
    assert parse_dsn(b"Subject: hello\n\njust a reply") == []


def test_apply_bounces_from_dsn_and_csv(session: Session, tmp_path: Path) -> None:
    (tmp_path / "dsn").mkdir()
    (tmp_path / "dsn" / "1.eml").write_bytes(DSN)
    csv_file = tmp_path / "bounces.csv"
    csv_file.write_text("email,status\nhard@example.com,550\nsoft@example.com,421\n")
    add_leads(session, ["gone@example.ru", "hard@example.com", "soft@example.com"])
    bounces = read_bounces(tmp_path / "dsn") + read_bounces(csv_file)
    counts = apply_bounces(session, bounces, now=datetime.now(UTC))
    assert (counts["permanent"], counts["temporary"], counts["new_suppressions"]) == (2, 2, 2)
    assert counts["leads_marked_undeliverable"] == 2
    statuses = {ld.email: ld.email_status for ld in session.scalars(select(Lead))}
    assert statuses == {
        "gone@example.ru": "undeliverable",
        "hard@example.com": "undeliverable",
        "soft@example.com": "ok",
    }
    again = apply_bounces(session, bounces, now=datetime.now(UTC))
    assert again["new_suppressions"] == 0
    assert len(session.scalars(select(Suppression)).all()) == 2


def test_bad_csv_names_file_row_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "b.csv"
    bad.write_text("email,status\nok@example.com,550\nnot-an-address,550\n")
    with pytest.raises(InputError) as err:
        read_bounces(bad)
    assert err.value.format_message().startswith(f'{bad} row 3, column "email"')
