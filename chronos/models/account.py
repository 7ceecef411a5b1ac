"""Account lifecycle rows: single-use tokens, invitations and the security log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer
from sqlmodel import Field, SQLModel

from chronos.models.base import utcnow


class AccountToken(SQLModel, table=True):
    """A single-use, expiring secret mailed to (or held by) a user.

    ``purpose`` is one of ``verify_email``, ``reset_password``, ``two_factor`` (the short step
    between a correct password and the TOTP code). Only an HMAC of the token is stored.
    """

    __tablename__ = "account_tokens"

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    purpose: str = Field(max_length=20)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None
    ip_address: str = Field(default="", max_length=64)


class Invitation(SQLModel, table=True):
    """An emailed invitation to join the brokerage (staff) or one transaction (outside party).

    Status is derived, never stored stale: revoked, accepted, expired or pending.
    """

    __tablename__ = "invitations"
    __table_args__ = (Index("ix_invitations_org_email", "org_id", "email"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    email: str = Field(max_length=254)
    full_name: str = Field(default="", max_length=200)
    role: str = Field(max_length=20)
    transaction_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("transactions.id", ondelete="CASCADE"), nullable=True, index=True
        ),
    )
    person_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("people.id", ondelete="SET NULL"), nullable=True),
    )
    invited_by_id: int | None = Field(default=None, foreign_key="users.id")
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    last_sent_at: datetime = Field(default_factory=utcnow)
    send_count: int = Field(default=1)
    accepted_at: datetime | None = None
    accepted_user_id: int | None = Field(default=None, foreign_key="users.id")
    revoked_at: datetime | None = None
    revoked_by_id: int | None = Field(default=None, foreign_key="users.id")


class SecurityEvent(SQLModel, table=True):
    """Who did what to an account, when and from where. Append-only; admins read it."""

    __tablename__ = "security_events"
    __table_args__ = (Index("ix_security_events_org_created", "org_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    # NULL for events that belong to no brokerage (a failed sign-in for an unknown email).
    org_id: int | None = Field(default=None, foreign_key="organizations.id")
    user_id: int | None = Field(default=None, foreign_key="users.id")  # the account concerned
    actor_id: int | None = Field(default=None, foreign_key="users.id")  # who did it
    kind: str = Field(max_length=40, index=True)
    email: str = Field(default="", max_length=254)
    ip_address: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=300)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
