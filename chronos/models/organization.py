from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from chronos.models.base import utcnow


class Organization(SQLModel, table=True):
    """A brokerage. Every other row belongs to exactly one."""

    __tablename__ = "organizations"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    slug: str = Field(max_length=80, unique=True)
    timezone: str = Field(default="America/New_York", max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    # The summary PDF's sections in order, comma-separated (``services/cover_sheet.SECTIONS``).
    cover_sheet_sections: str = Field(
        default="parties,key_dates,open_tasks,missing_documents", max_length=200
    )
