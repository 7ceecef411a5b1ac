"""In-app notifications, and each user's choice of which reminders reach them and how."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from chronos.models.base import utcnow


class Notification(SQLModel, table=True):
    """Something a user should know. ``dedupe_key`` makes each occurrence land once per user
    (a reminder for a task due on a date, a digest for a day), however many workers scan."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "dedupe_key", name="uq_notifications_user_dedupe"),
        Index("ix_notifications_user_read", "user_id", "read_at", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id")
    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    transaction_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("transactions.id", ondelete="CASCADE"), nullable=True),
    )
    kind: str = Field(max_length=40)
    title: str = Field(max_length=200)
    body: str = Field(default="", max_length=1000)
    link: str = Field(default="", max_length=300)
    dedupe_key: str = Field(max_length=120)
    created_at: datetime = Field(default_factory=utcnow)
    read_at: datetime | None = None
    emailed_at: datetime | None = None


class NotificationPreference(SQLModel, table=True):
    """One row per user (absent = the defaults). Quiet hours are in the brokerage's zone:
    reminder emails that fall inside them wait until they end; in-app ones still land."""

    __tablename__ = "notification_preferences"

    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    )
    task_reminders: bool = Field(default=True)
    date_reminders: bool = Field(default=True)
    assignments: bool = Field(default=True)
    email_reminders: bool = Field(default=True)
    daily_digest: bool = Field(default=True)
    message_email: bool = Field(default=True)  # new messages in conversations, by email
    digest_hour: int = Field(default=7)
    # Hours 0-23; None = no quiet hours. (A non-None Python default would turn an explicit
    # None into that default on INSERT: new rows get 20 → 7 from the service instead.)
    quiet_start: int | None = None
    quiet_end: int | None = None
    updated_at: datetime = Field(default_factory=utcnow)
