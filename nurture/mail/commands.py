"""CLI commands of the mail capability: send, suppress, bounces, template, outbox."""

from __future__ import annotations

from pathlib import Path

import typer

from nurture.cli_support import JsonOption, NowOption, cli_session, parse_now, print_json
from nurture.text import count

suppress_app = typer.Typer(help="The suppression list: addresses never to e-mail.")
bounces_app = typer.Typer(help="Bounced addresses (DSN messages or CSV).")
template_app = typer.Typer(help="E-mail templates under templates/email.")
outbox_app = typer.Typer(help="The outbox: what is queued, sent, failed or unknown.")


def _warn_about_the_key(component: str) -> None:
    """Loudly, on stderr, when the signing key is the default (in production: exit 2)."""
    from nurture.config import secret_key_warning

    warning = secret_key_warning(component)
    if warning:
        typer.secho(warning, err=True, fg=typer.colors.RED, bold=True)


def send_command(
    limit: int | None = typer.Option(
        None, "--limit", min=1, help="Send at most this many messages (default: all due)."
    ),
    now: str | None = NowOption,
    json_out: bool = JsonOption,
) -> None:
    """Send the e-mails that are due (SMTP, or .eml files when NURTURE_SMTP_URL is unset).

    Safe to run twice or in parallel: nothing is sent twice. When the SMTP server cannot be
    reached nothing is claimed and no message spends an attempt: the command says so in one
    line (exit 1) and `nurture outbox status` shows the outage until a send gets through.
    With --now, messages due by then are sent and retry times are counted from it.
    """
    from nurture.mail import clock_from, send_due

    _warn_about_the_key("nurture send")
    summary = send_due(limit, now=clock_from(parse_now(now))) if now else send_due(limit)
    if json_out:
        print_json(summary.as_dict())
        return
    typer.echo(
        f"sent {summary.sent}, retry later {summary.failed_temp}, failed {summary.failed_perm}, "
        f"suppressed {summary.suppressed}, unknown {summary.unknown} "
        f"({summary.transport}, {summary.seconds:.1f} s)"
    )
    if summary.not_attempted:
        typer.echo(
            f"{summary.not_attempted} given back untried (the server failed before the "
            "recipient was offered; no attempt spent): they go with the next send"
        )
    if summary.reconciled_requeued or summary.reconciled_unknown or summary.reconciled_sent:
        typer.echo(
            f"recovered from a stopped sender: {summary.reconciled_sent} sent, "
            f"{summary.reconciled_requeued} requeued, {summary.reconciled_unknown} unknown"
        )
    for error in summary.errors:
        typer.echo(f"error: {error}", err=True)
    if summary.unknown_total:
        typer.echo(
            f"warning: {count(summary.unknown_total, 'message')} in state 'unknown' (cut after "
            "DATA): check the mail server log, then `nurture outbox requeue --status unknown`",
            err=True,
        )


@suppress_app.command("add")
def suppress_add(
    email: str = typer.Argument(..., help="The address to suppress."),
    campaign: str | None = typer.Option(
        None, "--campaign", help="Only for this campaign slug (default: every campaign)."
    ),
    reason: str = typer.Option("manual", "--reason", help="unsubscribe|bounce|complaint|manual"),
    now: str | None = NowOption,
    json_out: bool = JsonOption,
) -> None:
    """Never e-mail EMAIL again (or not for one campaign)."""
    from nurture.errors import InputError
    from nurture.mail import GLOBAL, REASONS, add_suppressions

    if "@" not in email:
        raise InputError(f"{email!r} is not an e-mail address", field="email")
    if reason not in REASONS:
        raise InputError(f"--reason must be one of {', '.join(REASONS)}", field="reason")
    with cli_session() as session:
        new = add_suppressions(
            session,
            [{"email": email, "scope": campaign or GLOBAL, "reason": reason}],
            now=parse_now(now),
        )
    if json_out:
        print_json({"email": email.lower(), "scope": campaign or GLOBAL, "new": new})
    else:
        scope = f"campaign {campaign}" if campaign else "every campaign"
        typer.echo(f"{email.lower()} suppressed for {scope}" + ("" if new else " (already)"))


@suppress_app.command("import")
def suppress_import(
    file: Path = typer.Argument(..., help="CSV email[,campaign][,reason] or one address a line."),
    now: str | None = NowOption,
    json_out: bool = JsonOption,
) -> None:
    """Import a suppression list (e.g. exported from another tool)."""
    from nurture.mail import add_suppressions, read_suppression_file

    rows = read_suppression_file(file)
    with cli_session() as session:
        new = add_suppressions(session, rows, now=parse_now(now))
    if json_out:
        print_json({"file": str(file), "rows": len(rows), "new": new})
    else:
        typer.echo(f"{file}: {count(len(rows), 'address')}, {count(new, 'new suppression')}")


@suppress_app.command("list")
def suppress_list(json_out: bool = JsonOption) -> None:
    """Show the suppression list."""
    from sqlalchemy import select

    from nurture.db.mail import Suppression

    with cli_session() as session:
        rows = [
            {
                "email": s.email,
                "scope": s.scope,
                "reason": s.reason,
                "detail": s.detail,
                "created_at": s.created_at,
            }
            for s in session.scalars(select(Suppression).order_by(Suppression.email))
        ]
    if json_out:
        print_json({"suppressions": rows})
        return
    for r in rows:
        typer.echo(f"{r['email']}\t{r['scope']}\t{r['reason']}\t{r['detail'] or ''}")
    typer.echo(count(len(rows), "suppression"), err=True)


@bounces_app.command("import")
def bounces_import(
    file: Path = typer.Argument(..., help="A DSN message (.eml), a directory of them, or a CSV."),
    now: str | None = NowOption,
    json_out: bool = JsonOption,
) -> None:
    """Mark permanently bounced addresses undeliverable and suppress them."""
    from nurture.errors import InputError
    from nurture.mail import apply_bounces, read_bounces

    if not file.exists():
        raise InputError("no such file or directory", file=str(file))
    bounces = read_bounces(file)
    with cli_session() as session:
        counts = apply_bounces(session, bounces, now=parse_now(now))
    if json_out:
        print_json({"file": str(file), **counts})
    else:
        typer.echo(
            f"{file}: {counts['bounces']} bounces, {counts['permanent']} permanent "
            f"({counts['new_suppressions']} new suppressions, "
            f"{counts['leads_marked_undeliverable']} leads undeliverable), "
            f"{counts['temporary']} temporary"
        )


@template_app.command("check")
def template_check(json_out: bool = JsonOption) -> None:
    """Render every e-mail template against sample contexts; list each error with file and
    line; exit 1 when there is any."""
    from nurture.config import get_settings
    from nurture.mail import check_templates

    checked, problems = check_templates(get_settings().templates_dir)
    if json_out:
        print_json(
            {
                "checked": checked,
                "errors": [
                    {"file": p.file, "line": p.line, "message": p.message} for p in problems
                ],
            }
        )
    else:
        for p in problems:
            typer.echo(str(p), err=True)
        typer.echo(f"{count(checked, 'template')} checked, {count(len(problems), 'error')}")
    if problems:
        raise typer.Exit(1)


@template_app.command("preview")
def template_preview(
    name: str = typer.Argument(..., help="Template name: <campaign-slug>/<step-name>."),
    lead: int = typer.Option(..., "--lead", help="Render for this lead id."),
    out: Path = typer.Option(..., "--out", help="Write the message here (.eml)."),
) -> None:
    """Render NAME for one lead into an .eml file (open it in a mail client)."""
    from nurture.mail import preview

    with cli_session() as session:
        data = preview(session, name, lead)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    typer.echo(f"wrote {out} ({len(data)} bytes)")


@outbox_app.command("status")
def outbox_status(now: str | None = NowOption, json_out: bool = JsonOption) -> None:
    """How many messages are in each state, how many are due, and whether the SMTP server
    (or the outbox directory) could be reached by the last sends: since when not, how many
    tries failed, the last error (the password in NURTURE_SMTP_URL is masked)."""
    from nurture.config import get_settings
    from nurture.mail import outbox_status as status_of

    with cli_session() as session:
        status = status_of(session, get_settings(), now=parse_now(now))
    if json_out:
        print_json(status.as_dict())
    else:
        for line in status.lines():
            typer.echo(line)


@outbox_app.command("requeue")
def outbox_requeue(
    status: str = typer.Option(
        "unknown", "--status", help="Requeue rows in this state (unknown, failed_perm...)."
    ),
    ids: list[int] | None = typer.Option(None, "--id", help="Only these outbox ids (repeat)."),
    now: str | None = NowOption,
    json_out: bool = JsonOption,
) -> None:
    """Send rows again, with a fresh count of attempts: for 'unknown' rows only after checking
    they did not arrive."""
    from nurture.mail import requeue

    with cli_session() as session:
        n = requeue(session, ids=ids or None, status=status, now=parse_now(now))
    if json_out:
        print_json({"requeued": n})
    else:
        typer.echo(f"{count(n, 'message')} requeued")


def register(app: typer.Typer) -> None:
    """Add this capability's commands and sub-groups to ``app``."""
    app.command("send")(send_command)
    app.add_typer(suppress_app, name="suppress")
    app.add_typer(bounces_app, name="bounces")
    app.add_typer(template_app, name="template")
    app.add_typer(outbox_app, name="outbox")
