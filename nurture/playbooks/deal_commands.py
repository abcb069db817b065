"""CLI of the sales process: ``nurture playbook``, ``deal``, ``doc``, ``requests`` and
``escalate``. Sessions open here; the work is in the library."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from nurture.cli_support import JsonOption, NowOption, cli_session, parse_now, print_json
from nurture.playbooks.commands import ByOption, actor

playbook_app = typer.Typer(
    help="Playbooks: validate and load YAML files, list versions, role pools.",
    no_args_is_help=True,
)
deal_app = typer.Typer(
    help="Deals: open one on a playbook, show, advance, list (stalled).", no_args_is_help=True
)
doc_app = typer.Typer(
    help="Documents of deals: render (HTML, PDF), approve, reject, send.", no_args_is_help=True
)
requests_app = typer.Typer(
    help="Requests to other systems (finance, production, support): the outbox.",
    no_args_is_help=True,
)


def _templates() -> Path:
    from nurture.config import get_settings

    return Path(get_settings().templates_dir)


# ------------------------------------------------------------------ playbook


@playbook_app.command("validate")
def playbook_validate(
    files: list[Path] = typer.Argument(..., help="Playbook YAML files (examples/playbooks/)."),
    json_out: bool = JsonOption,
) -> None:
    """Check playbook files: every problem with its file and line (exit 2 if any)."""
    from nurture.errors import ConfigError
    from nurture.playbooks.validation import PlaybookError, read_playbook

    results: list[dict[str, Any]] = []
    for path in files:
        try:
            spec, _text = read_playbook(path, templates_dir=_templates())
            results.append({"file": str(path), "name": spec.name, "valid": True, "problems": []})
        except PlaybookError as exc:
            problems = [p.as_json() for p in exc.problems]
            results.append({"file": str(path), "valid": False, "problems": problems})
            typer.echo(f"nurture: {exc.format_message()}", err=True)
        except ConfigError as exc:
            results.append(
                {
                    "file": str(path),
                    "valid": False,
                    "problems": [{"line": exc.line, "message": str(exc)}],
                }
            )
            typer.echo(f"nurture: {exc.format_message()}", err=True)
    if json_out:
        print_json({"files": results, "valid": all(r["valid"] for r in results)})
    else:
        for r in results:
            if r["valid"]:
                typer.echo(f"{r['file']}: ok ({r['name']})")
    if not all(r["valid"] for r in results):
        raise typer.Exit(2)


@playbook_app.command("load")
def playbook_load(
    file: Path = typer.Argument(..., help="A playbook YAML file."),
    now: str | None = NowOption,
    json_out: bool = JsonOption,
) -> None:
    """Validate and load a playbook. A changed file becomes a new version; running deals
    keep the version they started on. Loading the same file again changes nothing."""
    from nurture.playbooks.validation import read_playbook
    from nurture.playbooks.versions import save_version

    spec, text = read_playbook(file, templates_dir=_templates())
    with cli_session() as session:
        row, created = save_version(session, spec, text, file_name=file.name, now=parse_now(now))
        out = {
            "name": row.name,
            "version": row.version,
            "stages": len(spec.stages),
            "created": created,
        }
    if json_out:
        print_json(out)
    else:
        verb = "loaded as version" if created else "unchanged, version"
        typer.echo(f"{out['name']}: {verb} {out['version']} ({out['stages']} stages)")


@playbook_app.command("list")
def playbook_list(json_out: bool = JsonOption) -> None:
    """Loaded playbooks and their versions."""
    from nurture.playbooks.versions import all_versions

    with cli_session() as session:
        rows = [
            {"name": v.name, "version": v.version, "file": v.file_name, "loaded_at": v.loaded_at}
            for v in all_versions(session)
        ]
    if json_out:
        print_json({"playbooks": rows})
        return
    for r in rows:
        typer.echo(f"{r['name']} v{r['version']}  {r['file']}  {r['loaded_at']:%Y-%m-%d %H:%M}")


@playbook_app.command("roles")
def playbook_roles(
    file: Path = typer.Argument(..., help="A YAML file with roles: {role: [e-mail, ...]}."),
    json_out: bool = JsonOption,
) -> None:
    """Set role pools (engineer, head_of_sales, ...) from a file's ``roles:`` section; each
    role's members become exactly those listed (they must be in the team file)."""
    import yaml

    from nurture.errors import InputError
    from nurture.playbooks.people import load_roles, parse_roles

    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("file not found", file=str(file)) from None
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML: {exc}", file=str(file)) from None
    roles = parse_roles(data, file=str(file))
    with cli_session() as session:
        counts = load_roles(session, roles)
    if json_out:
        print_json({"roles": counts})
    else:
        from nurture.text import count

        for role, n in counts.items():
            typer.echo(f"{role}: {count(n, 'member')}")


# ------------------------------------------------------------------ deal


@deal_app.command("open")
def deal_open(
    lead_id: int = typer.Argument(..., help="Lead id."),
    playbook: str = typer.Option(..., "--playbook", help="Playbook name (nurture playbook list)."),
    amount: float | None = typer.Option(None, "--amount", help="Expected amount."),
    currency: str | None = typer.Option(None, "--currency", help="e.g. RUB."),
    by: str | None = ByOption,
    now: str | None = NowOption,
    json_out: bool = JsonOption,
) -> None:
    """Open a deal for a lead on a playbook's latest version; its first stage's actions are
    created at once."""
    from nurture.playbooks.deals import open_deal

    with cli_session() as session:
        deal = open_deal(
            session,
            lead_id,
            playbook=playbook,
            now=parse_now(now),
            actor=actor(by),
            amount=amount,
            currency=currency,
        )
        out = {
            "id": deal.id,
            "lead_id": deal.lead_id,
            "playbook": deal.playbook,
            "version": deal.version,
            "stage": deal.stage,
            "status": deal.status,
        }
    if json_out:
        print_json(out)
    else:
        typer.echo(f"deal {out['id']}: {out['playbook']} v{out['version']}, stage {out['stage']}")


@deal_app.command("show")
def deal_show(
    deal_id: int = typer.Argument(..., help="Deal id."),
    now: str | None = NowOption,
    json_out: bool = JsonOption,
) -> None:
    """Stage, open actions with instructions and deadlines, steps, documents, requests,
    timeline."""
    from nurture.playbooks.dealview import show_deal

    with cli_session() as session:
        info = show_deal(session, deal_id, now=parse_now(now))
    if json_out:
        print_json(info)
        return
    typer.echo(
        f"deal {info['id']} ({info['status']}): {info['lead']} - {info['playbook']} "
        f"v{info['version']}, stage {info['stage_title']}"
        + (" - STALLED" if info["stalled"] else "")
    )
    if info["fields"]:
        typer.echo("fields: " + ", ".join(f"{k}={v}" for k, v in info["fields"].items()))
    typer.echo("open actions:")
    for a in info["open_actions"]:
        if a.get("kind") == "automated":
            err = f": {a['error']}" if a.get("error") else ""
            typer.echo(f"  [automated] {a['action']} {a['status']}{err}")
        else:
            hard = " HARD" if a["hard"] else ""
            typer.echo(
                f"  task {a['id']}: {a['title']} (due {a['due_at'][:16]}Z{hard}, {a['assignee']})"
            )
            if a["instructions"]:
                for line in a["instructions"].strip().splitlines():
                    typer.echo(f"      {line}")
    for d in info["documents"]:
        typer.echo(f"document {d['id']} {d['key']} r{d['revision']}: {d['status']}")
    for r in info["requests"]:
        typer.echo(f"request {r['id']} {r['kind']} -> {r['target']}: {r['status']}")
    typer.echo("timeline:")
    for e in info["timeline"]:
        typer.echo(f"  {e['at'][:16]}  {e['text']}")


@deal_app.command("advance")
def deal_advance(
    deal_id: int = typer.Argument(..., help="Deal id."),
    to: str | None = typer.Option(None, "--to", help="Stage (or won/lost) to move to."),
    reason: str | None = typer.Option(None, "--reason", help="Why (kept in the timeline)."),
    by: str | None = ByOption,
    now: str | None = NowOption,
    json_out: bool = JsonOption,
) -> None:
    """Move a deal to a stage by hand (its open actions are cancelled); without --to, take
    the stage's exit once its actions are done."""
    from nurture.playbooks.deals import advance_deal

    with cli_session() as session:
        deal = advance_deal(
            session, deal_id, now=parse_now(now), actor=actor(by), to=to, reason=reason
        )
        out = {"id": deal.id, "stage": deal.stage, "status": deal.status}
    if json_out:
        print_json(out)
    else:
        typer.echo(f"deal {out['id']}: stage {out['stage']} ({out['status']})")


@deal_app.command("list")
def deal_list(
    stalled: bool = typer.Option(False, "--stalled", help="Only deals idle past stall_after."),
    all_: bool = typer.Option(False, "--all", help="Won, lost and closed deals too."),
    owner: str | None = typer.Option(None, "--owner", help="Only this manager's deals."),
    now: str | None = NowOption,
    json_out: bool = JsonOption,
) -> None:
    """Open deals, newest first (``--stalled``: management may need to step in)."""
    from nurture.playbooks.dealview import list_deals

    with cli_session() as session:
        rows = list_deals(
            session,
            now=parse_now(now),
            stalled=stalled,
            status=None if all_ else "open",
            owner=owner,
        )
    if json_out:
        print_json({"deals": rows, "count": len(rows)})
        return
    if not rows:
        typer.echo("no deals")
    for r in rows:
        flag = " STALLED" if r["stalled"] else ""
        typer.echo(
            f"{r['id']:>6}  {r['playbook']} v{r['version']}  {r['stage']:<16} {r['status']:<6} "
            f"{r['lead']}  {r['owner'] or ''}{flag}"
        )


# ------------------------------------------------------------------ doc


@doc_app.command("render")
def doc_render(
    deal_id: int = typer.Argument(..., help="Deal id."),
    key: str = typer.Argument(..., help="The playbook's document key, e.g. proposal."),
    out: Path | None = typer.Option(None, "--out", help="Also write the PDF to this file."),
    by: str | None = ByOption,
    now: str | None = NowOption,
    json_out: bool = JsonOption,
) -> None:
    """Render a deal's document to HTML and PDF (again: a new revision)."""
    from nurture.playbooks.documents import document_view, render_document

    with cli_session() as session:
        doc = render_document(session, deal_id, key, now=parse_now(now), actor=actor(by))
        view = document_view(session, doc)
        pdf = doc.pdf or b""
    if out is not None:
        out.write_bytes(pdf)
    if json_out:
        print_json({**view, "file": str(out) if out else None})
    else:
        typer.echo(
            f"document {view['id']} ({key}) revision {view['revision']}: {view['status']}, "
            f"{len(pdf):,} bytes of PDF" + (f" -> {out}" if out else "")
        )


def _decide(
    document_id: int,
    approve: bool,
    by: str | None,
    now: str | None,
    comment: str | None,
    json_out: bool,
) -> None:
    from nurture.playbooks.documents import decide, document_view

    with cli_session() as session:
        doc = decide(
            session,
            document_id,
            approve=approve,
            actor=actor(by),
            now=parse_now(now),
            comment=comment,
        )
        view = document_view(session, doc)
    if json_out:
        print_json(view)
    else:
        typer.echo(f"document {document_id}: {view['status']}")


@doc_app.command("approve")
def doc_approve(
    document_id: int = typer.Argument(..., help="Document id."),
    by: str | None = ByOption,
    comment: str | None = typer.Option(None, "--comment", help="A remark."),
    now: str | None = NowOption,
    json_out: bool = JsonOption,
) -> None:
    """Approve as the next role in the document's order (--by: your e-mail)."""
    _decide(document_id, True, by, now, comment, json_out)


@doc_app.command("reject")
def doc_reject(
    document_id: int = typer.Argument(..., help="Document id."),
    comment: str = typer.Option(..., "--comment", help="What to change."),
    by: str | None = ByOption,
    now: str | None = NowOption,
    json_out: bool = JsonOption,
) -> None:
    """Reject as the next role in the order: render it again after the changes."""
    _decide(document_id, False, by, now, comment, json_out)


@doc_app.command("send")
def doc_send(
    document_id: int = typer.Argument(..., help="Document id."),
    by: str | None = ByOption,
    now: str | None = NowOption,
    json_out: bool = JsonOption,
) -> None:
    """E-mail the client a link to an approved document."""
    from nurture.playbooks.documents import document_view, send_document

    with cli_session() as session:
        doc = send_document(session, document_id, actor=actor(by), now=parse_now(now))
        view = document_view(session, doc)
    if json_out:
        print_json(view)
    else:
        typer.echo(f"document {document_id} sent")


# ------------------------------------------------------------------ requests, escalate


@requests_app.command("list")
def requests_list(
    failed: bool = typer.Option(False, "--failed", help="Only failing and dead requests."),
    deal: int | None = typer.Option(None, "--deal", help="Only this deal's requests."),
    json_out: bool = JsonOption,
) -> None:
    """Requests newest first, with status, attempts and the last error."""
    from nurture.playbooks.outbound import list_requests

    with cli_session() as session:
        rows = list_requests(session, failed=failed, deal_id=deal)
    if json_out:
        print_json({"requests": rows, "count": len(rows)})
        return
    if not rows:
        typer.echo("no requests")
    for r in rows:
        err = f"  ({r['last_error']})" if r["last_error"] else ""
        typer.echo(
            f"{r['id']:>6}  deal {r['deal_id']}  {r['kind']} -> {r['target']}: {r['status']}, "
            f"{r['attempts']} attempts{err}"
        )


@requests_app.command("retry")
def requests_retry(
    request_id: int = typer.Argument(..., help="A dead request's id."),
    now: str | None = NowOption,
    json_out: bool = JsonOption,
) -> None:
    """Queue a dead letter again (after the receiving system was fixed)."""
    from nurture.playbooks.outbound import retry_request

    with cli_session() as session:
        view = retry_request(session, request_id, now=parse_now(now))
    if json_out:
        print_json(view)
    else:
        typer.echo(f"request {request_id} queued again")


def escalate_command(
    now: str | None = NowOption,
    json_out: bool = JsonOption,
) -> None:
    """Run due automated steps and requests, then escalate missed deadlines (one digest per
    supervisor), report stalled deals, send daily digests and fallback e-mails."""
    from nurture.db.session import get_engine
    from nurture.playbooks.runner import run_all

    out = run_all(get_engine(), now=parse_now(now))
    if json_out:
        print_json(out)
        return
    typer.echo(
        f"escalated {out['escalated']} levels ({out['reassigned']} reassigned), "
        f"{out['digests']} escalation digests; {out['stalled']} stalled deals; "
        f"{out['daily_digests']} daily digests, {out['reminded']} reminders; "
        f"{out['fallback_emails']} fallback e-mails; newly overdue {out['overdue']}"
    )
    steps, reqs = out.get("steps", {}), out.get("requests", {})
    typer.echo(
        f"steps: {steps.get('succeeded', 0)} done, {steps.get('failed', 0)} failed, "
        f"{steps.get('dead', 0)} gave up; requests: {reqs.get('delivered', 0)} delivered, "
        f"{reqs.get('failed', 0)} failed, {reqs.get('dead', 0)} dead"
    )
    if out["without_recipient"]:
        typer.echo(
            f"warning: {out['without_recipient']} escalations have nobody to tell "
            "(no supervisor in the team file)",
            err=True,
        )


def register(app: typer.Typer) -> None:
    """Add ``playbook``, ``deal``, ``doc``, ``requests`` and ``escalate``."""
    app.add_typer(playbook_app, name="playbook")
    app.add_typer(deal_app, name="deal")
    app.add_typer(doc_app, name="doc")
    app.add_typer(requests_app, name="requests")
    app.command("escalate")(escalate_command)
