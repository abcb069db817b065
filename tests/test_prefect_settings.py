"""Prefect, run from the project folder, sends no usage reports: offline, their sending
failed with ``ERROR ... Failed to send telemetry`` in every local flow run."""

from __future__ import annotations

import os
import subprocess
import sys

from nurture.config import PROJECT_ROOT


def test_prefect_analytics_are_off_in_the_project_folder() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "DO_NOT_TRACK"))}
    code = (
        "from prefect.settings import get_current_settings; "
        "print(get_current_settings().server.analytics_enabled)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
