from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from chronos.models.base import utcnow


class ApiToken(SQLModel, table=True):
    """A personal API token: the HMAC of its secret (shown once), never the secret itself.

    ``scopes`` is ``read`` or ``read,write``; a token never does more than its user may (every
    request runs as the user, through the same services). Revoked tokens keep their row so
    the account page and the security log can say when and by whom.
    """

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    user_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    name: str = Field(max_length=80)
    token_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)  # the secret's first characters, to tell tokens apart
    scopes: str = Field(default="read", max_length=40)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
