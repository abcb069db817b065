"""Mail test fixtures; the helpers live in mail_support.py (importable: this directory is put
on sys.path, as tests use --import-mode=importlib)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mail_support import SmtpServer, running_smtp_server

from nurture.config import get_settings

#: A signing key of our own: the default one makes `nurture send` warn (tested on its own).
TEST_KEY = "mail-tests-signing-key-0123456789abcdef"


@pytest.fixture(autouse=True)
def _signing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NURTURE_SECRET_KEY", TEST_KEY)
    get_settings.cache_clear()


@pytest.fixture()
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server on 127.0.0.1 with scripted answers (see ScriptedHandler)."""
    with running_smtp_server() as server:
        yield server
