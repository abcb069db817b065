"""CLI of intake: ``nurture import``, ``nurture quarantine ...``, ``nurture leads ...``."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from nurture.cli_support import ByOption, JsonOption, NowOption, cli_session, parse_now, print_json
from nurture.errors import InputError
from nurture.text import count

if TYPE_CHECKING:
    from rich.console import Console

KIND_HELP = "Kind of event: exhibition, seminar, webinar, mailing or webform."


def _parse_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InputError(f"--date {value!r} is not a date (YYYY-MM-DD)") from exc


def import_command(
    path: Path = typer.Argument(..., help="CSV, XLSX or JSON Lines file with the event's leads."),
    event: str | None = typer.Option(
        None,
        "--event",
        help="Event name, e.g. 'Expo 2026' (default: from FILE.event.yaml beside the file).",
    ),
    kind: str | None = typer.Option(None, "--kind", help=KIND_HELP),
    on: str | None = typer.Option(None, "--date", help="Event date, YYYY-MM-DD."),
    mapping: Path | None = typer.Option(
        None, "--mapping", help="YAML file naming columns (see docs/intake.md)."
    ),
    now: str | None = NowOption,
    json_out: bool = JsonOption,
) -> None:
    """Import an event's lead list: clean, deduplicate, and account for every row.

    The event comes from the options, else from the sidecar FILE.event.yaml beside the
    file (name, kind, date, mapping); options given here win over the sidecar.
    """
    from nurture.intake import import_file, load_mapping, read_sidecar

    if path.is_dir():
        raise InputError(
            "is a folder: import its files one by one (the intake-inbox flow takes whole folders)",
            file=str(path),
        )
    if not path.is_file():
        raise InputError("no such file", file=str(path))
    event_date = _parse_date(on)
    moment = parse_now(now)  # when the leads are taken in, and routed
    sidecar = read_sidecar(path)
    if event is None and sidecar is None:
        raise InputError(
            f"which event is it? give --event NAME, or write {path.name}.event.yaml beside it",
            file=str(path),
        )
    mapping = mapping or (sidecar.mapping if sidecar else None)
    column_mapping = load_mapping(mapping) if mapping else None

    progress_cb = None
    bar = None
    if not json_out and path.stat().st_size > 2_000_000:
        from rich.progress import Progress

        bar = Progress(transient=True, console=_stderr_console())
        bar.start()
        task = bar.add_task(f"importing {path.name}", total=None)

        def progress_cb(n: int) -> None:
            bar.advance(task, n)

    try:
        summary = import_file(
            path,
            event=event if event is not None else sidecar.name if sidecar else "",
            kind=kind or (sidecar.kind if sidecar else "exhibition"),
            event_date=event_date if on is not None else sidecar.date if sidecar else None,
            mapping=column_mapping,
            progress=progress_cb,
            now=moment,
        )
    finally:
        if bar is not None:
            bar.stop()
    routed = 0 if summary.already_imported else _route_new_leads(moment)
    if json_out:
        data = summary.as_json()
        data["routed"] = routed
        print_json(data)
        return
    s = summary
    if s.already_imported and s.first_import is not None:
        first = s.first_import
        typer.echo(
            f"{s.file}: already imported for this event (batch {s.batch_id}): this run "
            "created, merged and quarantined nothing. The first import read "
            f"{count(first['rows'], 'row')}: {first['created']} created, "
            f"{first['merged']} merged, {first['quarantined']} quarantined."
        )
        return
    typer.echo(
        f"{s.file}: {count(s.rows, 'row')} ({s.blank} blank skipped) -> "
        f"{count(s.created, 'new lead')}, "
        f"{s.merged} merged into known leads, {s.quarantined} quarantined, "
        f"{count(s.possible_duplicates, 'possible duplicate')} to review (batch {s.batch_id})."
    )
    if routed:
        typer.echo(f"  {count(routed, 'new lead')} routed to managers (see `nurture team report`).")
    if s.warnings:
        typer.echo(f"  {count(s.warnings, 'row')} kept with warnings (a bad optional field).")
    if s.quarantined:
        typer.echo("  see `nurture quarantine list` for the reasons.")


def _route_new_leads(now: datetime) -> int:
    """Routing runs right after intake: new leads reach a manager (and a digest) at once."""
    from nurture.routing import route_unassigned

    with cli_session() as session:
        return route_unassigned(session, now=now).assigned


def _stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True)


def register(app: typer.Typer) -> None:
    """Add this capability's commands and sub-groups to ``app``."""
    app.command("import")(import_command)

    quarantine = typer.Typer(help="Rows that could not become leads, with the reasons.")
    app.add_typer(quarantine, name="quarantine")

    @quarantine.command("list")
    def quarantine_list(json_out: bool = JsonOption) -> None:
        """List quarantined rows with their reasons."""
        from nurture.intake import quarantine_rows

        with cli_session() as session:
            rows = quarantine_rows(session)
        if json_out:
            print_json({"rows": rows, "count": len(rows)})
            return
        if not rows:
            typer.echo("quarantine is empty")
        for r in rows:
            typer.echo(f"{r['file']} row {r['row']} ({r['event']}): {'; '.join(r['reasons'])}")

    @quarantine.command("export")
    def quarantine_export(
        out: Path = typer.Option(..., "--out", help="CSV file to write (UTF-8 with BOM)."),
    ) -> None:
        """Export quarantined rows with their reasons, ready to fix and import again."""
        from nurture.intake import export_quarantine

        with cli_session() as session:
            n = export_quarantine(session, out=out)
        typer.echo(f"{n} quarantined rows written to {out}")


def register_leads(leads: typer.Typer) -> None:
    """Add ``export``, ``duplicates``, ``merge``, ``sources``, ``unmerge`` and ``dismiss``
    to the shared ``nurture leads`` group."""

    @leads.command("export")
    def leads_export(
        out: Path = typer.Option(..., "--out", help="CSV file to write (UTF-8 with BOM)."),
        by: str | None = ByOption,
        json_out: bool = JsonOption,
    ) -> None:
        """Export every live lead with its sources and owner (safe to open in Excel)."""
        from nurture.intake import export_leads
        from nurture.privacy import cli_actor, record_access

        with cli_session() as session:
            n = export_leads(session, out=out)
            record_access(  # the audit log of personal data (docs/privacy.md)
                session,
                actor=cli_actor(by),
                action="exported",
                via="leads export",
                detail={"leads": n, "out": str(out)},
            )
        if json_out:
            print_json({"leads": n, "out": str(out)})
        else:
            typer.echo(f"{n} leads written to {out}")

    @leads.command("duplicates")
    def leads_duplicates(json_out: bool = JsonOption) -> None:
        """List possible duplicates (similar name and company, different contacts)."""
        from nurture.intake import list_duplicates

        with cli_session() as session:
            dups = list_duplicates(session)
        if json_out:
            print_json({"duplicates": dups, "count": len(dups)})
            return
        if not dups:
            typer.echo("no possible duplicates to review")
        for d in dups:
            a, b = d["lead"], d["candidate"]
            typer.echo(
                f"#{d['id']} {d['similarity']:.2f}: lead {a['id']} {_who(a)} ~ "
                f"lead {b['id']} {_who(b)} ({d['reason']})"
            )

    @leads.command("merge")
    def leads_merge(
        survivor: int = typer.Argument(..., help="Lead that stays."),
        merged: int = typer.Argument(..., help="Lead merged into it."),
        now: str | None = NowOption,
        json_out: bool = JsonOption,
    ) -> None:
        """Merge lead MERGED into lead SURVIVOR (logged; undo with `leads unmerge`)."""
        from nurture.intake import merge_leads

        with cli_session() as session:
            entry = merge_leads(
                session,
                survivor_id=survivor,
                merged_id=merged,
                reason="manual merge (CLI)",
                now=parse_now(now),
            )
            merge_id = entry.id
        if json_out:
            print_json({"merge_id": merge_id, "survivor_id": survivor, "merged_id": merged})
        else:
            typer.echo(f"lead {merged} merged into lead {survivor} (merge {merge_id})")

    @leads.command("sources")
    def leads_sources(
        lead_id: int = typer.Argument(..., help="Lead id."),
        json_out: bool = JsonOption,
    ) -> None:
        """Where a lead was met: every source row (ids for `leads unmerge --source`)."""
        from nurture.intake import lead_sources

        with cli_session() as session:
            sources = lead_sources(session, lead_id)
        if json_out:
            print_json({"lead_id": lead_id, "sources": sources})
            return
        for s in sources:
            filled = ", ".join(sorted(s["filled"])) or "-"
            typer.echo(
                f"source {s['source_id']}: {s['outcome']:<8} {s['event']} "
                f"({s['file']} row {s['row']}, met {s['met_on'] or '-'}); filled: {filled}"
            )

    @leads.command("unmerge")
    def leads_unmerge(
        merge_or_lead: int | None = typer.Argument(
            None, metavar="[MERGE_ID_OR_LEAD_ID]", help="A merge id, or the merged-away lead's id."
        ),
        source: int | None = typer.Option(
            None,
            "--source",
            help="Instead: split this source row (linked at intake because it shared an "
            "e-mail or phone) off into a lead of its own. Ids from `leads sources LEAD_ID`.",
        ),
        now: str | None = NowOption,
        json_out: bool = JsonOption,
    ) -> None:
        """Undo a merge: both leads come back with their own sources.

        With --source, undo an import-time link instead: the row becomes its own lead and
        the fields it filled in are taken back from the lead it was linked to.
        """
        if (merge_or_lead is None) == (source is None):
            raise InputError("give either a merge or lead id, or --source SOURCE_ID")
        if source is not None:
            from nurture.intake import detach_source

            with cli_session() as session:
                d = detach_source(session, source_id=source, now=parse_now(now))
            if json_out:
                print_json(
                    {
                        "merge_id": d.merge_id,
                        "source_id": d.source_id,
                        "survivor_id": d.from_lead_id,
                        "restored_id": d.lead_id,
                        "cleared": sorted(d.cleared),
                        "shared_contacts": d.shared_contacts,
                    }
                )
            else:
                shared = (
                    f"; kept with lead {d.from_lead_id}: " + ", ".join(d.shared_contacts.values())
                    if d.shared_contacts
                    else ""
                )
                typer.echo(
                    f"source {d.source_id} split off lead {d.from_lead_id} into new lead "
                    f"{d.lead_id} (merge {d.merge_id}){shared}"
                )
            return
        from nurture.intake import unmerge

        assert merge_or_lead is not None
        with cli_session() as session:
            entry = unmerge(session, merge_or_lead_id=merge_or_lead, now=parse_now(now))
            result = {
                "merge_id": entry.id,
                "survivor_id": entry.survivor_id,
                "restored_id": entry.merged_id,
            }
        if json_out:
            print_json(result)
        else:
            typer.echo(
                f"merge {result['merge_id']} undone: lead {result['restored_id']} is separate "
                f"from lead {result['survivor_id']} again"
            )

    @leads.command("dismiss")
    def leads_dismiss(
        duplicate_id: int = typer.Argument(..., help="Id from `leads duplicates`."),
    ) -> None:
        """Mark a possible duplicate as two different people."""
        from nurture.intake import dismiss_duplicate

        with cli_session() as session:
            dismiss_duplicate(session, duplicate_id=duplicate_id)
        typer.echo(f"possible duplicate {duplicate_id} dismissed")


def _who(d: dict[str, object]) -> str:
    name = " ".join(str(d[k]) for k in ("first_name", "last_name") if d.get(k))
    contact = d.get("email") or d.get("phone") or ""
    return f"{name} <{contact}>, {d.get('company') or '-'}"
