"""The JSON API: web-form intake through the same intake as files (dedup, quarantine,
routing), idempotency keys, scoped and revocable API keys, the OpenAPI schema."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from web_support import World

from nurture.db.leads import Lead, LeadSource
from nurture.db.session import session_scope


def _key(*scopes: str, name: str = "form") -> str:
    from nurture.web.apikeys import create_key

    with session_scope() as s:
        return create_key(s, name, scopes or ("leads:write",))[1]


def _leads(email: str) -> int:
    with session_scope() as s:
        return int(
            s.scalar(select(func.count()).where(Lead.email == email, Lead.merged_into_id.is_(None)))
            or 0
        )


def test_a_web_form_lead_is_created_routed_and_kept_with_its_source(app: Any, world: World) -> None:
    client = TestClient(app)
    key = _key()
    body = {
        "email": "Nina.New@Example.RU ",
        "first_name": "Нина",
        "company": "Beta",
        "event": "Site",
    }
    response = client.post("/api/leads", json=body, headers={"X-API-Key": key})
    assert response.status_code == 201, response.text
    lead_id = response.json()["lead_id"]
    assert response.json()["outcome"] == "created"
    with session_scope() as s:
        lead = s.get(Lead, lead_id)
        assert lead is not None and lead.email == "nina.new@example.ru"
        assert lead.owner_id is not None  # routed like an imported lead
        source = s.scalars(select(LeadSource).where(LeadSource.lead_id == lead_id)).one()
        assert source.outcome == "created"
    # the same person again (another key, another submission): merged into the known lead
    again = client.post(
        "/api/leads",
        json={"email": "nina.new@example.ru", "phone": "+7 912 345-67-89", "event": "Site"},
        headers={"X-API-Key": key, "Idempotency-Key": "second"},
    )
    assert again.status_code == 200 and again.json() == {
        **again.json(),
        "lead_id": lead_id,
        "outcome": "merged",
    }
    assert _leads("nina.new@example.ru") == 1


def test_idempotency_key_replays_the_answer_and_imports_once(app: Any, world: World) -> None:
    client = TestClient(app)
    key = _key()
    headers = {"X-API-Key": key, "Idempotency-Key": "form-42"}
    body = {"email": "once@example.ru", "first_name": "Once"}
    first = client.post("/api/leads", json=body, headers=headers)
    second = client.post("/api/leads", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers.get("idempotent-replayed") == "true"
    assert _leads("once@example.ru") == 1
    other = client.post("/api/leads", json={**body, "first_name": "Twice"}, headers=headers)
    assert other.status_code == 422 and "another request body" in other.text


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_two_copies_of_one_request_at_once_import_once(app: Any, world: World) -> None:
    key = _key()
    headers = {"X-API-Key": key, "Idempotency-Key": "double-click"}
    body = {"email": "race@example.ru"}
    answers: list[int] = []
    barrier = threading.Barrier(2)

    def post() -> None:
        with TestClient(app) as c:
            barrier.wait()
            answers.append(c.post("/api/leads", json=body, headers=headers).status_code)

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) in ([201, 201], [201, 409])
    assert _leads("race@example.ru") == 1


def test_a_bad_row_is_quarantined_with_reasons(app: Any, world: World) -> None:
    client = TestClient(app)
    response = client.post(
        "/api/leads", json={"email": "not-an-address"}, headers={"X-API-Key": _key()}
    )
    assert response.status_code == 422
    data = response.json()
    assert data["outcome"] == "quarantined" and data["reasons"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_invalid_bodies_are_refused_before_intake(app: Any, world: World) -> None:
    client = TestClient(app)
    key = _key()
    bodies: list[dict[str, str]] = [
        {},
        {"first_name": "No contact"},
        {"email": "a@b.ru", "password": "hunter2-secret"},
    ]
    for body in bodies:
        response = client.post("/api/leads", json=body, headers={"X-API-Key": key})
        assert response.status_code == 422
        assert "hunter2" not in response.text and "No contact" not in response.text
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(LeadSource)) == 0


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_api_keys_are_scoped_and_revocable(app: Any, world: World) -> None:
    from nurture.web.apikeys import revoke_key

    client = TestClient(app)
    body = {"email": "k@example.ru"}
    assert client.post("/api/leads", json=body).status_code == 401
    assert client.post("/api/leads", json=body, headers={"X-API-Key": "nrt_x_y"}).status_code == 401
    reader = _key("tasks:read", name="reader")
    assert client.post("/api/leads", json=body, headers={"X-API-Key": reader}).status_code == 403
    writer = _key(name="writer")
    tampered = writer[:-1] + ("A" if writer[-1] != "A" else "B")
    assert client.post("/api/leads", json=body, headers={"X-API-Key": tampered}).status_code == 401
    with session_scope() as s:
        revoke_key(s, "writer", now=datetime.now(UTC))
    assert client.post("/api/leads", json=body, headers={"X-API-Key": writer}).status_code == 401
    assert _leads("k@example.ru") == 0


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_openapi_schema_and_docs_page(app: Any, world: World) -> None:
    client = TestClient(app)
    schema = client.get("/api/openapi.json").json()
    assert "/api/leads" in schema["paths"]
    assert not [p for p in schema["paths"] if not p.startswith("/api/")]  # pages are not API
    page = client.get("/api/docs")
    assert page.status_code == 200 and "/api/leads" in page.text and "cdn" not in page.text


def test_tasks_for_integrations_list_and_record_outcomes(app: Any, world: World) -> None:
    from nurture.db.cadence import Task

    client = TestClient(app)
    reader = {"X-API-Key": _key("tasks:read", name="crm-read")}
    writer = {"X-API-Key": _key("tasks:read", "tasks:write", name="crm")}
    listed = client.get("/api/tasks?assignee=maria@example.ru", headers=reader)
    assert listed.status_code == 200
    titles = {t["title"] for t in listed.json()["tasks"]}
    assert titles == {"Call back maria overdue", "Send offer maria later"}
    overdue = client.get("/api/tasks?overdue=true", headers=reader).json()["tasks"]
    assert {t["id"] for t in overdue} == {
        world.tasks[f"{w}-overdue"] for w in ("maria", "mark", "stan")
    }
    task_id = world.tasks["maria-overdue"]
    body = {"outcome": {"result": "meeting booked"}, "note": "from the CRM"}
    assert (
        client.post(f"/api/tasks/{task_id}/outcome", json=body, headers=reader).status_code == 403
    )
    done = client.post(f"/api/tasks/{task_id}/outcome", json=body, headers=writer)
    assert done.status_code == 200 and done.json()["status"] == "done"
    with session_scope() as s:
        task = s.get(Task, task_id)
        assert task is not None and task.completed_by == "api:crm"
    again = client.post(f"/api/tasks/{task_id}/outcome", json=body, headers=writer)
    assert again.status_code == 409
    assert client.post("/api/tasks/999999/outcome", json=body, headers=writer).status_code == 404
    unknown = client.get("/api/tasks?assignee=nobody@example.ru", headers=reader)
    assert unknown.status_code == 422
