"""Bounds on input: XLSX sheet dimensions, cell and line sizes, NUL bytes."""

from __future__ import annotations

import csv
import io
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from intake_support import write_csv
from sqlalchemy import Engine, func, select, text
from xlsxgen import inline, write_sheet_xml, write_xlsx

from nurture.db.leads import Lead, LeadSource, QuarantineRow
from nurture.db.session import session_scope
from nurture.errors import NotALeadListError
from nurture.intake.headers import recogniser
from nurture.intake.pipeline import import_file
from nurture.intake.reading import open_table

REPO = Path(__file__).resolve().parents[2]
HEADER = ["Name", "Email", "Company"]


def _far_sheet(path: Path, far: str) -> Path:
    """A 2 KB workbook: a header, one lead and one cell at ``far``."""
    row = "".join(ch for ch in far if ch.isdigit())
    return write_sheet_xml(
        path,
        f'<row r="1">{inline("A1", "Name")}{inline("B1", "Email")}</row>'
        f'<row r="2">{inline("A2", "Ivan")}{inline("B2", "ivan@x.ru")}</row>'
        f'<row r="{row}">{inline(far, "x")}</row>',
    )


def _limited(memory_gb: int) -> None:  # runs in the child before exec
    limit = memory_gb * 1024**3
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


@pytest.mark.parametrize("far", ["XFD1048576", "AZ1048576"])
def test_xlsx_with_a_cell_far_away_is_refused_before_it_is_read(
    fresh_db: str, tmp_path: Path, far: str
) -> None:
    """calamine lays a sheet out as one dense grid: one cell at XFD1048576 would be 512 GiB
    (the process aborts), at AZ1048576 1.8 GB and 13 s. The sheet is measured first."""
    p = _far_sheet(tmp_path / "far.xlsx", far)
    assert p.stat().st_size < 4096
    env = {**os.environ, "NURTURE_DATABASE_URL": fresh_db}
    r = subprocess.run(
        [sys.executable, "-m", "nurture.cli", "import", str(p), "--event", "Expo"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=lambda: _limited(3),
    )
    assert r.returncode == 2, r.stderr[-2000:]
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "far.xlsx" in lines[0] and "Traceback" not in r.stderr
    assert f"A1:{far}" in lines[0] and "NURTURE_IMPORT_MAX_XLSX_CELLS" in lines[0]


def test_xlsx_limits_count_cells_without_references_and_follow_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nurture.intake.reading import Limits

    # Cells without an "r" take the next column, as calamine places them: 3,000 columns.
    wide = "<row>" + '<c t="inlineStr"><is><t>Email</t></is></c>' * 3000 + "</row>"
    p = write_sheet_xml(tmp_path / "wide.xlsx", wide + "<row><c><v>1</v></c></row>")
    with pytest.raises(NotALeadListError, match="A1:DKJ2"):
        open_table(p, recogniser())
    # A declared dimension is not trusted either way: a huge one with small data is read.
    small = f'<row r="1">{inline("A1", "Email")}</row><row r="2">{inline("A2", "a@x.ru")}</row>'
    p = write_sheet_xml(tmp_path / "declared.xlsx", small, dimension="A1:XFD1048576")
    assert list(open_table(p, recogniser()).rows()) == [(2, ["a@x.ru"])]
    # The limits are settings.
    p = write_xlsx(tmp_path / "ok.xlsx", [["Email", "Name"], ["a@x.ru", "A"], ["b@x.ru", "B"]])
    assert len(list(open_table(p, recogniser(), Limits(xlsx_max_cells=6)).rows())) == 2
    with pytest.raises(NotALeadListError, match="6 cells, more than the 5-cell"):
        open_table(p, recogniser(), Limits(xlsx_max_cells=5))
    monkeypatch.setenv("NURTURE_IMPORT_MAX_XLSX_COLUMNS", "1")
    from nurture.config import get_settings

    get_settings.cache_clear()
    with pytest.raises(NotALeadListError, match="1-column limit"):
        open_table(p, recogniser())


def _sources_and_quarantine(engine: Engine) -> tuple[int, list[QuarantineRow]]:
    with session_scope(engine) as s:
        sources = int(s.scalar(select(func.count()).select_from(LeadSource)) or 0)
        rows = list(s.scalars(select(QuarantineRow).order_by(QuarantineRow.row_number)))
        s.expunge_all()
    return sources, rows


def _raw_sizes(engine: Engine) -> int:
    with engine.connect() as c:
        q = c.execute(text("select raw from quarantine")).scalars().all()
        s = c.execute(text("select raw from lead_sources")).scalars().all()
    return max(len(str(v)) for v in [*q, *s])


@pytest.mark.parametrize("size", [200_000, 3_000_000])  # a cell over the limit; a line over it
@pytest.mark.parametrize("quoted", [False, True])
def test_a_huge_csv_cell_quarantines_its_row_only(
    db: Engine, tmp_path: Path, size: int, quoted: bool
) -> None:
    big = ("word, " if quoted else "word ") * (size // 5)  # commas only where quoted
    if quoted:
        big += '"quoted" and\nmore lines\n'
    rows = [[f"N{i}", f"n{i}@x.ru", "Co"] for i in range(30)]
    rows[10] = ["Huge", "huge@x.ru", big]
    p = write_csv(tmp_path / "big.csv", HEADER, rows)
    s = import_file(p, event="Big", engine=db)
    assert (s.rows, s.created, s.quarantined) == (30, 29, 1)
    sources, quarantined = _sources_and_quarantine(db)
    assert sources == 29 and quarantined[0].row_number == 12
    reasons = "; ".join(quarantined[0].reasons)
    assert "NURTURE_IMPORT_MAX_CELL_CHARS" in reasons
    assert _raw_sizes(db) < 2000  # never stored whole
    with session_scope(db) as sess:  # the rows after it are read as before
        assert sess.scalar(select(Lead.company).where(Lead.email == "n29@x.ru")) == "Co"


def test_huge_cells_in_jsonl_and_xlsx_are_quarantined(db: Engine, tmp_path: Path) -> None:
    lines = [json.dumps({"name": f"N{i}", "email": f"j{i}@x.ru"}) for i in range(5)]
    lines[2] = json.dumps({"name": "x" * 2_000_000, "email": "big@x.ru"})  # a line over it
    lines[3] = json.dumps({"name": "y" * 100_000, "email": "big2@x.ru"})  # a cell over it
    p = tmp_path / "f.jsonl"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    s = import_file(p, event="J", kind="webform", engine=db)
    assert (s.rows, s.created, s.quarantined) == (5, 3, 2)
    x = write_xlsx(
        tmp_path / "f.xlsx", [["Name", "Email"], ["z" * 100_000, "z@x.ru"], ["A", "a@x.ru"]]
    )
    s = import_file(x, event="X", engine=db)
    assert (s.rows, s.created, s.quarantined) == (2, 1, 1)
    assert _raw_sizes(db) < 2000


def test_nul_bytes_quarantine_their_row_wherever_they_are(db: Engine, tmp_path: Path) -> None:
    """A NUL in the first lines used to refuse the whole file as binary, the same NUL at
    row 15,000 was dropped from the e-mail address without a word."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(HEADER)
    for i in range(16_000):
        w.writerow([f"N{i}", f"n{i}@x.ru", "Co"])
    lines = buf.getvalue().splitlines(keepends=True)
    for at in (3, 15_000):
        lines[at] = lines[at].replace("@x.ru", "@x\x00.ru")
    p = tmp_path / "nul.csv"
    p.write_text("".join(lines), encoding="utf-8")
    s = import_file(p, event="Nul", engine=db)
    assert (s.rows, s.created, s.quarantined) == (16_000, 15_998, 2)
    _, quarantined = _sources_and_quarantine(db)
    assert [q.row_number for q in quarantined] == [4, 15_001]
    assert all("NUL" in "; ".join(q.reasons) for q in quarantined)
    with session_scope(db) as sess:
        assert sess.scalar(select(func.count()).where(Lead.email == "n14999@x.ru")) == 0
    # A really binary file is still refused.
    junk = tmp_path / "junk.csv"
    junk.write_bytes(b"Email\n" + bytes(range(32)) * 200)
    with pytest.raises(NotALeadListError, match="binary"):
        import_file(junk, event="Nul", engine=db)


@pytest.mark.slow
def test_a_150_mb_cell_stays_bounded_in_memory(tmp_path: Path, fresh_db: str) -> None:
    """One 150 MB cell used to be stored whole (1 GB peak); now its line is read in pieces."""
    p = tmp_path / "huge.csv"
    with p.open("w", encoding="utf-8") as fh:
        fh.write("Name,Email,Company\nA,a@x.ru,Co\nB,b@x.ru,")
        chunk = "lorem ipsum dolor " * 10_000
        for _ in range(150_000_000 // len(chunk)):
            fh.write(chunk)
        fh.write("\nC,c@x.ru,Co\n")
    # VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over exec from the process
    # that forked the child, so a child of a big pytest process would report pytest's peak.
    code = (
        "import json, re; from pathlib import Path; from nurture.intake import import_file;"
        f"s = import_file(Path({str(p)!r}), event='Huge');"
        "hwm = re.search(r'VmHWM:\\s+(\\d+)', Path('/proc/self/status').read_text());"
        "print(json.dumps([s.created, s.quarantined, int(hwm.group(1)) // 1024]))"
    )
    env = {**os.environ, "NURTURE_DATABASE_URL": fresh_db}
    r = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr[-2000:]
    created, quarantined, peak_mb = json.loads(r.stdout)
    assert (created, quarantined) == (2, 1)
    assert peak_mb < 400, peak_mb
