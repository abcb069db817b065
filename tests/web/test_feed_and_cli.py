"""The calendar feed (parsed back with icalendar; folding, zones, refresh hints, revocation)
and the CLI (`users`, `apikeys`, `serve --help`)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar
from typer.testing import CliRunner
from web_support import ACCOUNTS, World

from nurture.cli import app as cli
from nurture.db.session import session_scope


def _feed_url(email: str) -> str:
    result = CliRunner().invoke(cli, ["users", "feed-url", email])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("http")  # the URL alone on one line
    return lines[0]


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def test_feed_has_one_vevent_per_open_task_and_parses(app: Any, world: World) -> None:
    client = TestClient(app)
    response = client.get(_path(_feed_url(ACCOUNTS["manager"])))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    body = response.content
    for line in body.split(b"\r\n"):
        assert len(line) <= 75, line  # folded as RFC 5545 says
    cal = Calendar.from_ical(body)
    events = [c for c in cal.walk("VEVENT")]
    uids = {str(e["UID"]) for e in events}
    assert uids == {
        f"task-{world.tasks['maria-overdue']}@127.0.0.1",
        f"task-{world.tasks['maria-upcoming']}@127.0.0.1",
    }
    assert str(cal["X-PUBLISHED-TTL"].to_ical().decode()) == "PT15M"
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT15M" in body
    assert [c["TZID"] for c in cal.walk("VTIMEZONE")] == ["Europe/Moscow"]
    starts = {str(e["UID"]): e.decoded("DTSTART") for e in events}
    for e in events:
        assert str(e.decoded("DTSTART").tzinfo) == "Europe/Moscow"
    hard = [e for e in events if str(e["SUMMARY"]).startswith("! ")]
    assert len(hard) == 1 and "Call back maria overdue" in str(hard[0]["SUMMARY"])
    assert "/leads/" in str(hard[0]["URL"])
    # stable: the same UIDs and times on the next fetch
    again = Calendar.from_ical(client.get(_path(_feed_url(ACCOUNTS["manager"]))).content)
    assert {str(e["UID"]): e.decoded("DTSTART") for e in again.walk("VEVENT")} == starts


def test_a_supervisor_feed_has_the_team_and_nobody_elses(app: Any, world: World) -> None:
    cal = Calendar.from_ical(TestClient(app).get(_path(_feed_url(ACCOUNTS["supervisor"]))).content)
    titles = " ".join(str(e["SUMMARY"]) for e in cal.walk("VEVENT"))
    assert "maria" in titles and "mark" in titles and "stan" not in titles


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_feed_urls_are_unguessable_and_revocable(app: Any, world: World) -> None:
    client = TestClient(app)
    url = _feed_url(ACCOUNTS["manager"])
    path = _path(url)
    token = re.search(r"/feed/(.+)\.ics", path).group(1)  # type: ignore[union-attr]
    user_id, mac = token.split(".")
    assert len(mac) >= 43  # 256 bits
    for bad in (f"{user_id}.{mac[:-1]}A", f"{int(user_id) + 1}.{mac}", f"{user_id}.", "x.y"):
        assert client.get(f"/feed/{bad}.ics").status_code == 404
    rotated = CliRunner().invoke(cli, ["users", "feed-url", ACCOUNTS["manager"], "--rotate"])
    assert rotated.exit_code == 0 and rotated.stdout.strip() != url
    assert client.get(path).status_code == 404
    assert client.get(_path(rotated.stdout.strip())).status_code == 200
    CliRunner().invoke(cli, ["users", "disable", ACCOUNTS["manager"]])
    assert client.get(_path(rotated.stdout.strip())).status_code == 404


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_users_cli(world: World) -> None:
    runner = CliRunner()
    added = runner.invoke(
        cli,
        ["users", "add", "stan@example.ru", "--role", "manager", "--password-stdin", "--json"],
        input="s3cret-pass\n",
    )
    assert added.exit_code == 0, added.output
    import json

    data = json.loads(added.stdout)
    assert data["role"] == "manager" and data["manager_id"] == world.managers["stan@example.ru"]
    assert data["password_set"] is True
    twice = runner.invoke(cli, ["users", "add", "stan@example.ru", "--role", "manager"])
    assert twice.exit_code == 2 and "exists already" in twice.output
    stranger = runner.invoke(cli, ["users", "add", "who@example.ru", "--role", "manager"])
    assert stranger.exit_code == 2 and "team file" in stranger.output
    bad_role = runner.invoke(cli, ["users", "add", "x@example.ru", "--role", "boss"])
    assert bad_role.exit_code == 2
    short = runner.invoke(
        cli,
        ["users", "add", "m2@example.ru", "--role", "marketing", "--password-stdin"],
        input="short\n",
    )
    assert short.exit_code == 2 and "at least" in short.output
    # The interface scripts rely on: `printf 'secret\n' | nurture users add ... --password-stdin`
    scripted = runner.invoke(
        cli,
        ["users", "add", "m3@example.ru", "--role", "marketing", "--password-stdin", "--json"],
        input="secret\n",
    )
    assert scripted.exit_code == 0, scripted.output
    assert json.loads(scripted.stdout)["password_set"] is True
    listed = json.loads(runner.invoke(cli, ["users", "list", "--json"]).stdout)
    assert {u["email"] for u in listed["users"]} >= {"stan@example.ru", *ACCOUNTS.values()}
    assert "password" not in str(listed).lower() or "password_hash" not in str(listed)
    disabled = runner.invoke(cli, ["users", "disable", "stan@example.ru", "--json"])
    assert json.loads(disabled.stdout) == {"email": "stan@example.ru", "active": False}
    missing = runner.invoke(cli, ["users", "disable", "nobody@example.ru"])
    assert missing.exit_code == 2


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_apikeys_cli_shows_the_key_once_and_stores_only_its_hash(world: World) -> None:
    import json

    from sqlalchemy import select

    from nurture.db.web import ApiKey

    runner = CliRunner()
    created = runner.invoke(
        cli, ["apikeys", "create", "site-form", "--scope", "leads:write", "--json"]
    )
    assert created.exit_code == 0, created.output
    key = json.loads(created.stdout)["key"]
    with session_scope() as s:
        row = s.scalars(select(ApiKey)).one()
        assert key not in (row.key_hash, row.prefix) and row.key_hash != key
    listed = runner.invoke(cli, ["apikeys", "list", "--json"])
    assert key not in listed.stdout
    bad = runner.invoke(cli, ["apikeys", "create", "x", "--scope", "everything"])
    assert bad.exit_code == 2
    revoked = runner.invoke(cli, ["apikeys", "revoke", "site-form", "--json"])
    assert revoked.exit_code == 0 and json.loads(revoked.stdout)["revoked_at"]
    assert runner.invoke(cli, ["apikeys", "revoke", "nope"]).exit_code == 2


def test_serve_and_its_web_alias_are_registered() -> None:
    runner = CliRunner()
    for name in ("serve", "web"):
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0 and "--port" in result.output
    assert "serve" in runner.invoke(cli, ["--help"]).output
