"""Automated steps and requests to other systems, with real commits on both databases: an
entry point that fails twice and then succeeds (backoff between attempts, the deal moves on
with its result), a webhook that times out against a real loopback HTTP server while
another deal's call goes through, a request delivered after a 503 and one dead-lettered
after a 400."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from nurture.config import PROJECT_ROOT
from nurture.db.leads import Lead
from nurture.db.playbooks import Deal, OutboundRequest, StepRun
from nurture.db.session import make_engine, session_scope
from nurture.db.team import Manager, Team
from nurture.playbooks import (
    deliver_due,
    load_roles,
    open_deal,
    parse_playbook,
    run_due_steps,
    save_version,
    show_deal,
)
from nurture.playbooks.settings import get_playbook_settings

NOW = datetime(2026, 3, 25, 7, 0, tzinfo=UTC)
TEMPLATES = PROJECT_ROOT / "templates"

FLAKY = """
CALLS = []

def price(context):
    CALLS.append(context["idempotency_key"])
    if len(CALLS) < 3:
        raise ConnectionError(f"pricing service down (attempt {len(CALLS)})")
    return {"price": 1000, "ignored": "not in sets"}
"""

PLAYBOOK = """
name: steps
fields: [price]
requests:
  invoice: {kind: invoice_request, target: finance}
stages:
  - key: compute
    actions:
      - key: price
        title: Price
        who: automated
        step: {entry_point: "flaky_pricing:price", timeout: 5, retries: 2, backoff: 1 minute}
        sets: [price]
    exits:
      - {to: bill, when: "deal.price == 1000"}
      - {to: lost}
  - key: bill
    actions:
      - key: invoice
        title: Invoice request
        who: automated
        request: invoice
    exits:
      - {to: won}
"""

HOOK = """
name: hook
stages:
  - key: ask
    actions:
      - key: ask
        title: Ask the ERP
        who: automated
        step: {webhook: "URL", timeout: 0.5, retries: 0}
    exits:
      - {to: won}
"""


class Server:
    """A real HTTP server on 127.0.0.1: answers with the next scripted status, or sleeps."""

    def __init__(self) -> None:
        self.script: list[tuple[int, float]] = []
        self.seen: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.seen.append({"key": self.headers["Idempotency-Key"], "body": body})
                status, delay = outer.script.pop(0) if outer.script else (200, 0.0)
                if delay:
                    time.sleep(delay)  # the client must give up first: a timeout
                payload = json.dumps({"ok": status < 300, "erp_id": 42}).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def server() -> Iterator[Server]:
    srv = Server()
    yield srv
    srv.close()


@pytest.fixture()
def flaky(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    (tmp_path / "flaky_pricing.py").write_text(FLAKY)
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib

    module = importlib.import_module("flaky_pricing")
    module.CALLS.clear()
    yield module
    import sys

    sys.modules.pop("flaky_pricing", None)


def _setup(url: str, playbooks: list[str]) -> tuple[Any, list[int]]:
    engine = make_engine(url)
    with session_scope(engine) as s:
        team = Team(name="Sales", supervisor_email="boss@example.com")
        s.add(team)
        s.flush()
        olga = Manager(email="olga@example.com", name="Olga", team_id=team.id)
        s.add(olga)
        s.flush()
        for text in playbooks:
            spec = parse_playbook(text, templates_dir=TEMPLATES)
            save_version(s, spec, text, file_name="x.yaml", now=NOW)
        load_roles(s, {})
        leads = [Lead(email=f"l{i}@client.example", owner_id=olga.id) for i in range(2)]
        s.add_all(leads)
        s.flush()
        ids = [lead.id for lead in leads]
    return engine, ids


def test_a_step_that_fails_twice_then_succeeds(
    fresh_db: str, flaky: Any, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NURTURE_REQUESTS_WEBHOOKS", json.dumps({"finance": server.url}))
    get_playbook_settings.cache_clear()
    engine, (lead_id, _other) = _setup(fresh_db, [PLAYBOOK])
    with session_scope(engine) as s:
        deal_id = open_deal(s, lead_id, playbook="steps", now=NOW, actor="olga").id
    first = run_due_steps(engine, now=NOW)
    assert (first.failed, first.succeeded) == (1, 0) and "pricing service down" in first.errors[0]
    assert run_due_steps(engine, now=NOW + timedelta(seconds=30)).failed == 0  # backoff: 1 min
    assert run_due_steps(engine, now=NOW + timedelta(minutes=1)).failed == 1
    assert run_due_steps(engine, now=NOW + timedelta(minutes=2)).failed == 0  # doubled: 2 min
    done = run_due_steps(engine, now=NOW + timedelta(minutes=3))
    assert done.succeeded == 1
    assert len(set(flaky.CALLS)) == 1 and len(flaky.CALLS) == 3  # one idempotency key
    with session_scope(engine) as s:
        deal = s.get(Deal, deal_id)
        assert deal is not None and deal.fields == {"price": 1000} and deal.stage == "bill"
        [run] = s.scalars(select(StepRun).where(StepRun.action == "price"))
        assert (run.status, run.attempts) == ("succeeded", 3)
        timeline = [e["type"] for e in show_deal(s, deal_id, now=NOW)["timeline"]]
        assert timeline.count("step.failed") == 2 and "step.succeeded" in timeline
    # the invoice request goes to finance: a 503 is retried, then delivered
    server.script = [(503, 0.0)]
    assert deliver_due(engine, now=NOW + timedelta(minutes=3)).failed == 1
    assert deliver_due(engine, now=NOW + timedelta(minutes=4)).delivered == 1
    assert [h["key"] for h in server.seen] == [server.seen[0]["key"]] * 2
    assert server.seen[0]["body"]["kind"] == "invoice_request"
    with session_scope(engine) as s:
        deal = s.get(Deal, deal_id)
        assert deal is not None and deal.status == "won"
    engine.dispose()


def test_a_webhook_step_times_out_and_a_bad_request_is_a_dead_letter(
    fresh_db: str, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NURTURE_REQUESTS_WEBHOOK_URL", server.url)
    get_playbook_settings.cache_clear()
    engine, (lead_id, other_id) = _setup(fresh_db, [HOOK.replace("URL", server.url)])
    with session_scope(engine) as s:
        hooked = open_deal(s, lead_id, playbook="hook", now=NOW, actor="olga").id
        fine = open_deal(s, other_id, playbook="hook", now=NOW, actor="olga").id
        queued = OutboundRequest(
            kind="work_order",
            target="production",
            idempotency_key="manual.1",
            payload={"x": 1},
            status="queued",
            next_attempt_at=NOW,
            created_at=NOW,
        )
        s.add(queued)
    server.script = [(200, 2.0), (200, 0.0)]  # the first is slower than the 0.5 s timeout
    started = time.monotonic()
    report = run_due_steps(engine, now=NOW)
    assert time.monotonic() - started < 1.9
    assert report.dead == 1 and "Timeout" in report.errors[0]  # retries: 0
    assert report.succeeded == 1  # the other deal's step is not held up by it
    with session_scope(engine) as s:
        info = show_deal(s, hooked, now=NOW)
        [failed] = [a for a in info["open_actions"] if a.get("kind") == "automated"]
        assert failed["status"] == "dead" and "Timeout" in failed["error"]
        assert show_deal(s, fine, now=NOW)["status"] == "won"
    server.script = [(400, 0.0)]
    assert deliver_due(engine, now=NOW).dead == 1
    with session_scope(engine) as s:
        req = s.scalars(
            select(OutboundRequest).where(OutboundRequest.idempotency_key == "manual.1")
        ).one()
        assert req.status == "dead" and req.response_status == 400
    engine.dispose()
