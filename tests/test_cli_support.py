"""The CLI shows a user's mistake as one line with its exit code, and bugs as tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest
import typer
from typer.testing import CliRunner

from nurture.cli_support import NurtureGroup, parse_now, print_json
from nurture.config import get_settings
from nurture.errors import ConfigError, InputError


def _app(exc: Exception) -> typer.Typer:
    app = typer.Typer(cls=NurtureGroup)

    @app.callback()
    def root() -> None:
        """Root."""

    @app.command()
    def boom() -> None:
        raise exc

    return app


def test_input_error_is_one_line_naming_file_row_field() -> None:
    err = InputError(
        '"ivan@@mail" is not an e-mail address', file="leads.csv", row=1042, field="email"
    )
    result = CliRunner().invoke(_app(err), ["boom"])
    assert result.exit_code == 2
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert lines == [
        'nurture: leads.csv row 1042, column "email": "ivan@@mail" is not an e-mail address'
    ]
    assert "Traceback" not in result.output


def test_config_error_names_file_and_line() -> None:
    result = CliRunner().invoke(
        _app(ConfigError("unknown key 'wieght'", file="team.yaml", line=7)), ["boom"]
    )
    assert result.exit_code == 2
    assert "team.yaml line 7: unknown key 'wieght'" in result.output


def test_a_bug_is_not_swallowed() -> None:
    result = CliRunner().invoke(_app(RuntimeError("bug")), ["boom"])
    assert result.exit_code == 1
    assert isinstance(result.exception, RuntimeError)


def test_print_json_is_one_object(capsys: pytest.CaptureFixture[str]) -> None:
    print_json({"when": datetime(2026, 1, 2, tzinfo=UTC), "n": 1})
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert json.loads(out) == {"when": "2026-01-02T00:00:00+00:00", "n": 1}


def test_parse_now_takes_naive_as_utc() -> None:
    assert parse_now("2026-03-01T10:00") == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert parse_now("2026-03-01T10:00+03:00") == datetime(2026, 3, 1, 7, tzinfo=UTC)


def test_settings_come_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NURTURE_DEFAULT_REGION", "GB")
    monkeypatch.setenv("NURTURE_BATCH_SIZE", "123")
    get_settings.cache_clear()
    s = get_settings()
    assert (s.default_region, s.batch_size) == ("GB", 123)


@pytest.mark.slow
def test_installed_cli_initialises_twice(fresh_db: str) -> None:
    cmd = [sys.executable, "-m", "nurture.cli", "init", "--json"]
    first = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    second = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    assert first["revision"] == second["revision"] != ""
