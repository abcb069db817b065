"""The scripted interface end to end: a real `nurture serve --port P`, then the feed URL that
`nurture users feed-url` prints in another process answers the calendar there."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from icalendar import Calendar
from mail_support import free_port
from typer.testing import CliRunner
from web_support import ACCOUNTS, World

from nurture.cli import app as cli
from nurture.db.session import session_scope
from nurture.web.address import public_base_url, record_served_address, served_url


def _feed_url(email: str) -> str:
    result = CliRunner().invoke(cli, ["users", "feed-url", email])
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def test_served_urls_a_browser_on_this_machine_reaches() -> None:
    assert served_url("0.0.0.0", 8080) == "http://127.0.0.1:8080"
    assert served_url("::1", 9000) == "http://[::1]:9000"
    assert served_url("10.0.0.5", 80) == "http://10.0.0.5:80"


def test_feed_urls_follow_the_server_unless_the_public_url_is_set(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    email = ACCOUNTS["manager"]
    assert _feed_url(email).startswith("http://127.0.0.1:8000/feed/")  # no server yet
    with session_scope() as s:
        record_served_address(s, "0.0.0.0", 8765)
    assert _feed_url(email).startswith("http://127.0.0.1:8765/feed/")
    monkeypatch.setenv("NURTURE_PUBLIC_URL", "https://crm.example.ru/")
    from nurture.config import get_settings

    get_settings.cache_clear()
    assert _feed_url(email).startswith("https://crm.example.ru/feed/")
    with session_scope() as s:
        record_served_address(s, "127.0.0.1", 9999)  # a configured URL is never overwritten
        assert public_base_url(s) == "https://crm.example.ru"


def test_serve_on_a_port_then_the_printed_feed_url_answers_there(
    world: World, tmp_path: Path
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "NURTURE_PUBLIC_URL"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "nurture.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 60
        while True:  # wait until it answers (not a sleep to prove an ordering)
            try:
                if httpx.get(f"http://127.0.0.1:{port}/login").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, "nurture serve exited"
            assert time.monotonic() < deadline, "nurture serve did not answer"
            time.sleep(0.2)
        url = _feed_url(ACCOUNTS["manager"])
        assert url.startswith(f"http://127.0.0.1:{port}/feed/")
        answer = httpx.get(url)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/calendar")
        events = Calendar.from_ical(answer.content).walk("VEVENT")
        assert {str(e["UID"]) for e in events} == {
            f"task-{world.tasks['maria-overdue']}@127.0.0.1",
            f"task-{world.tasks['maria-upcoming']}@127.0.0.1",
        }
    finally:
        proc.terminate()
        proc.wait(timeout=30)
