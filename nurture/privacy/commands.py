"""CLI of privacy, in the shared ``nurture leads`` group: ``forget``, ``export-person`` and
``audit``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from nurture.cli_support import ByOption, JsonOption, NowOption, cli_session, parse_now, print_json
from nurture.text import count


def register(app: typer.Typer) -> None:
    """Nothing at the top level: every privacy command is about a lead (``nurture leads``)."""


def register_leads(leads: typer.Typer) -> None:
    """Add ``forget``, ``export-person`` and ``audit`` to ``nurture leads``."""
    leads.command("forget")(leads_forget)
    leads.command("export-person")(leads_export_person)
    leads.command("audit")(leads_audit)


def leads_forget(
    email: str | None = typer.Argument(None, metavar="EMAIL", help="The person's e-mail."),
    lead: int | None = typer.Option(None, "--lead", metavar="ID", help="The person's lead id."),
    by: str | None = ByOption,
    now: str | None = NowOption,
    json_out: bool = JsonOption,
) -> None:
    """Erase a person everywhere (GDPR art. 17, 152-FZ art. 21): lead and merged duplicates,
    sources' cells, e-mails, tasks, deals, documents, scores; keep only a salted hash so a
    later import quarantines them as "forgotten" and nothing is ever sent to them."""
    from nurture.errors import InputError
    from nurture.privacy import cli_actor, forget

    if (email is None) == (lead is None):
        raise InputError("name the person: EMAIL or --lead ID (one of them)")
    report = forget(email=email, lead_id=lead, actor=cli_actor(by), now=parse_now(now))
    if json_out:
        print_json(report.as_json())
        return
    if report.already_forgotten:
        typer.echo(f"{report.asked} was already forgotten: nothing left to erase")
        return
    erased = sum(report.erased.values())
    redacted = sum(report.redacted.values())
    typer.echo(
        f"{report.asked} forgotten: {count(erased, 'row')} erased, {count(redacted, 'row')} "
        f"redacted, {count(report.files_removed, 'file')} removed "
        f"({count(len(report.lead_ids), 'lead')})"
    )
    for table, n in report.erased.items():
        if n:
            typer.echo(f"  {table}: {n}")
    wal = report.storage.get("wal")
    if wal == "busy":
        typer.echo(
            "warning: another connection kept the SQLite WAL open; run the command again once "
            "it is closed to take the old pages out of the file",
            err=True,
        )


def leads_export_person(
    email: str = typer.Argument(..., metavar="EMAIL", help="The person's e-mail."),
    out: Path | None = typer.Option(None, "--out", help="JSON file to write (default: stdout)."),
    by: str | None = ByOption,
    now: str | None = NowOption,
    json_out: bool = JsonOption,
) -> None:
    """Everything stored about a person, as one JSON document (GDPR art. 15, 152-FZ art. 14)."""
    from nurture.privacy import cli_actor, export_person, find_person, record_access

    moment = parse_now(now)
    with cli_session() as session:
        person = find_person(session, email=email)
        document = export_person(session, person, now=moment)
        record_access(
            session,
            actor=cli_actor(by),
            action="exported",
            via="leads export-person",
            lead_id=person.root_id,
            email=person.emails[0],
            detail={"out": str(out) if out else "stdout"},
            now=moment,
        )
    if out is None:
        print_json(document)
        return
    out.write_text(json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n", "utf-8")
    sections = {k: len(v) for k, v in document.items() if isinstance(v, list)}
    if json_out:
        print_json({"out": str(out), "lead_ids": list(person.lead_ids), "sections": sections})
    else:
        typer.echo(f"{person.asked}: {count(len(person.lead_ids), 'lead')} written to {out}")


def leads_audit(
    lead: int | None = typer.Option(None, "--lead", metavar="ID", help="Only this lead."),
    email: str | None = typer.Option(
        None, "--email", metavar="EMAIL", help="Only this person (found by the address's hash)."
    ),
    limit: int = typer.Option(200, "--limit", min=1, help="At most this many entries."),
    json_out: bool = JsonOption,
) -> None:
    """Who viewed, exported and erased whose data, newest first."""
    from nurture.privacy import audit_entries

    with cli_session() as session:
        entries = audit_entries(session, lead_id=lead, email=email, limit=limit)
    if json_out:
        print_json({"entries": entries})
        return
    for e in entries:
        who = f"lead {e['lead_id']}" if e["lead_id"] is not None else "all leads"
        typer.echo(
            f"{e['at']:%Y-%m-%d %H:%M}  {e['actor']} ({e['channel']})  {e['action']}  "
            f"{who}  via {e['via']}"
        )
    typer.echo(count(len(entries), "entry"), err=True)
