"""Sign-in, sessions and CSRF (issue 23's access items): fixation, expiry, throttling,
cookies, validation answers without the submitted secrets, production key refusal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from web_support import ACCOUNTS, PASSWORD, World, csrf_of, sign_in

from nurture.db.session import session_scope
from nurture.db.web import WebSession

#: Checks that do not depend on the database backend run on SQLite only.
SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def _sessions() -> int:
    with session_scope() as s:
        return int(s.scalar(select(func.count()).select_from(WebSession)) or 0)


def _post_login(client: TestClient, email: str, password: str) -> Any:
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def test_login_form_and_session_cookie(app: Any, world: World) -> None:
    client = TestClient(app)
    page = client.get("/login")
    assert 'name="csrf_token"' in page.text
    response = _post_login(client, ACCOUNTS["manager"], PASSWORD)
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert "nurture_session=" in cookie
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert client.get("/").status_code == 200


@SQLITE
def test_wrong_password_gives_no_session(app: Any, world: World) -> None:
    client = TestClient(app)
    response = _post_login(client, ACCOUNTS["manager"], "wrong password!")
    assert response.status_code == 401
    assert "nurture_session" not in response.headers.get("set-cookie", "")
    assert _sessions() == 0
    unknown = _post_login(client, "nobody@example.ru", PASSWORD)
    assert unknown.status_code == 401 and "Wrong e-mail or password" in unknown.text


@SQLITE
def test_login_without_its_csrf_token_is_refused(app: Any, world: World) -> None:
    client = TestClient(app)
    client.get("/login")
    for token in ("", "forged"):
        response = client.post(
            "/login",
            data={"email": ACCOUNTS["manager"], "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        assert response.status_code == 403
    other = TestClient(app)  # a token from another browser's form does not fit this one
    token = csrf_of(other.get("/login").text)
    fresh = TestClient(app)
    fresh.get("/login")
    response = fresh.post(
        "/login",
        data={"email": ACCOUNTS["manager"], "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert _sessions() == 0


@SQLITE
def test_forms_refuse_a_missing_or_wrong_csrf_token(
    client_for: Any, world: World, tmp_path: Any
) -> None:
    from web_support import add_campaign_and_import

    from nurture.db.cadence import Campaign

    add_campaign_and_import(world, tmp_path)
    client = client_for("marketing")
    url = f"/campaigns/{world.campaign}/pause"
    for data, headers in (({}, {}), ({"csrf_token": "nope"}, {}), ({}, {"X-CSRF-Token": "x"})):
        response = client.post(url, data=data, headers=headers, follow_redirects=False)
        assert response.status_code == 403
    with session_scope() as s:
        assert s.scalar(select(Campaign.active).where(Campaign.slug == world.campaign)) is True
    token = csrf_of(client.get("/campaigns").text)
    ok = client.post(url, headers={"X-CSRF-Token": token}, follow_redirects=False)
    assert ok.status_code == 303
    with session_scope() as s:
        assert s.scalar(select(Campaign.active).where(Campaign.slug == world.campaign)) is False


def test_session_fixation_a_planted_cookie_is_never_promoted(app: Any, world: World) -> None:
    attacker = sign_in(TestClient(app), ACCOUNTS["marketing"])
    planted = attacker.cookies["nurture_session"]
    victim = TestClient(app)
    victim.cookies.set("nurture_session", planted)
    response = _post_login(victim, ACCOUNTS["manager"], PASSWORD)
    new = response.cookies.get("nurture_session")
    assert new and new != planted
    # the attacker's cookie did not become the manager's session, and it was ended
    check = TestClient(app)
    check.cookies.set("nurture_session", planted)
    assert check.get("/", follow_redirects=False).status_code == 303


def test_logout_ends_the_session_even_for_a_kept_cookie(app: Any, world: World) -> None:
    client = sign_in(TestClient(app), ACCOUNTS["manager"])
    kept = client.cookies["nurture_session"]
    token = csrf_of(client.get("/").text)
    assert (
        client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code
        == 303
    )
    replay = TestClient(app)
    replay.cookies.set("nurture_session", kept)
    response = replay.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


@SQLITE
def test_an_altered_or_foreign_cookie_is_refused(app: Any, world: World) -> None:
    from nurture.web.sessions import sign

    client = sign_in(TestClient(app), ACCOUNTS["manager"])
    value = client.cookies["nurture_session"]
    for bad in (value[:-2] + ("AA" if not value.endswith("AA") else "BB"), sign("made-up-token")):
        probe = TestClient(app)
        probe.cookies.set("nurture_session", bad)
        assert probe.get("/", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("kind", ["idle", "absolute"])
def test_sessions_expire(
    app: Any, world: World, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    from nurture.web import access
    from nurture.web.settings import get_web_settings

    settings = get_web_settings()
    client = sign_in(TestClient(app), ACCOUNTS["manager"])
    start = datetime.now(UTC)
    if kind == "idle":
        steps = [timedelta(minutes=settings.session_idle_minutes - 1)]
        late = timedelta(minutes=2 * settings.session_idle_minutes)
    else:  # used every few hours, still ends at the absolute limit
        steps = [timedelta(hours=h) for h in range(1, settings.session_max_hours, 6)]
        late = timedelta(hours=settings.session_max_hours, minutes=1)
    for step in steps:
        monkeypatch.setattr(access, "now", lambda step=step: start + step)
        assert client.get("/", follow_redirects=False).status_code == 200
    monkeypatch.setattr(access, "now", lambda: start + late)
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert _sessions() == 0  # the ended session was deleted


def test_login_throttling_locks_the_email_even_with_the_right_password(
    app: Any, world: World
) -> None:
    from nurture.web.settings import get_web_settings

    limit = get_web_settings().login_max_failures
    client = TestClient(app)
    for _ in range(limit):
        assert _post_login(client, ACCOUNTS["manager"], "wrong!wrong!").status_code == 401
    locked = _post_login(client, ACCOUNTS["manager"], PASSWORD)
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    assert "nurture_session" not in locked.headers.get("set-cookie", "")
    # another account from the same browser is not locked by these failures
    assert _post_login(client, ACCOUNTS["admin"], PASSWORD).status_code == 303


def test_login_throttling_per_client_address(
    app: Any, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NURTURE_WEB_LOGIN_MAX_FAILURES_PER_ADDRESS", "3")
    from nurture.web.settings import get_web_settings

    get_web_settings.cache_clear()
    try:
        client = TestClient(app)
        for i in range(3):
            assert _post_login(client, f"guess{i}@example.ru", "x" * 9).status_code == 401
        assert _post_login(client, ACCOUNTS["admin"], PASSWORD).status_code == 429
    finally:
        get_web_settings.cache_clear()


def test_disabling_a_user_ends_their_sessions(app: Any, world: World) -> None:
    from nurture.web.accounts import disable_user

    client = sign_in(TestClient(app), ACCOUNTS["manager"])
    with session_scope() as s:
        disable_user(s, ACCOUNTS["manager"], now=datetime.now(UTC))
    assert client.get("/", follow_redirects=False).status_code == 303
    assert _post_login(TestClient(app), ACCOUNTS["manager"], PASSWORD).status_code == 401


@SQLITE
def test_validation_errors_never_echo_submitted_values(app: Any, world: World) -> None:
    client = TestClient(app)
    token = csrf_of(client.get("/login").text)
    secret = "s3cret-" + "x" * 2000  # longer than the form allows
    response = client.post(
        "/login", data={"email": "a@b.c", "password": secret, "csrf_token": token}
    )
    assert response.status_code == 422
    assert "s3cret" not in response.text


@SQLITE
def test_server_errors_show_a_reference_not_the_exception(
    app: Any, world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from nurture.web import home

    def boom(*_a: Any, **_k: Any) -> None:
        raise RuntimeError("password=hunter2 leaked")

    monkeypatch.setattr(home, "tasks_of", boom)
    client = sign_in(TestClient(app, raise_server_exceptions=False), ACCOUNTS["manager"])
    response = client.get("/")
    assert response.status_code == 500
    assert "hunter2" not in response.text and "reference" in response.text
    assert "hunter2" not in caplog.text  # the log line names the reference, not the message


def test_production_refuses_the_default_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from nurture.cli import app as cli
    from nurture.config import get_settings
    from nurture.errors import ConfigError
    from nurture.web.app import create_app

    monkeypatch.setenv("NURTURE_ENV", "production")
    monkeypatch.delenv("NURTURE_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    with pytest.raises(ConfigError):
        create_app()
    result = CliRunner().invoke(cli, ["serve", "--port", "1"])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and "NURTURE_SECRET_KEY" in result.output
    monkeypatch.setenv("NURTURE_SECRET_KEY", "a-long-random-production-key-0123456789")
    get_settings.cache_clear()
    create_app()  # starts with a key of its own


def test_access_log_lines_hide_feed_and_unsubscribe_tokens() -> None:
    import logging

    from nurture.web.logs import RedactSecrets

    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/feed/3.SECRETMAC.ics?x=1", "1.1", 200),
        None,
    )
    RedactSecrets().filter(record)
    assert "SECRETMAC" not in record.getMessage() and "/feed/[redacted]" in record.getMessage()


def test_passwords_are_argon2id_at_the_recommended_cost_and_upgraded_at_sign_in(
    app: Any, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from argon2 import extract_parameters
    from sqlalchemy import select as select_

    from nurture.db.web import WebUser
    from nurture.web.settings import WebSettings, get_web_settings

    defaults = WebSettings()
    assert (defaults.password_time_cost, defaults.password_memory_kib) == (3, 65536)
    with session_scope() as s:
        stored = s.scalars(
            select_(WebUser.password_hash).where(WebUser.email == ACCOUNTS["admin"])
        ).one()
    assert stored is not None and stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    monkeypatch.setenv("NURTURE_WEB_PASSWORD_TIME_COST", "2")
    get_web_settings.cache_clear()
    sign_in(TestClient(app), ACCOUNTS["admin"])  # the old hash still verifies...
    with session_scope() as s:
        upgraded = s.scalars(
            select_(WebUser.password_hash).where(WebUser.email == ACCOUNTS["admin"])
        ).one()
    assert upgraded is not None and extract_parameters(upgraded).time_cost == 2  # ...and is redone
