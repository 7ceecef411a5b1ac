"""A user's private calendar subscription (iCalendar feed)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from chronos.models.base import utcnow


class CalendarFeed(SQLModel, table=True):
    """One per user: the HMAC of the token in their feed link, never the token itself.

    Resetting replaces ``token_hash`` (the old link stops at once); turning the link off
    deletes the row. ``content_hash`` is the ETag of the last content served and
    ``content_changed_at`` when it last changed (the feed's Last-Modified), so a calendar app
    that polls gets a 304 while nothing it may see has moved.
    """

    __tablename__ = "calendar_feeds"

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    user_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, unique=True
        )
    )
    token_hash: str = Field(max_length=64, unique=True)
    include_tasks: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    content_hash: str = Field(default="", max_length=64)
    content_changed_at: datetime | None = None
