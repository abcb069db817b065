"""Turning a claimed outbox row into the bytes to send: suppression decision, rendering,
MIME building and DKIM signing, as plain functions of plain data.

Rendering and MIME building cost about as much CPU as the SMTP conversation itself, so big
sends run them in a separate process (:class:`RenderPool`, ``NURTURE_RENDER_WORKERS``) while
the sender's event loop only talks SMTP and keeps the books. Everything a worker process needs
travels in :class:`FactoryConfig` (no database, no settings lookups in the worker).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from jinja2 import TemplateError

from nurture.errors import ConfigError
from nurture.mail.blocking import block_reason
from nurture.mail.dkim import DkimSigner, signer_from_settings
from nurture.mail.message import MessageBuilder, format_address
from nurture.mail.rendering import Renderer, TemplateMissingError
from nurture.mail.smtp_url import mask_url
from nurture.mail.tokens import message_token

if TYPE_CHECKING:
    from nurture.config import Settings
    from nurture.mail.jobs import ClaimedRow, Job

__all__ = [
    "ClaimSetup",
    "FactoryConfig",
    "MessageFactory",
    "Prepared",
    "Ready",
]


@dataclass(frozen=True)
class FactoryConfig:
    templates_dir: Path
    sender_email: str
    sender_name: str | None
    secret_key: str
    public_url: str
    unsubscribe_mailto: str
    dkim: DkimSigner | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> FactoryConfig:
        """The settings messages are built from, checked: a value that would spoil every
        message is one :class:`~nurture.errors.ConfigError` naming the setting."""
        return cls(
            templates_dir=Path(settings.templates_dir),
            sender_email=_address("NURTURE_SENDER_EMAIL", settings.sender_email),
            sender_name=settings.sender_name,
            secret_key=settings.secret_key,
            public_url=public_base_url(settings.public_url),
            unsubscribe_mailto=_address("NURTURE_UNSUBSCRIBE_MAILTO", settings.unsubscribe_mailto),
            dkim=signer_from_settings(settings),
        )


def public_base_url(url: str) -> str:
    """``NURTURE_PUBLIC_URL`` without its trailing slash, checked: links are built on it."""
    shown = mask_url(url)
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises on a port that is not a number from 0 to 65535
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or any(c.isspace() for c in url.strip())
    ):
        raise ConfigError(
            "NURTURE_PUBLIC_URL must be the web app's address, like https://mail.example.com "
            f"(no query): got {shown!r}"
        )
    return url.strip().rstrip("/")


def _address(setting: str, value: str) -> str:
    """An address Nurture sends from or asks replies to, checked once."""
    value = value.strip()
    try:
        local, _, domain = value.rpartition("@")
        if not local or not domain or any(c.isspace() or c in "<>,;?&" for c in value):
            raise ValueError(value)
        format_address(value)
    except (ValueError, UnicodeError):
        raise ConfigError(f"{setting} must be one e-mail address: got {value!r}") from None
    return value


@dataclass(frozen=True)
class Prepared:
    """Bytes ready to send, or the final status (suppressed, failed_perm, failed_temp) and why.

    ``template_error`` marks a problem with the template (not the address)."""

    data: bytes | None = None
    status: str | None = None
    error: str | None = None
    template_error: bool = False


#: A prepared message as the sender's connections use it, in a plain tuple (cheap to pickle
#: from a render worker and to unpack): ``(outbox id, dedupe key, to_addr, attempts, data,
#: status, error, template_error)``; ``data`` is None when ``status`` says why not.
Ready = tuple[int, str, str, int, bytes | None, str | None, str | None, bool]


def ready(row: ClaimedRow, prepared: Prepared) -> Ready:
    """What the sender needs of a claimed row and its prepared message."""
    return (
        row.id,
        row.dedupe_key,
        row.to_addr,
        row.attempts,
        prepared.data,
        prepared.status,
        prepared.error,
        prepared.template_error,
    )


class MessageFactory:
    """Builds messages for claimed rows (in the sender or in a :class:`RenderPool` worker)."""

    def __init__(self, config: FactoryConfig) -> None:
        self.config = config
        self.renderer = Renderer(config.templates_dir)
        self.builder = MessageBuilder(
            sender_email=config.sender_email, sender_name=config.sender_name
        )

    def unsubscribe_links(self, outbox_id: int) -> tuple[str, list[str]]:
        """The URL for the footer and both List-Unsubscribe URIs (mailto, https) of outbox
        message ``outbox_id`` (the token names the message, not the address)."""
        token = message_token(outbox_id, secret=self.config.secret_key)
        url = f"{self.config.public_url}/unsubscribe/{token}"
        # the token is URL-safe base64 and ".", so only the space needs escaping
        mailto = f"mailto:{self.config.unsubscribe_mailto}?subject=unsubscribe%20{token}"
        return url, [mailto, url]

    def build(self, job: Job, *, now: datetime | None = None) -> bytes:
        """Render and build the bytes of one job (raises on template problems)."""
        row = job.row
        marketing = row.kind == "marketing"
        url, uris = self.unsubscribe_links(row.id) if marketing else (None, [])
        # Digests and system mail have no lead: their row context names the language.
        language = (job.lead.get("language") if job.lead else None) or (row.context or {}).get(
            "language"
        )
        context: dict[str, Any] = {
            "lead": job.lead,
            "manager": job.manager,
            "campaign": job.campaign,
            "unsubscribe_url": url,
            "language": language or "en",
        }
        if row.context:
            context.update(row.context)
        rendered = self.renderer.render(row.template, language, context)
        data = self.builder.build(
            to_addr=row.to_addr,
            subject=rendered.subject,
            html=rendered.html,
            text=rendered.text,
            message_id=row.message_id,
            date=now or datetime.now(UTC),
            list_unsubscribe=uris,
        )
        return self.config.dkim.sign(data) if self.config.dkim is not None else data

    def prepare(self, job: Job, *, now: datetime | None = None) -> Prepared:
        """The send decision for one job: bytes to send, or why not."""
        row = job.row
        reason = block_reason(
            kind=row.kind, campaign=row.campaign_slug, scopes=job.scopes, lead=job.flags
        )
        if reason is not None:
            return Prepared(status="suppressed", error=reason)
        try:
            return Prepared(data=self.build(job, now=now))
        except ValueError as exc:
            if "cannot send to" in str(exc):  # an address we cannot encode: not a template bug
                return Prepared(status="failed_perm", error=str(exc))
            return Prepared(
                status="failed_temp", error=_describe(row.template, exc), template_error=True
            )
        except (TemplateError, TemplateMissingError, UnicodeError) as exc:
            return Prepared(
                status="failed_temp", error=_describe(row.template, exc), template_error=True
            )


def _describe(template: str, exc: BaseException) -> str:
    return f"{template}: {type(exc).__name__}: {exc}"


@dataclass(frozen=True)
class ClaimSetup:
    """Lets render workers claim rows themselves, in the sender's name: the database URL and
    the sender's worker id (``claimed_by``; its journal and reconciliation stay the sender's)."""

    database_url: str
    worker: str
