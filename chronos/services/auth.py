"""Passwords, users and sign-in sessions.

The browser holds a random token in an HttpOnly cookie; the database stores only its
HMAC-SHA256 (keyed by the secret key), so a leaked table cannot be replayed as cookies.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from passlib.context import CryptContext
from sqlmodel import Session, select

from chronos.models import (
    EXTERNAL_ROLES,
    Organization,
    Participant,
    Person,
    Role,
    User,
    UserSession,
    utcnow,
)
from chronos.observability import context as log_context
from chronos.services import passwords
from chronos.services.errors import (
    AuthenticationFailed,
    Conflict,
    PermissionDenied,
    ValidationFailed,
)
from chronos.services.validation import Collector, parse_choice, parse_email, required_text
from chronos.settings import get_settings

pwd_context = CryptContext(schemes=["argon2"], deprecated="auto")
MIN_PASSWORD_LENGTH = passwords.MIN_LENGTH
NOT_VERIFIED = (
    "Verify your email address first: open the link we emailed you, or resend it from the "
    "banner at the top of the page."
)
# Verified against when the email is unknown, so a miss costs the same time as a wrong password.
_DUMMY_HASH = pwd_context.hash("chronos-timing-equaliser")
# Refresh last_seen_at at most this often: resolving a session must not write on every event.
_TOUCH_INTERVAL = timedelta(minutes=5)
SIGN_IN_FAILED = "Email or password is incorrect."


def hash_password(password: str) -> str:
    return pwd_context.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return pwd_context.verify(password, password_hash)
    except (ValueError, TypeError):
        return False


def hash_token(token: str) -> str:
    key = get_settings().secret_key.encode()
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def create_organization(db: Session, *, name: str, slug: str) -> Organization:
    org = Organization(name=required_text(name, 200, "Name"), slug=slug)
    db.add(org)
    db.flush()
    return org


def create_user(
    db: Session,
    *,
    org_id: int,
    email: str,
    full_name: str,
    role: str | Role,
    password: str,
    email_verified: bool = True,
) -> User:
    """Create a login. Outside parties (client, attorney, lender) also get a linked contact.

    Accounts made by an operator (CLI, demo, an accepted invitation) count as verified; a
    self-service sign-up passes ``email_verified=False`` and proves the address by link.
    """
    check = Collector()
    clean_email = check.field("email", parse_email, email)
    if not clean_email and "email" not in check.errors:
        check.add("email", "Email is required.")
    name = check.field("full_name", required_text, full_name, 200, "Name")
    role_enum = check.field("role", parse_choice, role, Role, "role")
    weak = passwords.problem(password, email=clean_email or "", full_name=name or "")
    if weak:
        check.add("password", weak)
    check.raise_if_any()
    if db.exec(select(User).where(User.email == clean_email)).first() is not None:
        raise Conflict(f"A user with the email {clean_email} already exists.")
    user = User(
        org_id=org_id,
        email=clean_email,
        full_name=name,
        role=role_enum.value,
        password_hash=hash_password(password),
        email_verified_at=utcnow() if email_verified else None,
    )
    db.add(user)
    db.flush()
    if role_enum in EXTERNAL_ROLES:
        person = db.exec(
            select(Person).where(
                Person.org_id == org_id,
                Person.email == clean_email,
                Person.user_id.is_(None),  # type: ignore[union-attr]
            )
        ).first()
        if person is None:
            first, _, last = name.partition(" ")
            person = Person(org_id=org_id, first_name=first, last_name=last, email=clean_email)
        person.user_id = user.id
        db.add(person)
        db.flush()
        # The contact may already be on transactions: access checks Participant.user_id, so
        # link those rows too or the new login would not see their own files.
        for part in db.exec(
            select(Participant).where(
                Participant.person_id == person.id,
                Participant.user_id.is_(None),  # type: ignore[union-attr]
            )
        ).all():
            part.user_id = user.id
            db.add(part)
        db.flush()
    return user


@dataclass(frozen=True)
class SignedIn:
    user: User
    token: str
    max_age_seconds: int


def check_credentials(db: Session, *, email: str, password: str) -> User:
    """The active user with this email and password. One message for every kind of failure."""
    try:
        clean_email = parse_email(email) or ""
    except ValueError:
        clean_email = ""
    user = db.exec(select(User).where(User.email == clean_email)).first() if clean_email else None
    if user is None:
        verify_password(password, _DUMMY_HASH)
        raise AuthenticationFailed(SIGN_IN_FAILED)
    if not verify_password(password, user.password_hash) or not user.is_active:
        raise AuthenticationFailed(SIGN_IN_FAILED)
    if pwd_context.needs_update(user.password_hash):
        user.password_hash = hash_password(password)
        db.add(user)
    return user


def sign_in(
    db: Session, *, email: str, password: str, ip_address: str = "", user_agent: str = ""
) -> SignedIn:
    """Check credentials and open a new session (no rate limits, no second factor: the
    sign-in route goes through ``accounts.attempt_sign_in``, which adds both)."""
    user = check_credentials(db, email=email, password=password)
    return open_session(db, user, ip_address=ip_address, user_agent=user_agent)


def open_session(
    db: Session, user: User, *, ip_address: str = "", user_agent: str = ""
) -> SignedIn:
    """A new session for a user whose credentials were checked."""
    token = secrets.token_urlsafe(32)
    ttl = timedelta(hours=get_settings().session_ttl_hours)
    now = utcnow()
    assert user.id is not None
    db.add(
        UserSession(
            org_id=user.org_id,
            user_id=user.id,
            token_hash=hash_token(token),
            created_at=now,
            expires_at=now + ttl,
            last_seen_at=now,
            ip_address=ip_address[:64],
            user_agent=user_agent[:300],
        )
    )
    user.last_login_at = now
    db.add(user)
    db.flush()
    log_context.bind_actor(user)
    return SignedIn(user=user, token=token, max_age_seconds=int(ttl.total_seconds()))


def resolve_session(db: Session, token: str | None) -> User | None:
    """The active user behind a cookie token, or None (unknown, expired, revoked, deactivated)."""
    if not token or len(token) > 200:
        return None
    row = db.exec(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)  # type: ignore[arg-type]
        .where(UserSession.token_hash == hash_token(token))
    ).first()
    if row is None:
        return None
    session, user = row
    now = utcnow()
    if session.revoked_at is not None or session.expires_at <= now or not user.is_active:
        return None
    if now - session.last_seen_at > _TOUCH_INTERVAL:
        session.last_seen_at = now
        db.add(session)
    log_context.bind_actor(user)  # user and organization on the request's log lines
    return user


def sign_out(db: Session, token: str | None) -> None:
    if not token:
        return
    session = db.exec(
        select(UserSession).where(UserSession.token_hash == hash_token(token))
    ).first()
    if session is not None and session.revoked_at is None:
        session.revoked_at = utcnow()
        db.add(session)


def session_for_token(db: Session, token: str | None) -> UserSession | None:
    if not token or len(token) > 200:
        return None
    return db.exec(select(UserSession).where(UserSession.token_hash == hash_token(token))).first()


def revoke_all_sessions(db: Session, user_id: int, *, except_id: int | None = None) -> int:
    """Revoke every live session of a user (but ``except_id``); returns how many."""
    query = select(UserSession).where(
        UserSession.user_id == user_id,
        UserSession.revoked_at.is_(None),  # type: ignore[union-attr]
    )
    if except_id is not None:
        query = query.where(UserSession.id != except_id)
    sessions = db.exec(query).all()
    now = utcnow()
    for s in sessions:
        s.revoked_at = now
        db.add(s)
    db.flush()
    return len(sessions)


def set_password(db: Session, user: User, password: str, *, field: str = "password") -> None:
    """Apply the password policy and store the new hash (callers revoke sessions)."""
    weak = passwords.problem(password, email=user.email, full_name=user.full_name)
    if weak:
        raise ValidationFailed({field: weak})
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    db.add(user)
    db.flush()


def require_verified(actor: User) -> User:
    """Limited access for unverified accounts: the one place that says what needs a verified
    email address (sending email to others, creating transactions)."""
    if not actor.is_verified:
        raise PermissionDenied(NOT_VERIFIED)
    return actor
