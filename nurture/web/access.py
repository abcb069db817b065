"""Who may open what: roles, the per-route guard, and whose leads a user sees.

Every route of the app declares its audience with :func:`allow` (a dependency that also
marks the route, so ``tests/web/test_access_matrix.py`` can check that no route lacks one).
The answers:

* no session: pages redirect to ``/login?next=...`` (303); htmx and JSON callers get 401;
* a role the page is not for: 403;
* a record outside what the user may see (another manager's lead or deal, another team's
  task): 404, the same answer as for a record that does not exist, so ids cannot be probed.

What each role sees:

===========  ================================================================
manager      their own leads, deals and tasks
supervisor   their own and their team's (the team file's team they supervise)
marketing    campaigns, imports, duplicates, aggregate numbers; no lead card
admin        everything
===========  ================================================================
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from nurture.db.leads import Lead
from nurture.db.team import Manager, Team
from nurture.web import sessions
from nurture.web.sessions import Current

__all__ = [
    "ADMIN",
    "ALL_ROLES",
    "MANAGER",
    "MARKETING",
    "PEOPLE",
    "SUPERVISOR",
    "CsrfFailed",
    "Guard",
    "LoginRequired",
    "Viewer",
    "allow",
    "allow_form",
    "db",
    "lead_for",
    "manager_scope",
    "now",
]

MANAGER, SUPERVISOR, MARKETING, ADMIN = "manager", "supervisor", "marketing", "admin"
ALL_ROLES = (MANAGER, SUPERVISOR, MARKETING, ADMIN)
#: Those who work leads.
PEOPLE = (MANAGER, SUPERVISOR, ADMIN)


class LoginRequired(Exception):
    """No live session: the app's handler redirects pages to the sign-in form."""


def now() -> datetime:
    return datetime.now(UTC)


def db() -> Iterator[Session]:
    """One transaction per request, committed before the answer is sent (use with
    ``Depends(db, scope="function")``)."""
    from nurture.db.session import session_scope

    with session_scope() as session:
        yield session


DB = Annotated[Session, Depends(db, scope="function")]


class Guard:
    """The dependency :func:`allow` returns; ``roles`` is what the access test reads."""

    def __init__(self, roles: tuple[str, ...]) -> None:
        self.roles = roles

    def __call__(self, request: Request) -> Current:
        # Its own short transaction: the page's transaction (and, on SQLite, an import the
        # page starts) never waits behind the session's ``last_seen_at`` write.
        from nurture.db.session import session_scope

        with session_scope() as session:
            current = sessions.load(session, request.cookies.get(sessions.COOKIE), now=now())
        if current is None:
            raise LoginRequired()
        request.state.current = current
        if current.role not in self.roles:
            raise HTTPException(status_code=403)
        return current

    def __repr__(self) -> str:
        return f"allow{self.roles}"


def allow(*roles: str) -> Any:
    """``Depends`` on a guard admitting ``roles``: ``user: Viewer = allow(MANAGER, ADMIN)``."""
    unknown = set(roles) - set(ALL_ROLES)
    if unknown or not roles:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    return Depends(Guard(tuple(roles)))


Viewer = Current


def manager_scope(session: Session, user: Current) -> list[int] | None:
    """The managers whose work ``user`` sees: ``None`` for everyone (admin), else the ids
    (a manager: themself; a supervisor: themself and every member of the teams they lead;
    marketing: nobody)."""
    if user.role == ADMIN:
        return None
    if user.role == MANAGER:
        return [user.manager_id] if user.manager_id is not None else []
    if user.role != SUPERVISOR or user.manager_id is None:
        return []
    me = session.get(Manager, user.manager_id)
    team_ids = select(Team.id).where(Team.supervisor_email == user.email)
    condition: ColumnElement[bool] = Manager.team_id.in_(team_ids)
    if me is not None and me.team_id is not None:
        condition = or_(condition, Manager.team_id == me.team_id)
    ids = set(session.scalars(select(Manager.id).where(condition)))
    ids.add(user.manager_id)
    return sorted(ids)


def lead_for(session: Session, user: Current, lead_id: int) -> Lead:
    """The lead if ``user`` may see it; else 404 (also when it does not exist)."""
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise HTTPException(status_code=404)
    scope = manager_scope(session, user)
    if scope is not None and lead.owner_id not in scope:
        raise HTTPException(status_code=404)
    return lead


def login_redirect_target(request: Request) -> str:
    """``/login?next=<this page>`` (only a local path is ever kept)."""
    path = request.url.path
    if request.url.query:
        path += "?" + request.url.query
    return "/login?next=" + quote(path, safe="")


def safe_next(value: str | None) -> str:
    """A redirect target after sign-in: a local path, never another site."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


class CsrfFailed(Exception):
    """A state-changing request without the session's CSRF token."""


def allow_form(*roles: str) -> Any:
    """Like :func:`allow`, for requests that change something (POST): also checks the CSRF
    token, from the form field ``csrf_token`` or the ``X-CSRF-Token`` header (htmx)."""
    guard_dep = allow(*roles)

    async def checked(request: Request, current: Current = guard_dep) -> Current:
        given = request.headers.get("x-csrf-token")
        if given is None:
            from nurture.web.settings import get_web_settings

            limit = get_web_settings().max_upload_mb * 1024 * 1024
            if int(request.headers.get("content-length") or 0) > limit:
                raise HTTPException(status_code=413)
            form = await request.form()
            value = form.get("csrf_token")
            given = value if isinstance(value, str) else None
        if not sessions.csrf_matches(current.csrf_token, given):
            raise CsrfFailed()
        return current

    checked.guard = guard_dep.dependency  # type: ignore[attr-defined]
    return Depends(checked)
