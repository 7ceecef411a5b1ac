"""The security log: sign-ins, failures, resets, role changes, deactivations, invitations.

Rows are written in the caller's unit of work, except for refusals (failed sign-in, locked
out), which callers record in a unit of their own so that the refusal's rollback keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from chronos.models import SecurityEvent


class Kind:
    SIGNED_IN = "signed_in"
    SIGN_IN_FAILED = "sign_in_failed"
    LOCKED_OUT = "locked_out"
    SIGNED_OUT = "signed_out"
    SIGNED_UP = "signed_up"
    EMAIL_VERIFIED = "email_verified"
    PASSWORD_RESET_REQUESTED = "password_reset_requested"
    PASSWORD_RESET = "password_reset"
    PASSWORD_CHANGED = "password_changed"
    SESSION_REVOKED = "session_revoked"
    TWO_FACTOR_ENABLED = "two_factor_enabled"
    TWO_FACTOR_DISABLED = "two_factor_disabled"
    TWO_FACTOR_FAILED = "two_factor_failed"
    ROLE_CHANGED = "role_changed"
    DEACTIVATED = "deactivated"
    REACTIVATED = "reactivated"
    INVITATION_SENT = "invitation_sent"
    INVITATION_REVOKED = "invitation_revoked"
    INVITATION_ACCEPTED = "invitation_accepted"
    RATE_LIMITED = "rate_limited"
    EMAIL_RETRIED = "email_retried"


LABELS = {
    Kind.SIGNED_IN: "Signed in",
    Kind.SIGN_IN_FAILED: "Failed sign-in",
    Kind.LOCKED_OUT: "Locked out",
    Kind.SIGNED_OUT: "Signed out",
    Kind.SIGNED_UP: "Brokerage signed up",
    Kind.EMAIL_VERIFIED: "Email verified",
    Kind.PASSWORD_RESET_REQUESTED: "Password reset requested",
    Kind.PASSWORD_RESET: "Password reset",
    Kind.PASSWORD_CHANGED: "Password changed",
    Kind.SESSION_REVOKED: "Session revoked",
    Kind.TWO_FACTOR_ENABLED: "Two-factor sign-in on",
    Kind.TWO_FACTOR_DISABLED: "Two-factor sign-in off",
    Kind.TWO_FACTOR_FAILED: "Wrong two-factor code",
    Kind.ROLE_CHANGED: "Role changed",
    Kind.DEACTIVATED: "Deactivated",
    Kind.REACTIVATED: "Reactivated",
    Kind.INVITATION_SENT: "Invitation sent",
    Kind.INVITATION_REVOKED: "Invitation revoked",
    Kind.INVITATION_ACCEPTED: "Invitation accepted",
    Kind.RATE_LIMITED: "Rate limited",
    Kind.EMAIL_RETRIED: "Email queued again",
}


@dataclass(frozen=True)
class Client:
    """Where a request came from, as recorded on security events."""

    ip_address: str = ""
    user_agent: str = ""


def record(
    db: Session,
    kind: str,
    *,
    org_id: int | None,
    user_id: int | None = None,
    actor_id: int | None = None,
    email: str = "",
    client: Client | None = None,
    detail: dict[str, Any] | None = None,
) -> SecurityEvent:
    client = client or Client()
    event = SecurityEvent(
        org_id=org_id,
        user_id=user_id,
        actor_id=actor_id,
        kind=kind,
        email=email[:254],
        ip_address=client.ip_address[:64],
        user_agent=client.user_agent[:300],
        detail=detail or {},
    )
    db.add(event)
    db.flush()
    return event
