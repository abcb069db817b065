"""CLI commands of this capability, registered on the root ``nurture`` app."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this capability's commands and sub-groups to ``app``."""
