"""cadence: the parts of a sharded cycle done for a ``now``.

``cycle_marks`` has one row per (cycle time, part): the first shard of a cycle runs the
global part before planning and marks it, the other shards of the same ``now`` skip it.

Revision ID: 0019
Revises: 0018
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from nurture.db.base import UTCDateTime

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cycle_marks",
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("part", sa.String(length=40), nullable=False),
        sa.Column("done_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("at", "part", name=op.f("pk_cycle_marks")),
    )


def downgrade() -> None:
    op.drop_table("cycle_marks")
