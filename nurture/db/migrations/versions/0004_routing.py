"""routing: round-robin credit, fairness log columns, idempotent absences.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("managers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("rr_credit", sa.Float(), server_default=sa.text("0"), nullable=False)
        )
    with op.batch_alter_table("absences", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            "uq_absences_manager_id_starts_on_ends_on", ["manager_id", "starts_on", "ends_on"]
        )
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("round_robin", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("previous_manager_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_assignments_previous_manager_id_managers",
            "managers",
            ["previous_manager_id"],
            ["id"],
        )
        batch_op.create_index(
            "ix_assignments_manager_id_assigned_at", ["manager_id", "assigned_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_index("ix_assignments_manager_id_assigned_at")
        batch_op.drop_constraint("fk_assignments_previous_manager_id_managers", type_="foreignkey")
        batch_op.drop_column("previous_manager_id")
        batch_op.drop_column("round_robin")
    with op.batch_alter_table("absences", schema=None) as batch_op:
        batch_op.drop_constraint("uq_absences_manager_id_starts_on_ends_on", type_="unique")
    with op.batch_alter_table("managers", schema=None) as batch_op:
        batch_op.drop_column("rr_credit")
