"""Automation rules (trigger → conditions → actions) and their runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from chronos.models.base import utcnow


class AutomationRule(SQLModel, table=True):
    """``trigger`` is stage_changed | key_date_approaching | key_date_passed | task_completed;
    ``trigger_config`` its details ({"stage"}, {"key", "days"}, {"key"}, {"title_contains"});
    ``conditions`` narrow the files ({"side", "property_type"}); ``actions`` is a list of
    {"type": "create_tasks" | "notify" | "email", ...}."""

    __tablename__ = "automation_rules"

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    name: str = Field(max_length=200)
    is_active: bool = Field(default=True)
    trigger: str = Field(max_length=40)
    trigger_config: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    conditions: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    actions: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class AutomationRun(SQLModel, table=True):
    """One firing of a rule for one occurrence on one file. The unique key makes a rule fire
    once per occurrence, whichever worker sees it first; the row is the retry queue and the
    record admins read (pending → running → done | failed)."""

    __tablename__ = "automation_runs"
    __table_args__ = (
        UniqueConstraint("rule_id", "transaction_id", "occurrence", name="uq_automation_runs_once"),
        Index("ix_automation_runs_status_next", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    rule_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("automation_rules.id", ondelete="CASCADE"), nullable=False
        )
    )
    transaction_id: int = Field(
        sa_column=Column(Integer, ForeignKey("transactions.id", ondelete="CASCADE"), nullable=False)
    )
    occurrence: str = Field(max_length=120)
    status: str = Field(default="pending", max_length=20)
    attempts: int = Field(default=0)
    last_error: str = Field(default="", max_length=1000)
    result: str = Field(default="", max_length=1000)
    next_attempt_at: datetime = Field(default_factory=utcnow)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
