"""Read lead lists as text: CSV (any common encoding and delimiter), XLSX, JSON Lines.

Every cell comes out as ``str``: nothing is coerced to a number or a date here, so
``+79001234567`` keeps its plus, ``007`` keeps its zeros and ``01.02.2026`` stays the text
the person typed. XLSX is read with calamine (Rust); cells Excel stored as numbers or dates
are turned back into the text a person would have seen (``79001234567``, ``2026-02-01``).

The reader finds the header row itself (XLSX sheets often carry a title and a blank line
above it) and streams data rows in chunks, so a million-row file never sits in memory.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Any

from nurture.errors import NotALeadListError
from nurture.intake.headers import merge_header_rows

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))

SAMPLE_BYTES = 256 * 1024
HEADER_SCAN_ROWS = 25
DELIMITERS = [",", ";", "\t", "|"]


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


def open_table(path: Path, recognise: Callable[[list[str]], int]) -> Table:
    """Open ``path`` and locate its header: the first of the top rows that ``recognise``
    scores highest (number of known column names). Raises :class:`NotALeadListError`."""
    name = path.name
    try:
        with path.open("rb") as fh:
            head = fh.read(SAMPLE_BYTES)
    except OSError as exc:
        raise NotALeadListError(f"cannot read the file ({exc.strerror})", file=name) from exc
    if not head.strip():
        raise NotALeadListError("the file is empty", file=name)
    if head.startswith(b"PK\x03\x04"):
        return _open_xlsx(path, recognise)
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
        return _open_jsonl(path, encoding, text_head)
    return _open_csv(path, encoding, text_head, recognise)


def detect_encoding(head: bytes) -> str | None:
    """UTF-16 (by BOM), UTF-8 (with or without BOM) or cp1251; ``None`` for binary data."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if b"\x00" in head:
        # UTF-16 without BOM: every other byte zero for Latin text.
        zeros_odd = head[1::2].count(0)
        zeros_even = head[0::2].count(0)
        half = len(head) // 2
        if zeros_odd > 0.4 * half and zeros_even < 0.05 * half:
            return "utf-16-le"
        if zeros_even > 0.4 * half and zeros_odd < 0.05 * half:
            return "utf-16-be"
        return None
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:  # a multibyte character cut by the sample
            return "utf-8"
    controls = sum(1 for b in head if b < 9 or 13 < b < 32)
    if controls > 0.01 * len(head):
        return None
    return "cp1251"


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
    path: Path, encoding: str, text_head: str, recognise: Callable[[list[str]], int]
) -> Table:
    lines = text_head.splitlines()[:-1] or text_head.splitlines()
    sample = lines[:200]
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
        with path.open("r", encoding=encoding, errors="replace", newline="") as fh:
            reader = csv.reader(_strip_nul(fh), delimiter=delim)
            for number, cells in enumerate(reader, start=1):
                if number <= idx + 1:
                    continue
                yield number, cells

    return Table(path, "csv", encoding, delim, header, idx + 1, rows)


def _strip_nul(fh: IO[str]) -> Iterator[str]:
    for line in fh:
        yield line.replace("\x00", "") if "\x00" in line else line


def _open_jsonl(path: Path, encoding: str, text_head: str) -> Table:
    keys: dict[str, None] = {}
    parsed = 0
    for line in text_head.splitlines()[:1000]:
        line = line.strip().lstrip("\ufeff")
        if not line:
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            parsed += 1
            for k in obj:
                keys.setdefault(str(k))
    if not parsed or not keys:
        raise NotALeadListError("JSON that is not one object per line", file=path.name)
    header = list(keys)

    def rows() -> Iterator[tuple[int, list[str]]]:
        with path.open("r", encoding=encoding, errors="replace") as fh:
            for number, line in enumerate(fh, start=1):
                line = line.strip().lstrip("\ufeff")
                if not line:
                    yield number, []
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError:
                    yield number, [_BROKEN_JSON]
                    continue
                if not isinstance(obj, dict):
                    yield number, [_BROKEN_JSON]
                    continue
                yield number, [cell_text(obj.get(k)) for k in header]

    return Table(path, "jsonl", encoding, None, header, 0, rows)


_BROKEN_JSON = "\x00broken-json"


def is_broken_json(cells: list[str]) -> bool:
    return len(cells) == 1 and cells[0] == _BROKEN_JSON


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


def _open_xlsx(path: Path, recognise: Callable[[list[str]], int]) -> Table:
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(str(path))
        names = wb.sheet_names
    except Exception as exc:  # calamine raises several error types for broken archives
        raise NotALeadListError(
            f"not a readable spreadsheet ({type(exc).__name__})", file=path.name
        ) from exc
    # Use the first sheet that has a recognisable header.
    for sheet_index, _name in enumerate(names):
        sheet = wb.get_sheet_by_index(sheet_index)
        top: list[list[str]] = []
        for raw in sheet.iter_rows():
            top.append([cell_text(v).strip() for v in raw])
            if len(top) >= HEADER_SCAN_ROWS:
                break
        idx, header_cells = _pick_header(top, recognise)
        if idx < 0:
            continue
        start = sheet.start[0] if sheet.start else 0

        def rows(
            si: int = sheet_index, hdr: int = idx, first: int = start
        ) -> Iterator[tuple[int, list[str]]]:
            book = CalamineWorkbook.from_path(str(path))
            for offset, raw in enumerate(book.get_sheet_by_index(si).iter_rows()):
                if offset <= hdr:
                    continue
                yield first + offset + 1, [cell_text(v) for v in raw]

        return Table(path, "xlsx", None, None, header_cells, start + idx + 1, rows)
    raise NotALeadListError(
        "no sheet with recognisable columns (expected e.g. E-mail, Phone, Name, Company); "
        "use --mapping to name them",
        file=path.name,
    )


def read_text_sample(data: bytes) -> io.StringIO:  # pragma: no cover - helper for tests
    return io.StringIO(data.decode(detect_encoding(data) or "utf-8"))
