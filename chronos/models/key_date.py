from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from chronos.models.base import utcnow


class KeyDate(SQLModel, table=True):
    """One deadline of a transaction: the engine's rule, its computed value and any override.

    ``rule`` is the engine's rule as JSON (``kind`` "entered" or "computed" plus that rule's
    fields; see ``services.key_dates.rule_to_json``). ``computed_date`` and ``due_at`` are what the
    rule gave the last time an anchor changed; ``override_date`` is a person's value, which wins
    while the computed value is kept. Overdue/due-soon are worked out when read, never stored.
    """

    __tablename__ = "key_dates"
    __table_args__ = (UniqueConstraint("transaction_id", "key", name="uq_key_dates_txn_key"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    transaction_id: int = Field(
        sa_column=Column(Integer, ForeignKey("transactions.id", ondelete="CASCADE"), nullable=False)
    )
    key: str = Field(max_length=60)
    label: str = Field(max_length=200)
    position: int = 0
    rule: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    computed_date: date | None = None
    override_date: date | None = None
    override_reason: str = Field(default="", max_length=500)
    due_at: datetime | None = None
    shared_with_parties: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @property
    def day(self) -> date | None:
        """The date that counts: the override when there is one, else the computed date."""
        return self.override_date if self.override_date is not None else self.computed_date


class DeadlineTemplate(SQLModel, table=True):
    """A brokerage's own deadline preset: a copy of a built-in one (or of another template),
    edited by an admin. ``rules`` holds one entry per key date: ``key``, ``label`` and the
    engine's rule as JSON (``services.key_dates.rule_to_json``)."""

    __tablename__ = "deadline_templates"

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    name: str = Field(max_length=200)
    state: str = Field(default="", max_length=2)
    based_on: str = Field(default="", max_length=60)
    rules: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
