"""Intake takes the clock it is given: leads imported at a simulated ``now`` (the demo,
replays) are dated then, not at the wall clock."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, select

from nurture.db.leads import Lead
from nurture.db.session import session_scope
from nurture.intake import import_file


def test_leads_are_taken_in_at_the_given_now(db: Engine, tmp_path: Path) -> None:
    p = tmp_path / "list.csv"
    p.write_text("Name,Email\nAnna,anna@x.ru\nBoris,boris@x.ru\n", encoding="utf-8")
    at = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    summary = import_file(p, event="Clock", engine=db, now=at)
    assert summary.created == 2
    with session_scope(db) as s:
        stamps = s.scalars(select(Lead.created_at)).all()
    assert stamps and all(t.astimezone(UTC) == at for t in stamps)
