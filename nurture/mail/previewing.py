"""What a campaign e-mail would look like for one lead (``nurture template preview``)."""

from __future__ import annotations

from jinja2 import TemplateError
from sqlalchemy.orm import Session

from nurture.config import Settings, get_settings
from nurture.db.leads import Lead
from nurture.errors import InputError, NotFoundError
from nurture.mail.claiming import Claimer
from nurture.mail.factory import FactoryConfig, MessageFactory
from nurture.mail.jobs import ClaimedRow
from nurture.mail.rendering import TemplateMissingError

__all__ = ["preview"]


def preview(session: Session, name: str, lead_id: int, settings: Settings | None = None) -> bytes:
    """The bytes of the message ``name`` (``<campaign>/<step>``) for lead ``lead_id``, as a
    marketing e-mail; the row is not written to the outbox."""
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFoundError(f"lead {lead_id} does not exist")
    settings = settings or get_settings()
    slug = name.split("/", 1)[0]
    row = ClaimedRow(
        id=0,
        dedupe_key=f"preview.{lead_id}.{slug}",
        message_id=f"<preview.{lead_id}.{slug}@{settings.message_id_domain}>",
        kind="marketing",
        lead_id=lead_id,
        manager_id=None,
        campaign_slug=slug,
        step=name.rpartition("/")[2],
        template=name,
        to_addr=lead.email or "no-address@invalid",
        context=None,
        attempts=0,
    )
    (job,) = Claimer(session.get_bind().engine, "preview").jobs(session, [row])
    factory = MessageFactory(FactoryConfig.from_settings(settings))
    try:
        return factory.build(job)
    except (TemplateError, TemplateMissingError) as exc:
        raise InputError(f"{name}: {type(exc).__name__}: {exc}") from exc
