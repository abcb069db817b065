"""A simulated history with planted truths, written once per backend."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from nurture.analytics import history


@pytest.fixture(scope="session")
def planted() -> history.History:
    return history.generate(3000, seed=11)


@pytest.fixture()
def planted_session(engine: Engine, planted: history.History) -> Iterator[Session]:
    """A session whose (rolled back) transaction holds the planted history."""
    with engine.connect() as conn:
        outer = conn.begin()
        sess = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
        try:
            history.write(sess, planted)
            yield sess
        finally:
            sess.close()
            outer.rollback()


def by(rows: list[dict[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    return {r[key]: r for r in rows}
