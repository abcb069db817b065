"""`nurture.scoring` is the capability's public face: every name in `__all__` resolves, and
importing the package costs nothing until a name is used (the CLI and the cadence import it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nurture.scoring

ROOT = Path(__file__).resolve().parents[2]


def test_every_public_name_resolves() -> None:
    for name in nurture.scoring.__all__:
        assert getattr(nurture.scoring, name) is not None, name
    assert sorted(nurture.scoring.__all__) == sorted(set(nurture.scoring.__all__))
    assert nurture.scoring.LeadValueModel.__module__ == "nurture.scoring.model"  # skops' trust


def test_importing_the_package_loads_no_science_stack() -> None:
    code = (
        "import sys, nurture.scoring; from nurture.scoring import dormant_at;"
        " print(sorted(m for m in ('pandas', 'sklearn', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert out.stdout.strip() == "[]"


def test_no_module_is_too_long_to_read() -> None:
    for path in (ROOT / "nurture" / "scoring").glob("*.py"):
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 600, path.name
