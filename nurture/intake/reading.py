"""Read lead lists as text: CSV (any common encoding and delimiter), XLSX, JSON Lines.

Every cell comes out as ``str``: nothing is coerced to a number or a date here, so
``+79001234567`` keeps its plus, ``007`` keeps its zeros and ``01.02.2026`` stays the text
the person typed. The reader finds the header row itself (sheets often carry a title and a
blank line above it) and streams data rows, so a million-row file never sits in memory.

What a reader has to say about one row travels with its cells as a :class:`Marked` row:
a *problem* quarantines the row (a NUL character, a line too long to be a row, a JSON line
that is not an object), a *warning* keeps it (a line in another encoding than the file's).
Nothing is dropped or replaced silently, and no single row stops the file.

* **Encodings**: UTF-8 (with or without BOM), cp1251, UTF-16 (BOM or not). Text files are
  decoded line by line: the file's encoding is the one most of its non-ASCII lines in the
  first 256 KB are in, and a line that is not valid in it is read in the other one (UTF-8
  or cp1251), with a warning naming the line.
* **Bounds**: a physical line longer than ``Limits.max_line_chars`` is never held whole; it
  is read in pieces, reduced to what the CSV parser's state needs (quotes and delimiters),
  and its row is quarantined. Cells longer than ``Limits.max_cell_chars`` are quarantined
  by the normalising stage (``nurture.intake.prepare``).
* **NUL bytes** quarantine their row wherever they are; a file is only refused as binary
  when control bytes are more than 1% of its first 256 KB.
"""

from __future__ import annotations

import codecs
import csv
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from nurture.errors import NotALeadListError
from nurture.intake.headers import merge_header_rows
from nurture.intake.textlines import Lines, Marked

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # lines are bounded before csv sees them

SAMPLE_BYTES = 256 * 1024
HEADER_SCAN_ROWS = 25
DELIMITERS = [",", ";", "\t", "|"]
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 11, 12, 13))


@dataclass(frozen=True)
class Limits:
    """How big an input may be (``NURTURE_IMPORT_MAX_*``, see ``nurture/config.py``)."""

    max_cell_chars: int = 32_768
    max_line_chars: int = 1 << 20
    xlsx_max_cells: int = 20_000_000
    xlsx_max_columns: int = 1_000

    @classmethod
    def from_settings(cls) -> Limits:
        from nurture.config import get_settings

        s = get_settings()
        return cls(
            max_cell_chars=s.import_max_cell_chars,
            max_line_chars=max(4 * s.import_max_cell_chars, 1 << 20),
            xlsx_max_cells=s.import_max_xlsx_cells,
            xlsx_max_columns=s.import_max_xlsx_columns,
        )


@dataclass
class Table:
    """An opened lead list: its header, how it was read, and its data rows (lazily)."""

    path: Path
    format: str  # csv | xlsx | jsonl
    encoding: str | None
    delimiter: str | None
    header: list[str]
    header_row: int  # 1-based line/row number of the header in the file
    _rows: Callable[[], Iterator[tuple[int, list[str]]]] = field(repr=False)

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """``(row_number, cells)`` for each row after the header; row numbers are the
        file's own (1-based, as a spreadsheet shows them), blank rows included."""
        return self._rows()


def open_table(
    path: Path, recognise: Callable[[list[str]], int], limits: Limits | None = None
) -> Table:
    """Open ``path`` and locate its header: the first of the top rows that ``recognise``
    scores highest (number of known column names). Raises :class:`NotALeadListError`."""
    limits = limits or Limits.from_settings()
    name = path.name
    try:
        with path.open("rb") as fh:
            head = fh.read(SAMPLE_BYTES)
    except OSError as exc:
        raise NotALeadListError(f"cannot read the file ({exc.strerror})", file=name) from exc
    if not head.strip():
        raise NotALeadListError("the file is empty", file=name)
    if head.startswith(b"PK\x03\x04"):
        return _open_xlsx(path, recognise, limits)
    if head.startswith((b"\xd0\xcf\x11\xe0", b"%PDF", b"\x89PNG", b"\x1f\x8b", b"GIF8")):
        raise NotALeadListError(
            "binary file (old .xls, PDF, image or archive), not a lead list; "
            "save it as .xlsx or .csv",
            file=name,
        )
    encoding = detect_encoding(head)
    if encoding is None:
        raise NotALeadListError("binary content, not a text lead list", file=name)
    text_head = head.decode(encoding, errors="ignore")
    if text_head.lstrip("\ufeff \r\n\t").startswith("{"):
        return _open_jsonl(path, encoding, text_head, limits)
    return _open_csv(path, encoding, text_head, recognise, limits)


def detect_encoding(head: bytes) -> str | None:
    """UTF-16 (by BOM or its zero bytes), UTF-8 (with or without BOM) or cp1251: the one
    most non-ASCII lines of ``head`` are in; ``None`` for binary data."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    half = len(head) // 2
    zeros_odd, zeros_even = head[1::2].count(0), head[0::2].count(0)
    if zeros_odd > 0.4 * half and zeros_even < 0.05 * half:
        return "utf-16-le"  # UTF-16 without BOM: every other byte zero for Latin text
    if zeros_even > 0.4 * half and zeros_odd < 0.05 * half:
        return "utf-16-be"
    controls = len(head) - len(head.translate(None, _CONTROL))
    if controls > max(8, 0.01 * len(head)):  # a few stray ones quarantine their rows
        return None
    lines = head.split(b"\n")
    if len(head) == SAMPLE_BYTES and len(lines) > 1:
        lines.pop()  # cut by the sample
    utf8 = other = 0
    for line in lines:
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8 += 1
        except UnicodeDecodeError:
            other += 1
    return "utf-8" if utf8 >= other else "cp1251"


def _sniff_delimiter(lines: list[str]) -> str:
    """The delimiter whose per-line count is most consistent (and non-zero) in the sample."""
    best, best_score = ",", -1.0
    for delim in DELIMITERS:
        widths = [len(r) for r in csv.reader(lines, delimiter=delim) if any(c.strip() for c in r)]
        if not widths:
            continue
        common = max(set(widths), key=widths.count)
        if common < 2:
            continue
        score = widths.count(common) / len(widths) * 10 + min(common, 30) / 30
        if score > best_score:
            best, best_score = delim, score
    return best


def _pick_header(
    rows: list[list[str]], recognise: Callable[[list[str]], int]
) -> tuple[int, list[str]]:
    """The header among ``rows``: its index (-1 when none has a known column name) and its
    cells, read together with the row above when that is a group row (see headers.py)."""
    best, best_score, best_cells = -1, 0, list[str]()
    for i, cells in enumerate(rows):
        if i > 0 and any(c.strip() for c in rows[i - 1]):
            cells = merge_header_rows(rows[i - 1], cells, recognise)
        score = recognise(cells)
        if score > best_score:
            best, best_score, best_cells = i, score, cells
    return best, best_cells


def _open_csv(
    path: Path,
    encoding: str,
    text_head: str,
    recognise: Callable[[list[str]], int],
    limits: Limits,
) -> Table:
    lines = text_head.splitlines()[:-1] or text_head.splitlines()
    sample = [line.replace("\x00", "") for line in lines[:200]]
    delim = _sniff_delimiter(sample)
    top = list(csv.reader(sample[:HEADER_SCAN_ROWS], delimiter=delim))
    idx, header_cells = _pick_header(top, recognise)
    if idx < 0:
        raise NotALeadListError(
            "no recognisable columns (expected e.g. E-mail, Phone, Name, Company); "
            "use --mapping to name them",
            file=path.name,
        )
    # Physical lines may hold quoted newlines; count CSV records instead.
    header = [c.strip().lstrip("\ufeff") for c in header_cells]

    def rows() -> Iterator[tuple[int, list[str]]]:
        source = Lines(
            path, encoding, max_chars=limits.max_line_chars, delimiter=delim, file=path.name
        )
        reader = csv.reader(source, delimiter=delim)
        above = 0
        for number, cells in enumerate(reader, start=1):
            upto = reader.line_num
            if source.last_note > above:
                cells = source.mark(cells, above, upto)
            above = upto
            if number > idx + 1:
                yield number, cells

    return Table(path, "csv", encoding, delim, header, idx + 1, rows)


# --- JSON Lines ---------------------------------------------------------------------------


def _json_object(line: str) -> tuple[dict[str, Any] | None, str | None]:
    """A JSON Lines record, or ``None`` and why it is not one."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError:
        return None, "not a JSON object"
    except RecursionError:
        return None, "not a JSON object (nested too deeply)"
    if not isinstance(obj, dict):
        return None, "not a JSON object"
    return obj, None


def _open_jsonl(path: Path, encoding: str, text_head: str, limits: Limits) -> Table:
    keys: dict[str, None] = {}
    parsed = 0
    for line in text_head.splitlines()[:1000]:
        obj, _ = _json_object(line.strip().lstrip("\ufeff"))
        if obj is not None:
            parsed += 1
            for k in obj:
                keys.setdefault(str(k))
    if not parsed or not keys:
        raise NotALeadListError("JSON that is not one object per line", file=path.name)
    header = list(keys)
    name = path.name

    def rows() -> Iterator[tuple[int, list[str]]]:
        source = Lines(path, encoding, max_chars=limits.max_line_chars, delimiter=None, file=name)
        for number, line in enumerate(source, start=1):
            note = source.notes.pop(number, None)
            if note is not None and note[1]:
                yield number, Marked([], problem=f"{name} {note[0]}")
                continue
            line = line.strip()
            if not line:
                yield number, []
                continue
            obj, problem = _json_object(line)
            if obj is None:
                yield number, Marked([], problem=f"{name} line {number}: {problem}")
                continue
            try:
                cells = [cell_text(obj.get(k)) for k in header]
            except RecursionError:
                yield number, Marked([], problem=f"{name} line {number}: nested too deeply")
                continue
            if any("\x00" in c for c in cells):
                cells = [c.replace("\x00", "") for c in cells]
                yield number, Marked(cells, problem=f"line {number} contains a NUL character")
            elif note is not None:
                yield number, Marked(cells, warning=note[0])
            else:
                yield number, cells

    return Table(path, "jsonl", encoding, None, header, 0, rows)


def cell_text(value: Any) -> str:
    """A cell as the text a person saw: integral floats without ``.0``, dates as ISO."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e17:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


# --- XLSX ---------------------------------------------------------------------------------


def _open_xlsx(path: Path, recognise: Callable[[list[str]], int], limits: Limits) -> Table:
    from nurture.intake.xlsx import open_workbook

    names, sheet_rows = open_workbook(
        path, max_cells=limits.xlsx_max_cells, max_columns=limits.xlsx_max_columns
    )
    # Use the first sheet that has a recognisable header (a sheet too big to read is
    # passed over, and named if no other one is a lead list).
    too_big: NotALeadListError | None = None
    for sheet_index, _name in enumerate(names):
        top: list[list[str]] = []
        first = 0
        try:
            for number, raw in sheet_rows(sheet_index):
                first = first or number
                top.append([cell_text(v).strip() for v in raw])
                if len(top) >= HEADER_SCAN_ROWS:
                    break
        except NotALeadListError as exc:
            too_big = too_big or exc
            continue
        idx, header_cells = _pick_header(top, recognise)
        if idx < 0:
            continue

        def rows(
            si: int = sheet_index, header_at: int = first + idx
        ) -> Iterator[tuple[int, list[str]]]:
            for number, raw in sheet_rows(si):
                if number <= header_at:
                    continue
                cells = [cell_text(v) for v in raw]
                if any("\x00" in c for c in cells):
                    cells = [c.replace("\x00", "") for c in cells]
                    yield number, Marked(cells, problem=f"row {number} contains a NUL character")
                    continue
                yield number, cells

        return Table(path, "xlsx", None, None, header_cells, first + idx, rows)
    if too_big is not None:
        raise too_big
    raise NotALeadListError(
        "no sheet with recognisable columns (expected e.g. E-mail, Phone, Name, Company); "
        "use --mapping to name them",
        file=path.name,
    )
