"""Small synthetic data for the scoring tests (real CDNOW runs in the bench and notebooks)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import nurture.scoring.model  # noqa: F401  (loads OpenMP before the thread limit below)
from nurture.config import get_settings
from nurture.scoring.data import synthetic_transactions, write_transactions_csv

AS_OF = pd.Timestamp("2023-06-30")
HORIZON = 120


@pytest.fixture(scope="session")
def synthetic() -> pd.DataFrame:
    """About 3,000 transactions of 800 customers over two years (2022-2023)."""
    return synthetic_transactions(800, start="2022-01-01", days=730, seed=7)


@pytest.fixture()
def synthetic_csv(synthetic: pd.DataFrame, tmp_path: Path) -> Path:
    path = tmp_path / "tx.csv"
    write_transactions_csv(synthetic, path)
    return path


@pytest.fixture()
def models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A temporary models directory, also set as NURTURE_MODELS_DIR."""
    path = tmp_path / "models"
    monkeypatch.setenv("NURTURE_MODELS_DIR", str(path))
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


@pytest.fixture(autouse=True, scope="session")
def _one_thread() -> Iterator[None]:
    """Small fits run faster on one thread than fighting other processes for two cores."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield
