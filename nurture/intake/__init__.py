"""Intake: event lead lists in, cleaned, deduplicated, every row accounted for.

Public API (the CLI, the flows and the web app import from here)::

    import_file(path, *, event, kind, event_date, mapping) -> ImportSummary
    read_sidecar(path) -> EventMeta | None          # FILE.event.yaml beside a lead list
    load_mapping(path) -> ColumnMapping; guess_field(header) -> field | None
    export_leads / export_quarantine / quarantine_rows / safe_cell
    merge_leads / unmerge / list_duplicates / dismiss_duplicate / detach_source
    lead_sources(session, lead_id)                  # where a lead was met
    pending_files / claim / process_file / summary_markdown   # the inbox flow

The names are imported on first use, so importing the package (as ``nurture import
--help`` does) loads no database code. How it works: ``docs/intake.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nurture.intake.detach import Detached, detach_source
    from nurture.intake.export import (
        export_leads,
        export_quarantine,
        iter_lead_rows,
        quarantine_rows,
        safe_cell,
    )
    from nurture.intake.headers import ColumnMapping, guess_field, load_mapping
    from nurture.intake.inbox import (
        InboxResult,
        claim,
        pending_files,
        process_file,
        summary_markdown,
    )
    from nurture.intake.merges import dismiss_duplicate, list_duplicates, merge_leads, unmerge
    from nurture.intake.pipeline import KINDS, ImportSummary, import_file
    from nurture.intake.provenance import lead_sources
    from nurture.intake.reading import Limits
    from nurture.intake.sidecar import EventMeta, read_sidecar

_EXPORTS: dict[str, str] = {
    "ColumnMapping": "headers",
    "Detached": "detach",
    "EventMeta": "sidecar",
    "ImportSummary": "pipeline",
    "InboxResult": "inbox",
    "KINDS": "pipeline",
    "Limits": "reading",
    "claim": "inbox",
    "detach_source": "detach",
    "dismiss_duplicate": "merges",
    "export_leads": "export",
    "export_quarantine": "export",
    "guess_field": "headers",
    "import_file": "pipeline",
    "iter_lead_rows": "export",
    "lead_sources": "provenance",
    "list_duplicates": "merges",
    "load_mapping": "headers",
    "merge_leads": "merges",
    "pending_files": "inbox",
    "process_file": "inbox",
    "quarantine_rows": "export",
    "read_sidecar": "sidecar",
    "safe_cell": "export",
    "summary_markdown": "inbox",
    "unmerge": "merges",
}

__all__ = [
    "KINDS",
    "ColumnMapping",
    "Detached",
    "EventMeta",
    "ImportSummary",
    "InboxResult",
    "Limits",
    "claim",
    "detach_source",
    "dismiss_duplicate",
    "export_leads",
    "export_quarantine",
    "guess_field",
    "import_file",
    "iter_lead_rows",
    "lead_sources",
    "list_duplicates",
    "load_mapping",
    "merge_leads",
    "pending_files",
    "process_file",
    "quarantine_rows",
    "read_sidecar",
    "safe_cell",
    "summary_markdown",
    "unmerge",
]


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
