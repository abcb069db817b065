"""Fuzzing the importers (CSV, XLSX, JSON Lines, header mappings) with hypothesis.

Whatever the bytes, the outcome is a clear error (a :class:`NurtureError`: exit 2 from the
CLI, nothing written) or rows that each end blank, quarantined with a reason, created or
merged; never a traceback, never a partial write. The default run keeps examples small
and few; the ``slow`` ones go further.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from xlsxgen import write_xlsx

from nurture.db.leads import Event, ImportBatch, Lead, LeadSource, QuarantineRow
from nurture.db.session import session_scope
from nurture.errors import NurtureError
from nurture.intake.headers import load_mapping, recogniser, resolve_columns
from nurture.intake.normalize import RowContext
from nurture.intake.pipeline import import_file
from nurture.intake.prepare import prepare_rows
from nurture.intake.reading import Limits, open_table
from nurture.intake.textlines import csv_skeleton, shortest_equivalent

FAST = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
SLOW = settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
SMALL = Limits(max_cell_chars=300, max_line_chars=1200, xlsx_max_cells=400, xlsx_max_columns=30)

headers = st.lists(
    st.sampled_from(["Email", "E-mail", "Phone", "Телефон", "ФИО", "Name", "Company", "Город", ""])
    | st.text(max_size=8),
    min_size=1,
    max_size=6,
)
cell = st.one_of(
    st.sampled_from(["", "a@x.ru", "+79001234567", "8 900 123-45-67", "Иван Петров", "=1+2"]),
    st.text(max_size=20),
    st.text(alphabet='",;\n\r\x00\t' + "аяё", max_size=10),
    st.text(min_size=290, max_size=320),  # about the cell limit
)
tables = st.tuples(headers, st.lists(st.lists(cell, max_size=8), max_size=25))
encodings = st.sampled_from(["utf-8", "utf-8-sig", "cp1251", "utf-16"])


def _csv_bytes(header: list[str], rows: list[list[str]], delimiter: str, encoding: str) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode(encoding, errors="replace")


def _read_everything(path: Path, mapping_text: str | None = None) -> int:
    """Open, map and normalise a whole file in memory; a NurtureError is a fine answer."""
    try:
        mapping = None
        if mapping_text is not None:
            m = path.with_suffix(".yaml")
            m.write_text(mapping_text, encoding="utf-8")
            mapping = load_mapping(m)
        table = open_table(path, recogniser(mapping), SMALL)
        columns = resolve_columns(table.header, mapping)
        rows = list(table.rows())
    except NurtureError:
        return -1
    chunk = prepare_rows(
        rows,
        header=table.header,
        columns=columns,
        ctx=RowContext(),
        file_name=path.name,
        max_cell_chars=SMALL.max_cell_chars,
    )
    assert chunk.count == len(rows)
    for r in chunk.rows:
        assert r.ok or r.reasons
        assert not r.ok or r.fields.get("email") or r.fields.get("phone")
        assert "\x00" not in (r.raw_json or "")
    return chunk.count


@FAST
@given(tables, st.sampled_from([",", ";", "\t", "|"]), encodings, st.binary(max_size=40))
def test_csv_fuzz(
    table: tuple[list[str], list[list[str]]], delimiter: str, encoding: str, junk: bytes
) -> None:
    header, rows = table
    with tempfile.TemporaryDirectory() as folder:
        p = Path(folder) / "f.csv"
        data = _csv_bytes(header, rows, delimiter, encoding)
        p.write_bytes(data[: len(data) // 2] + junk + data[len(data) // 2 :])
        _read_everything(p)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=10,
)


@FAST
@given(
    st.lists(
        st.dictionaries(st.sampled_from(["email", "phone", "name", "company"]), json_values).map(
            json.dumps
        )
        | st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=30)
        | st.sampled_from(["[" * 5000 + "]" * 5000, '{"email": "n\x00ul@x.ru"}', "\x08"]),
        min_size=1,
        max_size=15,
        unique=True,  # a stray control byte or two, not a binary file
    )
)
def test_jsonl_fuzz(lines: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        p = Path(folder) / "f.jsonl"
        p.write_text('{"email": "a@x.ru"}\n' + "\n".join(lines) + "\n", encoding="utf-8")
        assert _read_everything(p) != -1


@FAST
@given(tables, st.integers(0, 40), st.integers(0, 40))
def test_xlsx_fuzz(table: tuple[list[str], list[list[str]]], far_row: int, far_col: int) -> None:
    header, rows = table
    clean = [[c.replace("\x00", "").replace("\r", "") for c in r] for r in rows]
    grid: list[list[object]] = [list(header), *clean]
    if far_row:  # a stray cell somewhere: within the limit or not
        grid.extend([[]] * far_row)
        grid.append([None] * far_col + ["x"])
    with tempfile.TemporaryDirectory() as folder:
        p = write_xlsx(Path(folder) / "f.xlsx", grid)
        _read_everything(p)


mappings = st.one_of(
    st.dictionaries(
        st.sampled_from(["columns", "dayfirst", "country", "language", "other"]),
        st.one_of(
            st.dictionaries(
                st.sampled_from(["Email", "Name", "X"]),
                st.sampled_from(["email", "full_name", "ignore", "nonsense", ""]),
            ),
            st.booleans(),
            st.text(max_size=5),
            st.none(),
        ),
    ).map(yaml.safe_dump),
    st.text(max_size=40),
)


@FAST
@given(tables, mappings)
def test_mapping_fuzz(table: tuple[list[str], list[list[str]]], mapping: str) -> None:
    header, rows = table
    with tempfile.TemporaryDirectory() as folder:
        p = Path(folder) / "f.csv"
        p.write_bytes(_csv_bytes(header, rows, ",", "utf-8"))
        _read_everything(p, mapping)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet='ab,"\n', max_size=30), min_size=1, max_size=8))
def test_skeletons_keep_the_rows_the_csv_parser_sees(lines: list[str]) -> None:
    """A line replaced by its skeleton leaves the parser in the same state: the rows of the
    file split at the same lines."""
    text_ = "\n".join(lines) + "\n"
    physical = text_.splitlines(keepends=True)

    def boundaries(source: list[str]) -> list[int]:
        reader = csv.reader(source)
        return [reader.line_num for _ in reader]

    for i in range(len(physical)):
        sk = csv_skeleton(physical[i].encode(), ",")
        for replaced in (sk, shortest_equivalent(sk, ",")):
            changed = [*physical[:i], replaced.decode(), *physical[i + 1 :]]
            assert boundaries(changed) == boundaries(physical)


def _nothing_written(engine: Engine) -> None:
    with session_scope(engine) as s:
        for table in (Event, ImportBatch, Lead, LeadSource, QuarantineRow):
            assert s.scalar(select(func.count()).select_from(table)) == 0


def _fuzz_import(db: Engine, data: bytes, name: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        p = Path(folder) / name
        p.write_bytes(data)
        with session_scope(db) as s:
            before = s.scalar(select(func.count()).select_from(ImportBatch)) or 0
        try:
            summary = import_file(p, event="Fuzz", engine=db)
        except NurtureError:
            with session_scope(db) as s:  # refused whole: no new batch, no rows
                assert (s.scalar(select(func.count()).select_from(ImportBatch)) or 0) == before
            return
    assert summary.created + summary.merged + summary.quarantined == summary.rows
    with session_scope(db) as s:
        b = s.get(ImportBatch, summary.batch_id)
        assert b is not None and b.status == "done"
        sources = s.scalar(select(func.count()).where(LeadSource.batch_id == b.id))
        quarantined = s.scalar(select(func.count()).where(QuarantineRow.batch_id == b.id))
        assert sources == b.created + b.merged and quarantined == b.quarantined


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(tables, encodings, st.binary(max_size=20))
def test_import_fuzz_writes_all_or_nothing(
    db: Engine, table: tuple[list[str], list[list[str]]], encoding: str, junk: bytes
) -> None:
    header, rows = table
    _fuzz_import(db, _csv_bytes(header, rows, ";", encoding) + junk, "f.csv")


@pytest.mark.slow
@SLOW
@given(tables, st.sampled_from([",", ";", "\t", "|"]), encodings, st.binary(max_size=200))
def test_csv_fuzz_long(
    table: tuple[list[str], list[list[str]]], delimiter: str, encoding: str, junk: bytes
) -> None:
    test_csv_fuzz.hypothesis.inner_test(table, delimiter, encoding, junk)  # type: ignore[attr-defined]


@pytest.mark.slow
def test_nothing_is_written_for_a_refused_file(db: Engine, tmp_path: Path) -> None:
    p = tmp_path / "binary.csv"
    p.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(NurtureError):
        import_file(p, event="Bin", engine=db)
    _nothing_written(db)
