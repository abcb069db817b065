"""An inbox folder of lead lists: claim each new file, import it, file it under done/ or
failed/. Used by the ``intake-inbox`` Prefect flow; plain Python, testable without Prefect.

Event metadata for a file ``NAME.EXT`` comes from, in this order:

1. a sidecar ``NAME.EXT.event.yaml`` (``name:``, ``kind:``, ``date:``, optional
   ``mapping:`` path relative to the inbox), moved along with the file;
2. the file name ``<kind>--<YYYY-MM-DD>--<event name>.EXT``
   (e.g. ``exhibition--2026-07-07--Innoprom 2026.csv``; the date part may be left out:
   ``webform--Website.jsonl``);
3. otherwise the event is the file name without extension, kind ``exhibition``, no date.

A file is claimed by an atomic rename into ``processing/`` so two flow runs never import
the same file twice; a crash leaves it there and the next run resumes it (imports resume).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from nurture.errors import NurtureError
from nurture.intake.headers import load_mapping
from nurture.intake.pipeline import KINDS, import_file
from nurture.intake.sidecar import SUFFIX as SIDECAR
from nurture.intake.sidecar import EventMeta, read_sidecar

log = logging.getLogger(__name__)

SUFFIXES = {".csv", ".tsv", ".txt", ".xlsx", ".jsonl", ".ndjson", ".json"}
_NAME = re.compile(r"^(?P<kind>[a-z]+)--(?:(?P<date>\d{4}-\d{2}-\d{2})--)?(?P<name>.+)$")


@dataclass
class InboxResult:
    file: str
    ok: bool
    summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def event_meta(path: Path) -> EventMeta:
    """Event of ``path`` from its sidecar YAML or its file name (see module doc)."""
    inbox = path.parent.parent if path.parent.name in ("processing", "failed") else path.parent
    meta = read_sidecar(path, base=inbox)
    if meta is not None:
        return meta
    m = _NAME.match(path.stem)
    if m and m.group("kind") in KINDS:
        return EventMeta(
            name=m.group("name"),
            kind=m.group("kind"),
            date=date.fromisoformat(m.group("date")) if m.group("date") else None,
        )
    return EventMeta(name=path.stem)


def pending_files(inbox: Path) -> list[Path]:
    """Lead lists waiting in ``inbox`` (and in ``processing/`` after a crash), oldest first."""
    found: list[Path] = []
    for folder in (inbox / "processing", inbox):
        if not folder.is_dir():
            continue
        for p in folder.iterdir():
            if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith((".", "~$")):
                found.append(p)
    return sorted(found, key=lambda p: (p.parent.name != "processing", p.stat().st_mtime))


def _move(path: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    sidecar = path.with_name(path.name + SIDECAR)
    if sidecar.exists():
        sidecar.replace(folder / sidecar.name)
    path.replace(target)
    return target


def claim(path: Path, inbox: Path) -> Path | None:
    """Move ``path`` into ``processing/`` atomically; ``None`` if another run took it."""
    if path.parent.name == "processing":
        return path
    try:
        return _move(path, inbox / "processing")
    except FileNotFoundError:
        return None


def process_file(path: Path, inbox: Path, *, now: datetime | None = None) -> InboxResult:
    """Import one claimed file; move it to ``done/`` or ``failed/`` (with an .error.txt).

    Whatever goes wrong with one file (a user's mistake, or a bug) files it under
    ``failed/`` with the reason, so the files behind it are still imported; a bug is also
    logged with its traceback."""
    try:
        meta = event_meta(path)
        mapping = load_mapping(meta.mapping) if meta.mapping else None
        summary = import_file(
            path, event=meta.name, kind=meta.kind, event_date=meta.date, mapping=mapping, now=now
        )
    except Exception as exc:
        if isinstance(exc, NurtureError):
            message = exc.format_message()
            log.warning("intake inbox: %s failed: %s", path.name, message)
        else:
            message = f"{path.name}: import failed ({type(exc).__name__}: {exc})"
            log.exception("intake inbox: %s failed", path.name)
        moved = _move(path, inbox / "failed")
        moved.with_name(moved.name + ".error.txt").write_text(message + "\n", encoding="utf-8")
        return InboxResult(file=path.name, ok=False, error=message)
    _move(path, inbox / "done")
    return InboxResult(file=path.name, ok=True, summary=summary.as_json())


def summary_markdown(results: list[InboxResult]) -> str:
    """The run's summary as a Markdown table (the Prefect artifact)."""
    if not results:
        return "# Intake\n\nNo new files in the inbox."
    lines = [
        "# Intake",
        "",
        "| file | rows | created | merged | quarantined | possible duplicates | result |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        s = r.summary
        if r.ok:
            note = "already imported" if s.get("already_imported") else "done"
            lines.append(
                f"| {_md(r.file)} | {s['rows']} | {s['created']} | {s['merged']} | "
                f"{s['quarantined']} | {s['possible_duplicates']} | {note} |"
            )
        else:
            lines.append(f"| {_md(r.file)} | | | | | | failed: {_md(r.error or '')} |")
    return "\n".join(lines)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
