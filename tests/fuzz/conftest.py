"""Fuzz fixtures: the web tests' world and app (tests/web/web_support.py), importable by
name as tests use --import-mode=importlib."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "mail"))
sys.path.insert(0, str(ROOT / "web"))

from web_support import World, make_world  # noqa: E402

from nurture.config import get_settings  # noqa: E402


@pytest.fixture()
def world(fresh_db: str, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setenv("NURTURE_SECRET_KEY", "fuzz-tests-signing-key-0123456789abcdef")
    get_settings.cache_clear()
    return make_world()


@pytest.fixture()
def app(world: World) -> Any:
    from nurture.web.app import create_app

    return create_app()
