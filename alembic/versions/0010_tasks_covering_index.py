"""tasks: a covering index for the Today view (replaces ix_tasks_org_status_due)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-21 15:55:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tasks_org_status_due_txn",
            ["org_id", "status", "due_date", "transaction_id", "position"],
            unique=False,
        )
        batch_op.drop_index("ix_tasks_org_status_due")


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tasks_org_status_due", ["org_id", "status", "due_date"], unique=False
        )
        batch_op.drop_index("ix_tasks_org_status_due_txn")
