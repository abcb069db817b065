"""The backend SQL of analytics, checked against Python on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, literal, select, union_all
from sqlalchemy.orm import Session

from nurture.analytics.sqlfuncs import epoch_seconds, ordered_tokens, whole_scan
from nurture.db.base import UTCDateTime
from nurture.db.cadence import Engagement
from nurture.db.leads import Lead


def test_epoch_seconds_of_stored_datetimes(session: Session) -> None:
    moments = [
        datetime(2026, 1, 1, tzinfo=UTC),
        datetime(2026, 3, 29, 0, 59, 59, 999999, tzinfo=UTC),
        datetime(1999, 12, 31, 23, 0, 0, 500000, tzinfo=UTC),
    ]
    ids = session.scalars(
        insert(Lead).returning(Lead.id), [{"created_at": m, "email": None} for m in moments]
    ).all()
    got = dict(
        session.execute(
            select(Lead.id, epoch_seconds(Lead.created_at)).where(Lead.id.in_(ids))
        ).all()
    )
    assert [got[i] for i in ids] == [int(m.timestamp()) for m in moments]
    nothing = session.execute(select(epoch_seconds(literal(None, UTCDateTime())))).scalar()
    assert nothing is None


def test_ordered_tokens_joins_each_leads_steps_in_time_order(session: Session) -> None:
    lead_ids = session.scalars(
        insert(Lead).returning(Lead.id), [{"email": None}, {"email": None}]
    ).all()
    a, b = lead_ids
    t0 = datetime(2026, 5, 1, tzinfo=UTC)
    rows = [
        (a, 30, "reply"),
        (a, 10, "email:welcome"),
        (a, 20, "task:call"),
        (a, 20, "click"),  # same moment: ordered by name
        (b, 5, "email:welcome"),
    ]
    session.execute(
        insert(Engagement),
        [
            {"lead_id": lead, "kind": tok, "occurred_at": t0 + timedelta(minutes=m)}
            for lead, m, tok in rows
        ],
    )
    steps = select(
        Engagement.lead_id,
        literal(1).label("won"),
        epoch_seconds(Engagement.occurred_at).label("at"),
        Engagement.kind.label("tok"),
    ).where(whole_scan(Engagement.lead_id).in_(lead_ids))
    seqs = ordered_tokens(session, union_all(steps).subquery("steps")).subquery()
    got = {r.lead_id: (r.won, r.seq) for r in session.execute(select(seqs))}
    assert got == {a: (1, "email:welcome click task:call reply"), b: (1, "email:welcome")}
