"""Deals on the shipped b2b-sale playbook, on both databases: stages and actions created,
branching on outcomes (lost, on to the proposal, back to qualification), an action skipped
by its condition, the price step, documents that need approval in order before they are
sent, versions kept, a converted lead's deal won and its tasks cancelled, a deal opened by a
call's outcome."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from nurture.config import PROJECT_ROOT
from nurture.db.cadence import Task
from nurture.db.mail import OutboxMessage
from nurture.db.playbooks import Deal, Document, StepRun
from nurture.playbooks import (
    ConflictError,
    advance_deal,
    complete_task,
    convert_lead,
    decide,
    list_tasks,
    open_deal,
    send_document,
    show_deal,
)
from nurture.playbooks.steps import call_step, claim_steps, record_step

NOW = datetime(2026, 3, 25, 7, 0, tzinfo=UTC)  # Wednesday 10:00 in Moscow
PLAYBOOKS = PROJECT_ROOT / "examples" / "playbooks"
World = Any


def open_tasks(world: World, deal: Deal) -> dict[str, Task]:
    rows = world.session.scalars(
        select(Task).where(Task.deal_id == deal.id, Task.status == "open").order_by(Task.id)
    )
    return {t.action: t for t in rows}


def run_steps(world: World, now: datetime) -> list[str]:
    """Claim, call and record due steps inside the test's transaction."""
    statuses = []
    for run in claim_steps(world.session, now=now, worker="test"):
        try:
            result, error = call_step(run), None
        except Exception as exc:
            result, error = None, f"{type(exc).__name__}: {exc}"
        statuses.append(
            record_step(world.session, run.id, now=now, worker="test", result=result, error=error)
        )
    return statuses


def qualify(world: World, deal: Deal, at: datetime, **outcome: Any) -> None:
    task = open_tasks(world, deal)["qualify"]
    complete_task(world.session, task.id, now=at, actor="olga@example.com", outcome=outcome)


def to_qualification(world: World, lead_owner: str = "olga") -> Deal:
    lead = world.lead(owner=lead_owner)
    deal = open_deal(world.session, lead.id, playbook="b2b-sale", now=NOW, actor="olga@example.com")
    card = open_tasks(world, deal)["check-card"]
    complete_task(
        world.session,
        card.id,
        now=NOW + timedelta(hours=1),
        actor="olga",
        outcome={"source_ok": "yes"},
    )
    world.session.refresh(deal)
    assert deal.stage == "qualification"
    return deal


def test_a_deal_starts_with_its_first_stage_actions(sales: World) -> None:
    s = sales.session
    lead = sales.lead()
    deal = open_deal(
        s,
        lead.id,
        playbook="b2b-sale",
        now=NOW,
        actor="olga@example.com",
        amount=500000,
        currency="rub",
    )
    assert (deal.stage, deal.version, deal.currency) == ("introduction", 1, "RUB")
    [card] = open_tasks(sales, deal).values()
    assert card.action == "check-card" and card.deadline == "hard" and card.kind == "action"
    assert card.manager_id == sales.people["olga"].id
    assert card.due_at == NOW + timedelta(days=1)  # 1 business day: Thursday 10:00
    assert card.escalate_at == NOW + timedelta(days=2)  # level 1: a business day after
    assert card.instructions and "источник" in card.instructions
    mails = {m.template: m for m in s.scalars(select(OutboxMessage))}
    assert mails["system/b2b-materials"].to_addr == lead.email
    assert mails["system/b2b-materials"].kind == "marketing"
    assert mails["system/deal_news"].to_addr == "olga@example.com"
    assert mails["system/deal_news"].context["manager"] is None  # signed by Nurture
    steps = s.scalars(select(StepRun).where(StepRun.deal_id == deal.id)).all()
    assert {r.action: r.status for r in steps} == {
        "materials": "succeeded",
        "tell-owner": "succeeded",
    }
    shown = show_deal(s, deal.id, now=NOW)
    assert [a["action"] for a in shown["open_actions"]] == ["check-card"]
    assert [e["type"] for e in shown["timeline"]][:2] == ["deal.opened", "task.created"]


def test_branching_on_outcomes_and_an_action_skipped_by_its_condition(sales: World) -> None:
    s = sales.session
    deal = to_qualification(sales)
    [q] = open_tasks(sales, deal).values()
    assert q.remind_at is not None and q.remind_at < q.due_at
    docs = s.scalars(select(Document).where(Document.deal_id == deal.id)).all()
    assert [d.key for d in docs] == ["meeting_notes"] and docs[0].pdf[:5] == b"%PDF-"  # type: ignore[index]
    with pytest.raises(Exception, match="interested"):
        qualify(sales, deal, NOW + timedelta(hours=2), needs="CRM")  # required field missing
    qualify(sales, deal, NOW + timedelta(hours=2), interested="no")
    s.refresh(deal)
    # the engineer is booked only for an interested client: skipped, the stage is complete
    assert deal.status == "lost" and deal.close_reason == "not interested or not feasible"
    assert not s.scalars(
        select(Task).where(Task.deal_id == deal.id, Task.action == "engineer")
    ).all()

    yes = to_qualification(sales)
    qualify(sales, yes, NOW + timedelta(hours=2), interested="yes", quantity="20", product="crm")
    [eng] = open_tasks(sales, yes).values()
    assert eng.action == "engineer" and eng.role == "engineer"
    assert eng.manager_id == sales.people["ivan"].id  # booked from the engineer pool
    complete_task(
        s, eng.id, now=NOW + timedelta(hours=3), actor="ivan", outcome={"feasible": "yes"}
    )
    s.refresh(yes)
    assert yes.stage == "proposal"


def test_price_step_proposal_approval_and_back_to_a_previous_stage(sales: World) -> None:
    s = sales.session
    deal = to_qualification(sales)
    qualify(sales, deal, NOW + timedelta(hours=2), interested="yes", quantity="20", product="crm")
    eng = open_tasks(sales, deal)["engineer"]
    complete_task(s, eng.id, now=NOW + timedelta(hours=3), actor="ivan", outcome={"feasible": True})
    assert run_steps(sales, NOW + timedelta(hours=3)) == ["succeeded"]
    s.refresh(deal)
    assert deal.fields["price"] == 475000 and deal.fields["quantity"] == 20  # type: ignore[index]
    assert deal.fields["delivery_date"] == "2026-04-08"  # type: ignore[index] # 10 business days
    send = open_tasks(sales, deal)["send-proposal"]
    [proposal] = s.scalars(
        select(Document).where(Document.key == "proposal", Document.deal_id == deal.id)
    )
    assert proposal.status == "draft" and "475 000" in proposal.html
    with pytest.raises(ConflictError, match=r"needs document .* sent"):
        complete_task(
            s,
            send.id,
            now=NOW + timedelta(hours=4),
            actor="olga",
            outcome={"client_response": "accepted"},
        )
    with pytest.raises(ConflictError, match="waits for approval by the supervisor"):
        send_document(s, proposal.id, actor="olga@example.com", now=NOW + timedelta(hours=4))
    with pytest.raises(ConflictError, match="not the deal's supervisor"):
        decide(s, proposal.id, approve=True, actor="olga@example.com", now=NOW + timedelta(hours=4))
    decide(s, proposal.id, approve=True, actor="boss@example.com", now=NOW + timedelta(hours=4))
    send_document(s, proposal.id, actor="olga@example.com", now=NOW + timedelta(hours=5))
    [mail] = s.scalars(select(OutboxMessage).where(OutboxMessage.template == "system/document"))
    assert mail.context["document"]["url"].endswith(proposal.public_token)  # type: ignore[index]
    complete_task(
        s,
        send.id,
        now=NOW + timedelta(hours=6),
        actor="olga",
        outcome={"client_response": "declined"},
    )
    s.refresh(deal)
    assert deal.stage == "qualification" and deal.status == "open"  # back, for a new visit
    again = open_tasks(sales, deal)
    assert list(again) == ["qualify"] and again["qualify"].source_key != send.source_key
    done = s.scalars(
        select(Task).where(Task.deal_id == deal.id, Task.action == "qualify", Task.status == "done")
    )
    assert len(done.all()) == 1


def test_approvals_go_in_order(sales: World) -> None:
    s = sales.session
    deal = to_qualification(sales)
    deal.fields = {"price": 1000000.0, "delivery_date": "2026-05-01"}
    advance_deal(
        s, deal.id, now=NOW + timedelta(hours=2), actor="boss@example.com", to="formalisation"
    )
    [contract] = s.scalars(select(Document).where(Document.key == "contract"))
    assert contract.approvals_required == ["supervisor", "head_of_sales"]
    with pytest.raises(ConflictError, match=r"approval 1 of 2 .*: supervisor"):
        decide(s, contract.id, approve=True, actor="chief@example.com", now=NOW)
    decide(s, contract.id, approve=True, actor="boss@example.com", now=NOW)
    with pytest.raises(ConflictError, match=r"approval 2 of 2 .*: head_of_sales"):
        decide(s, contract.id, approve=True, actor="boss@example.com", now=NOW)
    rejected = decide(
        s, contract.id, approve=False, actor="chief@example.com", now=NOW, comment="5% more"
    )
    assert rejected.status == "rejected"
    formal = open_tasks(sales, deal)
    assert set(formal) == {"contract", "acceptance-team"}
    assert formal["acceptance-team"].manager_id == sales.people["boss"].id  # who: supervisor
    assert {
        r.action: r.status
        for r in s.scalars(
            select(StepRun).where(StepRun.deal_id == deal.id, StepRun.stage == "formalisation")
        )
    } == {"invoice": "pending", "work-order": "pending"}


def test_a_deal_keeps_its_version(sales: World, loader: Any) -> None:
    s = sales.session
    first = open_deal(s, sales.lead().id, playbook="b2b-sale", now=NOW, actor="olga")
    text = (PLAYBOOKS / "b2b-sale.yaml").read_text(encoding="utf-8")
    changed = text.replace(
        "due: 1 business day\n        deadline: hard",
        "due: 3 business days\n        deadline: hard",
        1,
    )
    assert loader(s, "b2b-sale", text=changed) == 2
    assert loader(s, "b2b-sale", text=changed) == 2  # the same text again: no new version
    second = open_deal(s, sales.lead().id, playbook="b2b-sale", now=NOW, actor="olga")
    assert (first.version, second.version) == (1, 2)
    card1, card2 = open_tasks(sales, first)["check-card"], open_tasks(sales, second)["check-card"]
    assert card1.due_at == NOW + timedelta(days=1) and card2.due_at == NOW + timedelta(days=5)
    complete_task(s, card1.id, now=NOW, actor="olga", outcome={"source_ok": True})
    s.refresh(first)
    assert first.stage == "qualification" and first.version == 1


def test_converting_the_lead_wins_the_deal_and_cancels_its_tasks(sales: World) -> None:
    s = sales.session
    deal = to_qualification(sales)
    assert list_tasks(s, now=NOW, lead_id=deal.lead_id)
    change = convert_lead(
        s, deal.lead_id, now=NOW + timedelta(hours=5), actor="olga", amount=900000
    )
    assert change.settled_deals == [deal.id]
    s.refresh(deal)
    assert (deal.status, deal.amount) == ("won", 900000)
    assert list_tasks(s, now=NOW, lead_id=deal.lead_id) == []


def test_a_calls_outcome_opens_a_deal_by_the_playbooks_rule(sales: World) -> None:
    s = sales.session
    lead = sales.lead()
    call = sales.task(lead, kind="call")
    complete_task(s, call.id, now=NOW, actor="olga", outcome={"interested": "yes"})
    [deal] = s.scalars(select(Deal).where(Deal.lead_id == lead.id))
    assert deal.playbook == "b2b-sale" and deal.stage == "introduction"
    other = sales.lead()
    complete_task(
        s, sales.task(other, kind="call").id, now=NOW, actor="olga", outcome={"interested": "no"}
    )
    assert not s.scalars(select(Deal).where(Deal.lead_id == other.id)).all()
