"""bench/routing.py still runs (tiny size, no timing assertions)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_bench_smoke() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "routing.py"), "--rows", "300", "--batch", "70"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    assert "ratio routing / floor" in out.stdout
