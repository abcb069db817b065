"""leads: drop the plain e-mail and phone indexes; the partial unique ones serve the lookups.

``uq_leads_email_active`` and ``uq_leads_phone_active`` (``WHERE merged_into_id IS NULL``)
index the same columns for every live lead. Every query that looks leads up by e-mail or
phone (intake's dedup, the cadence stop rule on suppressions) asks for live leads, so it
uses them; the plain indexes were two more random B-tree inserts per imported lead (about
8% of a 200,000-row import on SQLite, more once the indexes outgrow the page cache).
Queries that match ``lower(email)`` (suppressions, purchases) used neither.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index("ix_leads_email")
        batch_op.drop_index("ix_leads_phone")


def downgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.create_index("ix_leads_phone", ["phone"], unique=False)
        batch_op.create_index("ix_leads_email", ["email"], unique=False)
