"""Deals at the database edge: open one on a playbook, create each stage visit's actions,
move on when a stage is complete (branching on outcomes and fields), advance by hand.

Every change runs in the caller's transaction with the deal's row locked (``FOR UPDATE`` on
PostgreSQL; SQLite has one writer), so two people finishing the last two actions of a stage
at once move the deal exactly once. Actions are keyed per visit
(:func:`nurture.playbooks.engine.action_key`) and inserted with ``ON CONFLICT DO NOTHING``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.db.cadence import Task
from nurture.db.leads import Lead
from nurture.db.playbooks import Deal, StepRun
from nurture.db.sql import dialect_insert, is_postgres
from nurture.db.team import Manager
from nurture.playbooks import engine, events, people
from nurture.playbooks.errors import ConflictError, InputError, UnknownRecordError
from nurture.playbooks.lifecycle import live_lead
from nurture.playbooks.spec import ActionSpec, PlaybookSpec, StageSpec, text_for
from nurture.playbooks.versions import latest_version, spec_of

MAX_MOVES = 25  # stages passed in one go (a playbook of empty stages cannot spin forever)


def get_deal(session: Session, deal_id: int, *, lock: bool = False) -> Deal:
    query = select(Deal).where(Deal.id == deal_id)
    if lock and is_postgres(session):
        query = query.with_for_update()
    deal = session.scalars(query.execution_options(populate_existing=True)).first()
    if deal is None:
        raise UnknownRecordError(f"no deal with id {deal_id}")
    return deal


def open_deal(
    session: Session,
    lead_id: int,
    *,
    playbook: str,
    now: datetime,
    actor: str,
    amount: float | None = None,
    currency: str | None = None,
    trigger: str | None = None,
) -> Deal:
    """Open a deal for a lead on the latest version of ``playbook`` and start its first
    stage (the lead's owner owns the deal)."""
    lead = live_lead(session, lead_id)
    if lead.status in ("lost", "closed"):
        raise ConflictError(f"lead {lead.id} is {lead.status}: no new deal for it")
    if amount is not None and not amount >= 0:
        raise InputError(f"--amount must be a positive number (got {amount})", field="--amount")
    if currency is not None and (len(currency) != 3 or not currency.isalpha()):
        raise InputError(f"--currency {currency!r} is not a code like RUB", field="--currency")
    version = latest_version(session, playbook)
    spec = spec_of(session, version.id)
    first = spec.stages[0].key
    deal = Deal(
        lead_id=lead.id,
        owner_id=lead.owner_id,
        playbook=spec.name,
        version_id=version.id,
        version=version.version,
        stage=first,
        stage_entered_at=now,
        status="open",
        amount=amount,
        currency=currency.upper() if currency else None,
        fields={},
        opened_at=now,
        opened_by=actor,
        last_progress_at=now,
    )
    session.add(deal)
    session.flush()
    events.append(
        session,
        [
            events.event(
                "deal.opened",
                now,
                lead_id=lead.id,
                deal_id=deal.id,
                actor=actor,
                playbook=spec.name,
                version=version.version,
                stage=first,
                amount=amount,
                currency=deal.currency,
                trigger=trigger,
            )
        ],
    )
    _sync(session, deal, spec, now=now, actor=actor)
    return deal


def action_spec(session: Session, task: Task) -> ActionSpec | None:
    """The playbook action a task stands for (its deal's version), if any."""
    if task.deal_id is None or task.stage is None or task.action is None:
        return None
    deal = session.get(Deal, task.deal_id)
    if deal is None:
        return None
    return spec_of(session, deal.version_id).action(task.stage, task.action)


def visit_state(session: Session, deal: Deal) -> engine.VisitState:
    """The current visit's actions (people's tasks and automated steps) and outcomes."""
    prefix = f"deal.{deal.id}.{engine.visit_stamp(deal.stage_entered_at)}.{deal.stage}."
    state = engine.VisitState()
    tasks = session.execute(
        select(Task.action, Task.status, Task.outcome_values, Task.source_key)
        .where(Task.deal_id == deal.id, Task.stage == deal.stage)
        .order_by(Task.id)
    )
    for action, status, values, key in tasks:
        if action is None or not key.startswith(prefix):
            continue
        state.statuses[action] = status
        if status == "done" and values:
            state.outcomes[action] = dict(values)
    steps = session.execute(
        select(StepRun.action, StepRun.status, StepRun.idempotency_key).where(
            StepRun.deal_id == deal.id, StepRun.stage == deal.stage
        )
    )
    for action, status, key in steps:
        if key.startswith(prefix):
            state.statuses[action] = status
    return state


def scope_of(
    session: Session, deal: Deal, stage: StageSpec, state: engine.VisitState
) -> dict[str, dict[str, Any]]:
    """What exit conditions read: ``outcome``, ``deal`` and ``lead`` values."""
    lead = session.get(Lead, deal.lead_id)
    lead_values: dict[str, Any] = {}
    if lead is not None:
        from nurture.playbooks.validation import LEAD_NAMES

        lead_values = {name: getattr(lead, name, None) for name in LEAD_NAMES}
    deal_values: dict[str, Any] = dict(deal.fields or {})
    deal_values.update(
        amount=deal.amount,
        currency=deal.currency,
        stage=deal.stage,
        status=deal.status,
        playbook=deal.playbook,
        id=deal.id,
    )
    return {"outcome": engine.stage_outcome(stage, state), "deal": deal_values, "lead": lead_values}


def on_action_finished(session: Session, deal_id: int, *, now: datetime, actor: str) -> None:
    """An action of the deal finished (a task done, a step succeeded): create what follows,
    and move the deal on when its stage is complete."""
    deal = get_deal(session, deal_id, lock=True)
    if deal.status != "open":
        return
    deal.last_progress_at = now
    deal.stalled_reported_at = None
    _sync(session, deal, spec_of(session, deal.version_id), now=now, actor=actor)


def _sync(session: Session, deal: Deal, spec: PlaybookSpec, *, now: datetime, actor: str) -> None:
    """Create the visit's missing actions; while the stage is complete, take its exit."""
    for _ in range(MAX_MOVES):
        stage = spec.stage(deal.stage)
        if stage is None:  # cannot happen with a validated version; never loop on it
            return
        for _ in range(len(stage.actions) + 1):  # automated e-mails finish at once
            state = visit_state(session, deal)
            scope = scope_of(session, deal, stage, state)
            if not _create_actions(session, deal, spec, stage, state, scope, now=now, actor=actor):
                break
        if not engine.stage_complete(stage, state, scope):
            return
        ex = engine.choose_exit(stage, scope)
        reason = f"exit: {ex.when}" if ex.when else (ex.reason or "stage complete")
        if not _move(session, deal, ex.to, now=now, actor=actor, reason=reason):
            return


def _move(
    session: Session, deal: Deal, target: str, *, now: datetime, actor: str, reason: str
) -> bool:
    """Leave the current stage for ``target`` (a stage, won or lost); True if the deal is
    still open afterwards. Open actions of the visit are cancelled."""
    from nurture.playbooks.steps import cancel_pending_steps
    from nurture.playbooks.tasks import cancel_open_tasks

    old = deal.stage
    cancel_open_tasks(
        session, deal_id=deal.id, now=now, actor=actor, reason=f"deal left stage {old}"
    )
    cancel_pending_steps(session, deal.id, now=now)
    deal.last_progress_at = now
    deal.stalled_reported_at = None
    if engine.is_terminal(target):
        deal.status = target
        deal.closed_at = now
        deal.close_reason = reason
        session.flush()
        data: dict[str, Any] = (
            {"amount": deal.amount, "currency": deal.currency}
            if target == "won"
            else {"reason": reason}
        )
        events.append(
            session,
            [
                events.event(
                    "deal.stage_changed",
                    now,
                    lead_id=deal.lead_id,
                    deal_id=deal.id,
                    actor=actor,
                    data={"from": old, "to": target, "reason": reason},
                ),
                events.event(
                    f"deal.{target}",
                    now,
                    lead_id=deal.lead_id,
                    deal_id=deal.id,
                    actor=actor,
                    **data,
                ),
            ],
        )
        if target == "won":
            _convert_lead_of(session, deal, now=now, actor=actor)
        return False
    deal.stage = target
    deal.stage_entered_at = _later(deal.stage_entered_at, now)
    session.flush()
    events.append(
        session,
        [
            events.event(
                "deal.stage_changed",
                now,
                lead_id=deal.lead_id,
                deal_id=deal.id,
                actor=actor,
                data={"from": old, "to": target, "reason": reason},
            )
        ],
    )
    return True


def _later(previous: datetime, now: datetime) -> datetime:
    """A new visit's stamp is later than the last one's, even at the same ``now`` (so a deal
    sent back to a stage it visited at that moment starts a fresh visit)."""
    from datetime import timedelta

    return now if now > previous else previous + timedelta(microseconds=1)


def _convert_lead_of(session: Session, deal: Deal, *, now: datetime, actor: str) -> None:
    lead = session.get(Lead, deal.lead_id)
    if lead is None or lead.status != "open" or lead.merged_into_id is not None:
        return
    from nurture.playbooks.lifecycle import settle_lead

    settle_lead(
        session, lead.id, "convert", now=now, actor=actor, amount=None, currency=deal.currency
    )


def _assignee(
    session: Session, deal: Deal, action: ActionSpec, now: datetime
) -> tuple[Manager | None, str | None]:
    """Who does a people's action: (manager, role pool it came from)."""
    owner = session.get(Manager, deal.owner_id) if deal.owner_id is not None else None
    if owner is None:
        lead = session.get(Lead, deal.lead_id)
        if lead is not None and lead.owner_id is not None:
            owner = session.get(Manager, lead.owner_id)
    if action.who == "owner":
        return owner, None
    if action.who == "supervisor":
        return people.supervisor_of(session, owner) or owner, None
    picked = people.pick_from_role(session, action.who, now)
    return (picked or owner), action.who


def _create_actions(
    session: Session,
    deal: Deal,
    spec: PlaybookSpec,
    stage: StageSpec,
    state: engine.VisitState,
    scope: engine.Scope,
    *,
    now: datetime,
    actor: str,
) -> int:
    stamp = engine.visit_stamp(deal.stage_entered_at)
    lead = session.get(Lead, deal.lead_id)
    language = lead.language if lead is not None else None
    created = 0
    for action in engine.actions_to_create(stage, state, scope):
        key = engine.action_key(deal.id, stamp, stage.key, action.key)
        if action.automated:
            from nurture.playbooks.steps import start_automated

            created += start_automated(session, deal, spec, stage, action, key, now=now)
            continue
        who, role = _assignee(session, deal, action, now)
        cal = (
            people.load_calendars(session, [who.id], around=now)[who.id]
            if who is not None
            else people.default_calendar()
        )
        due = engine.due_time(cal, now, action)
        title = text_for(action.title, language)
        name = _lead_name(lead)
        row = {
            "source_key": key,
            "lead_id": deal.lead_id,
            "manager_id": who.id if who is not None else None,
            "kind": "action",
            "title": (f"{title}: {name}" if name else title)[:300],
            "instructions": text_for(action.instructions, language) or None,
            "due_at": due,
            "deadline": action.deadline,
            "status": "open",
            "created_at": now,
            "deal_id": deal.id,
            "stage": stage.key,
            "action": action.key,
            "role": role,
            "remind_at": engine.next_reminder(cal, due, action.remind, now),
            "escalation_level": 0,
            "escalate_at": engine.level_time(cal, due, action.escalate[0])
            if action.escalate
            else None,
        }
        task_id = session.execute(
            dialect_insert(session, Task)
            .values(row)
            .on_conflict_do_nothing(index_elements=["source_key"])
            .returning(Task.id)
        ).scalar()
        if task_id is None:
            continue
        created += 1
        events.append(
            session,
            [
                events.event(
                    "task.created",
                    now,
                    lead_id=deal.lead_id,
                    deal_id=deal.id,
                    task_id=task_id,
                    actor=actor,
                    kind="action",
                    title=row["title"],
                    due_at=due,
                    deadline=action.deadline,
                    assignee=who.email if who is not None else None,
                    stage=stage.key,
                    action=action.key,
                )
            ],
        )
        if action.documents:
            from nurture.playbooks.documents import render_for_action

            render_for_action(session, deal, spec, action, now=now, actor=actor)
    return created


def rearm(session: Session, task: Task, *, now: datetime) -> None:
    """After a new deadline: the next level not yet fired, counted from it, and the next
    reminder (playbook actions; other tasks are armed by the escalation run)."""
    spec = action_spec(session, task)
    if spec is None:
        return
    cal = (
        people.load_calendars(session, [task.manager_id], around=now).get(task.manager_id)
        if task.manager_id is not None
        else None
    ) or people.default_calendar()
    chain = spec.escalate
    nxt = task.escalation_level  # 0-based index of the next level
    task.escalate_at = engine.level_time(cal, task.due_at, chain[nxt]) if nxt < len(chain) else None
    task.remind_at = engine.next_reminder(cal, task.due_at, spec.remind, now)
    session.flush()


def _lead_name(lead: Lead | None) -> str:
    if lead is None:
        return ""
    name = " ".join(p for p in (lead.first_name, lead.last_name) if p)
    return name or lead.company or lead.email or f"lead {lead.id}"


def advance_deal(
    session: Session,
    deal_id: int,
    *,
    now: datetime,
    actor: str,
    to: str | None = None,
    reason: str | None = None,
) -> Deal:
    """Move a deal by hand to stage ``to`` (or won/lost), cancelling the open actions of its
    stage; without ``to``, take the stage's exit if the stage is complete."""
    deal = get_deal(session, deal_id, lock=True)
    if deal.status != "open":
        raise ConflictError(f"deal {deal.id} is {deal.status}")
    spec = spec_of(session, deal.version_id)
    if to is None:
        stage = spec.stage(deal.stage)
        assert stage is not None
        state = visit_state(session, deal)
        if not engine.stage_complete(stage, state, scope_of(session, deal, stage, state)):
            waiting = [a.key for a in stage.actions if not a.optional and not state.finished(a.key)]
            raise ConflictError(
                f"deal {deal.id}: stage {deal.stage!r} still waits for {', '.join(waiting)} "
                "(finish them, or give --to STAGE)"
            )
        _sync(session, deal, spec, now=now, actor=actor)
        return deal
    if to not in [s.key for s in spec.stages] and not engine.is_terminal(to):
        stages = ", ".join(s.key for s in spec.stages)
        raise InputError(
            f"no stage {to!r} in {spec.name} v{deal.version} ({stages}, won, lost)", field="--to"
        )
    if _move(session, deal, to, now=now, actor=actor, reason=reason or f"moved by {actor}"):
        _sync(session, deal, spec, now=now, actor=actor)
    return deal


def enter_by_rules(session: Session, task: Task, *, now: datetime, actor: str) -> Deal | None:
    """A task outside a deal was done: open a deal on the first playbook whose ``enter`` rule
    matches the task's kind and outcome (unless the lead has an open deal already)."""
    from nurture.playbooks import conditions
    from nurture.playbooks.versions import latest_specs

    if not task.outcome_values:
        return None
    if session.scalars(
        select(Deal.id).where(Deal.lead_id == task.lead_id, Deal.status == "open")
    ).first():
        return None
    lead = session.get(Lead, task.lead_id)
    if lead is None or lead.status != "open" or lead.merged_into_id is not None:
        return None
    scope = {"outcome": dict(task.outcome_values), "deal": {}, "lead": {"status": lead.status}}
    for spec in latest_specs(session):
        for rule in spec.enter:
            if task.kind in rule.kinds and conditions.parse(rule.when)(scope):
                return open_deal(
                    session,
                    lead.id,
                    playbook=spec.name,
                    now=now,
                    actor=actor,
                    trigger=f"task {task.id} ({task.kind}): {rule.when}",
                )
    return None
