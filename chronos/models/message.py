"""Transaction messaging, email templates and provider webhook receipts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from chronos.models.base import utcnow


class MessageThread(SQLModel, table=True):
    """A conversation on one transaction. ``visibility``: "shared" (staff on the file plus
    the chosen participants, in ``ThreadMember``) or "internal" (brokerage staff only)."""

    __tablename__ = "message_threads"
    __table_args__ = (Index("ix_message_threads_txn_last", "transaction_id", "last_message_at"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    transaction_id: int = Field(
        sa_column=Column(Integer, ForeignKey("transactions.id", ondelete="CASCADE"), nullable=False)
    )
    subject: str = Field(max_length=200)
    visibility: str = Field(default="shared", max_length=20)
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow)
    last_message_at: datetime = Field(default_factory=utcnow)


class ThreadMember(SQLModel, table=True):
    """An outside participant a shared thread is with (staff on the file always see it)."""

    __tablename__ = "thread_members"
    __table_args__ = (UniqueConstraint("thread_id", "participant_id", name="uq_thread_members"),)

    id: int | None = Field(default=None, primary_key=True)
    thread_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("message_threads.id", ondelete="CASCADE"), nullable=False
        )
    )
    participant_id: int = Field(
        sa_column=Column(Integer, ForeignKey("participants.id", ondelete="CASCADE"), nullable=False)
    )


class Message(SQLModel, table=True):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_thread_created", "thread_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id")
    thread_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("message_threads.id", ondelete="CASCADE"), nullable=False
        )
    )
    author_id: int | None = Field(default=None, foreign_key="users.id")
    body: str = Field(sa_column=Column(Text, nullable=False))
    # Document ids attached (documents are a later issue: always empty until they exist).
    attachments: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class ThreadRead(SQLModel, table=True):
    """How far each user has read each thread: unread = messages after ``last_read_at``."""

    __tablename__ = "thread_reads"
    __table_args__ = (UniqueConstraint("thread_id", "user_id", name="uq_thread_reads"),)

    id: int | None = Field(default=None, primary_key=True)
    thread_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("message_threads.id", ondelete="CASCADE"), nullable=False
        )
    )
    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    last_read_at: datetime = Field(default_factory=utcnow)


class EmailTemplate(SQLModel, table=True):
    """A brokerage-wide (``owner_id`` NULL) or personal template, or a reusable text block
    (``kind`` "block"). ``subject`` and ``body`` hold {merge_field} placeholders."""

    __tablename__ = "email_templates"

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    owner_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
    )
    kind: str = Field(default="template", max_length=20)
    name: str = Field(max_length=200)
    subject: str = Field(default="", max_length=300)
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class WebhookReceipt(SQLModel, table=True):
    """Each provider webhook delivery accepted, by its id: a replayed call is refused."""

    __tablename__ = "webhook_receipts"
    __table_args__ = (UniqueConstraint("provider", "event_id", name="uq_webhook_receipts"),)

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=20)
    event_id: str = Field(max_length=200)
    event_type: str = Field(default="", max_length=60)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    received_at: datetime = Field(default_factory=utcnow)
