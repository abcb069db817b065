"""Campaign and import pages do what they say, in both languages."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from sqlalchemy import select
from web_support import World, add_campaign_and_import, csrf_of

from nurture.db.session import session_scope

SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def test_campaign_numbers_pause_and_resume(client_for: Any, world: World, tmp_path: Any) -> None:
    from nurture.db.cadence import Campaign, Enrollment
    from nurture.db.leads import Lead
    from nurture.db.mail import OutboxMessage

    add_campaign_and_import(world, tmp_path)
    with session_scope() as s:
        cid = s.scalar(select(Campaign.id).where(Campaign.slug == world.campaign))
        s.add(Enrollment(lead_id=world.leads["mark"], campaign_id=cid, status="stopped"))
        lead = s.get(Lead, world.leads["mark"])
        assert lead is not None
        lead.unsubscribed_at = world.now
        for i, status in enumerate(("sent", "sent", "failed_perm", "queued")):
            s.add(
                OutboxMessage(
                    dedupe_key=f"k{i}",
                    message_id=f"<k{i}@x>",
                    campaign_slug=world.campaign,
                    template="exhibition/welcome",
                    to_addr="a@b.ru",
                    status=status,
                )
            )
    client = client_for("marketing")
    page = client.get("/campaigns")
    row = page.text.split(f'data-slug="{world.campaign}"')[1].split("</tr>")[0]
    cells = [c.split("</td>")[0] for c in row.split('class="num"')[1:]]
    numbers = [c.split(">")[-1] for c in cells]
    assert numbers == ["2", "2", "1", "1", "1"]  # enrolled, sent, failed, unsubscribed, stopped
    token = csrf_of(page.text)
    paused = client.post(f"/campaigns/{world.campaign}/pause", data={"csrf_token": token})
    assert paused.status_code == 200 and 'id="resume"' in paused.text
    with session_scope() as s:
        assert s.scalar(select(Campaign.active).where(Campaign.slug == world.campaign)) is False
    resumed = client.post(f"/campaigns/{world.campaign}/resume", data={"csrf_token": token})
    assert 'id="pause"' in resumed.text
    assert client.get("/campaigns/nosuch").status_code == 404


@SQLITE
def test_preview_shows_the_step_in_both_languages_and_writes_nothing(
    client_for: Any, world: World, tmp_path: Any
) -> None:
    from nurture.db.leads import Lead

    add_campaign_and_import(world, tmp_path)
    client = client_for("marketing")
    lead = world.leads["maria"]
    page = client.get(f"/campaigns/{world.campaign}/preview/welcome?lead={lead}")
    assert page.status_code == 200
    en = page.text.split('id="preview-en"')[1].split("</section>")[0]
    ru = page.text.split('id="preview-ru"')[1].split("</section>")[0]
    assert 'class="subject"' in en and 'class="subject"' in ru
    assert (
        en.split('class="subject">')[1].split("<")[0]
        != ru.split('class="subject">')[1].split("<")[0]
    )
    frame = client.get(f"/campaigns/{world.campaign}/preview/welcome/ru.html?lead={lead}")
    assert frame.status_code == 200 and "sandbox" in frame.headers["content-security-policy"]
    assert "Ivan" in frame.text or "Иван" in frame.text
    with session_scope() as s:
        stored = s.get(Lead, lead)
        assert stored is not None and stored.language is None  # the savepoint was rolled back
    assert client.get(f"/campaigns/{world.campaign}/preview/call").status_code == 404


def test_upload_summary_quarantine_csv_and_reimport(
    client_for: Any, world: World, tmp_path: Any
) -> None:
    client = client_for("marketing")
    token = csrf_of(client.get("/imports").text)
    content = (
        "E-mail;Имя;Фамилия;Компания\n"
        "lena@new.ru;Лена;Новая;Гамма\n"
        '=HYPERLINK("x");Плохая;Строка;Дельта\n'
        "ivan@client.ru;Иван;Петров;ACME\n"
    ).encode()
    form = {"csrf_token": token, "event": "Иннопром", "kind": "exhibition", "date": "2026-07-07"}
    done = client.post("/imports", data=form, files={"file": ("badges.csv", content)})
    assert done.status_code == 200
    assert ">3<" in done.text.split('id="n-rows"')[1][:20]
    assert ">1<" in done.text.split('id="n-created"')[1][:20]
    assert ">1<" in done.text.split('id="n-merged"')[1][:20]
    assert ">1<" in done.text.split('id="n-quarantined"')[1][:20]
    batch = int(done.url.path.rsplit("/", 1)[1])
    download = client.get(f"/imports/{batch}/quarantine.csv")
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert rows[0][-2:] == ["_reasons", "_row"] and len(rows) == 2
    assert rows[1][0].startswith("'=")  # never a formula in a spreadsheet
    again = client.post("/imports", data=form, files={"file": ("badges.csv", content)})
    assert "imported for this event before" in again.text


@SQLITE
def test_upload_errors_are_one_clear_line(client_for: Any, world: World) -> None:
    client = client_for("marketing")
    token = csrf_of(client.get("/imports").text)
    for name, content, expect in (
        ("notes.pdf", b"%PDF", "upload a CSV"),
        ("empty.csv", b"", "empty"),
        ("people.csv", b"name,city\nA,B\n", "no e-mail or phone column"),
    ):
        form = {"csrf_token": token, "event": "X", "kind": "exhibition"}
        page = client.post("/imports", data=form, files={"file": (name, content)})
        assert page.status_code == 422 and expect in page.text, page.text[-800:]
        assert "Traceback" not in page.text


@SQLITE
def test_duplicates_merge_and_dismiss(client_for: Any, world: World) -> None:
    from web_support import add_lead

    from nurture.db.leads import Lead, PossibleDuplicate

    with session_scope() as s:
        a = add_lead(s, "Ivan Petroff", None, "ivan2@client.ru")
        b = add_lead(s, "Olga Sidorova", None, "olga2@client.ru")
        s.add(
            PossibleDuplicate(
                lead_id=a, candidate_id=world.leads["maria"], similarity=0.93, reason="name"
            )
        )
        s.add(
            PossibleDuplicate(
                lead_id=b, candidate_id=world.leads["stan"], similarity=0.91, reason="name"
            )
        )
        s.flush()
        first, second = [
            d.id for d in s.scalars(select(PossibleDuplicate).order_by(PossibleDuplicate.id))
        ]
    client = client_for("marketing")
    page = client.get("/duplicates")
    assert f'id="dup-{first}"' in page.text and f'id="dup-{second}"' in page.text
    token = csrf_of(page.text)
    assert client.post(f"/duplicates/{first}/merge", data={"csrf_token": token}).status_code == 200
    assert (
        client.post(f"/duplicates/{second}/dismiss", data={"csrf_token": token}).status_code == 200
    )
    with session_scope() as s:
        merged = s.get(Lead, a)
        assert merged is not None and merged.merged_into_id == world.leads["maria"]
        assert s.get(PossibleDuplicate, second).status == "dismissed"  # type: ignore[union-attr]
    again = client.post(f"/duplicates/{first}/merge", data={"csrf_token": token})
    assert again.status_code == 404


@SQLITE
def test_every_page_renders_in_russian(client_for: Any, world: World, tmp_path: Any) -> None:
    from nurture.web.i18n import MESSAGES

    add_campaign_and_import(world, tmp_path)
    assert all(len(v) == 2 and all(v) for v in MESSAGES.values())
    for role, pages in {
        "manager": [
            "/",
            "/calendar",
            "/calendar?view=month",
            f"/leads/{world.leads['maria']}",
            f"/deals/{world.deals['maria']}",
        ],
        "supervisor": ["/team"],
        "marketing": [
            "/campaigns",
            f"/campaigns/{world.campaign}",
            f"/campaigns/{world.campaign}/preview/welcome",
            "/imports",
            f"/imports/{world.batch}",
            "/duplicates",
        ],
    }.items():
        client = client_for(role)
        token = csrf_of(
            client.get("/").text if role != "marketing" else client.get("/imports").text
        )
        client.post("/settings/language", data={"language": "ru", "csrf_token": token})
        for url in pages:
            page = client.get(url)
            assert page.status_code == 200, url
            assert '<html lang="ru">' in page.text, url
    anonymous = client_for(None).get("/login", headers={"Accept-Language": "ru-RU,ru;q=0.9"})
    assert "Вход" in anonymous.text


def test_calendar_places_tasks_on_the_users_local_day(client_for: Any, world: World) -> None:
    from datetime import UTC, datetime

    from web_support import add_task

    # 22:30 UTC on a Tuesday is already Wednesday 01:30 in Moscow (the manager's zone)
    late = datetime(2027, 3, 2, 22, 30, tzinfo=UTC)
    with session_scope() as s:
        add_task(
            s, "late", world.leads["maria"], world.managers["maria@example.ru"], "Late call", late
        )
        add_task(
            s, "stan", world.leads["stan"], world.managers["stan@example.ru"], "Stan call", late
        )
    manager = client_for("manager").get("/calendar?view=week&date=2027-03-01")
    assert manager.status_code == 200
    wednesday = manager.text.split('data-date="2027-03-03"')[1].split('data-date="2027-03-04"')[0]
    assert "01:30 Late call" in wednesday
    assert "Stan call" not in manager.text
    month = client_for("manager").get("/calendar?view=month&date=2027-03-15")
    assert "Late call" in month.text and 'data-date="2027-03-31"' in month.text
    supervisor = client_for("supervisor").get("/calendar?view=week&date=2027-03-01")
    assert "Late call" in supervisor.text and "Stan call" not in supervisor.text
    assert "Mark Other" in supervisor.text  # the team to choose from
    admin = client_for("admin").get("/calendar?view=week&date=2027-03-01")
    assert "Late call" in admin.text and "Stan call" in admin.text
