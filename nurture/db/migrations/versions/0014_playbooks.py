"""playbooks: one task model for all human work, deals, playbook versions, escalations,
documents and approvals, automated step runs, requests to other systems, role pools and the
append-only event log.

``tasks`` gains the playbook action's deal, stage and action, the outcome form's values, a
note, who completed it, why it was cancelled, and the escalation run's bookkeeping (reminder,
first seen overdue, chain level and next level's time, fallback e-mail). Tasks that the
previous per-task escalation already escalated start at level 1, so upgrading never tells a
supervisor twice.

Foreign keys: the new tables people write (deals, documents, approvals, step runs, requests,
role members) have them; ``tasks``, ``escalations`` and ``event_log`` do not (set-based
writers derive their ids from the parent rows; see docs/playbooks.md).

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

from nurture.db.base import UTCDateTime

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "escalations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("fired_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=True),
        sa.Column("from_manager_id", sa.Integer(), nullable=True),
        sa.Column("to_manager_id", sa.Integer(), nullable=True),
        sa.Column("overdue_seconds", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalations")),
        sa.UniqueConstraint("task_id", "level", name=op.f("uq_escalations_task_id_level")),
    )
    op.create_table(
        "event_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("deal_id", sa.Integer(), nullable=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=320), nullable=True),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_log")),
    )
    op.create_index("ix_event_log_deal_id_at", "event_log", ["deal_id", "at"], unique=False)
    op.create_index("ix_event_log_lead_id_at", "event_log", ["lead_id", "at"], unique=False)
    op.create_index("ix_event_log_type_at", "event_log", ["type", "at"], unique=False)
    op.create_table(
        "playbook_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=500), nullable=False),
        sa.Column(
            "definition",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("loaded_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_playbook_versions")),
        sa.UniqueConstraint("name", "sha256", name=op.f("uq_playbook_versions_name_sha256")),
        sa.UniqueConstraint("name", "version", name=op.f("uq_playbook_versions_name_version")),
    )
    op.create_table(
        "role_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=50), nullable=False),
        sa.Column("manager_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["manager_id"], ["managers.id"], name=op.f("fk_role_members_manager_id_managers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_members")),
        sa.UniqueConstraint("role", "manager_id", name=op.f("uq_role_members_role_manager_id")),
    )
    op.create_table(
        "deals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("playbook", sa.String(length=100), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=100), nullable=False),
        sa.Column("stage_entered_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.Float(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column(
            "fields",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("opened_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.String(length=320), nullable=True),
        sa.Column("closed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=True),
        sa.Column("last_progress_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("stalled_reported_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_deals_lead_id_leads")),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["managers.id"], name=op.f("fk_deals_owner_id_managers")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["playbook_versions.id"],
            name=op.f("fk_deals_version_id_playbook_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deals")),
    )
    op.create_index(op.f("ix_deals_lead_id"), "deals", ["lead_id"], unique=False)
    op.create_index(op.f("ix_deals_owner_id"), "deals", ["owner_id"], unique=False)
    op.create_index(
        "ix_deals_status_last_progress_at", "deals", ["status", "last_progress_at"], unique=False
    )
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("template", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column(
            "approvals_required",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "context",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("public_token", sa.String(length=64), nullable=False),
        sa.Column("rendered_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("rendered_by", sa.String(length=320), nullable=True),
        sa.Column("sent_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_by", sa.String(length=320), nullable=True),
        sa.ForeignKeyConstraint(["deal_id"], ["deals.id"], name=op.f("fk_documents_deal_id_deals")),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_documents_lead_id_leads")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.UniqueConstraint("deal_id", "key", name=op.f("uq_documents_deal_id_key")),
        sa.UniqueConstraint("public_token", name=op.f("uq_documents_public_token")),
    )
    op.create_index(op.f("ix_documents_lead_id"), "documents", ["lead_id"], unique=False)
    op.create_table(
        "outbound_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=True),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=100), nullable=False),
        sa.Column("target", sa.String(length=100), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["deal_id"], ["deals.id"], name=op.f("fk_outbound_requests_deal_id_deals")
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_outbound_requests_lead_id_leads")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_requests")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbound_requests_idempotency_key")),
    )
    op.create_index(
        op.f("ix_outbound_requests_deal_id"), "outbound_requests", ["deal_id"], unique=False
    )
    op.create_index(
        "ix_outbound_requests_status_next_attempt_at",
        "outbound_requests",
        ["status", "next_attempt_at"],
        unique=False,
    )
    op.create_table(
        "step_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("target", sa.String(length=500), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("timeout_s", sa.Float(), nullable=False),
        sa.Column("backoff_s", sa.Float(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "result",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["deal_id"], ["deals.id"], name=op.f("fk_step_runs_deal_id_deals")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_step_runs")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_step_runs_idempotency_key")),
    )
    op.create_index(op.f("ix_step_runs_deal_id"), "step_runs", ["deal_id"], unique=False)
    op.create_index(
        "ix_step_runs_status_next_attempt_at",
        "step_runs",
        ["status", "next_attempt_at"],
        unique=False,
    )
    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=50), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_approvals_document_id_documents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
        sa.UniqueConstraint(
            "document_id",
            "revision",
            "position",
            name=op.f("uq_approvals_document_id_revision_position"),
        ),
    )
    op.add_column("tasks", sa.Column("deal_id", sa.Integer(), nullable=True))
    op.add_column("tasks", sa.Column("stage", sa.String(length=100), nullable=True))
    op.add_column("tasks", sa.Column("action", sa.String(length=100), nullable=True))
    op.add_column("tasks", sa.Column("role", sa.String(length=50), nullable=True))
    op.add_column(
        "tasks",
        sa.Column(
            "outcome_values",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
    )
    op.add_column("tasks", sa.Column("note", sa.Text(), nullable=True))
    op.add_column("tasks", sa.Column("completed_by", sa.String(length=320), nullable=True))
    op.add_column("tasks", sa.Column("cancel_reason", sa.String(length=300), nullable=True))
    op.add_column("tasks", sa.Column("remind_at", UTCDateTime(timezone=True), nullable=True))
    op.add_column("tasks", sa.Column("reminded_at", UTCDateTime(timezone=True), nullable=True))
    op.add_column("tasks", sa.Column("overdue_at", UTCDateTime(timezone=True), nullable=True))
    op.add_column(
        "tasks",
        sa.Column("escalation_level", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.add_column("tasks", sa.Column("escalate_at", UTCDateTime(timezone=True), nullable=True))
    op.add_column("tasks", sa.Column("fallback_at", UTCDateTime(timezone=True), nullable=True))
    op.create_index("ix_tasks_deal_id", "tasks", ["deal_id"], unique=False)
    op.create_index(
        "ix_tasks_due_at_unseen",
        "tasks",
        ["due_at"],
        unique=False,
        sqlite_where=sa.text("status = 'open' AND overdue_at IS NULL"),
        postgresql_where=sa.text("status = 'open' AND overdue_at IS NULL"),
    )
    op.create_index(
        "ix_tasks_escalate_at",
        "tasks",
        ["escalate_at"],
        unique=False,
        sqlite_where=sa.text("escalate_at IS NOT NULL"),
        postgresql_where=sa.text("escalate_at IS NOT NULL"),
    )
    op.create_index(
        "ix_tasks_remind_at",
        "tasks",
        ["remind_at"],
        unique=False,
        sqlite_where=sa.text("remind_at IS NOT NULL"),
        postgresql_where=sa.text("remind_at IS NOT NULL"),
    )
    op.execute(
        "UPDATE tasks SET escalation_level = 1, overdue_at = escalated_at "
        "WHERE escalated_at IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_index(
        "ix_tasks_remind_at",
        table_name="tasks",
        sqlite_where=sa.text("remind_at IS NOT NULL"),
        postgresql_where=sa.text("remind_at IS NOT NULL"),
    )
    op.drop_index(
        "ix_tasks_escalate_at",
        table_name="tasks",
        sqlite_where=sa.text("escalate_at IS NOT NULL"),
        postgresql_where=sa.text("escalate_at IS NOT NULL"),
    )
    op.drop_index(
        "ix_tasks_due_at_unseen",
        table_name="tasks",
        sqlite_where=sa.text("status = 'open' AND overdue_at IS NULL"),
        postgresql_where=sa.text("status = 'open' AND overdue_at IS NULL"),
    )
    op.drop_index("ix_tasks_deal_id", table_name="tasks")
    op.drop_column("tasks", "fallback_at")
    op.drop_column("tasks", "escalate_at")
    op.drop_column("tasks", "escalation_level")
    op.drop_column("tasks", "overdue_at")
    op.drop_column("tasks", "reminded_at")
    op.drop_column("tasks", "remind_at")
    op.drop_column("tasks", "cancel_reason")
    op.drop_column("tasks", "completed_by")
    op.drop_column("tasks", "note")
    op.drop_column("tasks", "outcome_values")
    op.drop_column("tasks", "role")
    op.drop_column("tasks", "action")
    op.drop_column("tasks", "stage")
    op.drop_column("tasks", "deal_id")
    op.drop_table("approvals")
    op.drop_index("ix_step_runs_status_next_attempt_at", table_name="step_runs")
    op.drop_index(op.f("ix_step_runs_deal_id"), table_name="step_runs")
    op.drop_table("step_runs")
    op.drop_index("ix_outbound_requests_status_next_attempt_at", table_name="outbound_requests")
    op.drop_index(op.f("ix_outbound_requests_deal_id"), table_name="outbound_requests")
    op.drop_table("outbound_requests")
    op.drop_index(op.f("ix_documents_lead_id"), table_name="documents")
    op.drop_table("documents")
    op.drop_index("ix_deals_status_last_progress_at", table_name="deals")
    op.drop_index(op.f("ix_deals_owner_id"), table_name="deals")
    op.drop_index(op.f("ix_deals_lead_id"), table_name="deals")
    op.drop_table("deals")
    op.drop_table("role_members")
    op.drop_table("playbook_versions")
    op.drop_index("ix_event_log_type_at", table_name="event_log")
    op.drop_index("ix_event_log_lead_id_at", table_name="event_log")
    op.drop_index("ix_event_log_deal_id_at", table_name="event_log")
    op.drop_table("event_log")
    op.drop_table("escalations")
