"""CLI of the manager's loop: ``nurture task ...`` and ``nurture leads reply|convert|lose|
close|show``. Sessions open here (the edge); the work is in the library functions."""

from __future__ import annotations

import getpass
from datetime import datetime
from typing import Any

import typer

from nurture.cli_support import JsonOption, NowOption, cli_session, parse_now, print_json

task_app = typer.Typer(
    help="Tasks of managers: list, complete with an outcome, reschedule, reassign.",
    no_args_is_help=True,
)

ByOption = typer.Option(
    None, "--by", help="Who does it (an e-mail); default: cli:<your login name>."
)


def actor(by: str | None) -> str:
    """Who acts: ``--by`` or ``cli:<login>`` (recorded in the event log)."""
    if by:
        return by.strip().lower()
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def parse_time(value: str, option: str) -> datetime:
    """An ISO date-time option (UTC if naive), or a one-line error naming the option."""
    from nurture.errors import InputError

    try:
        return parse_now(value)
    except typer.BadParameter:
        raise InputError(f"{value!r} is not an ISO date-time", field=option) from None


def _task_line(t: dict[str, Any]) -> str:
    due = t["due_at"][:16].replace("T", " ")
    flag = "HARD" if t["hard"] else "    "
    late = " OVERDUE" if t["overdue"] else ""
    who = t["assignee"] or "(unassigned)"
    lead = t["lead_name"] or f"lead {t['lead_id']}"
    deal = f" [deal {t['deal_id']} {t['stage']}]" if t["deal_id"] else ""
    status = "" if t["status"] == "open" else f" ({t['status']})"
    return f"{t['id']:>7}  {due}Z {flag}{late}  {who}  {lead}: {t['title']}{deal}{status}"


@task_app.command("list")
def task_list(
    assignee: str | None = typer.Option(None, "--assignee", help="Only this manager's tasks."),
    lead: int | None = typer.Option(None, "--lead", help="Only this lead's tasks."),
    deal: int | None = typer.Option(None, "--deal", help="Only this deal's actions."),
    overdue: bool = typer.Option(False, "--overdue", help="Only open tasks past due."),
    due_before: str | None = typer.Option(
        None, "--due-before", help="Only tasks due before this ISO date-time."
    ),
    all_: bool = typer.Option(False, "--all", help="Done and cancelled tasks too."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="At most this many."),
    now: str | None = NowOption,
    json_out: bool = JsonOption,
) -> None:
    """Open tasks by due time (``--all``: done and cancelled too)."""
    from nurture.playbooks.tasks import list_tasks

    moment = parse_now(now)
    before = parse_time(due_before, "--due-before") if due_before else None
    with cli_session() as session:
        tasks = list_tasks(
            session,
            now=moment,
            assignee=assignee,
            lead_id=lead,
            deal_id=deal,
            overdue=overdue,
            due_before=before,
            include_closed=all_,
            limit=limit,
        )
    rows = [t.as_json() for t in tasks]
    if json_out:
        print_json({"tasks": rows, "count": len(rows)})
        return
    if not rows:
        typer.echo("no tasks")
        return
    for row in rows:
        typer.echo(_task_line(row))


@task_app.command("show")
def task_show(
    task_id: int = typer.Argument(..., help="Task id."), json_out: bool = JsonOption
) -> None:
    """One task with its instructions and outcome."""
    from nurture.playbooks.tasks import get_task

    with cli_session() as session:
        view = get_task(session, task_id, now=parse_now(None)).as_json()
    if json_out:
        print_json(view)
        return
    typer.echo(_task_line(view))
    if view["instructions"]:
        typer.echo("")
        typer.echo(view["instructions"])
    if view["outcome"]:
        typer.echo(f"outcome: {view['outcome']}")
    if view["note"]:
        typer.echo(f"note: {view['note']}")


@task_app.command("done")
def task_done(
    task_id: int = typer.Argument(..., help="Task id."),
    outcome: list[str] = typer.Option(
        [], "--outcome", "-o", help="An outcome field as key=value (repeat for each field)."
    ),
    note: str | None = typer.Option(None, "--note", help="A note for the lead's story."),
    by: str | None = ByOption,
    now: str | None = NowOption,
    json_out: bool = JsonOption,
) -> None:
    """Complete a task with its outcome; a playbook action's outcome form is checked and its
    values drive what the deal does next. Completing a task twice is an error (exit 2)."""
    from nurture.playbooks.outcomes import parse_pairs
    from nurture.playbooks.tasks import complete_task

    values = parse_pairs(outcome)
    with cli_session() as session:
        view = complete_task(
            session, task_id, now=parse_now(now), actor=actor(by), outcome=values, note=note
        ).as_json()
    if json_out:
        print_json(view)
    else:
        typer.echo(f"task {task_id} done" + (f" ({view['outcome']})" if view["outcome"] else ""))


@task_app.command("reschedule")
def task_reschedule(
    task_id: int = typer.Argument(..., help="Task id."),
    to: str = typer.Option(..., "--to", help="New due time (ISO; UTC if no offset)."),
    reason: str = typer.Option(..., "--reason", help="Why (kept in the lead's story)."),
    by: str | None = ByOption,
    now: str | None = NowOption,
    json_out: bool = JsonOption,
) -> None:
    """Move an open task's due time, with a reason."""
    from nurture.playbooks.tasks import reschedule_task

    with cli_session() as session:
        view = reschedule_task(
            session,
            task_id,
            to=parse_time(to, "--to"),
            reason=reason,
            now=parse_now(now),
            actor=actor(by),
        ).as_json()
    if json_out:
        print_json(view)
    else:
        typer.echo(f"task {task_id} now due {view['due_at']}")


@task_app.command("reassign")
def task_reassign(
    task_id: int = typer.Argument(..., help="Task id."),
    to: str = typer.Option(..., "--to", help="The new assignee's e-mail."),
    reason: str | None = typer.Option(None, "--reason", help="Why (kept in the story)."),
    by: str | None = ByOption,
    now: str | None = NowOption,
    json_out: bool = JsonOption,
) -> None:
    """Give an open task to another manager."""
    from nurture.playbooks.tasks import reassign_task

    with cli_session() as session:
        view = reassign_task(
            session, task_id, to=to, reason=reason, now=parse_now(now), actor=actor(by)
        ).as_json()
    if json_out:
        print_json(view)
    else:
        typer.echo(f"task {task_id} now with {view['assignee']}")


# ------------------------------------------------------------------ nurture leads ...


def lead_reply(
    lead_id: int = typer.Argument(..., help="Lead id."),
    at: str | None = typer.Option(None, "--at", help="When they replied (ISO; default now)."),
    note: str | None = typer.Option(None, "--note", help="What they said."),
    by: str | None = ByOption,
    json_out: bool = JsonOption,
) -> None:
    """Record that the lead replied: campaigns with the `replied` stop rule stop for them in
    the next cycle."""
    from nurture.playbooks.lifecycle import record_reply

    moment = parse_time(at, "--at") if at else parse_now(None)
    with cli_session() as session:
        change = record_reply(session, lead_id, at=moment, actor=actor(by), note=note)
    _lead_out(change.as_json(), json_out, f"lead {lead_id}: reply recorded")


def lead_convert(
    lead_id: int = typer.Argument(..., help="Lead id."),
    amount: float | None = typer.Option(None, "--amount", help="The sale's amount."),
    currency: str | None = typer.Option(None, "--currency", help="e.g. RUB."),
    by: str | None = ByOption,
    now: str | None = NowOption,
    json_out: bool = JsonOption,
) -> None:
    """The lead became a customer: nurture stops, open tasks are cancelled, open deals won
    (with --amount, a purchase is recorded too)."""
    _settle(lead_id, "convert", by=by, now=now, json_out=json_out, amount=amount, currency=currency)


def lead_lose(
    lead_id: int = typer.Argument(..., help="Lead id."),
    reason: str = typer.Option(..., "--reason", help="Why the lead was lost."),
    by: str | None = ByOption,
    now: str | None = NowOption,
    json_out: bool = JsonOption,
) -> None:
    """The lead is lost: nurture stops, open tasks are cancelled, open deals lost."""
    _settle(lead_id, "lose", by=by, now=now, json_out=json_out, reason=reason)


def lead_close(
    lead_id: int = typer.Argument(..., help="Lead id."),
    reason: str | None = typer.Option(None, "--reason", help="Why (optional)."),
    by: str | None = ByOption,
    now: str | None = NowOption,
    json_out: bool = JsonOption,
) -> None:
    """Close the lead without a sale: nurture stops, open tasks are cancelled."""
    _settle(lead_id, "close", by=by, now=now, json_out=json_out, reason=reason)


def _settle(
    lead_id: int, verb: str, *, by: str | None, now: str | None, json_out: bool, **kw: Any
) -> None:
    from nurture.playbooks.lifecycle import settle_lead

    with cli_session() as session:
        change = settle_lead(
            session, lead_id, verb, now=parse_now(now), actor=actor(by), **kw
        ).as_json()
    n = len(change["cancelled_tasks"])
    _lead_out(change, json_out, f"lead {lead_id} {change['status']}; {n} open tasks cancelled")


def _lead_out(payload: dict[str, Any], json_out: bool, line: str) -> None:
    if json_out:
        print_json(payload)
    else:
        typer.echo(line)


def lead_show(
    lead_id: int = typer.Argument(..., help="Lead id."),
    by: str | None = ByOption,
    json_out: bool = JsonOption,
) -> None:
    """The lead's whole story in time order: sources, assignments and why, touches and
    e-mails, tasks and outcomes, enrolments, merges, purchases, scores and deals."""
    from nurture.playbooks.story import lead_story
    from nurture.privacy import cli_actor, record_access

    with cli_session() as session:
        info = lead_story(session, lead_id)
        record_access(  # the audit log of personal data (docs/privacy.md)
            session,
            actor=cli_actor(by),
            action="viewed",
            via="leads show",
            lead_id=lead_id,
            email=info["lead"].get("email"),
        )
    if json_out:
        print_json(info)
        return
    lead = info["lead"]
    name = " ".join(p for p in (lead.get("first_name"), lead.get("last_name")) if p)
    typer.echo(f"lead {lead['id']}: {name or lead.get('email') or ''} ({lead['status']})")
    for key, value in lead.items():
        if value not in (None, "", False) and key not in ("id", "status"):
            typer.echo(f"  {key}: {value}")
    owner = info["owner"]
    typer.echo(f"owner: {owner['name']} <{owner['email']}>" if owner else "owner: (none)")
    for d in info["deals"]:
        typer.echo(f"deal {d['id']}: {d['playbook']} v{d['version']}, {d['stage']} ({d['status']})")
    typer.echo("story:")
    for e in info["story"]:
        typer.echo(f"  {e['at']:%Y-%m-%d %H:%M}  {e['text']}")


def register(app: typer.Typer) -> None:
    """Add ``nurture task ...``."""
    app.add_typer(task_app, name="task")


def register_leads(leads: typer.Typer) -> None:
    """Add ``reply``, ``convert``, ``lose``, ``close`` and ``show`` to ``nurture leads``."""
    leads.command("reply")(lead_reply)
    leads.command("convert")(lead_convert)
    leads.command("lose")(lead_lose)
    leads.command("close")(lead_close)
    leads.command("show")(lead_show)
