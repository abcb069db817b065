"""mail: server defaults on the outbox, so planners can INSERT ... SELECT rows with plain SQL.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DEFAULTS: dict[str, tuple[sa.types.TypeEngine[Any], sa.TextClause]] = {
    "kind": (sa.String(length=20), sa.text("'marketing'")),
    "status": (sa.String(length=20), sa.text("'queued'")),
    "attempts": (sa.Integer(), sa.text("0")),
}


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        for column, (type_, default) in _DEFAULTS.items():
            batch_op.alter_column(column, existing_type=type_, server_default=default)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        for column, (type_, _) in _DEFAULTS.items():
            batch_op.alter_column(column, existing_type=type_, server_default=None)
