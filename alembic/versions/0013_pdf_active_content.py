"""document_versions: what PDF active content was removed at upload, and whether it was checked

Rows from before this revision were never checked: ``active_content_checked`` is false for
them, so their PDFs are served as downloads, never inline (see api/file_routes.py).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("document_versions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "active_content_removed",
                sa.String(length=300),
                nullable=False,
                server_default="",
            )
        )
        batch_op.add_column(
            sa.Column(
                "active_content_checked",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("document_versions", schema=None) as batch_op:
        batch_op.drop_column("active_content_checked")
        batch_op.drop_column("active_content_removed")
