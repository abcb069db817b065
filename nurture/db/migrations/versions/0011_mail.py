"""mail: ``mail_server_state``, so ``nurture outbox status`` can say since when the SMTP
server (or the file outbox) cannot be reached.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from nurture.db.base import UTCDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mail_server_state",
        sa.Column("server", sa.String(length=300), nullable=False),
        sa.Column("unreachable_since", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_failure_at", UTCDateTime(), nullable=True),
        sa.Column("failures", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("recovered_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("server", name=op.f("pk_mail_server_state")),
    )


def downgrade() -> None:
    op.drop_table("mail_server_state")
