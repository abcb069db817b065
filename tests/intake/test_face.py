"""The public face of intake: what flows, the CLI and the web app import."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nurture.intake

REPO = Path(__file__).resolve().parents[2]


def test_every_public_name_resolves() -> None:
    for name in nurture.intake.__all__:
        assert getattr(nurture.intake, name) is not None, name


def test_flows_and_web_import_intake_from_its_face_only() -> None:
    deep = re.compile(r"nurture\.intake\.\w+")
    files = [REPO / "flows" / "intake.py", *sorted((REPO / "nurture" / "web").glob("*.py"))]
    for path in files:
        imports = [
            line
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.lstrip().startswith(("from ", "import ")) and deep.search(line)
        ]
        assert imports == [], path


def test_importing_the_face_loads_no_database_code() -> None:
    code = "import sys, nurture.intake; print('sqlalchemy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
