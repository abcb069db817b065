"""Real browser tests (Debian chromium through Playwright): they run, not skip, under CI.

Each keeps screenshots of the pages it visits under ``tests/web/screenshots/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import DESKTOP, PHONE, chromium, serve, shoot, sign_in
from web_support import (
    ACCOUNTS,
    ANALYTICS_USERS,
    PASSWORD,
    World,
    add_campaign_and_import,
    plant_history,
)

from nurture.config import get_settings
from nurture.db.leads import Lead
from nurture.db.session import session_scope

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]


@pytest.fixture()
def site(app: Any, world: World) -> Iterator[str]:
    with serve(app) as base:
        yield base


@pytest.fixture()
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def test_manager_signs_in_and_sees_the_overdue_task(site: str, browser: Any, world: World) -> None:
    page = browser.new_page(viewport=DESKTOP)
    page.goto(site + "/")
    assert "/login" in page.url  # no session: the sign-in form
    shoot(page, "login")
    sign_in(page, site, ACCOUNTS["manager"], PASSWORD)
    overdue = page.locator("#overdue")
    assert "Call back maria overdue" in overdue.inner_text()
    assert "Call back mark" not in page.content()
    shoot(page, "my-day")
    phone = browser.new_page(viewport=PHONE)
    sign_in(phone, site, ACCOUNTS["manager"], PASSWORD)
    shoot(phone, "my-day-phone")
    page.click("#sign-out")
    page.wait_for_url("**/login**")


def test_marketing_uploads_a_list_and_downloads_its_quarantine(
    site: str, browser: Any, world: World, tmp_path: Path
) -> None:
    add_campaign_and_import(world, tmp_path)
    upload = tmp_path / "expo-2026.csv"
    upload.write_text(
        "email,first_name,last_name,company\n"
        "vera@new.ru,Vera,New,Omega\n"
        "broken@@address,Bad,Row,Sigma\n",
        encoding="utf-8",
    )
    page = browser.new_page(viewport=DESKTOP, accept_downloads=True)
    sign_in(page, site, ACCOUNTS["marketing"], PASSWORD)
    assert page.url.endswith("/campaigns")
    shoot(page, "campaigns")
    page.click(f"a[href='/campaigns/{world.campaign}']")
    shoot(page, "campaign")
    page.goto(f"{site}/campaigns/{world.campaign}/preview/welcome")
    page.wait_for_selector("#preview-ru iframe")
    shoot(page, "campaign-preview")
    page.goto(site + "/imports")
    page.set_input_files("input[name=file]", str(upload))
    page.fill("input[name=event]", "Expo 2026")
    page.select_option("select[name=kind]", "exhibition")
    page.click("#import")
    page.wait_for_selector("#summary")
    assert page.inner_text("#n-quarantined") == "1" and page.inner_text("#n-created") == "1"
    shoot(page, "import-summary")
    with page.expect_download() as info:
        page.click("#quarantine-csv")
    saved = tmp_path / "quarantine.csv"
    info.value.save_as(saved)
    text = saved.read_text(encoding="utf-8-sig")
    assert "broken@@address" in text and "_reasons" in text


def test_unsubscribe_confirmation_button_unsubscribes(site: str, browser: Any) -> None:
    from mail_support import add_leads

    from nurture.mail.tokens import make_token

    with session_scope() as s:
        (lead_id,) = add_leads(s, ["browser@example.com"])
    token = make_token("browser@example.com", secret=get_settings().secret_key, lead_id=lead_id)
    page = browser.new_page()
    page.goto(f"{site}/unsubscribe/{token}")
    assert "browser@example.com" in page.content()
    with session_scope() as s:
        lead = s.get(Lead, lead_id)
        assert lead is not None and lead.unsubscribed_at is None  # GET changed nothing
    page.click("#unsubscribe")
    page.wait_for_selector("#done", timeout=15000)
    with session_scope() as s:
        lead = s.get(Lead, lead_id)
        assert lead is not None and lead.unsubscribed_at is not None


def test_manager_completes_the_overdue_task_and_the_timeline_shows_it(
    site: str, browser: Any, world: World
) -> None:
    task_id = world.tasks["maria-overdue"]
    page = browser.new_page(viewport=DESKTOP)
    sign_in(page, site, ACCOUNTS["manager"], PASSWORD)
    card = page.locator(f"#task-{task_id}")
    card.locator("details.act summary").first.click()
    card.locator("input[name=outcome__result]").fill("interested: demo next week")
    card.locator("textarea[name=note]").fill("spoke to the CTO")
    shoot(page, "my-day-complete-form")
    card.locator("button.complete").click()
    page.wait_for_selector(f"#task-{task_id}.closed")  # htmx swapped the card in place
    shoot(page, "my-day-completed")
    page.click(f"#task-{task_id} a.lead-link")
    page.wait_for_selector("#timeline")
    timeline = page.inner_text("#timeline")
    assert "interested: demo next week" in timeline
    # a note goes on the timeline in place (htmx), newest first
    page.fill("#timeline textarea[name=note]", "prefers calls after 16:00")
    page.click("#add-note")
    page.wait_for_selector("#timeline li:first-child:has-text('prefers calls after 16:00')")
    assert page.input_value("#timeline textarea[name=note]") == ""  # a fresh form
    shoot(page, "lead-card")
    phone = browser.new_page(viewport=PHONE)
    sign_in(phone, site, ACCOUNTS["manager"], PASSWORD)
    phone.goto(f"{site}/leads/{world.leads['maria']}")
    shoot(phone, "lead-card-phone")
    # another manager's lead is not reachable, by link or by typing its address
    response = page.goto(f"{site}/leads/{world.leads['mark']}")
    assert response is not None and response.status == 404
    shoot(page, "lead-not-yours")
    page.goto(site + "/calendar?view=month")
    page.wait_for_selector("#calendar")
    assert "Send offer maria later" in page.inner_text("#calendar")
    shoot(page, "calendar-month")
    page.goto(site + "/calendar")
    shoot(page, "calendar-week")


def test_supervisor_reassigns_an_overdue_task(site: str, browser: Any, world: World) -> None:
    task_id = world.tasks["maria-overdue"]
    page = browser.new_page(viewport=DESKTOP)
    sign_in(page, site, ACCOUNTS["supervisor"], PASSWORD)
    page.goto(site + "/team")
    shoot(page, "team-board")
    card = page.locator(f"#task-{task_id}")
    card.locator("select[name=to]").select_option("mark@example.ru")
    card.locator("input[name=reason]").fill("Maria is at the exhibition all week")
    card.locator("button.reassign").click()
    # a selector, not a JS string: the page's CSP forbids eval, which polling a string uses
    page.wait_for_selector(f"#task-{task_id}:has-text('Mark Other')")
    shoot(page, "team-board-reassigned")
    from nurture.db.cadence import Task

    with session_scope() as s:
        task = s.get(Task, task_id)
        assert task is not None and task.manager_id == world.managers["mark@example.ru"]
    phone = browser.new_page(viewport=PHONE)
    sign_in(phone, site, ACCOUNTS["supervisor"], PASSWORD)
    phone.goto(site + "/team")
    shoot(phone, "team-board-phone")


def test_marketing_and_a_supervisor_read_the_analytics(
    app: Any, fresh_db: str, browser: Any
) -> None:
    sim = plant_history(fresh_db)
    with serve(app) as site:
        page = browser.new_page(viewport=DESKTOP)
        sign_in(page, site, ANALYTICS_USERS["marketing"][0], PASSWORD)
        page.click("nav a[href='/analytics']")
        page.wait_for_selector("#period")
        page.fill("input[name=since]", sim.start.date().isoformat())
        page.fill("input[name=until]", sim.until.date().isoformat())
        page.click("#show-period")
        page.wait_for_selector("#sequences")
        assert sim.truth.silent_event in page.inner_text("#coverage")
        # every chart is drawn: the page's CSP lets the charts in as data: images
        widths = page.eval_on_selector_all("img.chart", "all => all.map(i => i.naturalWidth)")
        assert len(widths) >= 7 and all(w > 100 for w in widths), widths
        assert page.locator("#managers").count() == 0  # marketing: aggregates only
        shoot(page, "analytics")
        phone = browser.new_page(viewport=PHONE)
        sign_in(phone, site, ANALYTICS_USERS["west"][0], PASSWORD)
        phone.goto(page.url)
        phone.wait_for_selector("#managers")
        assert phone.locator("#managers tbody tr").count() == 1  # their one person
        wide = phone.evaluate("document.documentElement.scrollWidth")
        assert wide <= 390, f"the page is {wide} px wide on a 390 px phone"
        shoot(phone, "analytics-phone")
        russian = browser.new_page(viewport=DESKTOP)
        sign_in(russian, site, ANALYTICS_USERS["russian"][0], PASSWORD)
        russian.goto(page.url)
        russian.wait_for_selector("#sequences")
        assert "Воронка по этапам" in russian.inner_text("#funnel")
        shoot(russian, "analytics-ru")
