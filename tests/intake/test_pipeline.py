"""Import into a real database (SQLite and PostgreSQL): counts, provenance, idempotency,
interrupted imports, two importers at once, merges, exports."""

from __future__ import annotations

import csv
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from intake_support import HEADER_RU, ROWS_RU, write_csv
from sqlalchemy import Engine, func, select, text

from nurture.db.leads import ImportBatch, Lead, LeadSource, PossibleDuplicate, QuarantineRow
from nurture.db.session import session_scope
from nurture.errors import NotALeadListError
from nurture.intake.export import export_leads, export_quarantine
from nurture.intake.merges import merge_leads, unmerge
from nurture.intake.pipeline import import_file

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "events"
REPO = Path(__file__).resolve().parents[2]


def scalar(engine: Engine, stmt: object) -> int:
    with engine.connect() as c:
        return int(c.execute(stmt).scalar() or 0)  # type: ignore[call-overload]


def live_leads(engine: Engine) -> int:
    return scalar(
        engine, select(func.count()).select_from(Lead).where(Lead.merged_into_id.is_(None))
    )


def gen_rows(n: int, seed: int, people: int) -> list[list[str]]:
    """``n`` rows about ``people`` persons: exact duplicates, case/format variants, junk."""
    rnd = random.Random(seed)
    rows = []
    for _ in range(n):
        i = rnd.randrange(people)
        kind = rnd.random()
        email = f"user{i}@example{i % 7}.ru"
        phone = f"+7 9{i:09d}"
        if kind < 0.05:
            rows.append([f"Nobody {i}", "", "", "", "", "", ""])
        elif kind < 0.08:
            rows.append(["", "", "", "", "", "", ""])
        elif kind < 0.5:
            rows.append([f"Петров{i % 50} Пётр", email.upper(), "", f"Co{i % 30}", "", "", ""])
        else:
            rows.append(
                [
                    f"Петров{i % 50} Пётр",
                    email,
                    f"8{phone[2:]}",
                    f"Co{i % 30}",
                    "",
                    "Москва",
                    "01.02.2026",
                ]
            )
    return rows


def check_invariants(engine: Engine, batch_id: int) -> ImportBatch:
    with session_scope(engine) as s:
        b = s.get(ImportBatch, batch_id)
        assert b is not None
        sources = s.scalar(select(func.count()).where(LeadSource.batch_id == batch_id))
        quarantined = s.scalar(select(func.count()).where(QuarantineRow.batch_id == batch_id))
        assert b.created + b.merged + b.quarantined == b.rows
        assert sources == b.created + b.merged
        assert quarantined == b.quarantined
        # lead_sources has no foreign keys (0010): every row names a lead and the batch's event
        orphans = s.scalar(
            select(func.count())
            .select_from(LeadSource)
            .outerjoin(Lead, Lead.id == LeadSource.lead_id)
            .where(
                LeadSource.batch_id == batch_id,
                (Lead.id.is_(None)) | (LeadSource.event_id != b.event_id),
            )
        )
        assert orphans == 0
        for column in (Lead.email, Lead.phone):
            dup = s.execute(
                select(column, func.count())
                .where(column.is_not(None), Lead.merged_into_id.is_(None))
                .group_by(column)
                .having(func.count() > 1)
            ).all()
            assert dup == []
        s.expunge(b)
        return b


def test_example_files_every_row_accounted(db: Engine) -> None:
    total_created = 0
    for name, kind in [
        ("innoprom-2026-badges.csv", "exhibition"),
        ("seminar-2026-09-15-signups.xlsx", "seminar"),
        ("webinar-2026-10-01-attendees.csv", "webinar"),
        ("webform-2026-10.jsonl", "webform"),
    ]:
        s = import_file(EXAMPLES / name, event=name, kind=kind, engine=db)
        assert s.created + s.merged + s.quarantined == s.rows > 0
        check_invariants(db, s.batch_id)
        total_created += s.created
    assert live_leads(db) == total_created
    # The same person met at three events keeps all three sources.
    with session_scope(db) as s:
        ivan = s.scalars(select(Lead).where(Lead.email == "ivan.ivanov@romashka.ru")).one()
        assert (ivan.first_name, ivan.last_name, ivan.phone) == ("Иван", "Иванов", "+79123456789")
        assert (ivan.country, ivan.language, ivan.timezone, ivan.status) == (
            "RU",
            "ru",
            "Asia/Yekaterinburg",
            "open",
        )
        kinds = s.scalars(select(LeadSource.event_id).where(LeadSource.lead_id == ivan.id)).all()
        assert len(kinds) == 3
        assert s.scalar(select(func.count()).select_from(PossibleDuplicate)) >= 2
    # Importing again creates nothing and says so.
    before = live_leads(db)
    again = import_file(
        EXAMPLES / "innoprom-2026-badges.csv",
        event="innoprom-2026-badges.csv",
        kind="exhibition",
        engine=db,
    )
    assert again.already_imported and live_leads(db) == before


def test_messy_csv_quarantine_export_and_reimport(db: Engine, tmp_path: Path) -> None:
    rows = [*ROWS_RU, ["Лишний", "x@y.ru", "", "", "", "", "", "extra"]]
    p = write_csv(
        tmp_path / "expo.csv", HEADER_RU, rows, encoding="cp1251", delimiter=";", title="Выставка"
    )
    s = import_file(p, event="Expo", engine=db)
    assert (s.rows, s.blank, s.created, s.merged, s.quarantined) == (6, 1, 3, 1, 2)
    out = tmp_path / "q.csv"
    with session_scope(db) as sess:
        assert export_quarantine(sess, out=out) == 2
    text_ = out.read_text(encoding="utf-8-sig")
    assert "bad@@x" in text_ and "header has 7" in text_
    # The lead whose name is HTML is stored as typed and exported as typed (a CSV is text).
    with session_scope(db) as sess:
        lead = sess.scalars(select(Lead).where(Lead.email == "xss@example.org")).one()
        assert "<script>" in (lead.first_name or "") + (lead.last_name or "")
        export = tmp_path / "leads.csv"
        assert export_leads(sess, out=export) == 3
    raw = export.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows_out = list(csv.DictReader(export.read_text(encoding="utf-8-sig").splitlines()))
    by_email = {r["email"]: r for r in rows_out}
    xss = by_email["xss@example.org"]
    assert "<script>" in xss["first_name"] + xss["last_name"]
    assert all("&lt;" not in v and "&amp;" not in v for r in rows_out for v in r.values())
    assert by_email["xss@example.org"]["company"] == "'=1+2"
    assert by_email["ivan@mail.ru"]["phone"] == "'+79001234567"
    assert by_email["ivan@mail.ru"]["owner_email"] == ""
    assert "Expo" in by_email["ivan@mail.ru"]["sources"]


def test_interrupted_import_resumes_without_loss_or_doubles(db: Engine, tmp_path: Path) -> None:
    rows = gen_rows(1500, seed=1, people=600)
    p = write_csv(tmp_path / "big.csv", HEADER_RU, rows)
    first = import_file(
        p, event="Big", engine=db, chunk_size=200, commit_rows=400, stop_after_chunks=3
    )
    assert first.rows + first.blank == 600  # two chunks in one commit, the third at the stop
    done = import_file(p, event="Big", engine=db, chunk_size=250)  # boundaries differ
    b = check_invariants(db, done.batch_id)
    blank = sum(1 for r in rows if not any(r))
    assert b.rows == 1500 - blank and b.blank == blank and b.status == "done"
    # Same result as one uninterrupted import of the same file into a clean event.
    expected_people = {r[1].lower() for r in rows if r[1]}
    assert live_leads(db) == len(expected_people)


def _worker(url: str, path: Path, event: str, chunk: int) -> subprocess.Popen[bytes]:
    code = (
        "import sys; from pathlib import Path; from nurture.intake.pipeline import import_file;"
        f"s = import_file(Path({str(path)!r}), event={event!r}, chunk_size={chunk});"
        "print(s.created, s.merged, s.quarantined, s.rows)"
    )
    # Two chunks per transaction: a kill can land between chunks of an open transaction.
    env = {**os.environ, "NURTURE_DATABASE_URL": url, "NURTURE_IMPORT_COMMIT_ROWS": str(2 * chunk)}
    return subprocess.Popen(
        [sys.executable, "-c", code],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
def test_import_killed_with_sigkill_then_rerun(db: Engine, fresh_db: str, tmp_path: Path) -> None:
    rows = gen_rows(1500, seed=2, people=600)
    p = write_csv(tmp_path / "kill.csv", HEADER_RU, rows)
    proc = _worker(fresh_db, p, "Kill", 50)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        last = scalar(db, select(func.max(ImportBatch.last_row)))
        if last and last > 150:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()  # reaps it and closes its pipes
    partial = scalar(db, select(func.max(ImportBatch.rows)))
    assert partial > 0
    rerun = _worker(fresh_db, p, "Kill", 50)
    _, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err.decode()
    batch_id = scalar(db, select(func.max(ImportBatch.id)))
    b = check_invariants(db, batch_id)
    assert b.rows + b.blank == 1500
    assert live_leads(db) == len({r[1].lower() for r in rows if r[1]})


@pytest.mark.slow
def test_two_workers_never_create_the_same_person_twice(
    db: Engine, fresh_db: str, tmp_path: Path
) -> None:
    rows = gen_rows(1200, seed=3, people=400)
    a = write_csv(tmp_path / "a.csv", HEADER_RU, rows[:700] + rows[:150])
    b = write_csv(tmp_path / "b.csv", HEADER_RU, list(reversed(rows[400:])))
    procs = [_worker(fresh_db, a, "A", 50), _worker(fresh_db, b, "B", 50)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    people = {r[1].lower() for r in rows if r[1]}
    assert live_leads(db) == len(people)
    total_created = 0
    with db.connect() as c:
        for (batch_id,) in c.execute(select(ImportBatch.id)):
            total_created += check_invariants(db, batch_id).created
    assert total_created == len(people)


def test_merge_and_unmerge_roundtrip(db: Engine, tmp_path: Path) -> None:
    p = write_csv(
        tmp_path / "m.csv",
        ["Name", "Email", "Phone", "Company"],
        [
            ["Jane Doe", "jane@globex.com", "", "Globex"],
            ["Jane Doe", "j.doe@globex-corp.com", "+1 415 555 0199", "Globex Corp"],
        ],
    )
    s = import_file(p, event="Seminar", kind="seminar", engine=db)
    assert s.possible_duplicates == 1
    with session_scope(db) as sess:
        a, b = sess.scalars(select(Lead.id).order_by(Lead.id)).all()
        entry = merge_leads(sess, survivor_id=a, merged_id=b, reason="test")
        merge_id = entry.id
    with session_scope(db) as sess:
        survivor = sess.get(Lead, a)
        assert survivor is not None and survivor.phone == "+14155550199"
        assert sess.scalar(select(func.count()).where(LeadSource.lead_id == a)) == 2
    with session_scope(db) as sess:
        unmerge(sess, merge_or_lead_id=merge_id)
    with session_scope(db) as sess:
        survivor, restored = sess.get(Lead, a), sess.get(Lead, b)
        assert survivor is not None and restored is not None
        assert survivor.phone is None and restored.merged_into_id is None
        assert restored.phone == "+14155550199"
        assert sess.scalar(select(func.count()).where(LeadSource.lead_id == b)) == 1


def test_not_a_lead_list_writes_nothing(db: Engine, tmp_path: Path) -> None:
    p = tmp_path / "photo.csv"
    p.write_bytes(os.urandom(4096))
    with pytest.raises(NotALeadListError):
        import_file(p, event="X", engine=db)
    with db.connect() as c:
        assert c.execute(text("select count(*) from events")).scalar() == 0
        assert c.execute(text("select count(*) from import_batches")).scalar() == 0


def _record_pid(log: Path, original: object) -> object:
    def prepare(*args: object, **kwargs: object) -> object:
        with log.open("a") as fh:
            fh.write(f"{os.getpid()}\n")
        return original(*args, **kwargs)  # type: ignore[operator]

    return prepare


def test_helper_process_reads_and_normalises_big_files(
    db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above PARALLEL_FROM_BYTES a forked helper normalises; the outcome is the same."""
    import multiprocessing

    from nurture.intake import helper, pipeline

    rows = gen_rows(2000, seed=4, people=700)
    p = write_csv(tmp_path / "big.csv", HEADER_RU, rows)
    log = tmp_path / "pids.txt"
    monkeypatch.setattr(helper, "PARALLEL_FROM_BYTES", 0)
    monkeypatch.setattr(pipeline, "prepare_rows", _record_pid(log, pipeline.prepare_rows))
    s = import_file(p, event="Helper", engine=db, chunk_size=300)
    pids = set(log.read_text().split())
    assert pids and str(os.getpid()) not in pids  # normalised in another process
    b = check_invariants(db, s.batch_id)
    blank = sum(1 for r in rows if not any(r))
    assert b.rows == 2000 - blank and b.blank == blank and b.status == "done"
    assert live_leads(db) == len({r[1].lower() for r in rows if r[1]})
    # Stopped early, the helper does not outlive the import.
    p2 = write_csv(tmp_path / "big2.csv", HEADER_RU, gen_rows(2000, seed=5, people=900))
    import_file(p2, event="Helper 2", engine=db, chunk_size=300, stop_after_chunks=1)
    assert multiprocessing.active_children() == []


def test_helper_process_error_reaches_the_importer(
    db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nurture.errors import InputError
    from nurture.intake import helper, pipeline

    def broken(*args: object, **kwargs: object) -> object:
        raise InputError("cannot decode", file="bad.csv", row=7)

    p = write_csv(tmp_path / "bad.csv", HEADER_RU, gen_rows(500, seed=6, people=300))
    monkeypatch.setattr(helper, "PARALLEL_FROM_BYTES", 0)
    monkeypatch.setattr(pipeline, "prepare_rows", broken)
    with pytest.raises(InputError) as info:
        import_file(p, event="Broken", engine=db, chunk_size=100)
    assert (str(info.value), info.value.file, info.value.row) == ("cannot decode", "bad.csv", 7)
    assert scalar(db, select(func.count()).select_from(LeadSource)) == 0


def test_helper_process_that_dies_fails_the_import_with_its_exit_code(
    db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A helper killed mid-file (out of memory, say) closes its end of the pipe: the
    importer stops with one clear error instead of waiting for chunks that never come."""
    from nurture.intake import helper, pipeline

    def dying(*args: object, **kwargs: object) -> object:
        os._exit(3)

    p = write_csv(tmp_path / "die.csv", HEADER_RU, gen_rows(500, seed=6, people=300))
    monkeypatch.setattr(helper, "PARALLEL_FROM_BYTES", 0)
    monkeypatch.setattr(pipeline, "prepare_rows", dying)
    with pytest.raises(RuntimeError, match="exit code 3"):
        import_file(p, event="Dies", engine=db, chunk_size=100)
    assert scalar(db, select(func.count()).select_from(LeadSource)) == 0


def _gone(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status  # exited, waiting for a parent to reap it


@pytest.mark.slow
def test_helper_process_stops_when_the_importer_is_killed(fresh_db: str, tmp_path: Path) -> None:
    """The helper holds no reader end of the pipe: once the importer is gone its next
    send fails and it exits, instead of normalising the rest of the file for nobody."""
    p = write_csv(tmp_path / "orphan.csv", HEADER_RU, gen_rows(3000, seed=8, people=900))
    pids = tmp_path / "helper.pid"
    script = tmp_path / "importer.py"
    script.write_text(
        "import os, sys, time\n"
        "from pathlib import Path\n"
        "from nurture.intake import helper, pipeline\n"
        "helper.PARALLEL_FROM_BYTES = 0\n"
        "original = pipeline.prepare_rows\n"
        "def prepare(*args, **kwargs):\n"
        f"    Path({str(pids)!r}).write_text(str(os.getpid()))\n"
        "    return original(*args, **kwargs)\n"
        "pipeline.prepare_rows = prepare\n"
        "def slow(*args, **kwargs):\n"
        "    time.sleep(60)\n"
        "pipeline.write_chunk = slow\n"
        f"pipeline.import_file(Path({str(p)!r}), event='Orphan', chunk_size=50)\n"
    )
    env = {**os.environ, "NURTURE_DATABASE_URL": fresh_db}
    proc = subprocess.Popen([sys.executable, str(script)], env=env, cwd=REPO)
    deadline = time.monotonic() + 60
    while not (pids.exists() and pids.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)  # the file is created, then written: wait for its content
    helper = int(pids.read_text())
    assert helper != proc.pid and not _gone(helper)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 30
    while not _gone(helper) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(helper)


def test_a_person_created_meanwhile_by_another_importer_is_reused(db: Engine) -> None:
    """The lost-race path: the planned new lead already exists (by e-mail or by phone)."""
    from nurture.db.base import utcnow
    from nurture.intake.bulk import bulk_for
    from nurture.intake.writer import resolve_new

    now = utcnow()
    bulk = bulk_for(db)
    with db.begin() as conn:
        theirs, _ = resolve_new(conn, bulk, [{"email": "a@x.ru"}, {"phone": "+79001112233"}], now)
    with db.begin() as conn:
        ids, lost = resolve_new(
            conn,
            bulk,
            [
                {"email": "a@x.ru", "phone": "+79005556677"},
                {"phone": "+79001112233"},
                {"email": "n@x.ru"},
            ],
            now,
        )
    assert ids[:2] == theirs and lost == {0, 1}
    assert ids[2] not in theirs and live_leads(db) == 3


def test_prepared_chunk_crosses_processes_whole_but_for_raw_cells() -> None:
    """The helper sends chunks as plain tuples: every field, warning, reason and date
    must arrive (only the raw cells stay behind: ``raw_json`` carries them)."""
    from dataclasses import replace

    from nurture.intake.normalize import RowContext
    from nurture.intake.prepare import prepare_rows
    from nurture.intake.wire import from_wire, to_wire

    header = ["ФИО", "E-mail", "Телефон", "Компания", "Должность", "Город", "Страна", "Дата"]
    numbered = [
        (
            2,
            [
                "Иванов Иван Петрович",
                "IVAN@X.RU",
                "8 900 123-45-67",
                "ООО Ромашка",
                "CEO",
                "Казань",
                "Россия",
                "01.02.2026",
            ],
        ),
        (3, ["", "", "", "", "", "", "", ""]),
        (4, ["Smith John", "bad@", "", "Acme", "", "", "Atlantis", "someday"]),
        (5, ["Doe Jane", "jane@x.com", "+44 20 7946 0958", "", "", "London", "", "someday"]),
    ]
    columns = {
        "full_name": 0,
        "email": 1,
        "phone": 2,
        "company": 3,
        "title": 4,
        "city": 5,
        "country": 6,
        "date": 7,
    }
    prepared = prepare_rows(
        numbered, header=header, columns=columns, ctx=RowContext(), file_name="x.csv"
    )
    back = from_wire(memoryview(b"c" + to_wire(prepared))[1:])  # as the pipe has it
    assert (back.first_row, back.last_row, back.blank_rows) == (2, 5, [3])

    def comparable(r: Any) -> Any:  # a field set to None and an absent field read the same
        return replace(r, raw={}, fields={k: v for k, v in r.fields.items() if v is not None})

    assert [comparable(r) for r in back.rows] == [comparable(r) for r in prepared.rows]
    assert any(r.warnings for r in back.rows) and any(not r.ok for r in back.rows)
    assert all(r.raw_json for r in back.rows)
    assert any(r.met_on for r in back.rows)


def test_chunks_start_small_and_grow_to_the_chunk_size() -> None:
    """The helper's first chunks are small so the importer starts writing at once."""
    from nurture.intake.prepare import chunked

    sizes = [len(c) for c in chunked(iter(range(30)), 10, first=3)]
    assert sizes == [3, 5, 8, 10, 4]
    assert [len(c) for c in chunked(iter(range(25)), 10)] == [10, 10, 5]
    assert [len(c) for c in chunked(iter(range(12)), 10, first=50)] == [10, 2]
    assert [x for c in chunked(iter(range(30)), 10, first=3) for x in c] == list(range(30))


def test_quarantine_round_trip_keeps_text_as_text(db: Engine, tmp_path: Path) -> None:
    """A quarantined row exported, fixed and imported again used to come back as
    ``Smith &amp; Co``: exports wrote HTML entities into CSV."""
    p = write_csv(
        tmp_path / "q.csv",
        ["Name", "Email", "Company"],
        [["Tom <Tim> Jones", "bad@@mail", "Smith & Co"], ["Ann Lee", "ann@x.ru", "=1+2"]],
    )
    import_file(p, event="Q", engine=db)
    out = tmp_path / "quarantine.csv"
    with session_scope(db) as sess:
        assert export_quarantine(sess, out=out) == 1
    exported = list(csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert exported[0]["Company"] == "Smith & Co" and exported[0]["Name"] == "Tom <Tim> Jones"
    exported[0]["Email"] = "tom@x.ru"  # fixed in a spreadsheet
    fixed = tmp_path / "fixed.csv"
    with fixed.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(exported[0]))
        w.writeheader()
        w.writerows(exported)
    s = import_file(fixed, event="Q", engine=db)
    assert s.created == 1
    leads = tmp_path / "leads.csv"
    with session_scope(db) as sess:
        tom = sess.scalars(select(Lead).where(Lead.email == "tom@x.ru")).one()
        assert (tom.company, tom.first_name, tom.last_name) == ("Smith & Co", "Tom", "Jones")
        export_leads(sess, out=leads)
        # the web's quarantine download is the same kind of CSV
        from nurture.web.imports import quarantine_csv

        assert "Smith & Co" in quarantine_csv(sess, 1) and "&amp;" not in quarantine_csv(sess, 1)
    text_out = leads.read_text(encoding="utf-8-sig").splitlines()
    by_email = {r["email"]: r for r in csv.DictReader(text_out)}
    assert by_email["tom@x.ru"]["company"] == "Smith & Co"
    assert by_email["ann@x.ru"]["company"] == "'=1+2"  # a formula stays text in Excel
    # ... and that guard is not read back as part of the company
    again = tmp_path / "again.csv"
    write_csv(again, ["Name", "Email", "Company"], [["Ann Lee", "ann2@x.ru", "'=1+2"]])
    import_file(again, event="Q2", engine=db)
    with session_scope(db) as sess:
        assert sess.scalar(select(Lead.company).where(Lead.email == "ann2@x.ru")) == "=1+2"


def test_the_importers_sqlite_settings_are_put_back(
    fresh_db: str, tmp_path: Path, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The importer tunes its pooled connection (page cache, checkpoints); the next user of
    that connection gets it as it was, after a finished and after a failed import."""
    from nurture.db.session import make_engine
    from nurture.intake import pipeline

    engine = make_engine(fresh_db, pool_size=1, max_overflow=0)  # one connection, reused
    names = ("cache_size", "wal_autocheckpoint", "journal_size_limit")

    def settings() -> list[object]:
        with engine.connect() as c:
            if backend != "sqlite":
                return [c.exec_driver_sql("SHOW work_mem").scalar()]
            return [c.exec_driver_sql(f"PRAGMA {n}").scalar() for n in names]

    before = settings()
    p = write_csv(tmp_path / "a.csv", HEADER_RU, gen_rows(300, seed=9, people=200))
    import_file(p, event="Pragmas", engine=engine, chunk_size=100)
    assert settings() == before

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(pipeline, "write_chunk", broken)
    p = write_csv(tmp_path / "b.csv", HEADER_RU, gen_rows(300, seed=10, people=200))
    with pytest.raises(RuntimeError, match="disk on fire"):
        import_file(p, event="Pragmas 2", engine=engine, chunk_size=100)
    assert settings() == before
    with engine.connect() as c:  # a failed import says so, and resumes when run again
        assert c.execute(select(ImportBatch.status).order_by(ImportBatch.id.desc())).first() == (
            "failed",
        )
    engine.dispose()
