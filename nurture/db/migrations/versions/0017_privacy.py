"""privacy: the forgotten list and the audit log.

``forgotten_contacts`` keeps the salted hashes of erased people's e-mails and phones, so a
later import quarantines them and the sender refuses them; ``audit_log`` records who viewed,
exported and erased whose data (``nurture/db/privacy.py``). Nothing else changes.

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from nurture.db.base import UTCDateTime

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("via", sa.String(length=50), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    op.create_index("ix_audit_log_lead_id_at", "audit_log", ["lead_id", "at"])
    op.create_index("ix_audit_log_subject_at", "audit_log", ["subject", "at"])
    op.create_table(
        "forgotten_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("salt_id", sa.String(length=16), nullable=False),
        sa.Column("forgotten_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forgotten_contacts")),
        sa.UniqueConstraint("digest", name=op.f("uq_forgotten_contacts_digest")),
    )


def downgrade() -> None:
    op.drop_table("forgotten_contacts")
    op.drop_index("ix_audit_log_subject_at", table_name="audit_log")
    op.drop_index("ix_audit_log_lead_id_at", table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_at"), table_name="audit_log")
    op.drop_table("audit_log")
