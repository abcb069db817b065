"""One real browser (Debian chromium through Playwright): open the confirmation page served
by uvicorn and press the button."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from mail_support import add_leads, free_port

from nurture.config import get_settings
from nurture.db.leads import Lead
from nurture.db.session import session_scope
from nurture.mail.tokens import make_token

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _require_chromium() -> None:
    if os.path.exists(CHROMIUM) or shutil.which("chromium"):
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("Debian chromium is missing under CI (apt-get install chromium)")
    pytest.skip("Debian chromium is not installed")


@pytest.fixture()
def web_url(fresh_db: str) -> Iterator[str]:
    from nurture.web.app import create_app

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_confirmation_page_button_unsubscribes_in_chromium(web_url: str) -> None:
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with session_scope() as s:
        (lead_id,) = add_leads(s, ["browser@example.com"])
    token = make_token("browser@example.com", secret=get_settings().secret_key, lead_id=lead_id)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{web_url}/unsubscribe/{token}")
            assert "browser@example.com" in page.content()
            with session_scope() as s:
                lead = s.get(Lead, lead_id)
                assert lead is not None and lead.unsubscribed_at is None  # GET changed nothing
            page.click("#unsubscribe")
            page.wait_for_selector("#done", timeout=15000)
        finally:
            browser.close()
    with session_scope() as s:
        lead = s.get(Lead, lead_id)
        assert lead is not None and lead.unsubscribed_at is not None
