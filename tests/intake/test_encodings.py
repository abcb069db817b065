"""Mixed encodings are read line by line, and a JSON line nested too deeply is one bad row."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine, select

from nurture.db.leads import ImportBatch, Lead, LeadSource, QuarantineRow
from nurture.db.session import session_scope
from nurture.intake.pipeline import import_file

HEADER = "ФИО,E-mail,Компания\n"


def _utf8_with_a_cp1251_line(path: Path, rows: int, odd: int) -> Path:
    with path.open("wb") as fh:
        fh.write(HEADER.encode("utf-8"))
        for i in range(1, rows + 1):
            line = f"Иванов{i} Иван,u{i}@x.ru,Ромашка\n"
            fh.write(line.encode("cp1251" if i == odd else "utf-8"))
    return path


def _names(engine: Engine) -> dict[str, str]:
    with session_scope(engine) as s:
        return {
            str(r.email): f"{r.last_name} {r.first_name}"
            for r in s.execute(select(Lead.email, Lead.first_name, Lead.last_name))
        }


def test_one_cp1251_row_in_a_utf8_file_is_read_as_cp1251_with_a_warning(
    db: Engine, tmp_path: Path
) -> None:
    """The whole file used to be decoded as cp1251 (every name mojibake, no warning)."""
    p = _utf8_with_a_cp1251_line(tmp_path / "mixed.csv", 5000, odd=4000)
    s = import_file(p, event="Mixed", engine=db)
    assert (s.encoding, s.created, s.warnings) == ("utf-8", 5000, 1)
    names = _names(db)
    assert names["u1@x.ru"] == "Иванов1 Иван" and names["u4000@x.ru"] == "Иванов4000 Иван"
    with session_scope(db) as sess:
        warnings = sess.scalar(
            select(LeadSource.warnings).where(LeadSource.row_number == 4001)  # header is 1
        )
    assert warnings and "line 4001 is not utf-8: read as cp1251" in warnings[0]


def test_an_odd_line_past_the_sample_is_not_replaced_silently(db: Engine, tmp_path: Path) -> None:
    """Past the first 256 KB an odd line used to become U+FFFD without a word."""
    p = _utf8_with_a_cp1251_line(tmp_path / "late.csv", 12_000, odd=11_000)
    assert p.stat().st_size > 256 * 1024 * 1.5
    s = import_file(p, event="Late", engine=db)
    assert (s.created, s.warnings) == (12_000, 1)
    names = _names(db)
    assert names["u11000@x.ru"] == "Иванов11000 Иван"
    assert not any("\ufffd" in n for n in names.values())


def test_a_utf8_line_in_a_cp1251_file_is_read_as_utf8(db: Engine, tmp_path: Path) -> None:
    p = tmp_path / "cp.csv"
    body = "".join(f"Петров{i} Пётр;p{i}@x.ru;Ромашка\r\n" for i in range(50))
    odd = "Сидоров Сидор;s@x.ru;Ромашка\r\n"
    p.write_bytes(
        "ФИО;E-mail;Компания\r\n".encode("cp1251")
        + body.encode("cp1251")
        + odd.encode("utf-8")
        + "Конец Тест;e@x.ru;Ромашка\r\n".encode("cp1251")
    )
    s = import_file(p, event="Cp", engine=db)
    assert (s.encoding, s.created, s.warnings) == ("cp1251", 52, 1)
    assert _names(db)["s@x.ru"] == "Сидоров Сидор"


def test_a_deeply_nested_json_line_is_quarantined_and_the_rest_imported(
    db: Engine, tmp_path: Path
) -> None:
    """One nested record used to crash the import (RecursionError, the batch left running,
    nothing imported)."""
    lines = [json.dumps({"name": f"N{i}", "email": f"w{i}@x.ru"}) for i in range(3000)]
    lines[1500] = '{"name": ' + "[" * 100_000 + "]" * 100_000 + ', "email": "deep@x.ru"}'
    lines[1600] = json.dumps({"email": "nested@x.ru", "name": "x", "extra": [[["a"]]]})
    p = tmp_path / "forms.jsonl"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    s = import_file(p, event="Forms", kind="webform", engine=db)
    assert (s.rows, s.created, s.quarantined) == (3000, 2999, 1)
    with session_scope(db) as sess:
        reasons = sess.scalars(select(QuarantineRow.reasons)).one()
        assert "line 1501" in reasons[0] and "nested too deeply" in reasons[0]
        assert sess.scalar(select(ImportBatch.status)) == "done"
