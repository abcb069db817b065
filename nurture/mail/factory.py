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

from jinja2 import TemplateError

from nurture.mail.blocking import block_reason
from nurture.mail.dkim import DkimSigner, signer_from_settings
from nurture.mail.message import MessageBuilder
from nurture.mail.rendering import Renderer, TemplateMissingError
from nurture.mail.tokens import make_token

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
        return cls(
            templates_dir=Path(settings.templates_dir),
            sender_email=settings.sender_email,
            sender_name=settings.sender_name,
            secret_key=settings.secret_key,
            public_url=settings.public_url.rstrip("/"),
            unsubscribe_mailto=settings.unsubscribe_mailto,
            dkim=signer_from_settings(settings),
        )


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

    def unsubscribe_links(
        self, to_addr: str, lead_id: int | None, campaign: str | None
    ) -> tuple[str, list[str]]:
        """The https URL for the footer and both List-Unsubscribe URIs (mailto, https)."""
        token = make_token(
            to_addr, secret=self.config.secret_key, lead_id=lead_id, campaign=campaign
        )
        url = f"{self.config.public_url}/unsubscribe/{token}"
        # the token is URL-safe base64 and ".", so only the space needs escaping
        mailto = f"mailto:{self.config.unsubscribe_mailto}?subject=unsubscribe%20{token}"
        return url, [mailto, url]

    def build(self, job: Job, *, now: datetime | None = None) -> bytes:
        """Render and build the bytes of one job (raises on template problems)."""
        row = job.row
        marketing = row.kind == "marketing"
        url, uris = (
            self.unsubscribe_links(row.to_addr, row.lead_id, row.campaign_slug)
            if marketing
            else (None, [])
        )
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
