"""What a finished task changes next: the outcome form it is checked against (and the
documents it needs), and the deal it moves on or opens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from nurture.db.cadence import Task
from nurture.playbooks.outcomes import Form


def outcome_form(session: Session, task: Task) -> Form | None:
    """The outcome form of a playbook action; ``None`` (free key=value pairs) for tasks
    outside playbooks."""
    if task.deal_id is None or task.action is None:
        return None
    from nurture.playbooks.deals import action_spec

    spec = action_spec(session, task)
    return spec.outcome if spec is not None else None


def check_ready(session: Session, task: Task) -> None:
    """Raise :class:`~nurture.playbooks.errors.ConflictError` while a playbook action's
    documents are not ready (client documents sent, internal ones rendered)."""
    if task.deal_id is None or task.action is None:
        return
    from nurture.playbooks.deals import action_spec
    from nurture.playbooks.documents import require_ready

    require_ready(session, task, action_spec(session, task))


def after_task_done(session: Session, task: Task, *, now: datetime, actor: str) -> None:
    """A done playbook action may complete its stage and move the deal; a done task outside
    a deal may open one (a playbook's ``enter`` rule)."""
    from nurture.playbooks import deals

    if task.deal_id is not None:
        deals.on_action_finished(session, task.deal_id, now=now, actor=actor)
    else:
        deals.enter_by_rules(session, task, now=now, actor=actor)
