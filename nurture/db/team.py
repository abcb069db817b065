"""Sales teams, managers, absences, routing rules and the assignment log."""

from __future__ import annotations

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
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from nurture.db.base import Base, utcnow


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    supervisor_email: Mapped[str | None] = mapped_column(String(320))
    is_fallback: Mapped[bool] = mapped_column(default=False)


class Manager(Base):
    """A sales manager or supervisor; ``active`` False means departed (kept for history)."""

    __tablename__ = "managers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    role: Mapped[str] = mapped_column(String(20), default="manager")  # manager|supervisor
    languages: Mapped[list[str] | None] = mapped_column(JSON)
    countries: Mapped[list[str] | None] = mapped_column(JSON)
    cities: Mapped[list[str] | None] = mapped_column(JSON)
    products: Mapped[list[str] | None] = mapped_column(JSON)
    segments: Mapped[list[str] | None] = mapped_column(JSON)
    weekly_capacity: Mapped[int] = mapped_column(Integer, default=50)
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Moscow")
    work_start: Mapped[str] = mapped_column(String(5), default="09:00")
    work_end: Mapped[str] = mapped_column(String(5), default="18:00")
    active: Mapped[bool] = mapped_column(default=True)
    # Smooth weighted round-robin credit inside the team (routing keeps it; never reset when
    # members join or leave, so nobody is favoured by a change of the list).
    rr_credit: Mapped[float] = mapped_column(Float, default=0.0, server_default=text("0"))


class Absence(Base):
    __tablename__ = "absences"
    __table_args__ = (UniqueConstraint("manager_id", "starts_on", "ends_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    manager_id: Mapped[int] = mapped_column(ForeignKey("managers.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(200))


class RoutingRule(Base):
    """Ordered rule: when ``conditions`` match a lead, route to a team or a manager."""

    __tablename__ = "routing_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    conditions: Mapped[dict[str, Any]] = mapped_column(JSON)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("managers.id"))


class Assignment(Base):
    """Audit log: who got which lead, when and why (kind: initial|returning|rebalance)."""

    __tablename__ = "assignments"
    __table_args__ = (Index("ix_assignments_manager_id_assigned_at", "manager_id", "assigned_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    manager_id: Mapped[int] = mapped_column(ForeignKey("managers.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    kind: Mapped[str] = mapped_column(String(20), default="initial")
    rule_name: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # True when the manager was chosen by the team's weighted round-robin (counts for fairness).
    round_robin: Mapped[bool] = mapped_column(default=False, server_default=false())
    previous_manager_id: Mapped[int | None] = mapped_column(ForeignKey("managers.id"))
