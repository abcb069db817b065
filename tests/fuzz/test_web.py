"""Random form fields and JSON bodies against the web app (FastAPI TestClient on a real
database): every answer is a success or a 4xx that says what is wrong, never a 500, and a
refused request writes nothing. On SQLite and on PostgreSQL: a value one backend stores and
the other refuses (a NUL character, an integer past 64 bits, a string longer than a column)
would be a 500 on one of them only.

``NURTURE_FUZZ_EXAMPLES`` sets the examples per test and backend (CI: 50)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from web_support import ACCOUNTS, World, csrf_of, sign_in

from nurture.db.leads import Lead, QuarantineRow
from nurture.db.session import session_scope

FUZZ = settings(
    max_examples=int(os.environ.get("NURTURE_FUZZ_EXAMPLES", "50")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

FIELDS = [
    "email", "phone", "first_name", "last_name", "full_name", "company", "title", "city",
    "country", "interest", "event", "event_date", "comment", "language", "extra", "__proto__",
    "note", "due_at", "when", "manager_id", "outcome", "reason", "text", "csrf_token",
]  # fmt: skip
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=60),
    st.sampled_from(["", " ", "2026-13-45", "9999-12-31", "x@y", "a@b.c", "<script>", "\x00"]),
    st.just("Ω" * 20_000),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
bodies = st.one_of(
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=8),
    json_values,
)
form_values = st.one_of(
    st.text(max_size=80), st.sampled_from(["", "-1", "0", "99999999999999999999", "Ω" * 5000])
)
forms = st.dictionaries(st.sampled_from(FIELDS), form_values, max_size=6)


def _key() -> str:
    from nurture.web.apikeys import create_key

    with session_scope() as s:
        return create_key(s, f"fuzz-{uuid.uuid4().hex[:8]}", ("leads:write",))[1]


def _counts() -> tuple[int, int]:
    with session_scope() as s:
        leads = s.scalar(select(func.count()).select_from(Lead)) or 0
        quarantined = s.scalar(select(func.count()).select_from(QuarantineRow)) or 0
    return int(leads), int(quarantined)


def _says_why(response: Any) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:500])
    if response.status_code >= 400 and response.status_code != 404:
        assert response.text.strip(), "a refusal with no message"


payloads = st.one_of(
    bodies.map(lambda body: json.dumps(body, allow_nan=True).encode()),
    st.binary(max_size=300),
)


@FUZZ
@given(payload=payloads)
def test_the_lead_api_answers_any_body_with_a_reason(
    app: Any, world: World, payload: bytes
) -> None:
    client = TestClient(app, raise_server_exceptions=False)
    before = _counts()
    response = client.post(
        "/api/leads",
        content=payload,
        headers={"X-API-Key": _key(), "Content-Type": "application/json"},
    )
    _says_why(response)
    after = _counts()
    if response.status_code in (200, 201):
        assert after[0] - before[0] in (0, 1)
    elif response.status_code == 422 and after != before:
        # quarantined with reasons: one quarantine row, no lead
        assert after[0] == before[0] and after[1] == before[1] + 1, response.text
    else:
        assert after == before


FORMS = [
    "/leads/{lead}/note",
    "/leads/{lead}/reply",
    "/leads/{lead}/lose",
    "/tasks/{task}/done",
    "/tasks/{task}/reschedule",
    "/tasks/{task}/reassign",
    "/settings/language",
]


@pytest.fixture()
def manager(app: Any, world: World) -> Iterator[TestClient]:
    """One signed-in manager for every example (signing in hashes a password: slow)."""
    client = TestClient(app, raise_server_exceptions=False)
    sign_in(client, ACCOUNTS["manager"])
    yield client
    client.close()


@FUZZ
@given(path=st.sampled_from(FORMS), data=forms, ids=st.sampled_from(["own", "0", "-1", "x"]))
def test_forms_answer_any_fields_with_a_reason(
    manager: TestClient, world: World, path: str, data: dict[str, str], ids: str
) -> None:
    client = manager
    lead = world.leads["maria"] if ids == "own" else ids
    task = world.tasks["maria-upcoming"] if ids == "own" else ids
    token = csrf_of(client.get("/").text)
    response = client.post(
        path.format(lead=lead, task=task),
        data={**data, "csrf_token": token},
        follow_redirects=False,
    )
    _says_why(response)
