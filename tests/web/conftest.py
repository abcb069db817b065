"""Web test fixtures: a small world (two teams, accounts of every role, leads and tasks) on
a fresh database and signed-in TestClients. The mail test helpers are importable too."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "mail"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from web_support import ACCOUNTS, World, make_world, sign_in


@pytest.fixture()
def world(fresh_db: str) -> World:
    """See :func:`web_support.make_world`."""
    return make_world()


@pytest.fixture()
def app(fresh_db: str) -> Any:
    from nurture.web.app import create_app

    return create_app()


@pytest.fixture()
def client_for(app: Any, world: World) -> Iterator[Callable[[str | None], TestClient]]:
    """``client_for("manager")``: a TestClient signed in with that role (None: anonymous)."""
    clients: list[TestClient] = []

    def make(role: str | None) -> TestClient:
        client = TestClient(app, base_url="http://testserver")
        clients.append(client)
        if role is not None:
            sign_in(client, ACCOUNTS[role])
        return client

    yield make
    for c in clients:
        c.close()
