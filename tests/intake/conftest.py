"""Fixtures of intake tests: a messy corpus generator and an engine on a fresh database."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from nurture.db.session import make_engine

sys.path.insert(0, str(Path(__file__).parent))

HEADER_RU = ["ФИО", "E-mail", "Телефон", "Компания", "Должность", "Город", "Дата"]
ROWS_RU = [
    [
        "Иванов Иван Иванович",
        "Ivan@Mail.ru ",
        "8 (900) 123-45-67",
        "ООО Ромашка",
        "Директор",
        "Москва",
        "01.02.2026",
    ],
    ["Петров Пётр", "", "+7 913 555 12 34", "Ромашка", "", "Новосибирск", ""],
    ["", "", "", "", "", "", ""],
    ["Сидоров", "ivan@mail.ru", "", "", "", "", ""],
    ["Без Контактов", "bad@@x", "", "", "", "", ""],
    ["<script>alert(1)</script>", "xss@example.org", "", "=1+2", "", "", ""],
]


def write_csv(
    path: Path,
    header: list[str],
    rows: list[list[str]],
    *,
    encoding: str = "utf-8",
    delimiter: str = ",",
    title: str | None = None,
) -> Path:
    import csv
    import io

    buf = io.StringIO()
    if title:
        buf.write(title + "\r\n\r\n")
    w = csv.writer(buf, delimiter=delimiter)
    w.writerow(header)
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


@pytest.fixture()
def db(fresh_db: str) -> Iterator[Engine]:
    """An engine on an empty migrated database (real commits; both backends)."""
    eng = make_engine(fresh_db)
    yield eng
    eng.dispose()
