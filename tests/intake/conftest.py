"""Fixtures of intake tests: a messy corpus generator and an engine on a fresh database."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from nurture.db.session import make_engine

sys.path.insert(0, str(Path(__file__).parent))  # intake_support, xlsxgen


@pytest.fixture()
def db(fresh_db: str) -> Iterator[Engine]:
    """An engine on an empty migrated database (real commits; both backends)."""
    eng = make_engine(fresh_db)
    yield eng
    eng.dispose()
