"""Every email Chronos sends, rendered and recorded before delivery is attempted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, Text
from sqlmodel import Field, SQLModel

from chronos.models.base import utcnow


class EmailMessage(SQLModel, table=True):
    """One message to one recipient. The outbox backend's mailbox and the admins' email log.

    status: ``queued`` (waiting for the job queue, including between retries), ``sending``,
    ``sent`` (accepted by the provider, or captured by the outbox backend), ``failed``
    (permanently: a 4xx from the provider or attempts exhausted; ``last_error`` says why).
    """

    __tablename__ = "email_messages"
    __table_args__ = (Index("ix_email_messages_status_created", "status", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int | None = Field(default=None, foreign_key="organizations.id", index=True)
    user_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    transaction_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("transactions.id", ondelete="SET NULL"), nullable=True
        ),
    )
    to_address: str = Field(max_length=254, index=True)
    template: str = Field(max_length=60)
    subject: str = Field(max_length=300)
    text_body: str = Field(sa_column=Column(Text, nullable=False))
    html_body: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="queued", max_length=20)
    backend: str = Field(default="", max_length=20)
    # Indexed: delivery webhooks find their message by it.
    provider_id: str = Field(default="", max_length=200, index=True)
    attempts: int = Field(default=0)
    last_error: str = Field(default="", max_length=1000)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    next_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    # Sent by a person from a transaction (compose, templates, status updates): who sent it,
    # the contact it went to (their communication history), and when it is due if scheduled.
    sent_by_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    person_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("people.id", ondelete="SET NULL"), nullable=True, index=True
        ),
    )
    scheduled_for: datetime | None = None
    # What the provider reported after accepting it (webhooks): delivered, bounced, complained.
    delivery_status: str = Field(default="", max_length=20)
    delivery_updated_at: datetime | None = None
