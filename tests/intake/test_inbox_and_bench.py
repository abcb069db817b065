"""The inbox library behind the Prefect flow, one real flow run, and a bench smoke run."""

from __future__ import annotations

import shutil
import sys
from datetime import date
from pathlib import Path

import pytest
from intake_support import HEADER_RU, ROWS_RU, write_csv
from sqlalchemy import Engine, func, select

from nurture.db.leads import Event, Lead
from nurture.db.session import session_scope
from nurture.intake.inbox import claim, event_meta, pending_files, process_file, summary_markdown

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "events"


def test_event_meta_from_sidecar_and_filename(tmp_path: Path) -> None:
    a = tmp_path / "badges.csv"
    a.write_text("x", encoding="utf-8")
    (tmp_path / "badges.csv.event.yaml").write_text(
        "name: Иннопром\nkind: exhibition\ndate: 2026-07-07\n", encoding="utf-8"
    )
    m = event_meta(a)
    assert (m.name, m.kind, m.date) == ("Иннопром", "exhibition", date(2026, 7, 7))
    m = event_meta(tmp_path / "webinar--2026-10-01--Industry 4.0.csv")
    assert (m.name, m.kind, m.date) == ("Industry 4.0", "webinar", date(2026, 10, 1))
    m = event_meta(tmp_path / "webform--Site.jsonl")
    assert (m.name, m.kind, m.date) == ("Site", "webform", None)
    assert event_meta(tmp_path / "list.csv").name == "list"


def test_inbox_moves_files_to_done_and_failed(db: Engine, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_csv(inbox / "seminar--2026-09-15--Lean.csv", HEADER_RU, ROWS_RU)
    (inbox / "photo.csv").write_bytes(bytes(range(256)) * 8)
    results = []
    for p in pending_files(inbox):
        claimed = claim(p, inbox)
        assert claimed is not None
        results.append(process_file(claimed, inbox))
    ok = {r.file: r.ok for r in results}
    assert ok == {"seminar--2026-09-15--Lean.csv": True, "photo.csv": False}
    assert (inbox / "done" / "seminar--2026-09-15--Lean.csv").exists()
    assert (
        (inbox / "failed" / "photo.csv.error.txt")
        .read_text(encoding="utf-8")
        .startswith("photo.csv")
    )
    assert pending_files(inbox) == []
    md = summary_markdown(results)
    assert "| seminar--2026-09-15--Lean.csv | 5 | 3 | 1 | 1 | 0 | done |" in md
    with session_scope(db) as s:
        assert s.scalar(select(Event.kind)) == "seminar"


@pytest.mark.slow
def test_intake_flow_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prefect_harness: None
) -> None:
    """The flow is the same library as above: one backend is enough for its wiring."""
    from nurture.config import get_settings
    from nurture.db.session import get_engine, init_db, make_engine

    url = f"sqlite:///{tmp_path / 'flow.db'}"
    engine = make_engine(url)
    init_db(engine)
    monkeypatch.setenv("NURTURE_DATABASE_URL", url)
    get_settings.cache_clear()
    get_engine.cache_clear()
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from flows.intake import intake_inbox

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ("webform-2026-10.jsonl", "webform-2026-10.jsonl.event.yaml"):
        shutil.copy(EXAMPLES / name, inbox / name)
    results = intake_inbox(str(inbox))
    assert [r["ok"] for r in results] == [True]
    assert (inbox / "done" / "webform-2026-10.jsonl").exists()
    with session_scope(engine) as s:
        created = s.scalar(select(func.count()).select_from(Lead))
    assert created == results[0]["summary"]["created"] > 0
    engine.dispose()


@pytest.mark.slow
def test_bench_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    import importlib

    bench = importlib.import_module("intake")
    out = bench.main(["--rows", "400", "--no-postgres"])
    runs = {r["run"]: r for r in out["rows"]}
    assert runs["nurture sqlite"]["rows"] == 400
    assert runs["normalising alone (no database)"]["rows"] == 400  # every row normalised
    r = runs["nurture sqlite"]
    assert r["created"] + r["merged"] + r["quarantined"] == 400
    # both schema bounds wrote every lead the import made
    for bound in ("schema floor (sqlite3, Nurture's tables)", bench.LEAN_RUN):
        assert runs[bound]["created"] == r["created"]


def test_a_file_that_breaks_the_import_goes_to_failed_and_the_rest_go_on(
    db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in one file's import used to leave it in processing/, where every later run
    took it first and failed again: the files behind it were never imported."""
    from nurture.intake import inbox as inbox_module

    inbox = tmp_path / "inbox"
    (inbox / "processing").mkdir(parents=True)
    bad = write_csv(inbox / "processing" / "bad.csv", HEADER_RU, ROWS_RU)
    good = write_csv(inbox / "webinar--2026-10-01--Good.csv", HEADER_RU, ROWS_RU[:2])
    real = inbox_module.import_file

    def fragile(path: Path, **kwargs: object) -> object:
        if path.name == "bad.csv":
            raise RecursionError("maximum recursion depth exceeded")
        return real(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(inbox_module, "import_file", fragile)
    results = []
    for p in pending_files(inbox):
        claimed = claim(p, inbox)
        assert claimed is not None
        results.append(process_file(claimed, inbox))
    assert [(r.file, r.ok) for r in results] == [(bad.name, False), (good.name, True)]
    reason = (inbox / "failed" / "bad.csv.error.txt").read_text(encoding="utf-8")
    assert "bad.csv" in reason and "RecursionError" in reason
    assert not any((inbox / "processing").iterdir())
    assert (inbox / "done" / good.name).exists()


def test_inbox_sidecar_mapping_is_relative_to_the_inbox(db: Engine, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_csv(inbox / "odd.csv", ["Контакт", "Почта клиента"], [["Иван Петров", "ip@x.ru"]])
    (inbox / "odd.yaml").write_text(
        'columns:\n  "Контакт": full_name\n  "Почта клиента": email\n', encoding="utf-8"
    )
    (inbox / "odd.csv.event.yaml").write_text("name: Odd\nmapping: odd.yaml\n", encoding="utf-8")
    claimed = claim(inbox / "odd.csv", inbox)
    assert claimed is not None
    result = process_file(claimed, inbox)
    assert result.ok, result.error
    assert result.summary["created"] == 1
