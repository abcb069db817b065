"""Automated steps of a deal: runs of an entry point or a webhook, retried with backoff."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from nurture.db.playbooks import StepRun

PENDING_STATES = ("pending", "failed")


def cancel_pending_steps(session: Session, deal_id: int, *, now: datetime) -> int:
    """Runs of a closed deal's automated steps that have not finished are cancelled."""
    res = session.execute(
        update(StepRun)
        .where(StepRun.deal_id == deal_id, StepRun.status.in_(PENDING_STATES))
        .values(status="cancelled", finished_at=now, last_error="deal closed")
        .returning(StepRun.id)
        .execution_options(synchronize_session=False)
    ).all()
    return len(res)
