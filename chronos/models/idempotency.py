"""Idempotency keys: a repeated submit (double click, retried request) returns the first result."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from chronos.models.base import utcnow


class IdempotencyKey(SQLModel, table=True):
    """One per (user, scope, key). ``fingerprint`` is the SHA-256 of the request it answered, so a
    key reused for a different request is refused; ``result`` is what a repeat gets back (the
    created object's id for the UI, the status and body of the first response for REST)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("user_id", "scope", "key", name="uq_idempotency_user_scope_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    scope: str = Field(max_length=120)
    key: str = Field(max_length=255)
    fingerprint: str = Field(max_length=64)
    result: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, index=True)
