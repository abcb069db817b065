"""My day, the lead card and the team board do the manager's loop through the playbooks
library: complete with an outcome, reschedule, reply, convert, lose, reassign."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from web_support import World, csrf_of

from nurture.db.cadence import Task
from nurture.db.leads import Lead
from nurture.db.session import session_scope

SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def _task(task_id: int) -> Task:
    with session_scope() as s:
        task = s.get(Task, task_id)
        assert task is not None
        return task


def test_complete_a_task_from_my_day_with_htmx_and_see_it_in_the_timeline(
    client_for: Any, world: World
) -> None:
    client = client_for("manager")
    page = client.get("/")
    token = csrf_of(page.text)
    task_id = world.tasks["maria-overdue"]
    answer = client.post(
        f"/tasks/{task_id}/done",
        data={"outcome__result": "interested, call in May", "note": "asked for a demo"},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert answer.status_code == 200
    assert f'id="task-{task_id}"' in answer.text and "<html" not in answer.text  # a fragment
    task = _task(task_id)
    assert task.status == "done" and task.completed_by == "maria@example.ru"
    assert task.note == "asked for a demo"
    assert "Call back maria overdue" not in client.get("/").text  # no longer open
    card = client.get(f"/leads/{world.leads['maria']}")
    timeline = card.text.split('id="timeline"')[1].split("</section>")[0]
    assert 'data-type="task.done"' in timeline and "interested, call in May" in timeline
    again = client.post(
        f"/tasks/{task_id}/done",
        data={"outcome__result": "x"},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert "already done" in again.text and again.headers["x-nurture-error"] == "409"


@SQLITE
def test_reschedule_in_the_users_zone_and_refuse_the_past(client_for: Any, world: World) -> None:
    client = client_for("manager")
    token = csrf_of(client.get("/").text)
    task_id = world.tasks["maria-upcoming"]
    when = (world.now + timedelta(days=10)).strftime("%Y-%m-%dT10:30")
    done = client.post(
        f"/tasks/{task_id}/reschedule",
        data={"to": when, "reason": "client on holiday", "csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    due = _task(task_id).due_at
    assert due.hour == 7 and due.minute == 30  # 10:30 in Moscow is 07:30 UTC
    past = client.post(
        f"/tasks/{task_id}/reschedule",
        data={"to": "2001-01-01T10:00", "reason": "oops", "csrf_token": token},
    )
    assert past.status_code == 422 and "not in the future" in past.text


def test_lead_card_shows_sources_deal_next_step_and_records_reply_and_conversion(
    client_for: Any, world: World
) -> None:
    from nurture.db.cadence import Engagement

    client = client_for("manager")
    lead_id = world.leads["maria"]
    card = client.get(f"/leads/{lead_id}")
    assert card.status_code == 200
    assert "Ivan" in card.text and "ivan@client.ru" in card.text
    assert "Call back maria overdue" in card.text.split('id="next-step"')[1].split("</section>")[0]
    assert f'id="deal-{world.deals["maria"]}"' in card.text and "qualification" in card.text
    token = csrf_of(card.text)
    client.post(f"/leads/{lead_id}/reply", data={"note": "wrote back", "csrf_token": token})
    with session_scope() as s:
        assert s.scalar(select(Engagement.kind).where(Engagement.lead_id == lead_id)) == "reply"
    converted = client.post(
        f"/leads/{lead_id}/convert",
        data={"amount": "150 000,50", "currency": "rub", "csrf_token": token},
    )
    assert converted.status_code == 200
    with session_scope() as s:
        lead = s.get(Lead, lead_id)
        assert lead is not None and lead.status == "converted"
        statuses = set(s.scalars(select(Task.status).where(Task.lead_id == lead_id)))
        assert statuses == {"cancelled"}  # open tasks of a converted lead are cancelled
    assert 'data-type="lead.converted"' in converted.text
    lost = client.post(f"/leads/{lead_id}/lose", data={"reason": "too late", "csrf_token": token})
    assert lost.status_code in (409, 422) and 'id="lead-error"' in lost.text


@SQLITE
def test_another_managers_lead_deal_and_task_are_404(client_for: Any, world: World) -> None:
    client = client_for("manager")
    token = csrf_of(client.get("/").text)
    assert client.get(f"/leads/{world.leads['mark']}").status_code == 404
    assert client.get(f"/leads/{world.leads['stan']}").status_code == 404
    assert client.get("/leads/999999").status_code == 404
    assert client.get(f"/deals/{world.deals['stan']}").status_code == 404
    answer = client.post(f"/tasks/{world.tasks['mark-overdue']}/done", data={"csrf_token": token})
    assert answer.status_code == 404 and _task(world.tasks["mark-overdue"]).status == "open"
    supervisor = client_for("supervisor")
    assert supervisor.get(f"/leads/{world.leads['mark']}").status_code == 200  # their team
    assert supervisor.get(f"/leads/{world.leads['stan']}").status_code == 404  # another team


def test_team_board_numbers_and_reassign_with_a_reason(client_for: Any, world: World) -> None:
    from nurture.db.playbooks import ProcessEvent

    client = client_for("supervisor")
    board = client.get("/team")
    assert board.status_code == 200
    rows = board.text.split('id="team-load"')[1]
    maria = rows.split('data-email="maria@example.ru"')[1].split("</tr>")[0]
    assert 'data-label="Open">2<' in maria and 'class="badge overdue">1<' in maria
    assert "stan@example.ru" not in rows  # another team
    token = csrf_of(board.text)
    task_id = world.tasks["maria-overdue"]
    no_reason = client.post(
        f"/tasks/{task_id}/reassign",
        data={"to": "mark@example.ru", "reason": "", "csrf_token": token},
    )
    assert no_reason.status_code == 422
    outside = client.post(
        f"/tasks/{task_id}/reassign",
        data={"to": "stan@example.ru", "reason": "load", "csrf_token": token},
    )
    assert outside.status_code == 422 and "not in your team" in outside.text
    moved = client.post(
        f"/tasks/{task_id}/reassign",
        data={"to": "mark@example.ru", "reason": "Maria is overloaded", "csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert moved.status_code == 200 and "Mark Other" in moved.text
    assert _task(task_id).manager_id == world.managers["mark@example.ru"]
    with session_scope() as s:
        event = s.scalars(select(ProcessEvent).where(ProcessEvent.type == "task.reassigned")).one()
        assert event.actor == "sonia@example.ru"
        assert (event.data or {}).get("reason") == "Maria is overloaded"
    manager = client_for("manager")
    assert manager.get("/team").status_code == 403
    forbidden = manager.post(
        f"/tasks/{world.tasks['maria-upcoming']}/reassign",
        data={"to": "mark@example.ru", "reason": "x", "csrf_token": csrf_of(manager.get("/").text)},
    )
    assert forbidden.status_code == 403


@SQLITE
def test_my_day_sorts_by_deadline_then_predicted_value(client_for: Any, world: World) -> None:
    from datetime import UTC, date, datetime

    from web_support import add_lead, add_task

    from nurture.db.scoring import LeadScore

    tomorrow = (world.now + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    maria = world.managers["maria@example.ru"]
    with session_scope() as s:
        small = add_lead(s, "Small Client", maria, "small@c.ru")
        big = add_lead(s, "Big Client", maria, "big@c.ru")
        add_task(s, "small", small, maria, "Call small", tomorrow)
        add_task(s, "big", big, maria, "Call big", tomorrow + timedelta(hours=3))
        for lead, value in ((small, 1_000.0), (big, 900_000.0)):
            s.add(
                LeadScore(
                    lead_id=lead,
                    model_version="v1",
                    as_of=date.today(),
                    predicted_value=value,
                    p_purchase=0.5,
                    scored_at=datetime.now(UTC),
                )
            )
    page = client_for("manager").get("/").text
    assert page.index("Call big") < page.index("Call small")  # same day: the bigger lead first
