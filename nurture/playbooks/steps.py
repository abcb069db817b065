"""Automated actions of a deal: a Python entry point or an HTTP webhook (a *step*), a request
to another system, an e-mail. Each is a ``step_runs`` row keyed by the action's idempotency
key, so it exists once per stage visit.

Steps run outside any database transaction, in three moves: claim due runs (one statement;
``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two workers never take the same run), call the
step with a timeout, record the result. A failure is retried with exponential backoff
(``backoff`` doubled per attempt) until ``retries`` are used up, then the run is ``dead``;
both show on the deal, and no run waits for another deal's. The step receives the
idempotency key (entry point: ``context["idempotency_key"]``; webhook: the
``Idempotency-Key`` header), so a retry after a crash mid-call can be recognised by the
other side. A step's result (a JSON object) is stored; the keys the action ``sets`` become
deal fields, which exit conditions read.
"""

from __future__ import annotations

import importlib
import json
import socket
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.orm import Session

from nurture.db.leads import Lead
from nurture.db.playbooks import Deal, StepRun
from nurture.db.session import session_scope
from nurture.db.sql import dialect_insert, is_postgres
from nurture.playbooks import events
from nurture.playbooks.calendar import Duration
from nurture.playbooks.spec import ActionSpec, PlaybookSpec, StageSpec

PENDING_STATES = ("pending", "failed")
CLAIM_LEASE = timedelta(minutes=10)  # a run claimed longer ago than this plus its timeout
# is from a worker that died: it counts as a failed attempt and is retried


def cancel_pending_steps(session: Session, deal_id: int, *, now: datetime) -> int:
    """Runs of a deal's automated steps that have not finished are cancelled (the deal left
    the stage or closed)."""
    res = session.execute(
        update(StepRun)
        .where(StepRun.deal_id == deal_id, StepRun.status.in_(PENDING_STATES))
        .values(status="cancelled", finished_at=now, last_error="deal left the stage")
        .returning(StepRun.id)
        .execution_options(synchronize_session=False)
    ).all()
    return len(res)


def _insert_run(session: Session, row: dict[str, Any]) -> int | None:
    return session.execute(
        dialect_insert(session, StepRun)
        .values(row)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(StepRun.id)
    ).scalar()


def start_automated(
    session: Session,
    deal: Deal,
    spec: PlaybookSpec,
    stage: StageSpec,
    action: ActionSpec,
    key: str,
    *,
    now: datetime,
) -> int:
    """Create the run of an automated action (a step to call, a request to deliver, an e-mail
    to queue); returns 1 when it was created now."""
    base: dict[str, Any] = {
        "deal_id": deal.id,
        "stage": stage.key,
        "action": action.key,
        "idempotency_key": key,
        "next_attempt_at": now,
        "created_at": now,
        "attempts": 0,
    }
    if action.step is not None:
        step = action.step
        row = {
            **base,
            "kind": "entry_point" if step.entry_point else "webhook",
            "target": step.entry_point or step.webhook or "",
            "status": "pending",
            "max_attempts": step.retries + 1,
            "timeout_s": step.timeout,
            "backoff_s": Duration.parse(step.backoff).plain().total_seconds(),
        }
        return 1 if _insert_run(session, row) is not None else 0
    if action.request is not None:
        from nurture.playbooks.outbound import queue_request

        request = spec.requests[action.request]
        row = {**base, "kind": "request", "target": action.request, "status": "pending"}
        if _insert_run(session, row) is None:
            return 0
        queue_request(
            session,
            deal=deal,
            kind=request.kind,
            target=request.target,
            key=key,
            payload=deal_payload(session, deal),
            now=now,
        )
        return 1
    assert action.email is not None
    from nurture.playbooks.notices import queue_deal_email

    outbox_id = queue_deal_email(session, deal, action, key=key, now=now)
    row = {
        **base,
        "kind": "email",
        "target": action.email.template,
        "status": "succeeded",
        "attempts": 1,
        "result": {"outbox_id": outbox_id},
        "finished_at": now,
    }
    return 1 if _insert_run(session, row) is not None else 0


def deal_payload(session: Session, deal: Deal) -> dict[str, Any]:
    """What a step or another system gets to know: the deal, its lead, and the outcomes
    recorded on the deal's done actions (by field, the latest value)."""
    lead = session.get(Lead, deal.lead_id)
    from nurture.db.cadence import Task
    from nurture.db.leads import TEMPLATE_FIELDS

    outcome: dict[str, Any] = {}
    for values in session.scalars(
        select(Task.outcome_values)
        .where(Task.deal_id == deal.id, Task.status == "done")
        .order_by(Task.completed_at, Task.id)
    ):
        outcome.update(values or {})
    return {
        "outcome": outcome,
        "deal": {
            "id": deal.id,
            "playbook": deal.playbook,
            "version": deal.version,
            "stage": deal.stage,
            "amount": deal.amount,
            "currency": deal.currency,
            "fields": dict(deal.fields or {}),
        },
        "lead": {"id": deal.lead_id, **{f: getattr(lead, f) for f in TEMPLATE_FIELDS}}
        if lead is not None
        else {"id": deal.lead_id},
    }


# --------------------------------------------------------------------------- running


@dataclass
class StepReport:
    """What one pass over due steps did."""

    succeeded: int = 0
    failed: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "succeeded": self.succeeded,
            "failed": self.failed,
            "dead": self.dead,
            "errors": self.errors,
        }


@dataclass(frozen=True)
class _Claimed:
    id: int
    deal_id: int
    kind: str
    target: str
    key: str
    timeout: float
    payload: dict[str, Any]


def worker_id() -> str:
    return f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"


def claim_steps(
    session: Session, *, now: datetime, worker: str, limit: int = 100
) -> list[_Claimed]:
    """Take due step runs (pending, failed and due again, or claimed by a dead worker)."""
    stale = now - CLAIM_LEASE
    due = select(StepRun.id).where(
        StepRun.kind.in_(["entry_point", "webhook"]),
        or_(
            (StepRun.status.in_(PENDING_STATES)) & (StepRun.next_attempt_at <= now),
            (StepRun.status == "running") & (StepRun.claimed_at < stale),
        ),
    )
    due = due.order_by(StepRun.next_attempt_at, StepRun.id).limit(limit)
    if is_postgres(session):
        due = due.with_for_update(skip_locked=True)
    ids = list(session.scalars(due))
    if not ids:
        return []
    rows = session.execute(
        update(StepRun)
        .where(StepRun.id.in_(ids))
        .values(status="running", claimed_by=worker, claimed_at=now, attempts=StepRun.attempts + 1)
        .returning(
            StepRun.id,
            StepRun.deal_id,
            StepRun.kind,
            StepRun.target,
            StepRun.idempotency_key,
            StepRun.timeout_s,
        )
        .execution_options(synchronize_session=False)
    ).all()
    out = []
    for r in rows:
        deal = session.get(Deal, r.deal_id)
        payload = deal_payload(session, deal) if deal is not None else {}
        payload["now"] = now.isoformat()
        out.append(
            _Claimed(r.id, r.deal_id, r.kind, r.target, r.idempotency_key, r.timeout_s, payload)
        )
    return out


def call_step(claimed: _Claimed, *, http: Callable[..., Any] | None = None) -> dict[str, Any]:
    """Call one step with its timeout; its JSON-object result, or an exception."""
    context = {**claimed.payload, "idempotency_key": claimed.key}
    if claimed.kind == "webhook":
        from nurture.playbooks.http import post_json

        status, body = (http or post_json)(
            claimed.target, context, key=claimed.key, timeout=claimed.timeout
        )
        if not 200 <= status < 300:
            raise RuntimeError(f"webhook answered HTTP {status}: {str(body)[:200]}")
        result = body
    else:
        module, _, name = claimed.target.partition(":")
        func = getattr(importlib.import_module(module), name)
        with ThreadPoolExecutor(max_workers=1) as pool:
            future = pool.submit(func, context)
            try:
                result = future.result(timeout=claimed.timeout)
            except FutureTimeout:
                pool.shutdown(wait=False, cancel_futures=True)
                raise TimeoutError(f"no result within {claimed.timeout:g} s") from None
    if result is None:
        result = {}
    if not isinstance(result, Mapping):
        raise TypeError(f"a step returns a JSON object (a dict), not {type(result).__name__}")
    parsed: dict[str, Any] = json.loads(json.dumps(dict(result), default=_json_default))
    return parsed


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def record_step(
    session: Session,
    run_id: int,
    *,
    now: datetime,
    worker: str,
    result: dict[str, Any] | None = None,
    error: str | None = None,
) -> str:
    """Write a claimed run's result or failure; returns the new status. A run taken over by
    another worker meanwhile is left alone (``claimed_by`` no longer ours)."""
    run = session.scalars(
        select(StepRun).where(StepRun.id == run_id).execution_options(populate_existing=True)
    ).first()
    if run is None or run.status != "running" or run.claimed_by != worker:
        return "lost"
    deal = session.get(Deal, run.deal_id)
    lead_id = deal.lead_id if deal is not None else None
    if error is None:
        run.status = "succeeded"
        run.result = result or {}
        run.finished_at = now
        run.last_error = None
        if deal is not None:
            from nurture.playbooks.versions import spec_of

            action = spec_of(session, deal.version_id).action(run.stage, run.action)
            keep = set(action.sets) if action is not None else set()
            fields = dict(deal.fields or {})
            fields.update({k: v for k, v in (result or {}).items() if k in keep})
            deal.fields = fields
        session.flush()
        events.append(
            session,
            [
                events.event(
                    "step.succeeded",
                    now,
                    lead_id=lead_id,
                    deal_id=run.deal_id,
                    actor=events.SYSTEM,
                    action=run.action,
                    attempts=run.attempts,
                    result=result,
                )
            ],
        )
        if deal is not None and deal.status == "open" and deal.stage == run.stage:
            from nurture.playbooks.deals import on_action_finished

            on_action_finished(session, deal.id, now=now, actor=events.SYSTEM)
        return "succeeded"
    run.last_error = error[:2000]
    if run.attempts >= run.max_attempts:
        run.status = "dead"
        run.finished_at = now
        kind, extra = "step.dead", dict[str, Any]()
    else:
        run.status = "failed"
        delay = run.backoff_s * (2 ** (run.attempts - 1))
        run.next_attempt_at = now + timedelta(seconds=delay)
        kind, extra = "step.failed", {"retry_at": run.next_attempt_at}
    session.flush()
    events.append(
        session,
        [
            events.event(
                kind,
                now,
                lead_id=lead_id,
                deal_id=run.deal_id,
                actor=events.SYSTEM,
                action=run.action,
                attempts=run.attempts,
                error=run.last_error,
                data=extra,
            )
        ],
    )
    return run.status


def run_due_steps(
    engine: Engine,
    *,
    now: datetime,
    limit: int = 100,
    http: Callable[..., Any] | None = None,
) -> StepReport:
    """Claim, call and record every due step (each in its own short transactions)."""
    report = StepReport()
    worker = worker_id()
    with session_scope(engine) as session:
        claimed = claim_steps(session, now=now, worker=worker, limit=limit)
    for run in claimed:
        try:
            result, error = call_step(run, http=http), None
        except Exception as exc:  # a step's failure is data: recorded, retried, shown
            result, error = None, f"{type(exc).__name__}: {exc}"
        with session_scope(engine) as session:
            status = record_step(
                session, run.id, now=now, worker=worker, result=result, error=error
            )
        if status == "succeeded":
            report.succeeded += 1
        elif status in ("failed", "dead"):
            setattr(report, status, getattr(report, status) + 1)
            report.errors.append(f"deal {run.deal_id} {run.target}: {error}")
    return report
