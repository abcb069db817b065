"""One pass of everything the playbooks capability does on its own, for ``nurture escalate``
and the hourly escalations flow: due automated steps, due requests to other systems, then
the escalation run (escalations, stalled deals, digests, reminders, fallback e-mails).

Steps and requests call other systems, so each runs in its own short transactions (a slow
webhook holds no lock); the escalation run is one transaction. Each part is idempotent and
safe with two workers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from nurture.db.session import session_scope


def run_all(
    engine: Engine,
    *,
    now: datetime,
    steps: bool = True,
    requests: bool = True,
    http: Callable[..., Any] | None = None,
) -> dict[str, Any]:
    """Steps, requests, escalations at ``now``; the ``nurture escalate --json`` object."""
    from nurture.playbooks.escalation import run_escalations
    from nurture.playbooks.outbound import deliver_due
    from nurture.playbooks.steps import run_due_steps

    out: dict[str, Any] = {}
    if steps:
        out["steps"] = run_due_steps(engine, now=now, http=http).as_json()
    if requests:
        out["requests"] = deliver_due(engine, now=now, http=http).as_json()
    with session_scope(engine) as session:
        summary = run_escalations(session, now=now).as_json()
    return {**summary, **out}
