"""intake: one live lead per e-mail/phone, fuzzy blocking key, resumable imports.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = "merged_into_id IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_key", sa.String(length=120), nullable=True))
        batch_op.create_index(batch_op.f("ix_leads_name_key"), ["name_key"], unique=False)
    for column in ("email", "phone"):
        op.create_index(
            f"uq_leads_{column}_active",
            "leads",
            [column],
            unique=True,
            sqlite_where=sa.text(ACTIVE),
            postgresql_where=sa.text(ACTIVE),
        )
    with op.batch_alter_table("import_batches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_row", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("lead_sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("met_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("filled", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("lead_sources", schema=None) as batch_op:
        batch_op.drop_column("filled")
        batch_op.drop_column("met_on")
    with op.batch_alter_table("import_batches", schema=None) as batch_op:
        batch_op.drop_column("last_row")
    op.drop_index("uq_leads_phone_active", table_name="leads")
    op.drop_index("uq_leads_email_active", table_name="leads")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_leads_name_key"))
        batch_op.drop_column("name_key")
