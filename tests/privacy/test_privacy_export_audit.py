"""``nurture leads export-person`` (a person's data, GDPR art. 15) and the audit log written
by forget, export-person, ``leads export``, ``leads show`` and the web app's lead card."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from privacy_support import EMAIL, LAST, NEIGHBOUR_EMAIL, SECOND_EMAIL, TYPED_PHONE, World
from sqlalchemy import select
from typer.testing import CliRunner

from nurture.cli import app
from nurture.db.privacy import AuditEntry
from nurture.db.session import session_scope

runner = CliRunner()


def test_export_person_holds_everything_stored_about_them(world: World, tmp_path: Path) -> None:
    result = runner.invoke(app, ["leads", "export-person", EMAIL.upper(), "--by", "dpo"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["format"] == "nurture.person-export/1"
    assert set(doc["about"]) == {"en", "ru"} and doc["labels"]["email"]["ru"] == "E-mail"
    assert [lead["id"] for lead in doc["leads"]] == [world.lead_id, world.merged_id]
    assert {lead["email"] for lead in doc["leads"]} == {EMAIL, SECOND_EMAIL}
    raws = [s["raw"] for s in doc["sources"]]
    assert TYPED_PHONE in [r["Phone"] for r in raws]  # the cells as they were in the file
    assert {s["event"]["name"] for s in doc["sources"]} == {"Expo", "Seminar"}
    assert [q["raw"]["Phone"] for q in doc["quarantine"]] == [TYPED_PHONE]
    assert len(doc["touches"]) == 1 and len(doc["enrolments"]) == 1
    assert [e["to_addr"] for e in doc["emails"]] == [EMAIL]  # not the manager's digest
    titles = {t["title"] for t in doc["tasks"]}
    assert f"First contact: Zebedee {LAST}" in titles and f"Call {SECOND_EMAIL}" in titles
    assert len(doc["deals"]) == 1 and doc["documents"][0]["key"] == "proposal"
    assert "pdf" not in doc["documents"][0] and "html" not in doc["documents"][0]
    assert doc["requests"][0]["payload"]["email"] == EMAIL
    assert len(doc["scores"]) == 1 and len(doc["purchases"]) == 1
    assert doc["assignments"][0]["manager"]["email"] == "olga@example.com"
    assert doc["consent"]["suppressions"][0]["reason"] == "unsubscribe"
    assert doc["consent"]["forgotten"] is False
    assert len(doc["merges"]) == 1
    assert NEIGHBOUR_EMAIL not in result.stdout

    out = tmp_path / "person.json"
    written = runner.invoke(app, ["leads", "export-person", EMAIL, "--out", str(out), "--json"])
    assert written.exit_code == 0, written.output
    summary = json.loads(written.stdout)
    assert summary["out"] == str(out) and summary["sections"]["leads"] == 2
    assert json.loads(out.read_text(encoding="utf-8"))["leads"][0]["id"] == world.lead_id

    with session_scope() as s:
        entries = s.scalars(select(AuditEntry).where(AuditEntry.action == "exported")).all()
    first = entries[0]
    assert (first.actor, first.via, first.lead_id) == (
        "dpo",
        "leads export-person",
        world.lead_id,
    )
    assert all(e.subject and len(e.subject) == 64 for e in entries)


def test_export_person_of_nobody_exits_2(world: World) -> None:
    missing = runner.invoke(app, ["leads", "export-person", "nobody@example.com"])
    assert missing.exit_code == 2 and "nothing is stored about nobody@example.com" in missing.stderr
    runner.invoke(app, ["leads", "forget", EMAIL])
    forgotten = runner.invoke(app, ["leads", "export-person", EMAIL])
    assert forgotten.exit_code == 2 and "(the person was forgotten)" in forgotten.stderr


def test_the_audit_log_names_people_by_hash_and_survives_their_erasure(
    world: World, tmp_path: Path
) -> None:
    assert runner.invoke(app, ["leads", "show", str(world.lead_id), "--by", "olga"]).exit_code == 0
    csv_out = tmp_path / "all.csv"
    exported = runner.invoke(app, ["leads", "export", "--out", str(csv_out), "--by", "mia"])
    assert exported.exit_code == 0
    assert runner.invoke(app, ["leads", "forget", EMAIL, "--by", "dpo"]).exit_code == 0

    listed = runner.invoke(app, ["leads", "audit", "--email", EMAIL, "--json"])
    assert listed.exit_code == 0, listed.output
    entries = json.loads(listed.stdout)["entries"]
    assert [(e["action"], e["actor"], e["via"]) for e in entries] == [
        ("erased", "dpo", "leads forget"),
        ("viewed", "olga", "leads show"),
    ]
    assert {e["lead_id"] for e in entries} == {world.lead_id}
    everything = json.loads(runner.invoke(app, ["leads", "audit", "--json"]).stdout)["entries"]
    bulk = [e for e in everything if e["via"] == "leads export"]
    assert bulk[0]["detail"]["leads"] == 3 and bulk[0]["lead_id"] is None
    by_lead = json.loads(
        runner.invoke(app, ["leads", "audit", "--lead", str(world.lead_id), "--json"]).stdout
    )["entries"]
    assert len(by_lead) == 2
    text = runner.invoke(app, ["leads", "audit"])
    assert text.exit_code == 0 and "3 entries" in text.stderr
    # the log gives no one away: no address, no name, in any column
    with session_scope() as s:
        rows = s.scalars(select(AuditEntry)).all()
        dumped = json.dumps(
            [[e.actor, e.via, e.subject, e.detail] for e in rows], ensure_ascii=False
        ).lower()
    assert EMAIL not in dumped and LAST.lower() not in dumped
    assert runner.invoke(app, ["leads", "audit", "--email", "nope"]).exit_code == 2


def test_the_web_lead_card_is_audited(fresh_db: str) -> None:
    here = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(here / "web"))
    from fastapi.testclient import TestClient
    from web_support import ACCOUNTS, make_world, sign_in

    from nurture.web.app import create_app

    world = make_world()
    lead = world.leads["maria"]
    with TestClient(create_app(), base_url="http://testserver") as client:
        sign_in(client, ACCOUNTS["manager"])
        assert client.get(f"/leads/{lead}").status_code == 200
        assert client.get(f"/leads/{world.leads['stan']}").status_code == 404  # not hers
    with session_scope() as s:
        entries = s.scalars(select(AuditEntry)).all()
    assert [(e.actor, e.channel, e.action, e.via, e.lead_id) for e in entries] == [
        (ACCOUNTS["manager"], "web", "viewed", "web lead card", lead)
    ]
    assert entries[0].subject is not None
