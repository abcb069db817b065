"""A user's own settings as the pages use them: time zone and the person behind the account."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from nurture.config import get_settings
from nurture.db.team import Manager
from nurture.web.sessions import Current

__all__ = ["person_of", "user_timezone", "zone_of"]


def person_of(session: Session, user: Current) -> Manager | None:
    return session.get(Manager, user.manager_id) if user.manager_id is not None else None


def user_timezone(session: Session, user: Current) -> str:
    """The account's zone, else its person's (team file), else the default zone; always a
    zone that exists."""
    person = person_of(session, user)
    for name in (user.timezone, person.timezone if person else None, get_settings().timezone):
        if name:
            try:
                ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
            return name
    return "UTC"


def zone_of(session: Session, user: Current) -> ZoneInfo:
    return ZoneInfo(user_timezone(session, user))
