from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from chronos.models.base import utcnow


class WebhookSubscription(SQLModel, table=True):
    """A URL that receives the event types it chose, for the files its owner may see.

    ``secret`` (``whsec_`` + base64) signs every delivery the Standard Webhooks way; it must be
    readable to sign, so it is kept as is (and never exported). ``state``: ``active`` or
    ``paused`` (after repeated failures; never silently: the owner is told, and resumes it).
    """

    __tablename__ = "webhook_subscriptions"

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    owner_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    url: str = Field(max_length=500)
    description: str = Field(default="", max_length=200)
    event_types: str = Field(max_length=1000)  # comma-separated
    secret: str = Field(max_length=80)
    state: str = Field(default="active", max_length=20)
    paused_reason: str = Field(default="", max_length=500)
    paused_at: datetime | None = None
    consecutive_failures: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow)


class WebhookEvent(SQLModel, table=True):
    """One thing that happened, as sent to subscribers (re-readable for 30 days)."""

    __tablename__ = "webhook_events"

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    uid: str = Field(max_length=40, unique=True)  # "evt_…": the webhook-id, for dedupe
    type: str = Field(max_length=60)
    transaction_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("transactions.id", ondelete="SET NULL"), index=True),
    )
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, index=True)


class WebhookDelivery(SQLModel, table=True):
    """One event for one subscription: its attempts and outcome.

    ``status``: ``pending`` (due at ``next_attempt_at``), ``delivered``, ``failed`` (retries
    used up; can be redelivered), ``skipped`` (the owner can no longer see the file).
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("subscription_id", "event_id"),)

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    event_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("webhook_events.id", ondelete="CASCADE"), nullable=False
        )
    )
    status: str = Field(default="pending", max_length=20, index=True)
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = Field(default_factory=utcnow, index=True)
    last_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str = Field(default="", max_length=500)
    response_excerpt: str = Field(default="", max_length=500)
    delivered_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
