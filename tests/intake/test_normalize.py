"""Normalisation of e-mails, phones, names, dates, country, language, time zone."""

from __future__ import annotations

from datetime import date

import phonenumbers
import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nurture.intake.normalize import (
    RowContext,
    company_key,
    normalize_email,
    normalize_phone,
    normalize_row,
    parse_date,
)


@pytest.mark.parametrize(
    ("raw", "email"),
    [
        ("  Ivan.Petrov@Mail.RU ", "ivan.petrov@mail.ru"),
        ("mailto:a@b.org", "a@b.org"),
        ("<a@b.org>", "a@b.org"),
        ("ivan@@mail.ru", None),
        ("ivan(at)mail.ru", None),
        ("user@localhost", None),
        ("a..b@mail.ru", None),
        ("иван@почта.рф", "иван@почта.рф"),
    ],
)
def test_email(raw: str, email: str | None) -> None:
    assert normalize_email(raw)[0] == email


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("8 (900) 123-45-67", "+79001234567"),
        ("+7 900 123 45 67", "+79001234567"),
        ("79001234567", "+79001234567"),
        ("9001234567", "+79001234567"),
        ("'+79001234567", "+79001234567"),
        ("+7 (495) 123-45-67", "+74951234567"),
        ("4915112345678", "+4915112345678"),
        ("+44 20 7946 0958", "+442079460958"),
        ("0049 151 12345678", "+4915112345678"),
        ("12", None),
        ("007", None),
    ],
)
def test_phone(raw: str, e164: str | None) -> None:
    assert normalize_phone(raw, "RU")[0] == e164


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"\A(\+7|8|7)9[0-9]{9}\Z"))
def test_russian_mobile_fast_path_agrees_with_phonenumbers(raw: str) -> None:
    num = phonenumbers.parse(raw if raw.startswith("+") else "+7" + raw[1:], "RU")
    expected = (
        phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
        if phonenumbers.is_valid_number(num)
        else None
    )
    assert normalize_phone(raw, "RU")[0] == expected


def test_dates_day_first_by_locale() -> None:
    assert parse_date("01.02.2026", dayfirst=True) == date(2026, 2, 1)
    assert parse_date("01/02/2026", dayfirst=False) == date(2026, 1, 2)
    assert parse_date("13.02.2026", dayfirst=False) == date(2026, 2, 13)
    assert parse_date("2026-02-01 10:00", dayfirst=False) == date(2026, 2, 1)
    assert parse_date("31.02.2026", dayfirst=True) is None
    assert parse_date("soon", dayfirst=True) is None


def test_company_key_drops_legal_forms() -> None:
    assert company_key("ООО «Ромашка»") == company_key("Ромашка ООО") == "ромашка"
    assert company_key("Globex Corp.") == "globex"


def _row(**values: str) -> dict[str, object]:
    r = normalize_row(5, values, dict(values), RowContext())
    return {"fields": r.fields, "reasons": r.reasons, "warnings": r.warnings, "met": r.met_on}


def test_row_infers_country_language_timezone() -> None:
    r = _row(full_name="ИВАНОВ иван", phone="8 912 345 67 89", city="Екатеринбург")
    f = r["fields"]
    assert f["first_name"] == "Иван" and f["last_name"] == "Иванов"  # type: ignore[index]
    assert f["country"] == "RU" and f["language"] == "ru"  # type: ignore[index]
    assert f["timezone"] == "Asia/Yekaterinburg"  # type: ignore[index]
    r = _row(email="john@acme.de", phone="+49 30 1234567", first_name="John")
    f = r["fields"]
    assert (f["country"], f["language"], f["timezone"]) == (  # type: ignore[index]
        "DE",
        "en",
        "Europe/Berlin",
    )


def test_row_without_contact_is_rejected_with_reasons() -> None:
    r = _row(full_name="Нет Контактов", email="bad@@x", phone="12")
    assert r["reasons"] and any("bad@@x" in x for x in r["reasons"])  # type: ignore[union-attr]
    assert _row(full_name="x")["reasons"] == ["no e-mail or phone"]


def test_bad_optional_field_keeps_the_lead_with_a_warning() -> None:
    r = _row(email="a@b.ru", phone="12", date="someday", country="Narnia")
    assert r["reasons"] == []
    assert len(r["warnings"]) == 3  # type: ignore[arg-type]
    assert r["fields"]["email"] == "a@b.ru"  # type: ignore[index]


def test_text_is_never_coerced() -> None:
    r = normalize_row(1, {"email": "a@b.ru", "title": "007"}, {}, RowContext())
    assert r.fields["title"] == "007"
    r = normalize_row(1, {"email": "a@b.ru", "date": "01.02.2026"}, {}, RowContext())
    assert r.met_on == date(2026, 2, 1)


@pytest.mark.slow
@settings(max_examples=1000, deadline=None)
@example("0@00--0.aa")  # reserved "ab--" label: found by this test
@example("a@xn--80ak6aa92e.com")  # Punycode
@given(
    st.one_of(
        st.from_regex(r"\A[a-z0-9._%+-]{1,70}@([a-z0-9-]{1,64}\.){1,3}[a-z]{2,25}\Z"),
        st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,20}@[a-z0-9-]{1,20}\.(ru|com|local|test)\Z"),
    )
)
def test_email_fast_path_agrees_with_email_validator(raw: str) -> None:
    """The regex shortcut for plain ASCII addresses gives the library's answer."""
    try:
        expected: str | None = validate_email(raw, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        expected = None
    assert normalize_email(raw)[0] == expected
