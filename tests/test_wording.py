"""Counted words agree with their number in what commands print ("1 suppression", not
"1 suppressions"; no "lead(s)")."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from nurture.cli import app


def test_counts_in_command_output_agree_with_their_numbers(fresh_db: str) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["suppress", "add", "one@example.com"]).exit_code == 0
    listed = runner.invoke(app, ["suppress", "list"])
    assert listed.exit_code == 0 and re.search(r"^1 suppression$", listed.stderr, re.M)
    runner.invoke(app, ["suppress", "add", "two@example.com"])
    assert re.search(r"^2 suppressions$", runner.invoke(app, ["suppress", "list"]).stderr, re.M)
    requeued = runner.invoke(app, ["outbox", "requeue", "--status", "unknown"])
    assert requeued.exit_code == 0 and "0 messages requeued" in requeued.output
    for result in (listed, requeued):
        assert "(s)" not in result.output
