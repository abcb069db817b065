"""web: where `nurture serve` last listened.

``web_endpoint`` holds one row, the base URL of the running web app, so that links printed by
the CLI (``nurture users feed-url``) point at it when ``NURTURE_PUBLIC_URL`` is not set.

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from nurture.db.base import UTCDateTime

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "web_endpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("base_url", sa.String(length=300), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_endpoint")),
    )


def downgrade() -> None:
    op.drop_table("web_endpoint")
