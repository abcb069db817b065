"""Secrets never leave (issue 23): the SMTP password, the signing key and an API key, each a
distinctive string, appear in no CLI output (plain and ``--json``), no log record, no export,
no web page or API answer, no Prefect log or artifact, and not in the settings' repr.

The paths are driven the way they fail in real life: the SMTP server down and refusing the
login, a wrong API key, a page that does not exist, a flow run that fails.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from nurture.cli import app
from nurture.config import PROJECT_ROOT, get_settings
from nurture.flowfiles import load_flow_file

sys.path.insert(0, str(PROJECT_ROOT / "tests" / "mail"))
sys.path.insert(0, str(PROJECT_ROOT / "tests" / "web"))

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from mail_support import ScriptedHandler, free_port
from web_support import ACCOUNTS, make_world, sign_in

PASSWORD = "smtp-Pw-q7Zk3xV9"
SIGNING_KEY = "sign-Key-4Hd8sWq2Lm6Tn0Rb"
PERSON = "sweep.person@example.com"
runner = CliRunner()


class Secrets:
    lead_id = 0

    def __init__(self, api_key: str) -> None:
        self.values = [PASSWORD, SIGNING_KEY, api_key, api_key.rsplit("_", 1)[-1]]

    def absent(self, where: str, text: str) -> None:
        for value in self.values:
            assert value not in text, f"a secret in {where}: {text[:2000]}"


def _cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout + result.stderr


@pytest.fixture()
def secrets(
    fresh_db: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> Iterator[Secrets]:
    """The signing key set, an API key created (its one showing is the only place it may
    be), one lead with a queued message; every log record of the test is swept at its end."""
    monkeypatch.setenv("NURTURE_SECRET_KEY", SIGNING_KEY)
    get_settings.cache_clear()
    caplog.set_level(logging.DEBUG)
    code, out = _cli("apikeys", "create", "sweep", "--scope", "leads:write", "--json")
    assert code == 0, out
    found = Secrets(json.loads(out[out.index("{") :])["key"])
    from mail_support import add_leads, queue_messages

    from nurture.db.session import session_scope

    with session_scope() as s:
        (found.lead_id,) = add_leads(s, [PERSON])
        queue_messages(s, [found.lead_id], [PERSON], due=datetime.now(UTC))
    caplog.clear()
    yield found
    found.absent("the log records", caplog.text)


@pytest.fixture()
def refusing_login() -> Iterator[int]:
    """aiosmtpd offering AUTH (without TLS, on loopback) and refusing every login."""

    def refuse(*_: Any) -> AuthResult:
        return AuthResult(success=False, handled=False)

    port = free_port()
    controller = Controller(
        ScriptedHandler(),
        hostname="127.0.0.1",
        port=port,
        authenticator=refuse,
        auth_require_tls=False,
        ready_timeout=10,
    )
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def _use_smtp(port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # a refused port fails at once; the generous timeout is for aiosmtpd on a loaded machine
    url = f"smtp://nurture:{PASSWORD}@127.0.0.1:{port}?timeout=15"
    monkeypatch.setenv("NURTURE_SMTP_URL", url)
    get_settings.cache_clear()


def test_the_cli_and_the_settings_never_show_a_secret(
    secrets: Secrets, refusing_login: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for port, why in ((free_port(), "unreachable"), (refusing_login, "535")):
        _use_smtp(port, monkeypatch)
        settings = get_settings()
        secrets.absent("the settings' repr", repr(settings) + str(settings))
        for args in (("send",), ("send", "--json"), ("outbox", "status", "--json")):
            code, out = _cli(*args)
            secrets.absent(" ".join(args), out)
            if args[0] == "send":
                assert code == 1 and why in out, out
        code, out = _cli("outbox", "status")
        assert code == 0 and "***" in out
        secrets.absent("outbox status", out)

    export, eml = tmp_path / "leads.csv", str(tmp_path / "preview.eml")
    for args in (
        ("leads", "export", "--out", str(export), "--json"),
        ("leads", "export-person", PERSON, "--json"),
        ("report", "--json", "--html", str(tmp_path / "report.html")),
        ("apikeys", "list", "--json"),
        ("template", "preview", "sample/welcome", "--lead", str(secrets.lead_id), "--out", eml),
    ):
        code, out = _cli(*args)
        assert code == 0, (args, out)
        secrets.absent(" ".join(args), out)
    assert PERSON in export.read_text(encoding="utf-8-sig")
    secrets.absent("the leads export", export.read_text(encoding="utf-8-sig"))
    secrets.absent("the HTML report", (tmp_path / "report.html").read_text())
    secrets.absent("a rendered e-mail", Path(eml).read_text())


def test_web_pages_and_api_answers_never_show_a_secret(
    secrets: Secrets, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from nurture.web.app import create_app

    _use_smtp(free_port(), monkeypatch)
    make_world()
    client = TestClient(create_app(), raise_server_exceptions=False)
    key = secrets.values[2]
    answers = [
        client.post("/api/leads", json={"email": "api@example.com"}, headers={"X-API-Key": key}),
        client.post("/api/leads", json={"email": "x"}, headers={"X-API-Key": key + "x"}),
        client.post("/api/leads", content=b"{", headers={"X-API-Key": key[:-3]}),
        client.get("/api/tasks", headers={"X-API-Key": key}),  # a scope it lacks
        client.get("/api/docs"),
        client.get("/no/such/page"),
        client.get("/unsubscribe/forged.token"),
        client.get("/feed/forged.ics"),
    ]
    assert answers[0].status_code in (200, 201), answers[0].text
    assert [a.status_code for a in answers[1:4]] == [401, 401, 403]
    sign_in(client, ACCOUNTS["supervisor"])
    for path in ("/", "/team", "/campaigns", "/imports", "/analytics", "/tasks", "/calendar"):
        answers.append(client.get(path))
    for answer in answers:
        assert answer.status_code < 500, (answer.request.url, answer.text[:500])
        secrets.absent(str(answer.request.url), answer.text + str(answer.headers))


def test_a_failed_send_flow_leaves_no_secret_in_prefect(
    secrets: Secrets, prefect_harness: None, refusing_login: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The send flow against a server refusing the login: its state, logs and artifacts."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        LogFilter,
        LogFilterFlowRunId,
    )

    _use_smtp(refusing_login, monkeypatch)
    flows = load_flow_file("send")
    # the task's own retries wait 10 s and more: one try is what is swept here
    monkeypatch.setattr(flows, "send_batch", flows.send_batch.with_options(retries=0))
    state = flows.send_outbox(now=datetime.now(UTC) + timedelta(minutes=1), return_state=True)
    assert state.is_failed() and "535" in (state.message or ""), state.message
    secrets.absent("the flow run's state", f"{state.message} {state.data!r}")
    run_id = state.state_details.flow_run_id

    async def read() -> tuple[str, str]:
        async with get_client() as client:
            logs = await client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id]))
            )
            artifacts = await client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
            )
            runs = await client.read_task_runs()
        task_states = " ".join(
            f"{r.state.message} {r.state.data!r}"
            for r in runs
            if r.flow_run_id == run_id and r.state
        )
        return (
            "\n".join(log.message for log in logs) + task_states,
            "\n".join(f"{a.key} {a.description} {a.data!r}" for a in artifacts),
        )

    import asyncio

    logs, artifacts = asyncio.run(read())
    assert "535" in logs  # the failure is there, told without the password
    secrets.absent("the flow run's logs", logs)
    secrets.absent("the flow run's artifacts", artifacts)
