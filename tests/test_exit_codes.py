"""A user's mistake exits 2 with one line, whatever the command; failures worth retrying
exit 1; bugs keep their traceback (tests/test_cli_support.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from nurture.cli import app
from nurture.errors import (
    ConfigError,
    DatabaseNotReadyError,
    DeliveryError,
    InputError,
    ModelError,
    NotALeadListError,
    NotFoundError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)


def test_every_user_mistake_exits_2_and_delivery_failures_1() -> None:
    for mistake in (
        ConfigError,
        DatabaseNotReadyError,
        InputError,
        NotALeadListError,
        NotFoundError,
        ModelError,
    ):
        assert mistake.exit_code == 2, mistake.__name__
    for failure in (DeliveryError, TemporaryDeliveryError, PermanentDeliveryError):
        assert failure.exit_code == 1, failure.__name__


MISSING = [
    ["leads", "show", "999"],
    ["lead", "show", "999"],
    ["leads", "sources", "999"],
    ["leads", "merge", "998", "999"],
    ["leads", "dismiss", "999"],
    ["leads", "unmerge", "999"],
    ["team", "absent", "nobody@example.com", "--from", "2026-01-05", "--to", "2026-01-09"],
    ["template", "preview", "exhibition/welcome", "--lead", "999", "--out", "{tmp}/x.eml"],
]


@pytest.mark.parametrize("args", MISSING, ids=" ".join)
def test_something_that_does_not_exist_is_one_line_and_exit_2(
    fresh_db: str, tmp_path: Path, args: list[str]
) -> None:
    result = CliRunner().invoke(app, [a.replace("{tmp}", str(tmp_path)) for a in args])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("nurture: "), result.output
    assert any(w in lines[0] for w in ("998", "999", "nobody@example.com")), lines[0]


PATH_MISTAKES = [
    ["playbook", "roles", "{folder}"],
    ["playbook", "load", "{folder}"],
    ["playbook", "roles", "{missing}"],
    ["campaign", "load", "{folder}"],
    ["team", "load", "{folder}"],
    ["purchases", "import", "{folder}"],
    ["leads", "export", "--out", "{folder}"],
    ["leads", "export", "--out", "{missing_dir}/leads.csv"],
]


@pytest.mark.parametrize("args", PATH_MISTAKES, ids=" ".join)
def test_a_folder_or_missing_path_given_as_a_file_is_one_line_and_exit_2(
    fresh_db: str, tmp_path: Path, args: list[str]
) -> None:
    folder = tmp_path / "lists"
    folder.mkdir()
    paths = {
        "{folder}": str(folder),
        "{missing}": str(tmp_path / "nosuch.yaml"),
        "{missing_dir}": str(tmp_path / "nosuch"),
    }
    argv = [paths.get(a, a) for a in args]
    argv = [a.replace("{missing_dir}", paths["{missing_dir}"]) for a in argv]
    result = CliRunner().invoke(app, argv)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("nurture: "), result.output
    assert str(tmp_path) in lines[0] and "Errno" not in lines[0], lines[0]
