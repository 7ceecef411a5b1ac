"""Tasks on a transaction and the checklist templates that create them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from chronos.models.base import utcnow


class ChecklistTemplate(SQLModel, table=True):
    """A brokerage's list of tasks for one kind of file, applied when a file reaches a stage.

    ``side`` is buyer/seller/dual or "any"; ``property_type`` a PropertyType value or "any";
    ``stage`` the stage whose arrival applies it (creation counts as arriving at the first
    stage). ``items`` is a list of {key, title, notes, assignee, due_key, due_offset_days}:
    ``assignee`` names a role on the file ("owner", "coordinator", "buyer", "seller",
    "lender", "attorney", ...), ``due_key`` a key date the due date counts from (or "").
    """

    __tablename__ = "checklist_templates"

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    name: str = Field(max_length=200)
    side: str = Field(default="any", max_length=10)
    property_type: str = Field(default="any", max_length=20)
    stage: str = Field(max_length=20)
    items: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    is_active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Task(SQLModel, table=True):
    """One thing to do on a transaction, for someone on it, by a date.

    The due date is either fixed (``due_key`` empty) or counted from a key date
    (``due_key`` + ``due_offset_days``); ``due_date`` holds the date that results and is
    rewritten in the same unit of work whenever that key date moves. Overdue and due-soon are
    worked out when read, never stored.
    """

    __tablename__ = "tasks"
    __table_args__ = (
        # Covering for the Today view: the open-files filter and the ordering read no table
        # rows (bench/FINDINGS.md: admin's Today 1,046 -> 641 ms at 200,000 tasks).
        Index(
            "ix_tasks_org_status_due_txn",
            "org_id",
            "status",
            "due_date",
            "transaction_id",
            "position",
        ),
        Index("ix_tasks_txn_status", "transaction_id", "status"),
        # A checklist item lands on a file once, however often its stage is reached.
        UniqueConstraint(
            "transaction_id", "template_id", "item_key", name="uq_tasks_template_item"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id")
    transaction_id: int = Field(
        sa_column=Column(Integer, ForeignKey("transactions.id", ondelete="CASCADE"), nullable=False)
    )
    title: str = Field(max_length=200)
    notes: str = Field(default="", max_length=2000)
    status: str = Field(default="open", max_length=20)  # open | done | not_applicable
    # Who it is for: a staff login, or a participant of the file (a client, lender, ...).
    assignee_user_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
        ),
    )
    assignee_participant_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("participants.id", ondelete="SET NULL"), nullable=True, index=True
        ),
    )
    due_date: date | None = None
    due_key: str = Field(default="", max_length=60)
    due_offset_days: int = Field(default=0)
    position: int = Field(default=0)
    template_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("checklist_templates.id", ondelete="SET NULL"), nullable=True
        ),
    )
    item_key: str | None = Field(default=None, max_length=60)
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    completed_at: datetime | None = None
    completed_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
