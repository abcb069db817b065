"""scoring: index for "latest score of each lead" (the cadence reads it for re-engagement)

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("lead_scores", schema=None) as batch_op:
        batch_op.create_index(
            "ix_lead_scores_lead_id_scored_at", ["lead_id", "scored_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("lead_scores", schema=None) as batch_op:
        batch_op.drop_index("ix_lead_scores_lead_id_scored_at")
