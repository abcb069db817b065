"""cadence: drop the indexes the set-based planner no longer needs (see nurture/db/cadence.py).

Every index on ``enrollments`` is rewritten when the planner moves an enrolment on (its
``next_due_at`` changes; on PostgreSQL every index of the row, as the update is not HOT),
and every index on ``touches`` is written per planned touch. The planner now reads the due
rows of a campaign by ``(status, next_due_at)`` and no longer looks touches up per
(campaign, step); ``enrollments.lead_id`` is the leading column of the unique
``(lead_id, campaign_id, cycle)`` already.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_enrollments_campaign_id_status_next_position", table_name="enrollments")
    op.drop_index("ix_enrollments_lead_id", table_name="enrollments")
    op.drop_index("ix_touches_campaign_id_position_status", table_name="touches")


def downgrade() -> None:
    op.create_index(
        "ix_touches_campaign_id_position_status",
        "touches",
        ["campaign_id", "position", "status"],
    )
    op.create_index("ix_enrollments_lead_id", "enrollments", ["lead_id"])
    op.create_index(
        "ix_enrollments_campaign_id_status_next_position",
        "enrollments",
        ["campaign_id", "status", "next_position", "next_due_at"],
    )
