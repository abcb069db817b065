"""Requests to other systems (an invoice request to finance, a work order to production, an
onboarding to support): an outbox delivered to a configured webhook.

States::

    queued --claim--> sending --2xx--> delivered
      ^                  |----- 5xx, 408, 429, timeout, network --> failed --(backoff)--> sending
      |                  |----- other 4xx, or attempts used up ---> dead (the dead-letter list)
      +-- retry (by hand, ``nurture requests retry ID``) -- dead

A request is created in the transaction of the deal action that asks for it, keyed by the
action's idempotency key, and is POSTed with that key in the ``Idempotency-Key`` header; a
worker that dies mid-call leaves it ``sending``, and after the lease it is tried again (the
receiver deduplicates by the key). Claiming is ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
two workers never deliver the same request at once. Without a webhook configured for its
target a request waits (no attempt is used up) and ``requests list`` says why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.orm import Session

from nurture.db.playbooks import Deal, OutboundRequest, StepRun
from nurture.db.session import session_scope
from nurture.db.sql import dialect_insert, is_postgres
from nurture.playbooks import events
from nurture.playbooks.errors import ConflictError, UnknownRecordError
from nurture.playbooks.settings import get_playbook_settings
from nurture.playbooks.steps import worker_id

LEASE = timedelta(minutes=10)
RETRYABLE_4XX = (408, 425, 429)


def queue_request(
    session: Session,
    *,
    deal: Deal | None,
    kind: str,
    target: str,
    key: str,
    payload: dict[str, Any],
    now: datetime,
    lead_id: int | None = None,
) -> int | None:
    """Queue a request (once per key); returns its id, or None if it was queued before."""
    lead = deal.lead_id if deal is not None else lead_id
    request_id = session.execute(
        dialect_insert(session, OutboundRequest)
        .values(
            deal_id=deal.id if deal is not None else None,
            lead_id=lead,
            kind=kind,
            target=target,
            idempotency_key=key,
            payload={"kind": kind, "target": target, "idempotency_key": key, **payload},
            status="queued",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(OutboundRequest.id)
    ).scalar()
    if request_id is not None:
        events.append(
            session,
            [
                events.event(
                    "request.queued",
                    now,
                    lead_id=lead,
                    deal_id=deal.id if deal is not None else None,
                    actor=events.SYSTEM,
                    request_id=request_id,
                    kind=kind,
                    target=target,
                )
            ],
        )
    return request_id


@dataclass
class DeliveryReport:
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    waiting: int = 0  # no webhook configured for their target
    errors: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "delivered": self.delivered,
            "failed": self.failed,
            "dead": self.dead,
            "waiting": self.waiting,
            "errors": self.errors,
        }


@dataclass(frozen=True)
class _Claimed:
    id: int
    key: str
    target: str
    payload: dict[str, Any]


def _claim(session: Session, *, now: datetime, worker: str, limit: int) -> list[_Claimed]:
    due = (
        select(OutboundRequest.id)
        .where(
            or_(
                OutboundRequest.status.in_(["queued", "failed"])
                & (OutboundRequest.next_attempt_at <= now),
                (OutboundRequest.status == "sending") & (OutboundRequest.claimed_at < now - LEASE),
            )
        )
        .order_by(OutboundRequest.next_attempt_at, OutboundRequest.id)
        .limit(limit)
    )
    if is_postgres(session):
        due = due.with_for_update(skip_locked=True)
    ids = list(session.scalars(due))
    if not ids:
        return []
    rows = session.execute(
        update(OutboundRequest)
        .where(OutboundRequest.id.in_(ids))
        .values(status="sending", claimed_by=worker, claimed_at=now)
        .returning(
            OutboundRequest.id,
            OutboundRequest.idempotency_key,
            OutboundRequest.target,
            OutboundRequest.payload,
        )
        .execution_options(synchronize_session=False)
    ).all()
    return [_Claimed(r.id, r.idempotency_key, r.target, dict(r.payload)) for r in rows]


def deliver_due(
    engine: Engine,
    *,
    now: datetime,
    limit: int = 200,
    http: Callable[..., Any] | None = None,
) -> DeliveryReport:
    """Deliver every due request (claim, POST outside any transaction, record)."""
    from nurture.playbooks.http import post_json

    settings = get_playbook_settings()
    report = DeliveryReport()
    worker = worker_id()
    with session_scope(engine) as session:
        claimed = _claim(session, now=now, worker=worker, limit=limit)
    post = http or post_json
    for req in claimed:
        url = settings.webhook_for(req.target)
        status: int | None = None
        if url is None:
            error: str | None = (
                f"no webhook for target {req.target!r} (NURTURE_REQUESTS_WEBHOOK_URL)"
            )
            outcome = "waiting"
        else:
            try:
                status, body = post(
                    url, req.payload, key=req.key, timeout=settings.requests_timeout
                )
            except Exception as exc:  # timeouts, refused connections: retried with backoff
                error, outcome = f"{type(exc).__name__}: {exc}", "failed"
            else:
                if 200 <= status < 300:
                    error, outcome = None, "delivered"
                else:
                    error = f"HTTP {status}: {str(body)[:300]}"
                    retry = status >= 500 or status in RETRYABLE_4XX
                    outcome = "failed" if retry else "dead"
        with session_scope(engine) as session:
            final = _record(
                session, req.id, worker=worker, now=now, outcome=outcome, error=error, status=status
            )
        if final == "waiting":
            report.waiting += 1
        elif final in ("delivered", "failed", "dead"):
            setattr(report, final, getattr(report, final) + 1)
        if error and final in ("failed", "dead"):
            report.errors.append(f"request {req.id} ({req.target}): {error}")
    return report


def _record(
    session: Session,
    request_id: int,
    *,
    worker: str,
    now: datetime,
    outcome: str,
    error: str | None,
    status: int | None,
) -> str:
    req = session.scalars(
        select(OutboundRequest)
        .where(OutboundRequest.id == request_id)
        .execution_options(populate_existing=True)
    ).first()
    if req is None or req.status != "sending" or req.claimed_by != worker:
        return "lost"
    req.response_status = status
    req.last_error = error
    if outcome == "waiting":  # configuration missing: the attempt does not count
        req.status = "queued"
        req.next_attempt_at = now + timedelta(minutes=5)
        session.flush()
        return "waiting"
    req.attempts += 1
    settings = get_playbook_settings()
    where: dict[str, Any] = dict(lead_id=req.lead_id, deal_id=req.deal_id, actor=events.SYSTEM)
    details = {
        "request_id": req.id,
        "kind": req.kind,
        "target": req.target,
        "attempts": req.attempts,
    }
    if outcome == "delivered":
        req.status = "delivered"
        req.delivered_at = now
        session.flush()
        events.append(
            session,
            [events.event("request.delivered", now, data={**details, "status": status}, **where)],
        )
        _finish_action(session, req, now=now)
        return "delivered"
    if outcome == "failed" and req.attempts < settings.requests_max_attempts:
        req.status = "failed"
        req.next_attempt_at = now + timedelta(
            seconds=settings.requests_backoff_seconds * 2 ** (req.attempts - 1)
        )
        session.flush()
        events.append(
            session,
            [
                events.event(
                    "request.failed",
                    now,
                    data={**details, "error": error, "retry_at": req.next_attempt_at},
                    **where,
                )
            ],
        )
        return "failed"
    req.status = "dead"
    session.flush()
    events.append(
        session, [events.event("request.dead", now, data={**details, "error": error}, **where)]
    )
    return "dead"


def _finish_action(session: Session, req: OutboundRequest, *, now: datetime) -> None:
    """The deal action that asked for this request is finished once it is delivered."""
    run = session.scalars(
        select(StepRun).where(StepRun.idempotency_key == req.idempotency_key)
    ).first()
    if run is None or run.status != "pending":
        return
    run.status = "succeeded"
    run.attempts = req.attempts
    run.finished_at = now
    run.result = {"request_id": req.id, "status": req.response_status}
    session.flush()
    deal = session.get(Deal, run.deal_id)
    if deal is not None and deal.status == "open" and deal.stage == run.stage:
        from nurture.playbooks.deals import on_action_finished

        on_action_finished(session, deal.id, now=now, actor=events.SYSTEM)


def list_requests(
    session: Session, *, failed: bool = False, deal_id: int | None = None
) -> list[dict[str, Any]]:
    """Requests newest first; ``failed``: those failing now or dead (the dead letters)."""
    query = select(OutboundRequest).order_by(OutboundRequest.id.desc())
    if failed:
        query = query.where(OutboundRequest.status.in_(["failed", "dead"]))
    if deal_id is not None:
        query = query.where(OutboundRequest.deal_id == deal_id)
    return [request_view(r) for r in session.scalars(query.limit(1000))]


def request_view(r: OutboundRequest) -> dict[str, Any]:
    return {
        "id": r.id,
        "deal_id": r.deal_id,
        "lead_id": r.lead_id,
        "kind": r.kind,
        "target": r.target,
        "status": r.status,
        "attempts": r.attempts,
        "next_attempt_at": r.next_attempt_at.isoformat()
        if r.status in ("queued", "failed")
        else None,
        "last_error": r.last_error,
        "response_status": r.response_status,
        "created_at": r.created_at.isoformat(),
        "delivered_at": r.delivered_at.isoformat() if r.delivered_at else None,
    }


def retry_request(session: Session, request_id: int, *, now: datetime) -> dict[str, Any]:
    """Put a dead letter back in the queue (after the receiving side was fixed)."""
    req = session.get(OutboundRequest, request_id)
    if req is None:
        raise UnknownRecordError(f"no request with id {request_id}")
    if req.status != "dead":
        raise ConflictError(f"request {request_id} is {req.status}, not dead")
    req.status = "queued"
    req.attempts = 0
    req.next_attempt_at = now
    session.flush()
    return request_view(req)
