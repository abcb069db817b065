"""What every CLI command shares: one-line errors, JSON output, sessions at the edge."""

from __future__ import annotations

import inspect
import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from typer.core import TyperArgument, TyperGroup, TyperOption

from nurture.errors import (
    DatabaseConnectionLostError,
    DatabaseNotReadyError,
    InputError,
    NurtureError,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class NurtureGroup(TyperGroup):
    """Root command group: a :class:`NurtureError` becomes one line on stderr and its exit
    code (a user's bad input is never a traceback; anything else is a bug and keeps one).

    A database error is looked at once more: when the configured database turns out not to be
    ready (no schema, an older one, an unreachable server), that is the user's line and exit
    2, whichever path the command took to the database; a connection lost mid-command (the
    server restarted) is one line and exit 1, as the next run finishes the work; otherwise it
    is a bug.
    """

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except NurtureError as exc:
            fail(exc)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
            # A path the user typed that cannot be read as a file: their mistake, one line.
            if exc.filename is None:
                raise
            fail(InputError(_path_problem(exc), file=str(exc.filename)), cause=exc)
        except Exception as exc:
            problem = database_problem(exc)
            if problem is not None:
                fail(DatabaseNotReadyError(problem), cause=exc)
            lost = connection_lost(exc)
            if lost is None:
                raise
            fail(DatabaseConnectionLostError(lost), cause=exc)


def _path_problem(exc: OSError) -> str:
    if isinstance(exc, IsADirectoryError):
        return "is a folder, not a file: give the file's path"
    if isinstance(exc, FileNotFoundError | NotADirectoryError):
        return "no such file"
    return "permission denied: this user cannot read (or write) it"


def fail(error: NurtureError, *, cause: BaseException | None = None) -> NoReturn:
    """Print ``error`` as the user's one line on stderr and exit with its code."""
    typer.echo(f"nurture: {error.format_message()}", err=True)
    raise typer.Exit(error.exit_code) from (cause or error)


def database_problem(exc: BaseException) -> str | None:
    """Why the configured database cannot be used, if ``exc`` is a database error and the
    database is not ready; ``None`` for anything else."""
    if "sqlalchemy" not in sys.modules:  # nothing touched a database
        return None
    from sqlalchemy.exc import DBAPIError

    seen: BaseException | None = exc
    while seen is not None and not isinstance(seen, DBAPIError):
        seen = seen.__cause__ or seen.__context__
    if seen is None:
        return None
    from nurture.config import get_settings
    from nurture.db.session import make_engine, schema_problem

    engine = make_engine(get_settings().database_url)
    try:
        return schema_problem(engine)
    finally:
        engine.dispose()


def connection_lost(exc: BaseException) -> str | None:
    """What to tell the user when ``exc`` comes from a database connection that broke
    mid-command: one SQLAlchemy saw invalidated, or a PostgreSQL connection failure or
    shutdown (no SQLSTATE, class 08 or 57P: the server restarting); ``None`` for anything
    else, a deadlock or SQLite's "database is locked" included."""
    if "sqlalchemy" not in sys.modules:
        return None
    from sqlalchemy.exc import DBAPIError

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, DBAPIError):
            state = getattr(seen.orig, "sqlstate", None)
            server_gone = type(seen.orig).__module__.startswith("psycopg") and (
                state is None or state.startswith(("08", "57P"))
            )
            if seen.connection_invalidated or server_gone:
                reason = str(seen.orig).strip().splitlines()[0] if seen.orig else "no reason"
                return (
                    f"lost the database connection in the middle of the command ({reason}); "
                    "what was committed stays: run the command again to finish"
                )
        seen = seen.__cause__ or seen.__context__
    return None


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
NowOption = typer.Option(
    None, "--now", metavar="DATE-TIME", help="Pretend it is this ISO date-time (UTC if naive)."
)
ByOption = typer.Option(
    None, "--by", metavar="NAME", help="Who runs this, for the audit log (default: $USER)."
)

# Options whose values are dates, by name, when their command sets no metavar of its own.
DATE_OPTIONS = {"--from", "--to", "--date", "--as-of", "--start", "--since", "--until"}
TIME_OPTIONS = {"--due-before", "--at", "--now"}
EMAIL_OPTIONS = {"--assignee", "--by", "--email"}


class _Argument(TyperArgument):
    """An argument as ``--help`` shows it: ``FILE`` (``[FILE]`` when optional) in the usage
    line, and no type placeholder beside its name (Typer writes ``{file}`` and ``<path>``)."""

    def _usage_display_name(self) -> str:
        name = self.display_name_raw
        if not self.required and not name.startswith("["):
            name = f"[{name}]"
        return name + ("..." if self.nargs != 1 else "")

    def display_type_rich(self, ctx: Any) -> str | None:
        return None


class _Option(TyperOption):
    """An option as ``--help`` shows it: nothing after a flag, a plain metavar (``FILE``,
    ``N``, ``DATE``, ``[a|b]``) after the others, instead of ``<bool>``, ``<int range>
    [x>=1]`` and the like, whose width squeezed the help text into a narrow column."""

    def display_type_rich(self, ctx: Any) -> str | None:
        if self.is_flag or self.count:
            return None
        if self.metavar is not None:
            return self.metavar
        desc = self.type_descriptor
        if desc.is_choice:
            return "[" + "|".join(str(c) for c in desc.choices or ()) + "]"
        if set(self.opts) & TIME_OPTIONS:
            label = "DATE-TIME"
        elif set(self.opts) & EMAIL_OPTIONS:
            label = "EMAIL"
        elif set(self.opts) & DATE_OPTIONS:
            label = "DATE"
        elif desc.is_path:
            label = "DIR" if "dir" in (self.name or "") else "FILE"
        elif desc.annotation is int or desc.is_ranged:
            label = "N"
        elif desc.annotation is float:
            label = "NUMBER"
        else:
            label = "TEXT"
        return label + ("..." if self.nargs != 1 or self.multiple else "")

    def _get_number_range_help_str(self) -> str | None:
        return None  # the value is still checked; a wrong one says what is allowed


def tidy_help(command: Any) -> Any:
    """Give ``command``, its subcommands and their parameters the help layout above.

    Typer builds its own parameter classes; the commands of ``nurture`` are built once per
    process (``nurture.cli`` loads them), so their parameters are switched to the two
    subclasses here, help option included. Returns ``command``.
    """
    from typer._click import Context

    if isinstance(getattr(command, "help", None), str):
        command.help = reflow_help(command.help)
    for param in getattr(command, "params", ()):
        tidy_param(param)
    if getattr(command, "add_help_option", False):
        tidy_param(command.get_help_option(Context(command)))
    for sub in getattr(command, "commands", {}).values():
        tidy_help(sub)
    return command


_LIST_ITEM = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s")


def reflow_help(text: str) -> str:
    """A docstring as ``--help`` text: paragraphs without hard line breaks (Rich keeps them,
    so a docstring wrapped at 92 columns broke mid-sentence on any terminal), list items and
    indented blocks kept line by line, reST ````code```` shown as `code`."""
    paragraphs = re.split(r"\n\s*\n", inspect.cleandoc(text))
    out = []
    for paragraph in paragraphs:
        lines = paragraph.splitlines()
        if any(_LIST_ITEM.match(line) or line.startswith(" ") for line in lines[1:]):
            out.append(paragraph)
        else:
            out.append(" ".join(line.strip() for line in lines))
    return "\n\n".join(out).replace("``", "`")


def tidy_param(param: Any) -> Any:
    """One parameter of :func:`tidy_help` (``None`` passes through)."""
    if type(param) is TyperArgument:
        param.__class__ = _Argument
        if param.metavar is None:
            param.metavar = (param.name or "value").upper()
    elif type(param) is TyperOption:
        param.__class__ = _Option
    return param
