"""Web-form intake: a lead posted to ``POST /api/leads`` goes through the same intake as a
file (cleaning, validation, exact and fuzzy dedup, provenance, quarantine, routing).

Each submission becomes a one-row JSON Lines file imported for the event named in the
request (default "Web form", kind ``webform``). Its content includes the client's
``Idempotency-Key``, so:

* a retry with the same key and body is the same file: intake recognises it by its SHA-256
  and imports nothing twice, even after a crash between the import and the answer;
* the answer to a keyed request is stored (``api_requests``) and replayed to retries; the
  key is claimed before the import, so two copies of one request sent at once import once
  (the second is told to retry: 409);
* the same key with another body is a client bug: 422, nothing imported.

Without a key, an identical body is the same file too (imported once).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nurture.db.leads import LEAD_FIELDS, LeadSource, QuarantineRow
from nurture.db.web import ApiRequest
from nurture.intake import guess_field

__all__ = ["WEBFORM_FIELDS", "Answer", "submit"]

#: The lead fields a web form may send: those intake reads from a column of that name.
WEBFORM_FIELDS: tuple[str, ...] = tuple(
    f.name for f in LEAD_FIELDS if guess_field(f.name) == f.name
)
PENDING = 0
#: A claimed key whose request never finished (the server stopped) may be retried after this.
STALE_CLAIM = timedelta(minutes=5)


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: dict[str, Any]
    replayed: bool = False


def request_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _claim(
    session: Session, api_key_id: int, key: str, digest: str, now: datetime
) -> Answer | None:
    """Claim ``key`` for this request (committed at once), or the answer to give instead."""
    existing = session.scalars(
        select(ApiRequest).where(
            ApiRequest.api_key_id == api_key_id, ApiRequest.idempotency_key == key
        )
    ).first()
    if existing is None:
        try:
            with session.begin_nested():
                session.add(
                    ApiRequest(
                        api_key_id=api_key_id,
                        idempotency_key=key,
                        request_hash=digest,
                        status_code=PENDING,
                        response={},
                        created_at=now,
                    )
                )
        except IntegrityError:
            return Answer(409, {"detail": "the same request is being processed: retry"})
        return None
    if existing.request_hash != digest:
        return Answer(422, {"detail": "this Idempotency-Key was used with another request body"})
    if existing.status_code != PENDING:
        return Answer(existing.status_code, dict(existing.response), replayed=True)
    if existing.created_at > now - STALE_CLAIM:
        return Answer(409, {"detail": "the same request is being processed: retry"})
    existing.created_at = now  # the first try died: this one takes over
    return None


def _outcome(session: Session, batch_id: int) -> Answer:
    source = session.execute(
        select(LeadSource.lead_id, LeadSource.outcome).where(LeadSource.batch_id == batch_id)
    ).first()
    if source is not None:
        code = 201 if source.outcome == "created" else 200
        return Answer(
            code, {"lead_id": source.lead_id, "outcome": source.outcome, "batch_id": batch_id}
        )
    reasons = session.scalars(
        select(QuarantineRow.reasons).where(QuarantineRow.batch_id == batch_id)
    ).first()
    return Answer(
        422,
        {
            "lead_id": None,
            "outcome": "quarantined",
            "batch_id": batch_id,
            "reasons": list(reasons or ["the row could not be read"]),
        },
    )


def submit(
    fields: dict[str, Any],
    *,
    event: str,
    event_date: date | None,
    api_key_id: int,
    idempotency_key: str | None,
) -> Answer:
    """Import one web-form lead; the HTTP answer for it."""
    from nurture.db.session import get_engine, session_scope
    from nurture.intake import import_file
    from nurture.routing import route_unassigned

    now = datetime.now(UTC)
    given = {k: v for k, v in fields.items() if v not in (None, "")}
    payload = {"fields": given, "event": event, "event_date": event_date}
    digest = request_hash(payload)
    if idempotency_key is not None:
        with session_scope() as session:
            early = _claim(session, api_key_id, idempotency_key, digest, now)
        if early is not None:
            return early
    row = dict(given)
    row["submission"] = idempotency_key or digest
    with tempfile.TemporaryDirectory(prefix="nurture-webform-") as folder:
        path = Path(folder) / f"webform-{digest[:16]}.jsonl"
        path.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
        summary = import_file(
            path, event=event, kind="webform", event_date=event_date, engine=get_engine()
        )
    with session_scope() as session:
        answer = _outcome(session, summary.batch_id)
        if answer.status_code == 201:
            route_unassigned(session, now=now)
        if idempotency_key is not None:
            session.execute(
                update(ApiRequest)
                .where(
                    ApiRequest.api_key_id == api_key_id,
                    ApiRequest.idempotency_key == idempotency_key,
                )
                .values(status_code=answer.status_code, response=answer.body)
            )
    return answer
