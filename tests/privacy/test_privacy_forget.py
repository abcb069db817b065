"""``nurture leads forget``: a person erased everywhere, nothing of them left readable, kept
out of later imports and of the outbox; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from privacy_support import (
    EMAIL,
    LAST,
    NEIGHBOUR_EMAIL,
    NEIGHBOUR_NAME,
    NOW,
    PHONE,
    SECOND_EMAIL,
    TRACES,
    TYPED_EMAIL,
    TYPED_PHONE,
    World,
    traces_in_values,
    write_rows,
)
from sqlalchemy import func, select
from typer.testing import CliRunner

from nurture.cli import app
from nurture.db import (
    ImportBatch,
    Lead,
    LeadSource,
    Manager,
    OutboxMessage,
    ProcessEvent,
    QuarantineRow,
    Task,
)
from nurture.db.privacy import AuditEntry, ForgottenContact
from nurture.db.session import session_scope
from nurture.intake.pipeline import import_file
from nurture.mail import clock_from, send_due
from nurture.privacy import FORGOTTEN_REASON, forget

runner = CliRunner()


def _forget_json(*args: str) -> dict[str, object]:
    result = runner.invoke(app, ["leads", "forget", *args, "--by", "dpo", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert isinstance(payload, dict)
    return payload


def test_forget_by_email_erases_the_person_and_their_merged_duplicate_everywhere(
    world: World, tmp_path: Path
) -> None:
    report = _forget_json(TYPED_EMAIL)  # as typed: normalised like intake does
    erased = report["erased"]
    assert isinstance(erased, dict)
    assert sorted(report["lead_ids"]) == sorted([world.lead_id, world.merged_id])  # type: ignore[type-var]
    assert erased["leads"] == 2
    assert erased["lead_sources"] == 2  # one row in each file
    assert {t: report[t] for t in erased} == erased  # per table at the top level too
    for table in (
        "touches",
        "outbox",
        "tasks",
        "deals",
        "documents",
        "lead_scores",
        "assignments",
        "purchases",
        "suppressions",
        "api_requests",
        "web_login_failures",
        "escalations",
        "approvals",
        "step_runs",
        "outbound_requests",
        "engagements",
        "enrollments",
        "lead_merges",
        "possible_duplicates",
        "quarantine",
    ):
        assert erased[table] >= 1, table
    assert report["files_removed"] == 2  # the person's e-mail and the digest naming them
    assert report["forgotten_contacts"] == 4  # two e-mails, two phones
    assert report["already_forgotten"] is False

    assert traces_in_values(world.engine) == []
    # the neighbour is untouched, the mentions of the person in their rows are redacted
    with session_scope() as s:
        neighbour = s.get(Lead, world.neighbour_id)
        assert neighbour is not None and neighbour.email == NEIGHBOUR_EMAIL
        note = s.scalars(select(Task.note).where(Task.lead_id == world.neighbour_id)).one()
        assert note == "colleague of [erased] ([erased]); ask about the tender"
        digest = s.scalars(
            select(OutboxMessage.context).where(OutboxMessage.kind == "digest")
        ).one()
        assert digest["tasks"][0] == {"erased": True}
        assert digest["tasks"][1]["lead"]["full_name"] == NEIGHBOUR_NAME
        # the event log keeps a skeleton of the person's events for the process analytics
        events = {
            e.type: e.data
            for e in s.scalars(select(ProcessEvent).where(ProcessEvent.lead_id == world.lead_id))
        }
        assert events["deal.stage_changed"] == {"from": "meeting", "to": "proposal"}
        assert events["lead.replied"] is None
        assert "to" not in events["document.sent"] and events["document.sent"]["revision"] == 1
        # every input row is still accounted for: the person's became forgotten placeholders
        batch = s.get(ImportBatch, world.imported.batch_id)
        assert batch is not None
        assert (batch.created, batch.quarantined) == (world.imported.created - 1, 1)
        placeholder = s.scalars(
            select(QuarantineRow).where(
                QuarantineRow.batch_id == batch.id, QuarantineRow.row_number == 2
            )
        ).one()
        assert placeholder.raw is None and placeholder.reasons == [FORGOTTEN_REASON]
        assert s.scalar(select(func.count()).select_from(ForgottenContact)) == 4
    assert sorted(p.name for p in world.outbox_dir.glob("*.eml")) == []


def test_the_export_has_no_row_of_them_and_a_reimport_quarantines_them(
    world: World, tmp_path: Path
) -> None:
    _forget_json(EMAIL)
    out = tmp_path / "export.csv"
    assert runner.invoke(app, ["leads", "export", "--out", str(out)]).exit_code == 0
    exported = out.read_text(encoding="utf-8-sig").lower()
    assert EMAIL not in exported and SECOND_EMAIL not in exported and LAST.lower() not in exported
    assert NEIGHBOUR_EMAIL in exported

    # the same file again, for the same event: already imported, their row now forgotten
    again = runner.invoke(
        app, ["import", str(world.badges), "--event", "Expo", "--date", "2026-10-01", "--json"]
    )
    assert again.exit_code == 0, again.output
    repeat = json.loads(again.stdout)
    assert repeat["already_imported"] is True
    assert (repeat["created"], repeat["quarantined"]) == (0, 0)  # this run did nothing
    first = repeat["first_import"]
    assert (first["created"], first["quarantined"]) == (world.imported.created - 1, 1)
    forgotten_rows = runner.invoke(app, ["quarantine", "list", "--json"])
    assert "forgotten" in forgotten_rows.stdout and LAST not in forgotten_rows.stdout
    # the same people in a new list: their row is quarantined, the others import
    fresh = write_rows(
        tmp_path / "expo-2027.csv",
        [
            ["Zebedee Q.", TYPED_EMAIL.upper(), "", "Quux", ""],  # by e-mail
            ["Z. Quuxworth", "", "+7 916 555 01 23", "Quux", ""],  # by phone
            ["Carla New", "carla@example.com", "", "New Co", ""],
            [NEIGHBOUR_NAME, NEIGHBOUR_EMAIL, "", "", ""],
        ],
    )
    result = runner.invoke(app, ["import", str(fresh), "--event", "Expo 2027", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["created"], summary["merged"], summary["quarantined"]) == (1, 1, 2)
    with session_scope() as s:
        rows = s.scalars(
            select(QuarantineRow).where(QuarantineRow.batch_id == summary["batch_id"])
        ).all()
        assert len(rows) == 2
        for row in rows:
            assert row.raw is None
            assert any("forgotten" in reason for reason in row.reasons)
        assert s.scalar(select(func.count()).select_from(Lead).where(Lead.email == EMAIL)) == 0
    assert traces_in_values(world.engine, (EMAIL, "9165550123")) == []


def test_forget_by_lead_id_of_the_merged_record_and_a_second_forget(world: World) -> None:
    report = _forget_json("--lead", str(world.merged_id))  # names the whole person
    assert sorted(report["lead_ids"]) == sorted([world.lead_id, world.merged_id])  # type: ignore[type-var]
    assert traces_in_values(world.engine) == []

    again = _forget_json(EMAIL)
    assert again["already_forgotten"] is True
    assert set(again["erased"].values()) == {0}  # type: ignore[union-attr]
    assert set(again["redacted"].values()) == {0}  # type: ignore[union-attr]
    plain = runner.invoke(app, ["leads", "forget", EMAIL])
    assert plain.exit_code == 0 and "already forgotten" in plain.output

    gone = runner.invoke(app, ["leads", "forget", "--lead", str(world.lead_id)])
    assert gone.exit_code == 2
    assert f"lead {world.lead_id} does not exist: it was erased on" in gone.stderr
    unknown = runner.invoke(app, ["leads", "forget", "nobody@example.com"])
    assert unknown.exit_code == 2 and "nothing to erase" in unknown.stderr
    assert runner.invoke(app, ["leads", "forget"]).exit_code == 2
    assert runner.invoke(app, ["leads", "forget", "not-an-address"]).exit_code == 2
    with session_scope() as s:
        erased = s.scalars(select(AuditEntry).where(AuditEntry.action == "erased")).all()
        assert len(erased) == 3  # the erasure and the two requests after it
        assert [e.actor for e in erased][:2] == ["dpo", "dpo"]  # --by; else the login name
        assert {e.channel for e in erased} == {"cli"}


def test_a_member_of_staff_is_not_forgotten(world: World) -> None:
    with session_scope() as s:
        s.add(Manager(email=NEIGHBOUR_EMAIL, name=NEIGHBOUR_NAME))
    result = runner.invoke(app, ["leads", "forget", NEIGHBOUR_EMAIL])
    assert result.exit_code == 2 and "member of staff" in result.stderr
    with session_scope() as s:
        assert s.get(Lead, world.neighbour_id) is not None


def test_the_sender_refuses_a_forgotten_address(world: World) -> None:
    forget(email=EMAIL, actor="dpo", now=NOW)
    with session_scope() as s:
        for kind in ("marketing", "system"):
            s.add(
                OutboxMessage(
                    dedupe_key=f"late.{kind}",
                    message_id=f"<late.{kind}@nurture.local>",
                    kind=kind,
                    template="exhibition/welcome",
                    to_addr=TYPED_EMAIL,
                    status="queued",
                    next_attempt_at=NOW,
                )
            )
    send_due(now=clock_from(NOW))
    with session_scope() as s:
        rows = s.execute(
            select(OutboxMessage.status, OutboxMessage.last_error).where(
                OutboxMessage.dedupe_key.like("late.%")
            )
        ).all()
    assert [tuple(r) for r in rows] == [("suppressed", "suppressed (forgotten)")] * 2
    assert not list(world.outbox_dir.glob("late.*"))


# SQLite's own files; on PostgreSQL the other tests check every value of the schema.
@pytest.mark.parametrize("backend", ["sqlite"])
def test_no_trace_in_the_database_files(world: World, backend: str) -> None:
    database = Path(world.engine.url.database or "")
    files = [database, Path(f"{database}-wal"), Path(f"{database}-journal")]

    def content() -> bytes:
        return b"".join(p.read_bytes() for p in files if p.exists()).lower()

    assert EMAIL.encode() in content() and LAST.lower().encode() in content()
    report = forget(email=EMAIL, actor="dpo", now=NOW)
    assert report.storage == {"wal": "truncated"}
    after = content()
    for trace in (*TRACES, TYPED_PHONE, f"{LAST}".lower(), PHONE):
        assert trace.lower().encode() not in after, trace
    assert NEIGHBOUR_EMAIL.encode() in after


def test_postgres_vacuums_what_it_touched(world: World, backend: str) -> None:
    report = forget(email=EMAIL, actor="dpo", now=NOW)
    if backend == "sqlite":
        assert "wal" in report.storage
        return
    vacuumed = report.storage["vacuumed"]
    assert {"leads", "lead_sources", "outbox", "tasks", "event_log", "forgotten_contacts"} <= set(
        vacuumed
    )
    # VACUUM reports itself at once (the dead tuples it removes depend on the transactions
    # other sessions of the server keep open: see docs/privacy.md)
    vacuums = world.scalar(
        "SELECT vacuum_count FROM pg_stat_user_tables "
        "WHERE schemaname = current_schema() AND relname = 'leads'"
    )
    assert vacuums >= 1
    assert traces_in_values(world.engine) == []


def test_sources_of_other_people_keep_their_rows(world: World) -> None:
    forget(email=EMAIL, actor="dpo", now=NOW)
    with session_scope() as s:
        kept = s.scalars(select(LeadSource.raw).where(LeadSource.lead_id == world.neighbour_id))
        assert [r["E-mail"] for r in kept] == [NEIGHBOUR_EMAIL]
    assert import_file(world.seminar, event="Seminar", kind="seminar").already_imported
