"""The database edge of scoring: read purchases, leads and engagement in batches, and write
``lead_scores`` in bulk (upsert).

Query functions take ``session`` as a keyword and never commit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from nurture.db.cadence import Engagement, Enrollment, Purchase, Touch
from nurture.db.leads import Event, Lead, LeadSource
from nurture.db.scoring import LeadScore
from nurture.db.sql import dialect_insert
from nurture.scoring.data import empty_transactions, normalise_transactions
from nurture.scoring.features import LEAD_CATEGORICAL, LEAD_NUMERIC
from nurture.scoring.model import DateLike, LeadData


def _naive_utc(series: pd.Series) -> pd.Series:
    values = pd.to_datetime(series, utc=True)
    return values.dt.tz_convert("UTC").dt.tz_localize(None)


def _rows(session: Session, stmt: Select[Any], batch_size: int) -> Iterator[Sequence[Any]]:
    result = session.execute(stmt.execution_options(yield_per=batch_size))
    yield from result.partitions(batch_size)


def _frame(
    session: Session, stmt: Select[Any], columns: list[str], batch_size: int
) -> pd.DataFrame:
    parts = [
        pd.DataFrame([tuple(r) for r in rows], columns=columns)
        for rows in _rows(session, stmt, batch_size)
    ]
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def _owner_id() -> Any:
    """A merged lead's purchases and engagement count for the lead it was merged into."""
    return func.coalesce(Lead.merged_into_id, Lead.id)


def load_transactions(*, session: Session, batch_size: int = 50_000) -> pd.DataFrame:
    """Purchases as a transactions frame (``customer_id`` = lead id as text)."""
    stmt = (
        select(_owner_id(), Purchase.purchased_at, Purchase.amount, Purchase.quantity)
        .join(Lead, Lead.id == Purchase.lead_id)
        .order_by(Purchase.id)
    )
    raw = _frame(session, stmt, ["customer_id", "date", "amount", "quantity"], batch_size)
    if raw.empty:
        return empty_transactions()
    raw["date"] = _naive_utc(raw["date"])
    return normalise_transactions(raw)


def load_lead_data(*, session: Session, batch_size: int = 50_000) -> LeadData:
    """Lead attributes (unmerged leads), engagement and done touches, for the features."""
    first_source = (
        select(LeadSource.lead_id, func.min(LeadSource.id).label("source_id"))
        .group_by(LeadSource.lead_id)
        .subquery()
    )
    stage = (
        select(Enrollment.lead_id, func.max(Enrollment.next_position).label("stage"))
        .where(Enrollment.status == "active")
        .group_by(Enrollment.lead_id)
        .subquery()
    )
    stmt = (
        select(
            Lead.id,
            Lead.created_at,
            Lead.segment,
            Lead.interest,
            Lead.country,
            Lead.title,
            Lead.company,
            Event.kind,
            stage.c.stage,
        )
        .outerjoin(first_source, first_source.c.lead_id == Lead.id)
        .outerjoin(LeadSource, LeadSource.id == first_source.c.source_id)
        .outerjoin(Event, Event.id == LeadSource.event_id)
        .outerjoin(stage, stage.c.lead_id == Lead.id)
        .where(Lead.merged_into_id.is_(None))
        .order_by(Lead.id)
    )
    columns = [
        "customer_id",
        "created_at",
        "segment",
        "interest",
        "country",
        "title",
        "company",
        "event_kind",
        "stage",
    ]
    leads = _frame(session, stmt, columns, batch_size)
    leads["customer_id"] = leads["customer_id"].astype(str)
    if len(leads):
        leads["created_at"] = _naive_utc(leads["created_at"])
    eng_stmt = (
        select(_owner_id(), Engagement.kind, Engagement.occurred_at)
        .join(Lead, Lead.id == Engagement.lead_id)
        .order_by(Engagement.id)
    )
    engagements = _frame(session, eng_stmt, ["customer_id", "kind", "occurred_at"], batch_size)
    if len(engagements):
        engagements["occurred_at"] = _naive_utc(engagements["occurred_at"])
    touch_stmt = (
        select(_owner_id(), Touch.scheduled_at)
        .join(Lead, Lead.id == Touch.lead_id)
        .where(Touch.status == "done")
        .order_by(Touch.id)
    )
    touches = _frame(session, touch_stmt, ["customer_id", "done_at"], batch_size)
    if len(touches):
        touches["done_at"] = _naive_utc(touches["done_at"])
    return LeadData(leads=leads, engagements=engagements, touches=touches)


def write_scores(
    *,
    session: Session,
    scores: pd.DataFrame,
    model_version: str,
    as_of: date,
    scored_at: datetime | None = None,
    batch_size: int = 50_000,
) -> int:
    """Upsert ``lead_id, predicted_value, p_purchase`` rows into ``lead_scores`` for
    ``model_version`` (one statement per batch; re-scoring updates in place)."""
    when = (scored_at or datetime.now(UTC)).astimezone(UTC)
    written = 0
    ids = scores["lead_id"].to_numpy()
    values = np.round(scores["predicted_value"].to_numpy(dtype=float), 4)
    probs = np.round(scores["p_purchase"].to_numpy(dtype=float), 6)
    for start in range(0, len(scores), batch_size):
        stop = start + batch_size
        rows = [
            {
                "lead_id": int(i),
                "model_version": model_version,
                "as_of": as_of,
                "predicted_value": float(v),
                "p_purchase": float(p),
                "scored_at": when,
            }
            for i, v, p in zip(ids[start:stop], values[start:stop], probs[start:stop], strict=True)
        ]
        stmt = dialect_insert(session, LeadScore)
        stmt = stmt.on_conflict_do_update(
            index_elements=["lead_id", "model_version"],
            set_={
                "as_of": stmt.excluded.as_of,
                "predicted_value": stmt.excluded.predicted_value,
                "p_purchase": stmt.excluded.p_purchase,
                "scored_at": stmt.excluded.scored_at,
            },
        )
        session.execute(stmt, rows)
        written += len(rows)
    return written


class Scorer(Protocol):
    """What scores leads: a published :class:`LeadValueModel` or a
    :class:`~nurture.scoring.local.LocalScorer` fitted on this database."""

    feature_names_: list[str]

    def features(
        self, transactions: pd.DataFrame, as_of: DateLike, leads: LeadData | None = None
    ) -> pd.DataFrame: ...

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame: ...


def score_leads(
    *,
    session: Session,
    model: Scorer,
    model_version: str,
    as_of: date | None = None,
    batch_size: int = 50_000,
    transactions: pd.DataFrame | None = None,
    scored_at: datetime | None = None,
) -> dict[str, Any]:
    """Score every (unmerged) lead with ``model`` and store the scores in batches
    (``transactions``: the purchases when the caller has read them already; ``scored_at``:
    the scores' time, default the clock)."""
    as_of = as_of or datetime.now(UTC).date()
    tx = transactions if transactions is not None else load_transactions(session=session)
    lead_data = load_lead_data(session=session, batch_size=batch_size)
    lead_inputs = set(LEAD_NUMERIC) | set(LEAD_CATEGORICAL)
    use_leads = lead_data if lead_inputs & set(model.feature_names_) else None
    features = model.features(tx, pd.Timestamp(as_of), use_leads)
    known = pd.Index(lead_data.leads["customer_id"].astype(str))
    features = features.reindex(known)  # leads without a purchase get NaN history
    features.loc[features["frequency"].isna(), ["frequency", "amount_total"]] = 0.0
    written = 0
    total_value = 0.0
    for start in range(0, len(features), batch_size):
        chunk = model.predict_frame(features.iloc[start : start + batch_size])
        frame = chunk.rename_axis("lead_id").reset_index()
        frame["lead_id"] = frame["lead_id"].astype(int)
        written += write_scores(
            session=session,
            scores=frame,
            model_version=model_version,
            as_of=as_of,
            scored_at=scored_at,
            batch_size=batch_size,
        )
        total_value += float(chunk["predicted_value"].sum())
    return {
        "scored": written,
        "model_version": model_version,
        "as_of": as_of.isoformat(),
        "predicted_total": round(total_value, 2),
    }


def latest_scores_subquery() -> Any:
    """Each lead's most recent score (latest ``scored_at``; ties: highest version name)."""
    ranked = select(
        LeadScore.lead_id,
        LeadScore.model_version,
        LeadScore.predicted_value,
        LeadScore.p_purchase,
        LeadScore.scored_at,
        func.row_number()
        .over(
            partition_by=LeadScore.lead_id,
            order_by=(LeadScore.scored_at.desc(), LeadScore.model_version.desc()),
        )
        .label("rn"),
    ).subquery()
    return select(ranked).where(ranked.c.rn == 1).subquery()


def database_fingerprint(*, session: Session, size: int = 64) -> list[str]:
    """Short hashes of the first ``size`` purchases (by id) of this database.

    Purchases are only ever added, so the first ones identify the database for good: a
    model card that keeps them can tell whether it was trained here (see
    :func:`nurture.scoring.provenance.same_database`)."""
    rows = session.execute(
        select(Purchase.source_key, Purchase.purchased_at, Purchase.amount)
        .order_by(Purchase.id)
        .limit(size)
    )
    return [purchase_print(key, when, amount) for key, when, amount in rows]


def purchase_print(source_key: str, purchased_at: datetime, amount: float) -> str:
    """12 hex digits standing for one purchase (no personal data kept)."""
    text = f"{source_key}|{purchased_at.date().isoformat()}|{float(amount):.2f}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
