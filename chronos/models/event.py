from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer
from sqlmodel import Field, SQLModel

from chronos.models.base import utcnow


class Event(SQLModel, table=True):
    """A timeline entry: something that happened to a transaction (or the brokerage)."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_txn_created", "transaction_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    transaction_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("transactions.id", ondelete="CASCADE"), nullable=True),
    )
    actor_id: int | None = Field(default=None, foreign_key="users.id")
    kind: str = Field(max_length=40)
    summary: str = Field(max_length=500)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
