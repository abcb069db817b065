"""CLI of the web app: ``nurture serve`` (alias ``web``), ``nurture users``, ``nurture apikeys``."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

import typer

from nurture.cli_support import JsonOption, cli_session, print_json
from nurture.errors import InputError

users_app = typer.Typer(help="Web accounts: add, list, disable; calendar feed URLs.")
apikeys_app = typer.Typer(help="API keys for web forms and integrations.")


def serve_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
) -> None:
    """Serve the web app (pages, JSON API, calendar feeds, unsubscribe) until stopped.

    Refuses to start with NURTURE_ENV=production and the default NURTURE_SECRET_KEY.
    """
    from nurture.config import secret_key_warning

    warning = secret_key_warning("nurture serve")  # ConfigError in production: exit 2
    if warning:
        typer.echo(warning, err=True)
    from nurture.web.address import record_served_address

    # Recording the address reaches the database first: one that is not ready is one line
    # now, not an error on every page.
    with cli_session() as session:
        record_served_address(session, host, port)
    import uvicorn

    from nurture.web.logs import install

    install()
    typer.echo(f"serving on http://{host}:{port} (Ctrl+C stops)", err=True)
    uvicorn.run("nurture.web.app:create_app", factory=True, host=host, port=port, log_level="info")


def _read_password(password_stdin: bool) -> str | None:
    if password_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise InputError("no password on standard input")
        return password
    if sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        return str(password)
    return None


@users_app.command("add")
def users_add(
    email: str = typer.Argument(
        ..., help="The person's e-mail (for managers: as in the team file)."
    ),
    role: str = typer.Option(..., "--role", help="manager, supervisor, marketing or admin."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
    language: str | None = typer.Option(None, "--language", help="ru or en (default: browser's)."),
    json_out: bool = JsonOption,
) -> None:
    """Create a web account (a manager or supervisor is tied to the team file's person)."""
    from nurture.web.accounts import add_user

    password = _read_password(password_stdin)
    with cli_session() as session:
        user = add_user(session, email, role=role, password=password, language=language)
        data = {
            "id": user.id,
            "email": user.email,
            "role": user.role,
            "manager_id": user.manager_id,
        }
    if json_out:
        print_json({**data, "password_set": password is not None})
        return
    typer.echo(f"{data['email']}: {data['role']} account created")
    if password is None:
        typer.echo("  no password set: it cannot sign in yet (add one with --password-stdin)")


@users_app.command("list")
def users_list(json_out: bool = JsonOption) -> None:
    """Web accounts with their roles and people."""
    from nurture.web.accounts import list_users

    with cli_session() as session:
        accounts = list_users(session)
    if json_out:
        print_json({"users": accounts})
        return
    if not accounts:
        typer.echo("no web accounts: add one with `nurture users add EMAIL --role ...`")
    for a in accounts:
        state = "" if a.active else "  (disabled)"
        typer.echo(f"{a.email:<36} {a.role:<10} {a.name or '-'}{state}")


@users_app.command("disable")
def users_disable(
    email: str = typer.Argument(..., help="The account's e-mail."),
    json_out: bool = JsonOption,
) -> None:
    """Stop an account: no sign-in, its sessions end, its calendar feed URL stops working."""
    from nurture.web.accounts import disable_user

    with cli_session() as session:
        user = disable_user(session, email, now=datetime.now(UTC))
        data = {"email": user.email, "active": user.active}
    if json_out:
        print_json(data)
    else:
        typer.echo(f"{data['email']}: disabled (sessions ended, feed URL revoked)")


@users_app.command("feed-url")
def users_feed_url(
    email: str = typer.Argument(..., help="The account's e-mail."),
    rotate: bool = typer.Option(
        False, "--rotate", help="Revoke the current URL and print a new one."
    ),
    json_out: bool = JsonOption,
) -> None:
    """Print the account's private iCalendar URL (subscribe to it in Google or Outlook)."""
    from nurture.web.accounts import feed_path, find_user, rotate_feed
    from nurture.web.address import public_base_url

    with cli_session() as session:
        user = rotate_feed(session, email) if rotate else find_user(session, email)
        url = public_base_url(session) + feed_path(user)
    if json_out:
        print_json({"email": email.strip().lower(), "url": url, "rotated": rotate})
    else:
        typer.echo(url)


@apikeys_app.command("create")
def apikeys_create(
    name: str = typer.Argument(..., help="What the key is for, e.g. 'site-contact-form'."),
    scopes: list[str] | None = typer.Option(
        None,
        "--scope",
        help="leads:write (default), tasks:read, tasks:write; repeat for several.",
    ),
    json_out: bool = JsonOption,
) -> None:
    """Create an API key and print it once (only its hash is kept)."""
    from nurture.web.apikeys import DEFAULT_SCOPES, create_key

    with cli_session() as session:
        row, key = create_key(session, name, tuple(scopes or DEFAULT_SCOPES))
        data = {"name": row.name, "scopes": list(row.scopes), "key": key}
    if json_out:
        print_json(data)
        return
    typer.echo(key)
    typer.echo(
        f"key {data['name']!r} ({', '.join(data['scopes'])}): store it now, it is not shown "
        "again; send it in the X-API-Key header",
        err=True,
    )


@apikeys_app.command("revoke")
def apikeys_revoke(
    name: str = typer.Argument(..., help="The key's name."),
    json_out: bool = JsonOption,
) -> None:
    """Revoke a key: every call with it is refused from now on."""
    from nurture.web.apikeys import revoke_key

    with cli_session() as session:
        row = revoke_key(session, name, now=datetime.now(UTC))
        data = {"name": row.name, "revoked_at": row.revoked_at}
    if json_out:
        print_json(data)
    else:
        typer.echo(f"key {data['name']!r} revoked")


@apikeys_app.command("list")
def apikeys_list(json_out: bool = JsonOption) -> None:
    """API keys with their scopes and when they were last used (never the keys)."""
    from nurture.web.apikeys import list_keys

    with cli_session() as session:
        rows: list[dict[str, Any]] = [
            {
                "name": k.name,
                "prefix": k.prefix,
                "scopes": list(k.scopes),
                "created_at": k.created_at,
                "last_used_at": k.last_used_at,
                "revoked_at": k.revoked_at,
            }
            for k in list_keys(session)
        ]
    if json_out:
        print_json({"keys": rows})
        return
    for r in rows:
        state = "revoked" if r["revoked_at"] else f"last used {r['last_used_at'] or 'never'}"
        typer.echo(f"{r['name']:<28} nrt_{r['prefix']}_…  {','.join(r['scopes']):<36} {state}")


def register(app: typer.Typer) -> None:
    """Add this capability's commands and sub-groups to ``app``."""
    app.command("serve")(serve_command)
    app.command("web", hidden=True)(serve_command)
    app.add_typer(users_app, name="users")
    app.add_typer(apikeys_app, name="apikeys")
