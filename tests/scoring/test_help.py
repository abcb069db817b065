"""`nurture score ... --help` reads well at any terminal width: a one-line summary, then
paragraphs that reflow (no hard line breaks inside them), and named placeholders."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from nurture.cli import app
from nurture.scoring.commands import score_app

COMMANDS = typer.main.get_command(score_app).commands  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_paragraphs_reflow(name: str) -> None:
    command = COMMANDS[name]
    summary, *paragraphs = (command.help or "").split("\n\n")
    assert "\n" not in summary and len(summary) <= 72
    assert all("\n" not in paragraph for paragraph in paragraphs)
    for param in command.params:
        # Flags need none; --method lists its choices; --now is the CLI's shared option.
        if param.name in ("help", "json_out", "now", "method") or getattr(param, "is_flag", False):
            continue
        assert param.metavar, f"{name} {param.opts}: a placeholder like DATE or FILE"


def test_predict_help_wraps_as_prose_on_a_narrow_terminal() -> None:
    result = CliRunner().invoke(app, ["score", "predict", "--help"], env={"COLUMNS": "60"})
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "writes one row per customer seen by then: customer_id, predicted_value" in text
    assert "<str>" not in result.stdout and "<path>" not in result.stdout
