"""Personal API tokens: a user makes tokens for their scripts; each request with one runs as that
user, through the same services and access policy as the app.

The secret (``chr_`` + 43 URL-safe characters) is shown once and stored only as its HMAC
(``auth.hash_token``). Scopes: ``read`` (GET) or ``read,write``. A token stops working when it
is revoked, when it expires and when its user is deactivated (``resolve`` checks the user on
every request; ``revoke_all_for`` marks the rows too). Admins see and revoke every token of
their brokerage.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from chronos.models import ApiToken, Role, User, utcnow
from chronos.observability import context as log_context
from chronos.services import access, auth, security_log
from chronos.services.errors import NotFound, PermissionDenied, ValidationFailed
from chronos.services.security_log import Client, Kind
from chronos.services.validation import InvalidValue, in_id_range, required_text

PREFIX = "chr_"
SCOPES = {"read": "Read only", "read,write": "Read and write"}
EXPIRY_DAYS = (0, 7, 30, 90, 365)  # 0: never
MAX_ACTIVE_PER_USER = 20
_TOUCH_INTERVAL = timedelta(minutes=1)
_SECRET_LEN = len(PREFIX) + 43


@dataclass(frozen=True)
class TokenRow:
    id: int
    name: str
    prefix: str
    scopes: str
    scope_label: str
    owner_name: str
    owner_email: str
    created: str  # ISO timestamps (UTC), shown in the viewer's zone by the page
    expires: str
    last_used: str
    state: str  # active / expired / revoked


@dataclass(frozen=True)
class NewToken:
    row: TokenRow
    secret: str  # the only time it exists outside the database's HMAC


def _iso(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value is not None else ""


def _state(token: ApiToken, now: datetime) -> str:
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    return "active"


def _row(token: ApiToken, owner: User, now: datetime) -> TokenRow:
    assert token.id is not None
    return TokenRow(
        id=token.id,
        name=token.name,
        prefix=token.prefix,
        scopes=token.scopes,
        scope_label=SCOPES.get(token.scopes, token.scopes),
        owner_name=owner.full_name,
        owner_email=owner.email,
        created=_iso(token.created_at),
        expires=_iso(token.expires_at),
        last_used=_iso(token.last_used_at),
        state=_state(token, now),
    )


def create(
    db: Session,
    actor: User | None,
    *,
    name: object,
    scopes: object = "read",
    expires_in_days: object = 90,
    client: Client | None = None,
) -> NewToken:
    """A new token for the actor. Any active user may make tokens for their own account."""
    actor = access.require_active(actor)
    assert actor.id is not None
    label = required_text(name, 80, "Name")
    if not isinstance(scopes, str) or scopes not in SCOPES:
        raise InvalidValue("Choose read only, or read and write.", "scopes")
    if (
        isinstance(expires_in_days, bool)
        or not isinstance(expires_in_days, int)
        or expires_in_days not in EXPIRY_DAYS
    ):
        raise InvalidValue(
            "Choose when the token expires: 7, 30, 90 or 365 days, or never.", "expires"
        )
    now = utcnow()
    active = [t for t in _own(db, actor.id) if _state(t, now) == "active"]
    if len(active) >= MAX_ACTIVE_PER_USER:
        raise ValidationFailed(
            {"name": f"You have {len(active)} active tokens. Revoke one you no longer use first."}
        )
    if any(t.name.casefold() == label.casefold() for t in active):
        raise InvalidValue("You already have an active token with this name.", "name")
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        org_id=actor.org_id,
        user_id=actor.id,
        name=label,
        token_hash=auth.hash_token(secret),
        prefix=secret[: len(PREFIX) + 6],
        scopes=scopes,
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    db.add(token)
    db.flush()
    security_log.record(
        db,
        Kind.API_TOKEN_CREATED,
        org_id=actor.org_id,
        user_id=actor.id,
        actor_id=actor.id,
        email=actor.email,
        client=client,
        detail={"token": token.prefix, "name": label, "scopes": scopes},
    )
    return NewToken(row=_row(token, actor, now), secret=secret)


def _own(db: Session, user_id: int) -> list[ApiToken]:
    return list(
        db.exec(
            select(ApiToken)
            .where(ApiToken.user_id == user_id)
            .order_by(col(ApiToken.created_at).desc(), col(ApiToken.id).desc())
        )
    )


def list_mine(db: Session, actor: User | None) -> list[TokenRow]:
    actor = access.require_active(actor)
    now = utcnow()
    return [_row(t, actor, now) for t in _own(db, actor.id or 0)]


def list_for_org(db: Session, actor: User | None) -> list[TokenRow]:
    """Every token of the actor's brokerage (admins only), newest first."""
    actor = access.require_role(actor, {Role.ADMIN}, "Only an admin can see every API token.")
    now = utcnow()
    rows = db.exec(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)  # type: ignore[arg-type]
        .where(ApiToken.org_id == actor.org_id)
        .order_by(col(ApiToken.created_at).desc(), col(ApiToken.id).desc())
    ).all()
    return [_row(t, u, now) for t, u in rows]


def revoke(
    db: Session, actor: User | None, token_id: object, *, client: Client | None = None
) -> TokenRow:
    """Stop a token at once: the actor's own, or (admins) any of their brokerage's."""
    actor = access.require_active(actor)
    if isinstance(token_id, bool) or not isinstance(token_id, int):
        raise NotFound("There is no such token.")
    token = db.get(ApiToken, token_id) if in_id_range(token_id) else None
    if token is None or token.org_id != actor.org_id:
        raise NotFound("There is no such token.")
    if token.user_id != actor.id and actor.role_enum is not Role.ADMIN:
        raise NotFound("There is no such token.")
    owner = db.get(User, token.user_id)
    assert owner is not None
    now = utcnow()
    if token.revoked_at is None:
        token.revoked_at = now
        db.add(token)
        security_log.record(
            db,
            Kind.API_TOKEN_REVOKED,
            org_id=actor.org_id,
            user_id=token.user_id,
            actor_id=actor.id,
            email=owner.email,
            client=client,
            detail={"token": token.prefix, "name": token.name},
        )
        db.flush()
    return _row(token, owner, now)


def revoke_all_for(db: Session, user_id: int) -> int:
    """Revoke every live token of a user (deactivation). Returns how many were live."""
    now = utcnow()
    live = [t for t in _own(db, user_id) if t.revoked_at is None]
    for t in live:
        t.revoked_at = now
        db.add(t)
    db.flush()
    return len(live)


@dataclass(frozen=True)
class Bearer:
    user: User
    token: ApiToken

    @property
    def can_write(self) -> bool:
        return "write" in self.token.scopes.split(",")


def resolve(db: Session, secret: str | None) -> Bearer | None:
    """The active user behind a bearer secret, or None (unknown, revoked, expired, deactivated)."""
    if not secret or not secret.startswith(PREFIX) or len(secret) != _SECRET_LEN:
        return None
    row = db.exec(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)  # type: ignore[arg-type]
        .where(ApiToken.token_hash == auth.hash_token(secret))
    ).first()
    if row is None:
        return None
    token, user = row
    now = utcnow()
    if _state(token, now) != "active" or not user.is_active or user.org_id != token.org_id:
        return None
    if token.last_used_at is None or now - token.last_used_at > _TOUCH_INTERVAL:
        token.last_used_at = now
        db.add(token)
    log_context.bind_actor(user)  # user and organization on the request's log lines
    return Bearer(user=user, token=token)


def bearer_secret(authorization: str | None) -> str | None:
    """The secret of an ``Authorization: Bearer …`` header, if that is what it is."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def require_write(bearer: Bearer) -> None:
    if not bearer.can_write:
        raise PermissionDenied("This token is read only.")
