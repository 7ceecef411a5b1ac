from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Index, Integer
from sqlmodel import Field, SQLModel

from chronos.models.base import utcnow


def format_address(street: str, unit: str, city: str, state: str, postal_code: str) -> str:
    """One line: "12 Harbor View Rd 2B, Portland, ME 04101" (parts left out when blank)."""
    line = street + (f" {unit}" if unit else "")
    locality = ", ".join(p for p in (city, f"{state} {postal_code}".strip()) if p)
    return f"{line}, {locality}" if locality else line


class Transaction(SQLModel, table=True):
    """One deal, from listing or accepted offer to closing."""

    __tablename__ = "transactions"
    __table_args__ = (
        Index("ix_transactions_org_stage", "org_id", "stage"),
        Index("ix_transactions_org_owner", "org_id", "owner_id"),
        Index("ix_transactions_org_closing", "org_id", "closing_date"),
        Index("ix_transactions_org_updated", "org_id", "updated_at"),
        CheckConstraint("price_cents IS NULL OR price_cents >= 0", name="ck_transactions_price"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    owner_id: int = Field(foreign_key="users.id")
    side: str = Field(max_length=10)
    stage: str = Field(max_length=20)
    street: str = Field(max_length=200)
    unit: str = Field(default="", max_length=40)
    city: str = Field(default="", max_length=100)
    state: str = Field(default="", max_length=2)
    postal_code: str = Field(default="", max_length=10)
    property_type: str = Field(default="single_family", max_length=20)
    price_cents: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    effective_date: date | None = None
    closing_date: date | None = None
    mls_number: str = Field(default="", max_length=40)
    cancel_reason: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    stage_changed_at: datetime = Field(default_factory=utcnow)

    @property
    def address(self) -> str:
        return format_address(self.street, self.unit, self.city, self.state, self.postal_code)


class Participant(SQLModel, table=True):
    """A contact (person) or a staff login (user) on a transaction, in a role."""

    __tablename__ = "participants"
    __table_args__ = (
        CheckConstraint("person_id IS NOT NULL OR user_id IS NOT NULL", name="ck_participants_who"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    transaction_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("transactions.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    role: str = Field(max_length=30)
    person_id: int | None = Field(default=None, foreign_key="people.id", index=True)
    user_id: int | None = Field(default=None, foreign_key="users.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
