"""Simulated people for the demo: managers working their tasks, supervisors approving
documents, leads replying, deals closing.

Everything goes through the functions the CLI and the web app call
(:func:`~nurture.playbooks.tasks.complete_task`, :func:`~nurture.playbooks.documents.decide`,
:func:`~nurture.playbooks.lifecycle.convert_lead` ...), each action in its own savepoint so
one refusal (a document still waiting for approval, a lead someone else settled) leaves the
rest of the step standing. Seeded: the same seed and the same database give the same day.

What they do, each step, with :class:`Habits` probabilities:

1. a few contacted leads reply (the ``replied`` stop rule ends their campaigns);
2. managers complete most of their due tasks, with outcomes (a call says whether the lead is
   interested; an interested lead opens a deal through the playbook's ``enter`` rule) and
   leave a few overdue, so deadlines escalate to the supervisor;
3. before a deal action that needs documents, the manager renders them, the roles in the
   document's approval order approve them, and client documents are sent;
4. a few leads with an open deal sign: the lead is converted with an amount (its deals won).
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.db.cadence import Task
from nurture.db.leads import Lead
from nurture.db.mail import OutboxMessage
from nurture.db.playbooks import Deal, Document
from nurture.db.team import Manager, Team
from nurture.errors import NurtureError
from nurture.playbooks.outcomes import Form

ACTOR = "demo"
CALL_KINDS = ("call", "first_contact", "reengage")


@dataclass(frozen=True)
class Habits:
    """How the simulated people behave, per step."""

    task_done: float = 0.85  # a due task is done at this step (else it waits, and escalates)
    interested: float = 0.2  # a call's outcome: the lead is interested (opens a deal)
    reply: float = 0.003  # a lead that got an e-mail replies
    sign: float = 0.004  # a lead with an open deal signs (converted with an amount)


@dataclass
class StepActivity:
    """What the people did in one step."""

    tasks_done: int = 0
    tasks_waiting: int = 0
    refused: int = 0
    replies: int = 0
    documents_approved: int = 0
    documents_sent: int = 0
    converted: int = 0
    settled: int = 0
    revenue: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "revenue": round(self.revenue, 2)}


def fill_outcome(
    form: Form | None, task_kind: str, rng: random.Random, h: Habits, today: date
) -> dict[str, Any]:
    """A plausible outcome for a task: the playbook form's fields filled in, or for a call
    outside a playbook whether the lead is interested."""
    if form is None:
        if task_kind in CALL_KINDS:
            return {"interested": "yes" if rng.random() < h.interested else "no"}
        return {}
    values: dict[str, Any] = {}
    for name, spec in form.items():
        if spec.type == "yesno":
            values[name] = "yes" if rng.random() < 0.85 else "no"
        elif spec.type == "choice":
            values[name] = spec.options[0] if rng.random() < 0.7 else rng.choice(spec.options)
        elif spec.type == "number":
            low = spec.min if spec.min is not None else 1.0
            high = spec.max if spec.max is not None else max(low * 10, 100_000.0)
            values[name] = round(rng.uniform(low, high))
        elif spec.type == "date":
            values[name] = today.isoformat()
        elif spec.required:
            values[name] = "done as agreed"
    return values


def act(
    session: Session, *, now: datetime, seed: int, habits: Habits | None = None
) -> StepActivity:
    """One step of everyone's work at ``now`` in the caller's transaction."""
    h = habits or Habits()
    rng = random.Random(f"{seed}:{now.isoformat()}")
    out = StepActivity()
    people = _people(session)
    _replies(session, rng, now, h, out)
    due = session.scalars(
        select(Task).where(Task.status == "open", Task.due_at <= now).order_by(Task.id)
    ).all()
    for task in due:
        if rng.random() >= h.task_done:
            out.tasks_waiting += 1
            continue
        actor = people.get(task.manager_id or -1, ACTOR)
        if _attempt(session, lambda t=task, a=actor: _do_task(session, t, a, rng, h, now, out)):
            out.tasks_done += 1
        else:
            out.refused += 1
    _sign(session, rng, now, h, people, out)
    return out


def _people(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Manager.id, Manager.email)).all())


def _attempt(session: Session, action: Any) -> bool:
    """Run ``action`` in a savepoint; a refusal (our error) rolls back only it."""
    try:
        with session.begin_nested():
            action()
        return True
    except NurtureError:
        return False


def _replies(
    session: Session, rng: random.Random, now: datetime, h: Habits, out: StepActivity
) -> None:
    from nurture.playbooks.lifecycle import record_reply

    mailed = session.scalars(
        select(Lead.id)
        .where(
            Lead.status == "open",
            Lead.id.in_(select(OutboxMessage.lead_id).where(OutboxMessage.status == "sent")),
        )
        .order_by(Lead.id)
    ).all()
    for lead_id in mailed:
        if rng.random() < h.reply and _attempt(
            session,
            lambda i=lead_id: record_reply(
                session, i, at=now, actor=ACTOR, note="replied to the e-mail"
            ),
        ):
            out.replies += 1


def _do_task(
    session: Session,
    task: Task,
    actor: str,
    rng: random.Random,
    h: Habits,
    now: datetime,
    out: StepActivity,
) -> None:
    from nurture.playbooks import progress
    from nurture.playbooks.tasks import complete_task

    if task.deal_id is not None:
        _ready_documents(session, task, actor, now, out)
    form = progress.outcome_form(session, task)
    outcome = fill_outcome(form, task.kind, rng, h, now.date())
    complete_task(session, task.id, now=now, actor=actor, outcome=outcome, note="demo: done")
    if task.kind == "follow_up" and "no_next_step" in (task.instructions or ""):
        _decide_lead(session, task.lead_id, actor, rng, now, out)


def _decide_lead(
    session: Session, lead_id: int, actor: str, rng: random.Random, now: datetime, out: StepActivity
) -> None:
    """A lead with no next step left: the owner closes it for now or records it lost."""
    from nurture.playbooks.lifecycle import close_lead, lose_lead

    if rng.random() < 0.6:
        close_lead(session, lead_id, now=now, actor=actor, reason="no project this year")
    else:
        lose_lead(session, lead_id, now=now, actor=actor, reason="chose another supplier")
    out.settled += 1


def _ready_documents(
    session: Session, task: Task, actor: str, now: datetime, out: StepActivity
) -> None:
    """Render, approve and send what the deal action needs, as the people involved would."""
    from nurture.playbooks.deals import action_spec, get_deal
    from nurture.playbooks.documents import decide, holds_role, render_document, send_document
    from nurture.playbooks.versions import spec_of

    action = action_spec(session, task)
    if action is None or not action.documents or task.deal_id is None:
        return
    deal = get_deal(session, task.deal_id)
    spec = spec_of(session, deal.version_id)
    people = _approvers(session)
    for key in action.documents:
        doc = session.scalars(
            select(Document).where(Document.deal_id == deal.id, Document.key == key)
        ).first()
        if doc is None or doc.status == "rejected":
            doc = render_document(session, deal.id, key, now=now, actor=actor)
        for role in list(doc.approvals_required or []):
            if doc.status != "draft":
                break
            approver = next((p for p in people if holds_role(session, p, role, deal)), None)
            if approver is None:
                break
            doc = decide(session, doc.id, approve=True, actor=approver, now=now, comment="approved")
            out.documents_approved += 1
        if spec.documents[key].send and doc.status == "approved":
            send_document(session, doc.id, actor=actor, now=now)
            out.documents_sent += 1


def _approvers(session: Session) -> list[str]:
    supervisors = session.scalars(
        select(Team.supervisor_email).where(Team.supervisor_email.is_not(None))
    )
    managers = session.scalars(select(Manager.email).order_by(Manager.id))
    return [e for e in (*supervisors, *managers) if e]


def _sign(
    session: Session,
    rng: random.Random,
    now: datetime,
    h: Habits,
    people: dict[int, str],
    out: StepActivity,
) -> None:
    from nurture.playbooks.lifecycle import convert_lead

    rows = session.execute(
        select(Deal.lead_id, Lead.owner_id)
        .join(Lead, Lead.id == Deal.lead_id)
        .where(Deal.status == "open", Lead.status == "open")
        .group_by(Deal.lead_id, Lead.owner_id)
        .order_by(Deal.lead_id)
    ).all()
    for lead_id, owner_id in rows:
        if rng.random() >= h.sign:
            continue
        amount = float(rng.randrange(150_000, 2_500_000, 10_000))
        actor = people.get(owner_id or -1, ACTOR)
        if _attempt(
            session,
            lambda i=lead_id, a=actor, m=amount: convert_lead(
                session, i, now=now, actor=a, amount=m
            ),
        ):
            out.converted += 1
            out.revenue += amount
