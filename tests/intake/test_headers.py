"""Column recognition, --mapping files and full-name splitting (no database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nurture.errors import ConfigError
from nurture.intake.headers import (
    ColumnMapping,
    guess_field,
    load_mapping,
    recogniser,
    resolve_columns,
    split_full_name,
)


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("ФИО", "full_name"),
        ("Ф.И.О.", "full_name"),
        ("E-mail", "email"),
        ("Электронная почта", "email"),
        ("Телефон", "phone"),
        ("Компания", "company"),
        ("Должность", "title"),
        ("Город", "city"),
        ("First Name", "first_name"),
        ("first_name", "first_name"),
        ("Email Address", "email"),
        ("Job Title", "title"),
        ("Country", "country"),
        ("Фамилия", "last_name"),
        ("Имя", "first_name"),
        ("Населённый пункт", "city"),
        ("Favourite colour", None),
    ],
)
def test_guess_field(header: str, field: str | None) -> None:
    assert guess_field(header) == field


def test_second_phone_column_becomes_phone2() -> None:
    cols = resolve_columns(["Name", "Phone", "Mobile", "Email"])
    assert cols == {"full_name": 0, "phone": 1, "phone2": 2, "email": 3}


def test_mapping_overrides_and_ignores(tmp_path: Path) -> None:
    p = tmp_path / "m.yaml"
    p.write_text(
        'columns:\n  "Контакт": full_name\n  "Почта клиента": email\n  "Phone": ignore\n'
        "dayfirst: false\ncountry: ru\n",
        encoding="utf-8",
    )
    m = load_mapping(p)
    assert m.dayfirst is False and m.country == "RU"
    assert resolve_columns(["Контакт", "Почта клиента", "Phone"], m) == {
        "full_name": 0,
        "email": 1,
    }
    assert recogniser(m)(["Контакт", "Почта клиента"]) > 0


@pytest.mark.parametrize(
    "text",
    ["columns:\n  A: shoe_size\n", "columns: [1, 2]\n", "nonsense: 1\n", "columns: {a: b\n"],
)
def test_bad_mapping_is_config_error(tmp_path: Path, text: str) -> None:
    p = tmp_path / "m.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_mapping(p)
    assert "m.yaml" in err.value.format_message()


def test_title_rows_are_not_headers() -> None:
    rec = recogniser()
    assert rec(["Выставка Иннопром 2026, выгрузка"]) == 0
    assert rec(["ФИО", "E-mail", "Телефон"]) == 3
    assert rec(["Company", "Country"]) == 0  # no contact or name column: not a header
    assert rec((ColumnMapping().columns and []) or ["Email"]) == 1


@pytest.mark.parametrize(
    ("full", "expected"),
    [
        ("Иванов Иван Иванович", ("Иван", "Иванов", "Иванович")),
        ("Иван Иванович Иванов", ("Иван", "Иванов", "Иванович")),
        ("Иван Петров", ("Иван", "Петров", None)),
        ("Петров Иван", ("Иван", "Петров", None)),
        ("Ivan Petrov", ("Ivan", "Petrov", None)),
        ("Petrov, Ivan", ("Ivan", "Petrov", None)),
        ("John Ronald Tolkien", ("John", "Tolkien", "Ronald")),
        ("Madonna", ("Madonna", None, None)),
        ("  ", (None, None, None)),
    ],
)
def test_split_full_name(full: str, expected: tuple[str | None, ...]) -> None:
    assert split_full_name(full) == expected


def test_merge_header_rows_only_when_it_names_more_fields() -> None:
    from nurture.intake.headers import merge_header_rows, recogniser

    rec = recogniser()
    upper = ["Контакт", None, "Phone", None]
    lower = ["First Name", "Last Name", "office", "home"]
    assert merge_header_rows([c or "" for c in upper], lower, rec) == [
        "First Name",
        "Last Name",
        "Phone",
        "Phone",
    ]
    # A title above the header changes nothing; unknown groups change nothing.
    assert merge_header_rows(["Seminar attendees", "", ""], ["Name", "Email", "x"], rec) == [
        "Name",
        "Email",
        "x",
    ]
    assert merge_header_rows(["Misc", ""], ["Email", "notes"], rec) == ["Email", "notes"]
