"""Import batches (issue 18): one uploaded CSV/Excel file applied to people or transactions,
and one outcome row per source row, so a batch can be shown, re-run and undone."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer
from sqlmodel import Field, SQLModel

from chronos.models.base import utcnow


class ImportBatch(SQLModel, table=True):
    """One file an admin imports. ``state``: ``ready`` (mapped, not started), ``queued``, ``running``,
    ``done``, ``failed`` (``error`` says why) or ``undone`` (``undone_at``).

    ``storage_key`` is the uploaded file in ``storage/`` (never the public upload dir);
    ``manifest`` is the mapping (``imports.mapping.Manifest``) as JSON. The counts and
    ``processed_rows`` are the job's progress, written after every chunk.
    """

    __tablename__ = "import_batches"
    __table_args__ = (Index("ix_import_batches_org_created", "org_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    admin_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    file_name: str = Field(max_length=255)
    file_sha256: str = Field(default="", max_length=64)
    storage_key: str = Field(default="", max_length=200)
    kind: str = Field(max_length=20)  # "people" or "transactions"
    manifest: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: str = Field(default="ready", max_length=20)
    error: str = Field(default="", max_length=1000)
    total_rows: int = Field(default=0)
    processed_rows: int = Field(default=0)
    created_count: int = Field(default=0)
    updated_count: int = Field(default=0)
    skipped_count: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    undone_at: datetime | None = None


class ImportRow(SQLModel, table=True):
    """What one source row did: ``action`` ``created``, ``updated`` or ``skipped`` (``reason``).

    ``record_table`` + ``record_id`` name the person or transaction it created or updated;
    ``before`` holds an updated record's previous values (for undo), ``match_key`` the row's
    own dedupe key (email, phone or folded name|address), ``cells`` a skipped row's source
    cells (for the rejected-rows CSV).
    """

    __tablename__ = "import_rows"
    __table_args__ = (
        Index("ix_import_rows_batch_line", "batch_id", "line", unique=True),
        Index("ix_import_rows_record", "record_table", "record_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("import_batches.id", ondelete="CASCADE"), nullable=False
        )
    )
    line: int
    action: str = Field(max_length=10)
    reason: str = Field(default="", max_length=500)
    record_table: str = Field(default="", max_length=30)
    record_id: int | None = None
    match_key: str = Field(default="", max_length=600)
    before: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    cells: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
