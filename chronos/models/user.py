from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from chronos.models.base import Role, utcnow


class User(SQLModel, table=True):
    """A login. Staff (admin, agent, coordinator) or an outside party (client, attorney, lender)."""

    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    email: str = Field(max_length=254, unique=True)
    full_name: str = Field(max_length=200)
    role: str = Field(max_length=20)
    password_hash: str = Field(max_length=255)
    is_active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow)
    last_login_at: datetime | None = None
    # Set when the owner proved the address (verification link, accepted invitation) or an
    # operator created the account; unverified accounts have limited access.
    email_verified_at: datetime | None = None
    password_changed_at: datetime | None = None
    # Optional TOTP second factor: the secret (encrypted with the app key), when it was
    # switched on, and the last time-step accepted (a code is never accepted twice).
    totp_secret: str = Field(default="", max_length=255)
    totp_enabled_at: datetime | None = None
    totp_last_step: int | None = None

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def is_staff(self) -> bool:
        return self.role_enum.is_staff


class UserSession(SQLModel, table=True):
    """A signed-in browser. Only the SHA-256 of the cookie token is stored."""

    __tablename__ = "sessions"

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    last_seen_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None
    ip_address: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=300)
