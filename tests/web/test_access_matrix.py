"""Every route x every role: allowed, 404 (not theirs), 403 (not their role) or, without a
session, a redirect to the sign-in page. A route nobody classified fails the test, so a new
page cannot ship without its access rule."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from web_support import ACCOUNTS, World, add_campaign_and_import, csrf_of, sign_in

from nurture.web.access import ALL_ROLES, Guard
from nurture.web.api import KeyGuard

#: Routes anyone may call (each checks something else: a signed token, a feed HMAC).
PUBLIC = {
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/healthz"),
    ("GET", "/unsubscribe/{token}"),
    ("POST", "/unsubscribe/{token}"),
    ("GET", "/feed/{token}.ics"),
    ("GET", "/api/openapi.json"),
    ("GET", "/api/docs"),
}


def guards_of(route: APIRoute) -> tuple[list[Guard], list[KeyGuard]]:
    guards: list[Guard] = []
    keys: list[KeyGuard] = []
    stack = [route.dependant]
    while stack:
        dep = stack.pop()
        call: Any = dep.call
        if isinstance(call, Guard):
            guards.append(call)
        if isinstance(call, KeyGuard):
            keys.append(call)
        if getattr(call, "guard", None) is not None:
            guards.append(call.guard)
        stack.extend(dep.dependencies)
    return guards, keys


def _walk(routes: list[Any], prefix: str) -> list[tuple[str, str, APIRoute]]:
    out = []
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI includes routers lazily
        if included is not None:
            out += _walk(included.routes, prefix + route.include_context.prefix)
        elif isinstance(route, APIRoute):
            for method in sorted(route.methods - {"HEAD"}):
                out.append((method, prefix + route.path, route))
    return out


def app_routes(app: Any) -> list[tuple[str, str, APIRoute]]:
    """Every (method, path, route) the app answers, included routers too."""
    return _walk(app.routes, "")


@dataclass(frozen=True)
class Case:
    """One request of the matrix. ``own``: the path with records the manager Maria (team
    North) may see; ``foreign``: records of team South (404 for North's people)."""

    own: Callable[[World], str]
    foreign: Callable[[World], str] | None = None
    form: Callable[[World], dict[str, Any]] | None = None
    ok: int = 200  # what an allowed role gets for ``own``
    by_role: tuple[tuple[str, int], ...] = ()  # other answers of some allowed roles


CASES: dict[tuple[str, str], Case] = {
    ("GET", "/"): Case(lambda w: "/", by_role=(("marketing", 303),)),  # to /campaigns
    ("GET", "/calendar"): Case(lambda w: "/calendar?view=month"),
    ("GET", "/team"): Case(lambda w: "/team"),
    ("GET", "/leads/{lead_id}"): Case(
        lambda w: f"/leads/{w.leads['maria']}", foreign=lambda w: f"/leads/{w.leads['stan']}"
    ),
    ("POST", "/leads/{lead_id}/reply"): Case(
        lambda w: f"/leads/{w.leads['maria']}/reply",
        foreign=lambda w: f"/leads/{w.leads['stan']}/reply",
        ok=303,
    ),
    ("POST", "/leads/{lead_id}/note"): Case(
        lambda w: f"/leads/{w.leads['maria']}/note",
        foreign=lambda w: f"/leads/{w.leads['stan']}/note",
        form=lambda w: {"note": "seen the matrix"},
        ok=303,
    ),
    # the library refuses these forms (no amount, no reason) after the access check passed
    ("POST", "/leads/{lead_id}/convert"): Case(
        lambda w: f"/leads/{w.leads['maria']}/convert",
        foreign=lambda w: f"/leads/{w.leads['stan']}/convert",
        form=lambda w: {"amount": "a lot"},
        ok=422,
    ),
    ("POST", "/leads/{lead_id}/lose"): Case(
        lambda w: f"/leads/{w.leads['maria']}/lose",
        foreign=lambda w: f"/leads/{w.leads['stan']}/lose",
        form=lambda w: {"reason": " "},
        ok=422,
    ),
    ("GET", "/deals/{deal_id}"): Case(
        lambda w: f"/deals/{w.deals['maria']}", foreign=lambda w: f"/deals/{w.deals['stan']}"
    ),
    ("POST", "/tasks/{task_id}/done"): Case(
        lambda w: f"/tasks/{w.tasks['maria-upcoming']}/done",
        foreign=lambda w: f"/tasks/{w.tasks['stan-upcoming']}/done",
        form=lambda w: {"outcome__result": "talked"},
        ok=303,
        by_role=(("supervisor", 409), ("admin", 409)),  # done once already by then
    ),
    ("POST", "/tasks/{task_id}/reschedule"): Case(
        lambda w: f"/tasks/{w.tasks['maria-overdue']}/reschedule",
        foreign=lambda w: f"/tasks/{w.tasks['stan-overdue']}/reschedule",
        form=lambda w: {"to": "2001-01-01T10:00", "reason": "past"},
        ok=422,
    ),
    ("POST", "/tasks/{task_id}/reassign"): Case(
        lambda w: f"/tasks/{w.tasks['maria-overdue']}/reassign",
        foreign=lambda w: f"/tasks/{w.tasks['stan-overdue']}/reassign",
        form=lambda w: {"to": "nobody@example.ru", "reason": "x"},
        ok=422,
    ),
    ("POST", "/logout"): Case(lambda w: "/logout", ok=303),
    ("POST", "/settings/language"): Case(
        lambda w: "/settings/language", form=lambda w: {"language": "en"}, ok=303
    ),
    ("GET", "/campaigns"): Case(lambda w: "/campaigns"),
    ("GET", "/campaigns/{slug}"): Case(lambda w: f"/campaigns/{w.campaign}"),
    ("POST", "/campaigns/{slug}/launch"): Case(lambda w: f"/campaigns/{w.campaign}/launch", ok=303),
    ("POST", "/campaigns/{slug}/pause"): Case(lambda w: f"/campaigns/{w.campaign}/pause", ok=303),
    ("POST", "/campaigns/{slug}/resume"): Case(lambda w: f"/campaigns/{w.campaign}/resume", ok=303),
    ("GET", "/campaigns/{slug}/preview/{step}"): Case(
        lambda w: f"/campaigns/{w.campaign}/preview/welcome"
    ),
    ("GET", "/campaigns/{slug}/preview/{step}/{language}.html"): Case(
        lambda w: f"/campaigns/{w.campaign}/preview/welcome/ru.html?lead={w.leads['maria']}"
    ),
    ("GET", "/imports"): Case(lambda w: "/imports"),
    ("POST", "/imports"): Case(lambda w: "/imports", form=lambda w: {"event": ""}, ok=422),
    ("GET", "/imports/{batch_id}"): Case(lambda w: f"/imports/{w.batch}"),
    ("GET", "/imports/{batch_id}/quarantine.csv"): Case(
        lambda w: f"/imports/{w.batch}/quarantine.csv"
    ),
    ("GET", "/duplicates"): Case(lambda w: "/duplicates"),
    ("GET", "/analytics"): Case(lambda w: "/analytics?since=2026-01-01"),
    ("POST", "/duplicates/{duplicate_id}/merge"): Case(
        lambda w: "/duplicates/999999/merge", ok=404
    ),
    ("POST", "/duplicates/{duplicate_id}/dismiss"): Case(
        lambda w: "/duplicates/999999/dismiss", ok=404
    ),
}


def _expected(roles: tuple[str, ...], role: str | None, case: Case, foreign: bool) -> int:
    if role is None:
        return 303
    if role not in roles:
        return 403
    if foreign:  # only an admin sees other teams' records, and gets what the owner would
        return case.ok if role == "admin" else 404
    return dict(case.by_role).get(role, case.ok)


def test_every_route_is_classified(app: Any) -> None:
    for method, path, route in app_routes(app):
        guards, keys = guards_of(route)
        if (method, path) in PUBLIC:
            assert not guards, f"{method} {path} is public but has a guard"
            continue
        assert guards or keys, f"{method} {path} has no access rule (allow(...) or an API key)"
        if guards:
            assert (method, path) in CASES, f"{method} {path}: add it to the matrix's CASES"
    assert set(CASES) <= {(m, p) for m, p, _ in app_routes(app)}, "CASES names a missing route"


def _request(client: TestClient, method: str, url: str, form: dict[str, Any] | None) -> Any:
    if method == "GET":
        return client.get(url, follow_redirects=False)
    token = csrf_of(client.get("/").text) if "nurture_session" in client.cookies else "x"
    data = {"csrf_token": token, **(form or {})}
    if url == "/imports":
        return client.post(
            url, data=data, files={"file": ("a.csv", b"email\n")}, follow_redirects=False
        )
    return client.post(url, data=data, follow_redirects=False)


def test_route_role_matrix(app: Any, world: World, tmp_path: Any) -> None:
    add_campaign_and_import(world, tmp_path)
    clients: dict[str | None, TestClient] = {None: TestClient(app)}
    for role in ALL_ROLES:
        clients[role] = sign_in(TestClient(app), ACCOUNTS[role])
    failures = []
    checked = 0
    for method, path, route in app_routes(app):
        case = CASES.get((method, path))
        if case is None:
            continue
        (guard,) = guards_of(route)[0][:1]
        for role, client in clients.items():
            for foreign in (False, True) if case.foreign else (False,):
                url = (case.foreign or case.own)(world) if foreign else case.own(world)
                form = case.form(world) if case.form else None
                got = _request(client, method, url, form)
                want = _expected(guard.roles, role, case, foreign)
                checked += 1
                if got.status_code != want:
                    failures.append(f"{method} {url} as {role}: {got.status_code}, want {want}")
                if role is None and want == 303:
                    assert got.headers["location"].startswith("/login?next=")
                if path == "/logout" and role is not None and got.status_code == 303:
                    sign_in(client, ACCOUNTS[role])
    for c in clients.values():
        c.close()
    assert not failures, "\n".join(failures)
    assert checked >= len(CASES) * 5


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_manager_cannot_open_another_managers_lead_feed_or_task(
    client_for: Any, world: World
) -> None:
    page = client_for("manager").get("/")
    assert "Call back maria overdue" in page.text
    assert "Call back mark" not in page.text and "Call back stan" not in page.text
