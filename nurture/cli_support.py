"""What every CLI command shares: one-line errors, JSON output, sessions at the edge."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperGroup

from nurture.errors import NurtureError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class NurtureGroup(TyperGroup):
    """Root command group: a :class:`NurtureError` becomes one line on stderr and its exit
    code (a user's bad input is never a traceback; anything else is a bug and keeps one)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except NurtureError as exc:
            typer.echo(f"nurture: {exc.format_message()}", err=True)
            raise typer.Exit(exc.exit_code) from exc


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if hasattr(value, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def print_json(payload: Any) -> None:
    """Exactly one JSON document on stdout (for scripts: ``--json``)."""
    sys.stdout.write(json.dumps(payload, default=_default, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def parse_now(value: str | None) -> datetime:
    """``--now`` as an aware UTC datetime; naive input is taken as UTC."""
    if not value:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not an ISO date-time") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@contextmanager
def cli_session() -> Iterator[Session]:
    """One committed transaction for a CLI command, on the configured database."""
    from nurture.db.session import session_scope

    with session_scope() as session:
        yield session


JsonOption = typer.Option(False, "--json", help="Print one JSON object on stdout.")
NowOption = typer.Option(None, "--now", help="Pretend it is this ISO date-time (UTC if naive).")
