"""Stored lead-value scores, one row per lead and model version."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from nurture.db.base import Base, utcnow


class LeadScore(Base):
    """A lead's predicted value over the model's horizon; readers take the latest
    ``scored_at`` per lead (see ``nurture.scoring.store.latest_scores_subquery``)."""

    __tablename__ = "lead_scores"
    __table_args__ = (
        Index("ix_lead_scores_model_version_value", "model_version", "predicted_value"),
        Index("ix_lead_scores_lead_id_scored_at", "lead_id", "scored_at"),
    )

    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), primary_key=True)
    model_version: Mapped[str] = mapped_column(String(100), primary_key=True)
    as_of: Mapped[date] = mapped_column(Date)
    predicted_value: Mapped[float] = mapped_column(Float)
    p_purchase: Mapped[float] = mapped_column(Float)
    scored_at: Mapped[datetime] = mapped_column(default=utcnow)
