"""XLSX lead lists: the sheet's size checked first, then read with calamine (Rust).

calamine builds a sheet as one dense grid of every cell between the top-left and the
bottom-right used cell, so a tiny file with one cell far away (``XFD1048576``) would make it
allocate hundreds of gigabytes and abort the process. Before a sheet reaches calamine, its
XML is streamed out of the archive in blocks to find its real extent (cell references, and
rows and cells that carry none) along with the dimension the sheet declares; a sheet whose
grid is larger than ``NURTURE_IMPORT_MAX_XLSX_CELLS`` cells or wider than
``NURTURE_IMPORT_MAX_XLSX_COLUMNS`` columns is refused with one line naming the file. The
grid calamine builds is then bounded by those limits, and rows are handed on one at a time.

Cells Excel stored as numbers or dates are turned back into the text a person would have
seen (``79001234567``, ``2026-02-01``) by :func:`nurture.intake.reading.cell_text`.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from xml.etree import ElementTree

from nurture.errors import NotALeadListError

_BLOCK = 1 << 20
_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c)(?=[\s/>])([^>]*)>")
_REF = re.compile(rb"""\sr\s*=\s*["']([A-Za-z]{0,3})([0-9]+)["']""")
_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row(?=[\s/>])")
_CELL_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c(?=[\s/>])")
_ROW_REF = re.compile(rb"""<(?:[A-Za-z_][\w.-]*:)?row\s[^>]*?\br\s*=\s*["']([0-9]+)["']""")
_ROW_REF_FIRST = re.compile(rb'<row r="([0-9]+)"')
_CELL_REF_FIRST = re.compile(rb'<c r="([A-Za-z]{1,3})[0-9]+"')
_CELL_REFS = re.compile(
    rb"""<(?:[A-Za-z_][\w.-]*:)?c\s[^>]*?\br\s*=\s*["']([A-Za-z]{1,3})[0-9]+["']"""
)
_DIMENSION = re.compile(rb"""<(?:[\w.-]+:)?dimension\s[^>]*\bref\s*=\s*["']([^"']+)["']""")
_CELL_REF = re.compile(r"^([A-Za-z]{1,3})([0-9]+)$")
_META_BYTES = 16 * 1024 * 1024  # workbook.xml and its relationships are small


@dataclass(frozen=True)
class Extent:
    """Rows and columns a sheet spans (1-based, inclusive), as calamine will lay it out."""

    first_row: int
    last_row: int
    first_col: int
    last_col: int

    @property
    def cells(self) -> int:
        return (self.last_row - self.first_row + 1) * (self.last_col - self.first_col + 1)

    def ref(self) -> str:
        start = f"{column_name(self.first_col)}{self.first_row}"
        return f"{start}:{column_name(self.last_col)}{self.last_row}"


def column_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def column_name(n: int) -> str:
    s = ""
    while n > 0:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s or "A"


def sheet_paths(zf: zipfile.ZipFile) -> list[str]:
    """The archive paths of the workbook's sheets, in workbook order."""

    def xml(name: str) -> ElementTree.Element:
        info = zf.getinfo(name)
        if info.file_size > _META_BYTES:
            raise ValueError(f"{name} is too large")
        return ElementTree.fromstring(zf.read(name))

    def local(tag: str) -> str:
        return tag.rsplit("}", 1)[-1]

    workbook = xml("xl/workbook.xml")
    targets: dict[str, str] = {}
    if "xl/_rels/workbook.xml.rels" in zf.namelist():
        for rel in xml("xl/_rels/workbook.xml.rels"):
            target = rel.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            targets[rel.get("Id", "")] = str(PurePosixPath(path))
    paths = []
    for el in workbook.iter():
        if local(el.tag) != "sheet":
            continue
        rid = next((v for k, v in el.attrib.items() if local(k) == "id"), "")
        if rid in targets:
            paths.append(targets[rid])
    return paths


def measure(stream: Any) -> tuple[Extent | None, str | None]:
    """The real extent of a sheet's XML (``None`` when it has no cell) and the dimension it
    declares, streamed in blocks. Rows and cells without a reference take the next position,
    as calamine places them."""
    declared: str | None = None
    rows: list[int] = []
    cols: set[bytes] = set()
    row = col = 0
    widest = 0  # cells placed by position, counted from the row's start
    carry = b""
    head = True
    while True:
        block = stream.read(_BLOCK)
        data = carry + block
        carry = b""
        if block:  # a tag may be cut at the block's end: keep it for the next block
            cut = data.rfind(b"<")
            if cut >= 0 and data.find(b">", cut) < 0:
                data, carry = data[:cut], data[cut:]
                if len(carry) > _BLOCK:
                    raise ValueError("an XML tag longer than 1 MiB")
        if head:
            m = _DIMENSION.search(data)
            if m or b"sheetData" in data:
                declared = m.group(1).decode("ascii", "replace") if m else None
                head = False
        row_refs, cell_refs = _refs(data)
        if row_refs is not None and cell_refs is not None:
            # every row and cell says where it is (what spreadsheet programs write)
            if row_refs:
                rows.append(min(map(int, row_refs)))
                row = max(map(int, row_refs))
                rows.append(row)
            cols.update(cell_refs)
        else:  # some do not: place them one by one, as calamine does
            for m in _TAG.finditer(data):
                ref = _REF.search(m.group(2))
                if m.group(1) == b"row":
                    row = int(ref.group(2)) if ref else row + 1
                    rows.append(row)
                    col = 0
                    continue
                if ref and ref.group(1):
                    col = column_number(ref.group(1).decode("ascii"))
                    cols.add(ref.group(1).upper())
                else:
                    col += 1
                    widest = max(widest, col)
        if not block:
            break
    if not rows and not cols and not widest:
        return None, declared
    numbers = [column_number(c.decode("ascii")) for c in cols] or [1]
    extent = Extent(
        max(min(rows, default=1), 1),
        max(max(rows, default=1), 1),
        1 if widest else max(min(numbers), 1),
        max(max(numbers), widest, 1),
    )
    return extent, declared


def _refs(data: bytes) -> tuple[list[bytes] | None, list[bytes] | None]:
    """The row numbers and the cells' column letters of a block when every row and cell has one,
    else ``None``s. Spreadsheet programs write ``<row r="..."`` and ``<c r="..."`` with the
    reference first and no namespace prefix: plain searches find those fast; anything else
    takes the general patterns."""
    rows = _ROW_REF_FIRST.findall(data)
    cells = _CELL_REF_FIRST.findall(data)
    row_tags = data.count(b"<row ") + data.count(b"<row>")
    cell_tags = data.count(b"<c ") + data.count(b"<c>") + data.count(b"<c/")
    if len(rows) == row_tags and len(cells) == cell_tags and b":c " not in data:
        return rows, cells
    rows = _ROW_REF.findall(data)
    cells = _CELL_REFS.findall(data)
    if len(rows) == len(_ROW_TAG.findall(data)) and len(cells) == len(_CELL_TAG.findall(data)):
        return rows, cells
    return None, None


def check_sheet(
    zf: zipfile.ZipFile, path: str, *, file: str, max_cells: int, max_columns: int
) -> None:
    """Refuse (:class:`NotALeadListError`) a sheet too big to lay out as one grid."""
    with zf.open(path) as stream:
        extent, declared = measure(stream)
    if extent is None:
        return
    said = f" (it declares {declared})" if declared and declared != extent.ref() else ""
    if extent.last_col > max_columns or extent.cells > max_cells:
        raise NotALeadListError(
            f"sheet spans {extent.ref()}{said}: {extent.cells:,} cells, more than the "
            f"{max_cells:,}-cell, {max_columns:,}-column limit of an XLSX lead list "
            "(NURTURE_IMPORT_MAX_XLSX_CELLS, NURTURE_IMPORT_MAX_XLSX_COLUMNS); "
            "delete the stray cells far below or to the right, or save it as CSV",
            file=file,
        )


def open_workbook(
    path: Any, *, max_cells: int, max_columns: int
) -> tuple[list[str], Callable[[int], Iterator[tuple[int, list[Any]]]]]:
    """The sheet names and a function that yields a sheet's ``(row number, cell values)``;
    a sheet is checked by :func:`check_sheet` before calamine reads it."""
    from python_calamine import CalamineWorkbook

    name = path.name
    try:
        with zipfile.ZipFile(path) as zf:
            sheets = sheet_paths(zf)
        names = list(CalamineWorkbook.from_path(str(path)).sheet_names)
    except Exception as exc:  # zipfile, XML and calamine raise several types for broken files
        raise NotALeadListError(
            f"not a readable spreadsheet ({type(exc).__name__})", file=name
        ) from exc
    if len(sheets) != len(names):  # a sheet we cannot find in the archive cannot be measured
        raise NotALeadListError("not a readable spreadsheet (sheets missing)", file=name)
    checked: set[int] = set()

    def rows(index: int) -> Iterator[tuple[int, list[Any]]]:
        try:
            if index not in checked:
                with zipfile.ZipFile(path) as zf:
                    check_sheet(
                        zf, sheets[index], file=name, max_cells=max_cells, max_columns=max_columns
                    )
                checked.add(index)
            sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(index)
        except NotALeadListError:
            raise
        except Exception as exc:
            raise NotALeadListError(
                f"sheet {names[index]!r} is not readable ({type(exc).__name__})", file=name
            ) from exc
        start = sheet.start[0] if sheet.start else 0
        for offset, raw in enumerate(sheet.iter_rows()):
            yield start + offset + 1, raw

    return names, rows
