"""cadence: drop foreign keys and an index that cost a check per planned row and guard nothing.

The planner writes one outbox row per planned e-mail and one touch per planned step. On
PostgreSQL each foreign key is a trigger that runs a locking probe of the parent row per
inserted row (``SELECT ... FOR KEY SHARE``): in the cycle benchmark's baseline insert of
33,342 touches, the foreign-key triggers took 0.9 s of 1.4 s.
Nothing deletes outbox rows, tasks, leads or managers (leads are merged, never deleted),
and every id these columns receive comes from a join on the existing row, so the checks
could never fail:

- ``touches.outbox_id -> outbox``, ``touches.task_id -> tasks``: the ids are looked up by the
  row's dedupe key / source key in the same transaction that inserted it;
- ``outbox.lead_id -> leads``, ``outbox.manager_id -> managers``, ``tasks.lead_id -> leads``,
  ``tasks.manager_id -> managers``: written from the lead row (and its owner);
- ``ix_outbox_lead_id``: no query reads the outbox by lead.

The foreign keys of touches to enrolments, leads and campaigns stay.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("touches", schema=None) as batch_op:
        batch_op.drop_constraint("fk_touches_outbox_id_outbox", type_="foreignkey")
        batch_op.drop_constraint("fk_touches_task_id_tasks", type_="foreignkey")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_lead_id")
        batch_op.drop_constraint("fk_outbox_lead_id_leads", type_="foreignkey")
        batch_op.drop_constraint("fk_outbox_manager_id_managers", type_="foreignkey")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_constraint("fk_tasks_lead_id_leads", type_="foreignkey")
        batch_op.drop_constraint("fk_tasks_manager_id_managers", type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_tasks_manager_id_managers", "managers", ["manager_id"], ["id"]
        )
        batch_op.create_foreign_key("fk_tasks_lead_id_leads", "leads", ["lead_id"], ["id"])
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_outbox_manager_id_managers", "managers", ["manager_id"], ["id"]
        )
        batch_op.create_foreign_key("fk_outbox_lead_id_leads", "leads", ["lead_id"], ["id"])
        batch_op.create_index("ix_outbox_lead_id", ["lead_id"], unique=False)
    with op.batch_alter_table("touches", schema=None) as batch_op:
        batch_op.create_foreign_key("fk_touches_task_id_tasks", "tasks", ["task_id"], ["id"])
        batch_op.create_foreign_key("fk_touches_outbox_id_outbox", "outbox", ["outbox_id"], ["id"])
