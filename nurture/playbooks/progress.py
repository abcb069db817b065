"""What a finished task changes next: the outcome form it is checked against, and the deal
it moves on (the playbook engine's database edge hooks in here)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from nurture.db.cadence import Task
from nurture.playbooks.outcomes import Form


def outcome_form(session: Session, task: Task) -> Form | None:
    """The outcome form of a playbook action; ``None`` (free key=value pairs) otherwise."""
    return None


def after_task_done(session: Session, task: Task, *, now: datetime, actor: str) -> None:
    """A done playbook action may complete its stage and move the deal on."""
    return None
