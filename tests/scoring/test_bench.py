"""The benchmark runs (tiny size) so it cannot rot; no timing assertions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_bench_smoke() -> None:
    pytest.importorskip("lifetimes")
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "scoring.py"),
            "--rows",
            "800",
            "--train-customers",
            "1000",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        # PYTHONPATH: the bench imports this tree, whatever is installed in the venv.
        env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    steps = [row["step"] for row in report["rows"]]
    assert steps[0] == "train" and steps[1].startswith("score 800")
    assert steps[2].startswith("fit here + score 800")
    assert all(row["ratio"] > 0 for row in report["rows"])
