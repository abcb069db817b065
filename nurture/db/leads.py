"""Leads and where they came from: events, import batches, sources, quarantine, merges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from nurture.db.base import Base, utcnow


class Event(Base):
    """An exhibition, seminar, webinar, mailing or web form where leads were met."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(400), unique=True)  # kind:name:date
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20))
    event_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ImportBatch(Base):
    """One file imported for one event; (file hash, event) makes re-imports idempotent."""

    __tablename__ = "import_batches"
    __table_args__ = (UniqueConstraint("file_sha256", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    file_name: Mapped[str] = mapped_column(String(500))
    file_sha256: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    status: Mapped[str] = mapped_column(String(20), default="running")  # running|done|failed
    rows: Mapped[int] = mapped_column(Integer, default=0)
    blank: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    merged: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    possible_duplicates: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[int] = mapped_column(Integer, default=0)
    mapping: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    # Highest input row number fully accounted for (committed with its chunk): a resumed
    # import skips everything up to here, blank rows included.
    last_row: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


ACTIVE = text("merged_into_id IS NULL")


@dataclass(frozen=True)
class LeadField:
    """One field of a lead that people and templates see (a column of ``leads``).

    ``fillable``: intake fills it on an existing lead when the lead has none (and a merge
    takes it from the merged lead); ``exported``: a column of ``nurture leads export``;
    ``template``: visible to e-mail and document templates as ``lead.<name>``;
    ``routing``: a fact routing rules may test.
    """

    name: str
    en: str
    ru: str
    fillable: bool = True
    exported: bool = True
    template: bool = True
    routing: bool = False


#: The one list of a lead's fields. Adding a column to ``Lead`` that people or templates
#: see means adding it here (and to a migration); every list below derives from this one.
LEAD_FIELDS: tuple[LeadField, ...] = (
    LeadField("first_name", "First name", "Имя"),
    LeadField("last_name", "Last name", "Фамилия"),
    LeadField("middle_name", "Middle name", "Отчество"),
    LeadField("email", "E-mail", "E-mail", fillable=False),
    LeadField("phone", "Phone", "Телефон", fillable=False),
    LeadField("company", "Company", "Компания", routing=True),
    LeadField("title", "Job title", "Должность"),
    LeadField("city", "City", "Город", routing=True),
    LeadField("country", "Country", "Страна", routing=True),
    LeadField("language", "Language", "Язык", exported=False, routing=True),
    LeadField("timezone", "Time zone", "Часовой пояс", exported=False),
    LeadField("interest", "Interest", "Интерес", exported=False, routing=True),
    LeadField("segment", "Segment", "Сегмент", fillable=False, exported=False, routing=True),
)

#: Contacts: how intake recognises a person again (unique among live leads).
CONTACT_FIELDS: tuple[str, ...] = ("email", "phone")
#: Filled on an existing lead by a later source row when the lead lacks them. ``name_key``
#: is derived from the names, so it travels with them.
FILLABLE_FIELDS: tuple[str, ...] = (
    *(f.name for f in LEAD_FIELDS if f.fillable),
    "name_key",
)
#: Columns of the lead export, in order.
EXPORTED_FIELDS: tuple[str, ...] = tuple(f.name for f in LEAD_FIELDS if f.exported)
#: What templates see of a lead (besides ``id``, ``owner_id`` and ``extra``).
TEMPLATE_FIELDS: tuple[str, ...] = tuple(f.name for f in LEAD_FIELDS if f.template)
#: Facts routing rules can test.
ROUTING_FIELDS: tuple[str, ...] = tuple(f.name for f in LEAD_FIELDS if f.routing)


def field_label(name: str, language: str = "en") -> str:
    """A field's label in ``language`` (``ru`` or ``en``); the name itself when unknown."""
    for f in LEAD_FIELDS:
        if f.name == name:
            return f.ru if language == "ru" else f.en
    return name


class Lead(Base):
    """A person we met. ``merged_into_id`` set means this record was merged (reversibly)."""

    __tablename__ = "leads"
    __table_args__ = (
        Index("ix_leads_owner_status", "owner_id", "status"),
        # One live lead per e-mail and per phone, even with two importers at once; also the
        # lookup indexes by e-mail and phone (0009 dropped the plain ones: queries say
        # ``merged_into_id IS NULL`` and use these)
        Index(
            "uq_leads_email_active",
            "email",
            unique=True,
            sqlite_where=ACTIVE,
            postgresql_where=ACTIVE,
        ),
        Index(
            "uq_leads_phone_active",
            "phone",
            unique=True,
            sqlite_where=ACTIVE,
            postgresql_where=ACTIVE,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(32))  # E.164
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    middle_name: Mapped[str | None] = mapped_column(String(200))
    company: Mapped[str | None] = mapped_column(String(300))
    title: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(2))  # ISO 3166-1 alpha-2
    language: Mapped[str | None] = mapped_column(String(8))  # ru, en
    timezone: Mapped[str | None] = mapped_column(String(64))  # IANA
    interest: Mapped[str | None] = mapped_column(String(200))
    segment: Mapped[str | None] = mapped_column(String(100))
    # open | converted | lost | closed
    status: Mapped[str] = mapped_column(String(20), default="open")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("managers.id"))
    previous_owner_id: Mapped[int | None] = mapped_column(ForeignKey("managers.id"))
    email_status: Mapped[str] = mapped_column(String(20), default="ok")  # ok|undeliverable
    do_not_contact: Mapped[bool] = mapped_column(default=False)
    unsubscribed_at: Mapped[datetime | None]
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), index=True)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Blocking key for fuzzy duplicate search: casefolded surname | first initial.
    name_key: Mapped[str | None] = mapped_column(String(120), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    last_touch_at: Mapped[datetime | None]
    last_activity_at: Mapped[datetime | None]  # reply, purchase, outcome recorded


class LeadSource(Base):
    """Provenance: one input row that became (or was linked to) a lead.

    ``lead_id``, ``event_id`` and ``batch_id`` name rows of ``leads``, ``events`` and
    ``import_batches`` without foreign-key constraints (0010): the importer writes them in
    the transaction that creates or locks those rows, nothing deletes them, and the
    per-row constraint triggers were a third of a PostgreSQL import."""

    __tablename__ = "lead_sources"
    __table_args__ = (UniqueConstraint("batch_id", "row_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(index=True)  # leads.id
    event_id: Mapped[int] = mapped_column(index=True)  # events.id
    batch_id: Mapped[int] = mapped_column()  # import_batches.id
    row_number: Mapped[int] = mapped_column(Integer)
    file_name: Mapped[str] = mapped_column(String(500))
    outcome: Mapped[str] = mapped_column(String(20))  # created | merged
    met_on: Mapped[date | None] = mapped_column(Date)  # row's own date, else the event's
    # Fields this row filled on an existing lead (so the link can be split off again).
    filled: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    warnings: Mapped[list[str] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class QuarantineRow(Base):
    """An input row that could not become a lead, with the reasons, ready to fix."""

    __tablename__ = "quarantine"
    __table_args__ = (UniqueConstraint("batch_id", "row_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id"), index=True)
    row_number: Mapped[int] = mapped_column(Integer)
    file_name: Mapped[str] = mapped_column(String(500))
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reasons: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]


class LeadMerge(Base):
    """A merge of ``merged_id`` into ``survivor_id``; ``snapshot`` makes it reversible."""

    __tablename__ = "lead_merges"

    id: Mapped[int] = mapped_column(primary_key=True)
    survivor_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    merged_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    undone_at: Mapped[datetime | None]


class PossibleDuplicate(Base):
    """Similar name + company with different contacts: for a human to review."""

    __tablename__ = "possible_duplicates"
    __table_args__ = (UniqueConstraint("lead_id", "candidate_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    similarity: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open|merged|dismissed
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
