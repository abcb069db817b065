"""cadence: planner indexes and the scratch slot table (see nurture/db/cadence.py).

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from nurture.db.base import UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_enrollments_campaign_id_status_next_position",
        "enrollments",
        ["campaign_id", "status", "next_position", "next_due_at"],
    )
    op.create_index(
        "ix_touches_campaign_id_position_status",
        "touches",
        ["campaign_id", "position", "status"],
    )
    op.create_index("ix_touches_status_scheduled_at", "touches", ["status", "scheduled_at"])
    op.create_index("ix_tasks_status_due_at", "tasks", ["status", "due_at"])
    op.create_table(
        "cadence_slots",
        sa.Column("run_id", sa.String(40), nullable=False),
        sa.Column("window_key", sa.String(200), nullable=False),
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("country", sa.String(8), nullable=False),
        sa.Column("hour", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("scheduled_at", UTCDateTime(), nullable=False),
        sa.Column("cap_from", UTCDateTime(), nullable=False),
        sa.Column("cap_to", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint(
            "run_id", "window_key", "tz", "country", "hour", name=op.f("pk_cadence_slots")
        ),
    )


def downgrade() -> None:
    op.drop_table("cadence_slots")
    op.drop_index("ix_tasks_status_due_at", table_name="tasks")
    op.drop_index("ix_touches_status_scheduled_at", table_name="touches")
    op.drop_index("ix_touches_campaign_id_position_status", table_name="touches")
    op.drop_index("ix_enrollments_campaign_id_status_next_position", table_name="enrollments")
