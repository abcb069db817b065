"""Undoing an import-time link (``leads unmerge --source``) on both databases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from intake_support import write_csv
from sqlalchemy import Engine, select

from nurture.db.leads import Lead, LeadMerge, LeadSource
from nurture.db.session import session_scope
from nurture.errors import InputError
from nurture.intake import import_file
from nurture.intake.detach import detach_source, source_fields
from nurture.intake.provenance import lead_sources

HEADER = ["ФИО", "E-mail", "Телефон", "Компания", "Должность"]


def _import_shared_phone(db: Engine, tmp_path: Path) -> tuple[int, int]:
    """Two people behind one office phone; the second row is linked to the first lead."""
    first = write_csv(
        tmp_path / "a.csv",
        HEADER,
        [["Иванов Иван", "ivan@romashka.ru", "+7 495 111-22-33", "Ромашка", ""]],
    )
    second = write_csv(
        tmp_path / "b.csv",
        ["ФИО", "Телефон", "Компания", "Должность", "Город"],
        [["Петрова Анна", "8 495 111 22 33", "Ромашка", "Бухгалтер", "Казань"]],
    )
    import_file(first, event="Выставка", kind="exhibition", engine=db)
    s = import_file(second, event="Семинар", kind="seminar", engine=db)
    assert s.merged == 1 and s.created == 0
    with session_scope(db) as sess:
        lead_id = sess.scalars(select(Lead.id)).one()
        src = sess.scalars(
            select(LeadSource.id).where(
                LeadSource.file_name == "b.csv", LeadSource.lead_id == lead_id
            )
        ).one()
    return lead_id, src


def test_detach_splits_the_row_off_and_takes_back_what_it_filled(
    db: Engine, tmp_path: Path
) -> None:
    lead_id, src_id = _import_shared_phone(db, tmp_path)
    with session_scope(db) as sess:
        lead = sess.get(Lead, lead_id)
        assert lead is not None and lead.title == "Бухгалтер" and lead.city == "Казань"
        listed = lead_sources(sess, lead_id)
        assert [s["outcome"] for s in listed] == ["created", "merged"]
        assert set(listed[1]["filled"]) >= {"title", "city"}
        # A manager edits the city in the meantime: that edit must survive the undo.
        lead.city = "Москва"

    with session_scope(db) as sess:
        d = detach_source(sess, source_id=src_id)

    with session_scope(db) as sess:
        old, new = sess.get(Lead, lead_id), sess.get(Lead, d.lead_id)
        assert old is not None and new is not None
        assert old.title is None  # filled by the row, unchanged since: taken back
        assert old.city == "Москва"  # changed by a human since: kept
        assert old.phone == "+74951112233" and old.first_name == "Иван"
        assert (new.first_name, new.last_name, new.title, new.city) == (
            "Анна",
            "Петрова",
            "Бухгалтер",
            "Казань",
        )
        # The office phone stays with the live lead that holds it; the new one remembers it.
        assert new.phone is None
        assert new.extra is not None and new.extra["shared_contacts"] == {"phone": "+74951112233"}
        assert new.merged_into_id is None and new.status == "open"
        src = sess.get(LeadSource, src_id)
        assert src is not None and (src.lead_id, src.outcome) == (new.id, "detached")
        entry = sess.get(LeadMerge, d.merge_id)
        assert entry is not None and entry.undone_at is not None
        assert entry.snapshot["kind"] == "import_link"
        assert entry.snapshot["cleared"] == {"title": "Бухгалтер"}

    with session_scope(db) as sess, pytest.raises(InputError, match="detached"):
        detach_source(sess, source_id=src_id)  # twice: refused, nothing changes


def test_detach_gives_the_row_its_own_contact_when_free(db: Engine, tmp_path: Path) -> None:
    """A row linked by its phone whose own e-mail the lead never took gets that e-mail back."""
    a = write_csv(
        tmp_path / "a.csv",
        HEADER,
        [["Иванов Иван", "ivan@romashka.ru", "+7 495 111-22-33", "Ромашка", ""]],
    )
    b = write_csv(
        tmp_path / "b.csv",
        HEADER,
        [["Петрова Анна", "anna@romashka.ru", "+7 495 111-22-33", "Ромашка", ""]],
    )
    import_file(a, event="E1", engine=db)
    assert import_file(b, event="E2", engine=db).merged == 1
    with session_scope(db) as sess:
        src_id = sess.scalars(select(LeadSource.id).where(LeadSource.file_name == "b.csv")).one()
        d = detach_source(sess, source_id=src_id)
    with session_scope(db) as sess:
        new = sess.get(Lead, d.lead_id)
        assert new is not None and new.email == "anna@romashka.ru"
        assert d.shared_contacts == {"phone": "+74951112233"}


def test_only_linked_rows_can_be_detached(db: Engine, tmp_path: Path) -> None:
    _import_shared_phone(db, tmp_path)
    with session_scope(db) as sess:
        created = sess.scalars(select(LeadSource.id).where(LeadSource.outcome == "created")).one()
    with session_scope(db) as sess, pytest.raises(InputError, match="created"):
        detach_source(sess, source_id=created)


def test_source_fields_use_the_files_mapping() -> None:
    raw = {"Контакт": "Сидоров Пётр", "Почта клиента": "P@Example.RU", "Дата": "01.02.2026"}
    mapping = {"columns": {"Контакт": "full_name", "Почта клиента": "email"}, "country": "KZ"}
    f = source_fields(raw, mapping)
    assert (f["email"], f["last_name"], f["country"]) == ("p@example.ru", "Сидоров", "KZ")


def test_cli_sources_and_unmerge_source(fresh_db: str, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from nurture.cli import app
    from nurture.db.session import make_engine

    eng = make_engine(fresh_db)
    try:
        lead_id, src_id = _import_shared_phone(eng, tmp_path)
    finally:
        eng.dispose()
    cli = CliRunner()
    r = cli.invoke(app, ["leads", "sources", str(lead_id), "--json"])
    assert r.exit_code == 0, r.output
    assert [s["source_id"] for s in json.loads(r.output)["sources"]][-1] == src_id
    r = cli.invoke(app, ["leads", "unmerge", "--source", str(src_id), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["survivor_id"] == lead_id and out["restored_id"] != lead_id
    r = cli.invoke(app, ["leads", "unmerge"])
    assert r.exit_code == 2 and "--source" in r.output
    r = cli.invoke(app, ["leads", "unmerge", "--source", str(src_id)])
    assert r.exit_code == 2 and "detached" in r.output
