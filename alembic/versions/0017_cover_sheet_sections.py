"""cover_sheet_sections: the brokerage's choice and order of the summary PDF's sections

Revision ID: 0017
Revises: 0014
Create Date: 2026-12-02 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0017"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "cover_sheet_sections",
                sqlmodel.sql.sqltypes.AutoString(length=200),
                nullable=False,
                server_default="parties,key_dates,open_tasks,missing_documents",
            )
        )


def downgrade() -> None:
    # Not a batch (copy-and-move) on SQLite: every table references organizations, and with
    # foreign keys on, dropping the old copy would fail. SQLite 3.35+ drops a column in place.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE organizations DROP COLUMN cover_sheet_sections")
    else:
        op.drop_column("organizations", "cover_sheet_sections")
