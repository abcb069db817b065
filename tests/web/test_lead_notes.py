"""Notes on a lead (the card's form and ``nurture leads note``) and the card's one clock:
every time on the lead card in the viewer's zone."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner
from web_support import World, csrf_of

from nurture.cli import app as cli
from nurture.web.timeline import local_text

SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def _story(lead_id: int) -> list[dict[str, Any]]:
    result = CliRunner().invoke(cli, ["leads", "show", str(lead_id), "--json"])
    assert result.exit_code == 0, result.output
    return list(json.loads(result.stdout)["story"])


def _timeline(html: str) -> str:
    return html.split('id="timeline"')[1].split("</section>")[0]


def test_a_note_from_the_card_swaps_the_timeline_and_joins_the_story(
    client_for: Any, world: World
) -> None:
    client = client_for("manager")
    lead_id = world.leads["maria"]
    token = csrf_of(client.get(f"/leads/{lead_id}").text)
    answer = client.post(
        f"/leads/{lead_id}/note",
        data={"note": "  prefers calls after 16:00  "},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert answer.status_code == 200 and "<html" not in answer.text  # the timeline alone
    assert answer.text.lstrip().startswith('<section class="card" id="timeline">')
    first = _timeline(answer.text).split("<li")[1]  # newest first
    assert 'data-type="lead.note"' in first and "prefers calls after 16:00" in first
    assert "maria@example.ru" in first  # who wrote it
    notes = [e for e in _story(lead_id) if e["type"] == "lead.note"]
    assert [(n["actor"], n["data"]["note"]) for n in notes] == [
        ("maria@example.ru", "prefers calls after 16:00")
    ]
    card = client.get(f"/leads/{lead_id}").text
    assert "prefers calls after 16:00" in _timeline(card)


def test_an_empty_note_is_refused_on_the_form_and_changes_nothing(
    client_for: Any, world: World
) -> None:
    client = client_for("manager")
    lead_id = world.leads["maria"]
    token = csrf_of(client.get(f"/leads/{lead_id}").text)
    swapped = client.post(
        f"/leads/{lead_id}/note",
        data={"note": "   "},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    # htmx swaps 2xx answers only: the form comes back with its error as a 200
    assert swapped.status_code == 200 and swapped.headers["x-nurture-error"] == "422"
    assert 'id="note-error"' in swapped.text and "the note is empty" in swapped.text
    plain = client.post(f"/leads/{lead_id}/note", data={"note": "", "csrf_token": token})
    assert plain.status_code == 422 and 'id="lead-error"' in plain.text
    assert not [e for e in _story(lead_id) if e["type"] == "lead.note"]


@SQLITE
def test_a_note_needs_the_csrf_token_and_a_lead_the_user_may_see(
    client_for: Any, world: World
) -> None:
    client = client_for("manager")
    token = csrf_of(client.get("/").text)
    forged = client.post(f"/leads/{world.leads['maria']}/note", data={"note": "x"})
    assert forged.status_code == 403
    other = client.post(
        f"/leads/{world.leads['mark']}/note", data={"note": "x", "csrf_token": token}
    )
    assert other.status_code == 404
    assert not [e for e in _story(world.leads["mark"]) if e["type"] == "lead.note"]
    assert not [e for e in _story(world.leads["maria"]) if e["type"] == "lead.note"]


@SQLITE
def test_leads_note_command_adds_to_the_story(world: World) -> None:
    lead_id = world.leads["stan"]
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["leads", "note", str(lead_id), "asked for the price list", "--by", "Stan@Example.ru"],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"lead {lead_id}: note added"
    result = runner.invoke(cli, ["lead", "note", str(lead_id), "second one", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)  # exactly one JSON object
    assert payload["lead_id"] == lead_id and payload["note"] == "second one"
    assert payload["by"].startswith("cli")
    notes = [e for e in _story(lead_id) if e["type"] == "lead.note"]
    assert [(n["actor"], n["text"]) for n in notes] == [
        ("stan@example.ru", "note: asked for the price list"),
        (payload["by"], "note: second one"),
    ]
    empty = runner.invoke(cli, ["leads", "note", str(lead_id), " "])
    assert empty.exit_code == 2 and "the note is empty" in empty.stderr
    assert "Traceback" not in empty.output
    missing = runner.invoke(cli, ["leads", "note", "999999", "hello"])
    assert missing.exit_code == 2 and "999999" in missing.stderr


def test_moments_in_timeline_texts_are_written_in_the_viewers_zone() -> None:
    moscow = ZoneInfo("Europe/Moscow")
    assert (
        local_text("task: Call back (due 2026-12-09 19:03 UTC, hard)", moscow)
        == "task: Call back (due 09.12.2026 22:03, hard)"
    )
    assert local_text("rescheduled to 2026-12-31T21:30:00+00:00: holiday", moscow) == (
        "rescheduled to 01.01.2027 00:30: holiday"
    )
    assert local_text("reminded (due 2026-06-01T06:00:00.250000Z)", moscow) == (
        "reminded (due 01.06.2026 09:00)"
    )
    assert local_text("moved to 2026-06-01T09:00+0300", ZoneInfo("Europe/London")) == (
        "moved to 01.06.2026 07:00"
    )
    # a stored time without an offset is UTC; text without a time of day is left alone
    assert local_text("due 2026-06-01 06:00", moscow) == "due 01.06.2026 09:00"
    assert local_text("met on 2026-06-01, row 3", moscow) == "met on 2026-06-01, row 3"
    assert local_text("code 2026-13-01 10:00", moscow) == "code 2026-13-01 10:00"


@SQLITE
def test_the_lead_card_shows_every_time_in_the_viewers_zone(client_for: Any, world: World) -> None:
    from nurture.db.session import session_scope
    from nurture.playbooks import reschedule_task

    task_id = world.tasks["maria-upcoming"]
    with session_scope() as s:
        reschedule_task(
            s,
            task_id,
            to=datetime(2030, 12, 9, 19, 3, tzinfo=UTC),
            reason="client away",
            now=datetime.now(UTC),
            actor="maria@example.ru",
        )
    card = client_for("manager").get(f"/leads/{world.leads['maria']}").text  # Europe/Moscow
    timeline = _timeline(card)
    assert "rescheduled to 09.12.2030 22:03: client away" in timeline
    assert "UTC" not in timeline and "+00:00" not in timeline
    assert "2030-12-09" not in card  # nor elsewhere on the card


@SQLITE
def test_deal_amounts_are_written_as_money(client_for: Any, world: World) -> None:
    from nurture.web.i18n import amount

    assert amount(150000.0, "en") == "150,000" and amount(150000.0, "ru") == "150\u00a0000"
    assert amount(99.5, "ru") == "99,50" and amount(None, "en") == "—"
    client = client_for("manager")
    assert "150,000 RUB" in client.get(f"/leads/{world.leads['maria']}").text
    assert "150,000 RUB" in client.get(f"/deals/{world.deals['maria']}").text
