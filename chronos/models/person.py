from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from chronos.models.base import utcnow


class Person(SQLModel, table=True):
    """A contact of the brokerage: client, attorney, lender, inspector, title officer...

    A person may be linked to a login (``user_id``) when they use the portal.
    """

    __tablename__ = "people"
    __table_args__ = (
        Index("ix_people_org_name", "org_id", "last_name", "first_name"),
        Index("ix_people_org_email", "org_id", "email"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    first_name: str = Field(max_length=100)
    last_name: str = Field(default="", max_length=100)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=32)
    company: str = Field(default="", max_length=200)
    notes: str = Field(default="", max_length=4000)
    user_id: int | None = Field(default=None, foreign_key="users.id", unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
