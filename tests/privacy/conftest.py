"""Fixtures of the privacy tests; the helpers live in privacy_support.py (importable: this
directory is put on sys.path, as tests use --import-mode=importlib)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from privacy_support import World, build_world


@pytest.fixture()
def world(fresh_db: str, tmp_path: Path) -> World:
    """One person's data everywhere, and a neighbour (see ``privacy_support``)."""
    return build_world(tmp_path)
