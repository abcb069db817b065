"""Helpers of the privacy tests: one person whose data is everywhere Nurture puts a
person's data, and a neighbour who must come through every erasure untouched.

The leads come in through the real importer (two files; the person's second record, with
other contacts, is merged into the first); everything downstream (routing, cadence, mail,
playbooks, scoring, the web app's records) is written with the columns those capabilities
fill, because what matters here is where the data lands, not how it got there.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session

from nurture.config import get_settings
from nurture.db import (
    ApiRequest,
    Approval,
    Assignment,
    Campaign,
    Deal,
    Document,
    Engagement,
    Enrollment,
    Escalation,
    Lead,
    LeadScore,
    LoginFailure,
    Manager,
    OutboundRequest,
    OutboxMessage,
    PlaybookVersion,
    PossibleDuplicate,
    ProcessEvent,
    Purchase,
    QuarantineRow,
    StepRun,
    Suppression,
    Task,
    Team,
    Touch,
)
from nurture.db.session import get_engine, session_scope
from nurture.intake.merges import merge_leads
from nurture.intake.pipeline import ImportSummary, import_file

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

EMAIL = "zebedee.quux@example.org"
TYPED_EMAIL = "Zebedee.Quux@Example.org"
PHONE = "+79165550123"
TYPED_PHONE = "8 (916) 555-01-23"
FIRST, LAST = "Zebedee", "Quuxworth"
SECOND_EMAIL = "zq.private@example.net"
SECOND_PHONE = "+79165550456"
NEIGHBOUR_EMAIL = "alice.neighbour@example.com"
NEIGHBOUR_NAME = "Alice Neighbour"

#: What must not be left anywhere once the person is forgotten.
TRACES = (
    EMAIL,
    SECOND_EMAIL,
    "9165550123",
    "9165550456",
    "555-01-23",
    LAST,
)

HEADER = ["Name", "E-mail", "Phone", "Company", "City"]


def write_rows(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


@dataclass
class World:
    engine: Engine
    badges: Path
    seminar: Path
    lead_id: int
    merged_id: int
    neighbour_id: int
    imported: ImportSummary
    outbox_dir: Path

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()


def _add(session: Session, *rows: Any) -> None:
    session.add_all(rows)
    session.flush()


def _downstream(session: Session, lead: Lead, merged: Lead, neighbour: Lead, outbox: Path) -> None:
    """Everything the other capabilities write about a person."""
    full = f"{FIRST} {LAST}"
    team = Team(name="Sales", supervisor_email="boss@example.com")
    _add(session, team)
    olga = Manager(email="olga@example.com", name="Olga Petrova", team_id=team.id)
    _add(session, olga)
    campaign = Campaign(slug="exhibition", name="Exhibition", definition={"steps": []})
    _add(session, campaign)
    enrolment = Enrollment(lead_id=lead.id, campaign_id=campaign.id, next_due_at=NOW)
    _add(session, enrolment)
    mail = OutboxMessage(
        dedupe_key=f"touch.{lead.id}.exhibition.0.1",
        message_id=f"<touch.{lead.id}.exhibition.0.1@nurture.local>",
        lead_id=lead.id,
        manager_id=olga.id,
        campaign_slug="exhibition",
        step="welcome",
        template="exhibition/welcome",
        to_addr=EMAIL,
        context={"greeting": f"Dear {full}"},
        status="sent",
        sent_at=NOW,
    )
    digest = OutboxMessage(
        dedupe_key="digest.olga.2026-11-02",
        message_id="<digest.olga.2026-11-02@nurture.local>",
        kind="digest",
        manager_id=olga.id,
        template="digest/daily",
        to_addr=olga.email,
        context={
            "tasks": [
                {"lead": {"id": lead.id, "full_name": full, "email": EMAIL}, "title": "Call"},
                {"lead": {"id": neighbour.id, "full_name": NEIGHBOUR_NAME}, "title": "Call"},
            ],
            "language": "en",
        },
        status="sent",
        sent_at=NOW,
    )
    _add(session, mail, digest)
    outbox.mkdir(parents=True, exist_ok=True)
    for row, body in ((mail, f"To: {EMAIL}\n\nDear {full}"), (digest, f"{full} <{EMAIL}>")):
        (outbox / f"{row.dedupe_key}.eml").write_text(body, encoding="utf-8")
    own_task = Task(
        source_key=f"first_contact.{lead.id}.{olga.id}",
        lead_id=lead.id,
        manager_id=olga.id,
        kind="first_contact",
        title=f"First contact: {full}",
        instructions=f"Call {TYPED_PHONE}",
        due_at=NOW,
        note="prefers mornings",
    )
    other_task = Task(
        source_key=f"call.{neighbour.id}",
        lead_id=neighbour.id,
        manager_id=olga.id,
        kind="call",
        title=f"Call {NEIGHBOUR_NAME}",
        due_at=NOW,
        note=f"colleague of {full} ({EMAIL}); ask about the tender",
    )
    _add(session, own_task, other_task)
    _add(
        session,
        Touch(
            enrollment_id=enrolment.id,
            lead_id=lead.id,
            campaign_id=campaign.id,
            position=0,
            channel="email",
            due_at=NOW,
            scheduled_at=NOW,
            status="done",
            outbox_id=mail.id,
        ),
        Escalation(task_id=own_task.id, level=1, fired_at=NOW, lead_id=lead.id, action="notify"),
        Assignment(lead_id=lead.id, manager_id=olga.id, team_id=team.id, reason="rule"),
        LeadScore(
            lead_id=lead.id,
            model_version="v1",
            as_of=date(2026, 11, 1),
            predicted_value=120.0,
            p_purchase=0.3,
        ),
        Purchase(source_key="p1", lead_id=lead.id, purchased_at=NOW, amount=990.0),
        Engagement(lead_id=lead.id, kind="reply", detail=f"{full} replied"),
        Suppression(email=EMAIL, scope="*", reason="unsubscribe", detail="link"),
        LoginFailure(key=f"email:{EMAIL}"),
        ApiRequest(
            api_key_id=1,
            idempotency_key="k-1",
            request_hash="0" * 64,
            status_code=201,
            response={"lead_id": lead.id, "outcome": "created", "batch_id": 1},
        ),
    )
    version = PlaybookVersion(
        name="b2b-sale",
        version=1,
        sha256="1" * 64,
        file_name="b2b.yaml",
        definition={},
        source="",
    )
    _add(session, version)
    deal = Deal(
        lead_id=lead.id,
        owner_id=olga.id,
        playbook="b2b-sale",
        version_id=version.id,
        version=1,
        stage="proposal",
        stage_entered_at=NOW,
        fields={"contact": full, "price": 100},
    )
    _add(session, deal)
    deal_task = Task(
        source_key=f"action.{deal.id}.proposal.call",
        lead_id=lead.id,
        deal_id=deal.id,
        kind="action",
        title="Send the proposal",
        due_at=NOW,
        outcome_values={"spoke_to": full},
    )
    document = Document(
        deal_id=deal.id,
        lead_id=lead.id,
        key="proposal",
        template="documents/proposal.html",
        title="Proposal",
        html=f"<p>For {full}, {EMAIL}</p>",
        pdf=f"%PDF {full}".encode(),
        sha256="2" * 64,
        context={"lead": {"full_name": full}},
        public_token="tok",
        rendered_at=NOW,
    )
    _add(session, deal_task, document)
    _add(
        session,
        Approval(
            document_id=document.id,
            revision=1,
            position=0,
            role="supervisor",
            decision="approved",
            actor="boss@example.com",
            at=NOW,
            comment=f"ok for {full}",
        ),
        StepRun(
            deal_id=deal.id,
            stage="proposal",
            action="price",
            kind="entry_point",
            target="x:y",
            idempotency_key="s1",
            next_attempt_at=NOW,
            result={"for": EMAIL},
        ),
        OutboundRequest(
            deal_id=deal.id,
            lead_id=lead.id,
            kind="invoice_request",
            target="finance",
            idempotency_key="r1",
            payload={"client": full, "email": EMAIL},
            next_attempt_at=NOW,
        ),
        ProcessEvent(
            at=NOW,
            type="lead.replied",
            lead_id=lead.id,
            actor="olga@example.com",
            data={"note": f"{full} called back from {TYPED_PHONE}"},
        ),
        ProcessEvent(
            at=NOW,
            type="deal.stage_changed",
            lead_id=lead.id,
            deal_id=deal.id,
            actor="olga@example.com",
            data={"from": "meeting", "to": "proposal"},
        ),
        ProcessEvent(
            at=NOW,
            type="document.sent",
            lead_id=lead.id,
            deal_id=deal.id,
            actor="olga@example.com",
            data={"document_id": document.id, "revision": 1, "to": EMAIL},
        ),
        ProcessEvent(
            at=NOW,
            type="lead.note",
            lead_id=neighbour.id,
            actor="olga@example.com",
            data={"note": f"met {full} at the stand"},
        ),
        QuarantineRow(
            batch_id=1,
            row_number=99,
            file_name="walk-ins.csv",
            raw={"Name": full, "Phone": TYPED_PHONE, "E-mail": "zebedee@@"},
            reasons=["no valid e-mail or phone"],
        ),
    )
    _add(
        session,
        Task(
            source_key="merged.task",
            lead_id=merged.id,
            kind="call",
            title=f"Call {SECOND_EMAIL}",
            due_at=NOW,
        ),
    )


def every_text_value(engine: Engine) -> list[tuple[str, str, str]]:
    """``(table, column, value as text)`` for every non-null value of every column of every
    table of the schema: what "nothing left readable" is checked against on both backends."""
    out: list[tuple[str, str, str]] = []
    insp = inspect(engine)
    with engine.connect() as conn:
        for table in insp.get_table_names():
            for col in insp.get_columns(table):
                name = col["name"]
                rows = conn.execute(text(f'SELECT "{name}" FROM "{table}"')).scalars()
                for value in rows:
                    if value is None:
                        continue
                    if isinstance(value, bytes | memoryview):
                        shown = bytes(value).decode("utf-8", "replace")
                    elif isinstance(value, dict | list):
                        shown = json.dumps(value, ensure_ascii=False)
                    else:
                        shown = str(value)
                    out.append((table, name, shown))
    return out


def traces_in_values(engine: Engine, traces: tuple[str, ...] = TRACES) -> list[tuple[str, str]]:
    found = []
    for table, column, value in every_text_value(engine):
        low = value.lower()
        for t in traces:
            if t.lower() in low:
                found.append((f"{table}.{column}", t))
    return found


def days(n: int) -> timedelta:
    return timedelta(days=n)


def build_world(tmp_path: Path) -> World:
    """The person (lead ``lead_id``, with ``merged_id`` merged into it) and a neighbour."""
    badges = write_rows(
        tmp_path / "badges.csv",
        [
            [f"{FIRST} {LAST}", TYPED_EMAIL, TYPED_PHONE, "Quux Industries", "Moscow"],
            [NEIGHBOUR_NAME, NEIGHBOUR_EMAIL, "+7 916 555 09 99", "Neighbour Ltd", "Kazan"],
            ["Boris Third", "boris.third@example.com", "", "Third Co", "Perm"],
        ],
    )
    seminar = write_rows(
        tmp_path / "seminar.csv",
        [[f"{FIRST} {LAST}", SECOND_EMAIL, "+7 916 555-04-56", "Quux Industries", "Moscow"]],
    )
    engine = get_engine()
    imported = import_file(badges, event="Expo", event_date=date(2026, 10, 1), engine=engine)
    import_file(seminar, event="Seminar", kind="seminar", engine=engine)
    outbox = Path(get_settings().outbox_dir)
    with session_scope() as session:
        lead = session.scalars(select(Lead).where(Lead.email == EMAIL)).one()
        merged = session.scalars(select(Lead).where(Lead.email == SECOND_EMAIL)).one()
        neighbour = session.scalars(select(Lead).where(Lead.email == NEIGHBOUR_EMAIL)).one()
        assert session.scalars(select(PossibleDuplicate)).first() is not None
        merge_leads(session, survivor_id=lead.id, merged_id=merged.id, reason="same person")
        _downstream(session, lead, merged, neighbour, outbox)
        ids = (lead.id, merged.id, neighbour.id)
    return World(engine, badges, seminar, *ids, imported=imported, outbox_dir=outbox)
