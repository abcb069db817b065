"""Reading a messy corpus: encodings, delimiters, title rows, XLSX, JSON Lines, garbage."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from intake_support import HEADER_RU, ROWS_RU, write_csv
from xlsxgen import write_xlsx

from nurture.errors import NotALeadListError
from nurture.intake.headers import recogniser
from nurture.intake.reading import open_table


def _read(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    t = open_table(path, recogniser())
    return t.header, list(t.rows())


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1251", "utf-16"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_csv_encodings_and_delimiters(tmp_path: Path, encoding: str, delimiter: str) -> None:
    p = write_csv(
        tmp_path / "l.csv",
        HEADER_RU,
        ROWS_RU,
        encoding=encoding,
        delimiter=delimiter,
        title="Выставка: список",
    )
    header, rows = _read(p)
    assert header == HEADER_RU
    assert rows[0][1][:3] == ROWS_RU[0][:3]
    assert rows[0][0] == 4  # title, blank line, header above
    assert len(rows) == len(ROWS_RU)


def test_text_is_kept_as_typed(tmp_path: Path) -> None:
    p = write_csv(
        tmp_path / "l.csv",
        ["Email", "Phone", "Code", "Date"],
        [["a@b.ru", "+79001234567", "007", "01.02.2026"]],
    )
    _, rows = _read(p)
    assert rows[0][1] == ["a@b.ru", "+79001234567", "007", "01.02.2026"]


def test_xlsx_title_rows_numbers_and_dates(tmp_path: Path) -> None:
    p = write_xlsx(
        tmp_path / "l.xlsx",
        [
            ["Seminar sign-up"],
            [],
            ["Name", "Phone", "Email", "Registered", "Code"],
            ["Ivan Petrov", 79001234567, "i@x.ru", date(2026, 2, 1), "007"],
        ],
    )
    header, rows = _read(p)
    assert header == ["Name", "Phone", "Email", "Registered", "Code"]
    assert rows == [(4, ["Ivan Petrov", "79001234567", "i@x.ru", "2026-02-01", "007"])]


def test_jsonl(tmp_path: Path) -> None:
    p = tmp_path / "f.jsonl"
    p.write_text(
        json.dumps({"name": "A", "email": "a@b.ru"})
        + "\n\n{oops\n"
        + json.dumps({"email": "c@d.ru", "phone": 79001234567})
        + "\n",
        encoding="utf-8",
    )
    header, rows = _read(p)
    assert header == ["name", "email", "phone"]
    assert rows[0] == (1, ["A", "a@b.ru", ""]) and rows[1] == (2, [])
    assert rows[3] == (4, ["", "c@d.ru", "79001234567"])


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "binary"),
        (bytes(range(256)) * 8, "binary"),
        (b"PK\x03\x04garbage-zip", "spreadsheet"),
        (b"Hello,World\nfoo,bar\n", "no recognisable columns"),
        (b"[1, 2, 3]\n", "no recognisable columns"),
    ],
)
def test_not_a_lead_list(tmp_path: Path, content: bytes, problem: str) -> None:
    p = tmp_path / "bad.csv"
    p.write_bytes(content)
    with pytest.raises(NotALeadListError) as err:
        _read(p)
    msg = err.value.format_message()
    assert msg.startswith("bad.csv") and problem in msg


def test_xlsx_two_row_header_with_grouped_columns(tmp_path: Path) -> None:
    """Merged group cells: "Телефон" over two unnamed columns, "E-mail" merged down."""
    p = write_xlsx(
        tmp_path / "badges.xlsx",
        [
            ["Иннопром 2026: посетители стенда", None, None, None, None],
            [None, None, None, None, None],
            ["Контактное лицо", None, "Телефон", None, "E-mail"],
            ["Фамилия", "Имя", "Рабочий", "Мобильный", None],
            ["Иванов", "Иван", "+7 343 200-00-00", 79001234567, "i@uralmash.ru"],
        ],
    )
    t = open_table(p, recogniser())
    assert t.header == ["Фамилия", "Имя", "Телефон", "Мобильный", "E-mail"]
    assert t.header_row == 4
    from nurture.intake.headers import resolve_columns

    cols = resolve_columns(t.header)
    assert cols == {"last_name": 0, "first_name": 1, "phone": 2, "phone2": 3, "email": 4}
    assert list(t.rows()) == [
        (5, ["Иванов", "Иван", "+7 343 200-00-00", "79001234567", "i@uralmash.ru"])
    ]


def test_csv_title_row_above_header_is_not_merged_into_it(tmp_path: Path) -> None:
    p = write_csv(tmp_path / "t.csv", HEADER_RU, ROWS_RU, title="Участники семинара;;;")
    header, rows = _read(p)
    assert header == HEADER_RU and rows[0][1] == ROWS_RU[0]
