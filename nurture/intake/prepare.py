"""The normalising stage: a chunk of read rows becomes a :class:`Chunk` of normalised rows.

Pure functions on plain data (no database): the importer runs them in-process for small
files and in its helper process for big ones (:mod:`nurture.intake.helper`). A row ends
here as blank (only counted), quarantined with its reasons (what the reader noticed, a cell
over the size limit, more fields than the header, no valid contact) or normalised.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from nurture.config import get_settings
from nurture.intake.bulk import dumps
from nurture.intake.headers import ColumnMapping
from nurture.intake.normalize import NormalizedRow, RowContext, normalize_row
from nurture.intake.reading import Table
from nurture.intake.textlines import Marked

PREVIEW_CHARS = 200  # what a quarantined row keeps of a cell over the size limit


@dataclass
class Chunk:
    """One chunk of a file, read and normalised outside any transaction."""

    first_row: int
    last_row: int
    blank_rows: list[int]
    rows: list[NormalizedRow]

    @property
    def count(self) -> int:
        return len(self.blank_rows) + len(self.rows)


def chunked(it: Iterator[Any], size: int, first: int | None = None) -> Iterator[list[Any]]:
    """Lists of ``size`` items; given ``first``, the first list has that many and the next
    ones grow by half until they reach ``size``."""
    buf: list[Any] = []
    want = min(first or size, size)
    for item in it:
        buf.append(item)
        if len(buf) >= want:
            yield buf
            buf, want = [], min(size, want + want // 2 + 1)
    if buf:
        yield buf


def raw_keys(header: list[str]) -> list[str]:
    """The keys of a row's raw cells: the header's names, made unique and never empty."""
    keys: list[str] = []
    seen: dict[str, int] = {}
    for i, h in enumerate(header):
        k = h.strip() or f"column {i + 1}"
        if k in seen:
            seen[k] += 1
            k = f"{k} ({seen[k]})"
        else:
            seen[k] = 1
        keys.append(k)
    return keys


def _cut(cell: str, limit: int) -> str:
    if len(cell) <= limit:
        return cell
    return f"{cell[:PREVIEW_CHARS]}... [{len(cell):,} characters, cut]"


def prepare_rows(
    numbered: list[tuple[int, list[str]]],
    *,
    header: list[str],
    columns: dict[str, int],
    ctx: RowContext,
    file_name: str,
    max_cell_chars: int | None = None,
) -> Chunk:
    """Normalise a chunk of ``(row_number, cells)``; blank rows are only counted."""
    limit = max_cell_chars or get_settings().import_max_cell_chars
    keys = raw_keys(header)
    width = len(header)
    out: list[NormalizedRow] = []
    blank: list[int] = []
    for number, cells in numbered:
        problem = warning = None
        if cells.__class__ is Marked:
            marked: Any = cells
            problem, warning = marked.problem, marked.warning
        elif not any(c.strip() for c in cells):
            blank.append(number)
            continue
        reasons = [problem] if problem else []
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            reasons.append(
                f"row has {len(cells)} fields but the header has {width} "
                "(a stray delimiter or unquoted text?)"
            )
        if max(map(len, cells), default=0) > limit:
            reasons.extend(
                f'column "{keys[i] if i < width else i + 1}": a cell of {len(c):,} characters, '
                f"more than the limit of {limit:,} (NURTURE_IMPORT_MAX_CELL_CHARS)"
                for i, c in enumerate(cells)
                if len(c) > limit
            )
        if reasons:
            raw = {keys[i]: _cut(c, limit) for i, c in enumerate(cells[:width]) if c.strip()}
            extra = [_cut(c, limit) for c in cells[width:] if c.strip()]
            if extra:
                raw["_extra"] = "|".join(extra)
            out.append(NormalizedRow(number, raw=raw, reasons=reasons))
            continue
        raw = {keys[i]: c for i, c in enumerate(cells[:width]) if c.strip()}
        values = {f: cells[i] for f, i in columns.items() if i < len(cells)}
        row = normalize_row(number, values, raw, ctx)
        if warning:
            (row.reasons if row.reasons else row.warnings).insert(0, warning)
        out.append(row)
    for r in out:  # serialised here: in the helper process when there is one
        if r.raw:
            r.raw_json = dumps(r.raw)
    first = numbered[0][0] if numbered else 0
    last = numbered[-1][0] if numbered else 0
    return Chunk(first, last, blank, out)


def detect_locale(table: Table) -> str:
    return header_locale(table.header, table.encoding)


def header_locale(header: list[str], encoding: str | None = None) -> str:
    """ "ru" for a file with Cyrillic column names (or read as cp1251), else "en"."""
    text_ = " ".join(header)
    if encoding == "cp1251" or any("а" <= ch.lower() <= "я" for ch in text_):
        return "ru"
    return "en"


def row_context(mapping: ColumnMapping | None, locale: str) -> RowContext:
    """How a file's rows are normalised: settings, the file's locale, its ``--mapping``."""
    settings = get_settings()
    return RowContext(
        region=settings.default_region,
        default_timezone=settings.timezone,
        dayfirst=mapping.dayfirst if mapping and mapping.dayfirst is not None else locale == "ru",
        locale=mapping.language if mapping and mapping.language else locale,
        country=mapping.country if mapping else None,
        language=mapping.language if mapping else None,
    )
