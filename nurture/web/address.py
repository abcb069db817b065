"""The web app's public base URL, for links that leave the app (calendar feeds, e-mails).

``NURTURE_PUBLIC_URL`` wins when it is set. Without it, ``nurture serve`` records the address
it listens on, and links printed by the CLI in another process point there; before any server
has started, the setting's default is used.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from nurture.config import get_settings
from nurture.db.base import utcnow
from nurture.db.web import WebEndpoint

__all__ = ["public_base_url", "record_served_address", "served_url"]

_ANY_INTERFACE = {"0.0.0.0", "::", ""}


def served_url(host: str, port: int) -> str:
    """The URL a browser on this machine reaches a server listening on ``host:port`` at."""
    if host in _ANY_INTERFACE:
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _configured() -> str | None:
    settings = get_settings()
    return settings.public_url.rstrip("/") if "public_url" in settings.model_fields_set else None


def record_served_address(session: Session, host: str, port: int) -> None:
    """Remember where this server listens, unless ``NURTURE_PUBLIC_URL`` says otherwise."""
    if _configured() is not None:
        return
    row = session.get(WebEndpoint, 1)
    if row is None:
        session.add(WebEndpoint(id=1, base_url=served_url(host, port), started_at=utcnow()))
    else:
        row.base_url = served_url(host, port)
        row.started_at = utcnow()


def public_base_url(session: Session) -> str:
    """``NURTURE_PUBLIC_URL``, else where ``nurture serve`` last listened, else the default."""
    configured = _configured()
    if configured is not None:
        return configured
    row = session.get(WebEndpoint, 1)
    return row.base_url if row is not None else get_settings().public_url.rstrip("/")
