"""The security log: sign-ins, failures, resets, role changes, deactivations, invitations.

Rows are written in the caller's unit of work, except for refusals (failed sign-in, locked
out), which callers record in a unit of their own so that the refusal's rollback keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, func, select

from chronos.models import Role, SecurityEvent, User
from chronos.observability import metrics
from chronos.services.errors import PermissionDenied, ValidationFailed
from chronos.services.pagination import Page, clamp_page


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
    DATA_EXPORTED = "data_exported"
    EXPORT_DOWNLOADED = "export_downloaded"
    CALENDAR_FEED_CREATED = "calendar_feed_created"
    CALENDAR_FEED_RESET = "calendar_feed_reset"
    CALENDAR_FEED_OFF = "calendar_feed_off"
    API_TOKEN_CREATED = "api_token_created"
    API_TOKEN_REVOKED = "api_token_revoked"


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
    Kind.DATA_EXPORTED: "Brokerage data exported",
    Kind.EXPORT_DOWNLOADED: "Data export downloaded",
    Kind.CALENDAR_FEED_CREATED: "Calendar link created",
    Kind.CALENDAR_FEED_RESET: "Calendar link reset",
    Kind.CALENDAR_FEED_OFF: "Calendar link turned off",
    Kind.API_TOKEN_CREATED: "API token created",
    Kind.API_TOKEN_REVOKED: "API token revoked",
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
    metrics.count_security_event(kind)  # sign-in failures, lockouts, ... (/metrics)
    return event


# ---------------------------------------------------------------- the admins' view


@dataclass(frozen=True)
class EventRow:
    id: int
    created_at: str  # ISO 8601, UTC
    kind: str
    label: str
    email: str  # the account concerned (as typed, for unknown ones)
    actor: str  # who did it, when not the account itself ("" otherwise)
    ip_address: str
    user_agent: str
    detail: str


def list_events(
    db: Session, actor: User, *, kind: str = "", page: int = 1, page_size: int = 50
) -> Page[EventRow]:
    """The actor's brokerage's security events, newest first. Admins only."""
    if actor is None or not actor.is_active:
        raise PermissionDenied("Sign in again to continue.")
    if actor.role_enum is not Role.ADMIN:
        raise PermissionDenied("Only admins can see the security log.")
    page, page_size = clamp_page(page, page_size)
    where: list[Any] = [SecurityEvent.org_id == actor.org_id]
    if kind:
        if kind not in LABELS:
            raise ValidationFailed({"kind": "Unknown kind of event."})
        where.append(SecurityEvent.kind == kind)
    total = int(db.exec(select(func.count()).select_from(SecurityEvent).where(*where)).one())
    page = min(page, max(1, -(-total // page_size)))
    rows = db.exec(
        select(SecurityEvent)
        .where(*where)
        .order_by(col(SecurityEvent.created_at).desc(), col(SecurityEvent.id).desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    actor_ids = {r.actor_id for r in rows if r.actor_id is not None}
    names = (
        {
            u.id: f"{u.full_name} ({u.email})"
            for u in db.exec(select(User).where(col(User.id).in_(actor_ids))).all()
        }
        if actor_ids
        else {}
    )
    items = [
        EventRow(
            id=r.id or 0,
            created_at=r.created_at.isoformat(timespec="seconds"),
            kind=r.kind,
            label=LABELS.get(r.kind, r.kind),
            email=r.email,
            # Only someone else acting on the account is worth a "by ..." (an admin, say).
            actor=names.get(r.actor_id, "") if r.actor_id not in (None, r.user_id) else "",
            ip_address=r.ip_address,
            user_agent=r.user_agent,
            detail=", ".join(f"{k}: {v}" for k, v in sorted(r.detail.items())),
        )
        for r in rows
    ]
    return Page(items=items, total=total, page=page, page_size=page_size)
