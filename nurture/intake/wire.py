"""How a normalised chunk crosses from the helper process to the importer: one pickle of
plain tuples and dicts per chunk.

Pickling a dataclass per row (through copyreg, with its raw cells) costs the helper about as
much as normalising the row, so a row travels as a tuple of its fields, warnings, reasons,
date (as an ordinal) and raw cells already serialised as JSON (``raw_json``). The raw cells
themselves stay behind: the importer stores ``raw_json`` and never reads them.
"""

from __future__ import annotations

import pickle
from datetime import date

from nurture.intake.normalize import NormalizedRow
from nurture.intake.prepare import Chunk


def to_wire(chunk: Chunk) -> bytes:
    rows = [
        (
            r.row_number,
            r.fields,
            r.warnings or None,
            r.reasons or None,
            r.met_on.toordinal() if r.met_on else None,
            r.raw_json,
        )
        for r in chunk.rows
    ]
    return pickle.dumps((chunk.first_row, chunk.last_row, chunk.blank_rows, rows), protocol=5)


def from_wire(data: bytes | memoryview) -> Chunk:
    first_row, last_row, blank_rows, wire = pickle.loads(data)
    from_ordinal = date.fromordinal
    rows = [
        NormalizedRow(
            number,
            fields,
            {},
            warnings or [],
            reasons or [],
            from_ordinal(met_on) if met_on else None,
            raw_json,
        )
        for number, fields, warnings, reasons, met_on, raw_json in wire
    ]
    return Chunk(first_row, last_row, blank_rows, rows)
