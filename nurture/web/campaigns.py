"""What the campaigns pages show and do: numbers per campaign, launch/pause/resume, previews.

* Numbers: ``enrolled`` counts enrolments (a lead enrolled again in a later cycle counts
  again), ``stopped`` those a stop rule ended, ``unsubscribed`` the enrolled leads that have
  unsubscribed since, ``sent`` and ``failed`` the campaign's outbox rows (``failed``:
  permanently failed or, after a cut connection, of unknown fate). Five grouped queries for
  all campaigns at once, whatever their number.
* States: a campaign is *running* when ``active``; an inactive one that never enrolled
  anybody is *not launched* (``Launch``), otherwise *paused* (``Resume``). Pausing makes the
  nurture cycle skip it (:func:`nurture.cadence.campaigns.load_specs` loads active campaigns
  only): no new touches are planned; e-mails already queued keep their place. Resuming
  plans from where each enrolment stands; every touch has its unique key, so nothing is
  sent twice.
* Previews go through the mail capability's own path (:func:`nurture.mail.sender.preview`,
  the message the sender would build) for a sample lead, once per language: the lead's
  ``language`` is set inside a savepoint that is rolled back, so nothing is written.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nurture.db.cadence import Campaign, Enrollment
from nurture.db.leads import Lead
from nurture.db.mail import OutboxMessage
from nurture.errors import InputError, NotFoundError, NurtureError

__all__ = [
    "CampaignRow",
    "Preview",
    "campaign_rows",
    "find_campaign",
    "preview_step",
    "sample_lead",
    "set_running",
]

FAILED_STATES = ("failed_perm", "unknown")


@dataclass
class CampaignRow:
    id: int
    slug: str
    name: str
    priority: int
    active: bool
    steps: list[dict[str, Any]] = field(default_factory=list)
    enrolled: int = 0
    stopped: int = 0
    unsubscribed: int = 0
    sent: int = 0
    failed: int = 0

    @property
    def state(self) -> str:
        if self.active:
            return "running"
        return "paused" if self.enrolled else "draft"


def _steps(definition: dict[str, Any]) -> list[dict[str, Any]]:
    from nurture.cadence.campaigns import CampaignSpec

    spec = CampaignSpec.model_validate(definition)
    days = spec.nominal_days()
    return [
        {
            "name": s.name,
            "day": day,
            "channel": s.channel,
            "template": spec.template_for(s) if s.channel == "email" else None,
        }
        for s, day in zip(spec.steps, days, strict=True)
    ]


def campaign_rows(session: Session, *, slug: str | None = None) -> list[CampaignRow]:
    """Every campaign (or the one ``slug``) with its numbers, highest priority first."""
    query = select(Campaign).order_by(Campaign.priority.desc(), Campaign.id)
    if slug is not None:
        query = query.where(Campaign.slug == slug)
    rows = {
        c.id: CampaignRow(
            id=c.id,
            slug=c.slug,
            name=c.name,
            priority=c.priority,
            active=c.active,
            steps=_steps(c.definition),
        )
        for c in session.scalars(query)
    }
    if not rows:
        return []
    ids = list(rows)
    by_slug = {r.slug: r for r in rows.values()}
    for cid, status, n in session.execute(
        select(Enrollment.campaign_id, Enrollment.status, func.count())
        .where(Enrollment.campaign_id.in_(ids))
        .group_by(Enrollment.campaign_id, Enrollment.status)
    ):
        rows[cid].enrolled += n
        if status == "stopped":
            rows[cid].stopped += n
    for cid, n in session.execute(
        select(Enrollment.campaign_id, func.count(func.distinct(Enrollment.lead_id)))
        .join(Lead, Lead.id == Enrollment.lead_id)
        .where(Enrollment.campaign_id.in_(ids), Lead.unsubscribed_at.is_not(None))
        .group_by(Enrollment.campaign_id)
    ):
        rows[cid].unsubscribed = n
    for slug_, status, n in session.execute(
        select(OutboxMessage.campaign_slug, OutboxMessage.status, func.count())
        .where(OutboxMessage.campaign_slug.in_(list(by_slug)))
        .group_by(OutboxMessage.campaign_slug, OutboxMessage.status)
    ):
        row = by_slug[str(slug_)]
        if status == "sent":
            row.sent += n
        elif status in FAILED_STATES:
            row.failed += n
    return list(rows.values())


def find_campaign(session: Session, slug: str) -> Campaign:
    campaign = session.scalars(select(Campaign).where(Campaign.slug == slug)).first()
    if campaign is None:
        raise NotFoundError(f"no campaign {slug!r}")
    return campaign


def set_running(session: Session, slug: str, running: bool) -> Campaign:
    """Launch or resume (``True``) or pause (``False``) a campaign."""
    campaign = find_campaign(session, slug)
    campaign.active = running
    return campaign


def sample_lead(session: Session, slug: str) -> int | None:
    """A lead to preview with: one enrolled in the campaign, else any live lead with an
    e-mail address."""
    campaign = find_campaign(session, slug)
    enrolled = session.scalars(
        select(Enrollment.lead_id)
        .where(Enrollment.campaign_id == campaign.id)
        .order_by(Enrollment.id)
        .limit(1)
    ).first()
    if enrolled is not None:
        return int(enrolled)
    any_lead = session.scalars(
        select(Lead.id)
        .where(Lead.merged_into_id.is_(None), Lead.email.is_not(None))
        .order_by(Lead.id)
        .limit(1)
    ).first()
    return int(any_lead) if any_lead is not None else None


@dataclass(frozen=True)
class Preview:
    language: str
    subject: str
    html: str
    text: str
    error: str | None = None


def _parts(message: bytes) -> tuple[str, str, str]:
    msg = email.message_from_bytes(message, policy=email.policy.default)
    html = text = ""
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "text/html" and not html:
            html = str(part.get_content())
        elif ctype == "text/plain" and not text:
            text = str(part.get_content())
    return str(msg.get("Subject", "")), html, text


def preview_step(session: Session, template: str, lead_id: int) -> list[Preview]:
    """The e-mail ``template`` for the lead, in English and in Russian (nothing written)."""
    from nurture.mail import preview

    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFoundError(f"lead {lead_id} does not exist")
    out: list[Preview] = []
    for language in ("en", "ru"):
        savepoint = session.begin_nested()
        try:
            lead.language = language
            session.flush()
            subject, html, text = _parts(preview(session, template, lead_id))
            out.append(Preview(language, subject, html, text))
        except (InputError, NurtureError, LookupError) as exc:
            message = exc.format_message() if isinstance(exc, NurtureError) else str(exc)
            out.append(Preview(language, "", "", "", error=message))
        finally:
            savepoint.rollback()
    session.expire(lead)
    return out
