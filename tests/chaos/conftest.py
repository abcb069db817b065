"""The chaos driver's modules (chaos.py, runner.py, targets.py) are importable by name:
tests use --import-mode=importlib."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
