"""Sample rows and file writers shared by the intake tests (imported by name: a module
called ``conftest`` is ambiguous when pytest runs several test folders at once)."""

from __future__ import annotations

from pathlib import Path

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
