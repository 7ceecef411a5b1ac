"""Account self-service: sign-up, email verification, password reset and change, the sign-in
attempt (rate limits, lockout, second factor), one's own sessions, profile and TOTP.

Emailed secrets are AccountToken rows: the link carries a random token, the table keeps only
its HMAC (``auth.hash_token``); each is single-use and expires. Services flush, never commit.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from sqlmodel import Session, col, select

from chronos import routes
from chronos.mail import queue_email
from chronos.models import AccountToken, Organization, Role, User, UserSession, utcnow
from chronos.services import auth, passwords, rate_limit
from chronos.services import security_log as seclog
from chronos.services.errors import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    PasswordRefused,
    PermissionDenied,
    ValidationFailed,
    keep_log,
)
from chronos.services.security_log import Client, Kind
from chronos.services.validation import Collector, parse_email, required_text
from chronos.settings import get_settings

VERIFY_EMAIL = "verify_email"
RESET_PASSWORD = "reset_password"
TWO_FACTOR = "two_factor"
TTL = {
    VERIFY_EMAIL: timedelta(hours=48),
    RESET_PASSWORD: timedelta(hours=1),
    TWO_FACTOR: timedelta(minutes=5),
}
TOTP_ISSUER = "Chronos"
MAX_SESSIONS_LISTED = 50

PASSWORDS_DIFFER = "The two passwords do not match."
WRONG_PASSWORD = "Your current password is not correct."
WRONG_CODE = "That code is not correct. Enter the 6-digit code your authenticator app shows now."


# ---------------------------------------------------------------- messages by code

# The native form routes redirect back with ``?error=<code>``; pages show the message. Codes,
# not text, travel in the URL, so nobody can put words of their own on our pages.
MESSAGES = {
    "invalid": auth.SIGN_IN_FAILED,
    "too_short": passwords.TOO_SHORT,
    "too_long": passwords.TOO_LONG,
    "common": passwords.TOO_COMMON,
    "personal": passwords.TOO_PERSONAL,
    "repetitive": passwords.TOO_REPETITIVE,
    "mismatch": PASSWORDS_DIFFER,
    "email_taken": "An account with this email already exists. Sign in, or reset your password "
    "if you forgot it.",
    "email_invalid": "Enter a valid email address.",
    "name_missing": "Enter your name (200 characters at most).",
    "org_missing": "Enter the name of your brokerage (200 characters at most).",
    "code": WRONG_CODE,
    "two_factor_expired": "The sign-in took too long. Enter your email and password again.",
    "form": "Please check the form and try again.",
    "csrf": "Your form came from another site and was refused. Reload the page and try again.",
}
_CODE_OF = {text: code for code, text in MESSAGES.items()}
_FIELD_CODES = {"email": "email_invalid", "full_name": "name_missing", "org_name": "org_missing"}


def error_code(exc: ValidationFailed) -> str:
    """The code of the first problem in a ValidationFailed (for ``?error=``)."""
    for field, text in exc.errors.items():
        if text in _CODE_OF:
            return _CODE_OF[text]
        if field in _FIELD_CODES:
            return _FIELD_CODES[field]
    return "form"


def message_for(code: str) -> str:
    return MESSAGES.get(code, "") if code else ""


# ---------------------------------------------------------------- tokens


class TokenStatus:
    VALID = "valid"
    EXPIRED = "expired"
    USED = "used"
    INVALID = "invalid"


TOKEN_MESSAGES = {
    VERIFY_EMAIL: {
        TokenStatus.EXPIRED: "This verification link has expired. Sign in and send a new one.",
        TokenStatus.USED: "This verification link was already used or replaced by a newer one.",
        TokenStatus.INVALID: "This verification link is not valid. Check that you copied all of it.",
    },
    RESET_PASSWORD: {
        TokenStatus.EXPIRED: "This reset link has expired (links work for one hour). Ask for a new one.",
        TokenStatus.USED: "This reset link was already used or replaced by a newer one. Ask for a new one.",
        TokenStatus.INVALID: "This reset link is not valid. Check that you copied all of it, or ask for a new one.",
    },
    TWO_FACTOR: {
        TokenStatus.EXPIRED: "The sign-in took too long. Enter your email and password again.",
        TokenStatus.USED: "Enter your email and password again.",
        TokenStatus.INVALID: "Enter your email and password again.",
    },
}


class TokenRefused(AuthenticationFailed):
    """An emailed link or pending sign-in that cannot be used; ``status`` says why."""

    def __init__(self, purpose: str, status: str) -> None:
        self.purpose, self.status = purpose, status
        super().__init__(TOKEN_MESSAGES[purpose][status])


def _issue_token(db: Session, user: User, purpose: str, client: Client | None) -> str:
    """A fresh single-use token for ``user``; earlier unused ones of this purpose stop working."""
    _invalidate_tokens(db, user, purpose)
    raw = secrets.token_urlsafe(32)
    now = utcnow()
    assert user.id is not None
    db.add(
        AccountToken(
            org_id=user.org_id,
            user_id=user.id,
            purpose=purpose,
            token_hash=auth.hash_token(raw),
            created_at=now,
            expires_at=now + TTL[purpose],
            ip_address=(client.ip_address if client else "")[:64],
        )
    )
    db.flush()
    return raw


def _invalidate_tokens(db: Session, user: User, purpose: str) -> None:
    now = utcnow()
    for row in db.exec(
        select(AccountToken).where(
            AccountToken.user_id == user.id,
            AccountToken.purpose == purpose,
            col(AccountToken.used_at).is_(None),
        )
    ).all():
        row.used_at = now
        db.add(row)
    db.flush()


def _find_token(db: Session, purpose: str, raw: str | None) -> tuple[AccountToken | None, str]:
    """(row, status). A row is returned for expired and used tokens too (to explain them)."""
    if not raw or len(raw) > 200:
        return None, TokenStatus.INVALID
    digest = auth.hash_token(raw)
    row = db.exec(select(AccountToken).where(AccountToken.token_hash == digest)).first()
    # The lookup is by keyed hash; compare again in constant time before trusting the row.
    if row is None or not hmac.compare_digest(row.token_hash, digest) or row.purpose != purpose:
        return None, TokenStatus.INVALID
    if row.used_at is not None:
        return row, TokenStatus.USED
    if row.expires_at <= utcnow():
        return row, TokenStatus.EXPIRED
    return row, TokenStatus.VALID


def _use_token(db: Session, purpose: str, raw: str | None) -> tuple[AccountToken, User]:
    row, status = _find_token(db, purpose, raw)
    if row is None or status != TokenStatus.VALID:
        raise TokenRefused(purpose, status)
    user = db.get(User, row.user_id)
    if user is None or not user.is_active:
        raise TokenRefused(purpose, TokenStatus.INVALID)
    row.used_at = utcnow()
    db.add(row)
    db.flush()
    return row, user


# ---------------------------------------------------------------- sign-up and verification


_SLUG_CHARS = re.compile(r"[^a-z0-9]+")


def _unique_slug(db: Session, name: str) -> str:
    base = _SLUG_CHARS.sub("-", name.lower()).strip("-")[:60] or "brokerage"
    taken = set(
        db.exec(select(Organization.slug).where(col(Organization.slug).startswith(base))).all()
    )
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def sign_up(
    db: Session,
    *,
    org_name: str,
    full_name: str,
    email: str,
    password: str,
    password2: str,
    client: Client | None = None,
) -> User:
    """A new brokerage and its first admin, unverified until they open the emailed link."""
    client = client or Client()
    check = Collector()
    org_clean = check.field("org_name", required_text, org_name, 200, "Brokerage name")
    name = check.field("full_name", required_text, full_name, 200, "Your name")
    clean_email = check.field("email", parse_email, email)
    if not clean_email and "email" not in check.errors:
        check.add("email", "Email is required.")
    weak = passwords.problem(password, email=clean_email or "", full_name=name or "")
    if weak:
        check.add("password", weak)
    elif password != password2:
        check.add("password2", PASSWORDS_DIFFER)
    check.raise_if_any()
    rate_limit.hit(rate_limit.SIGN_UP_ADDRESS, client.ip_address)
    if db.exec(select(User).where(User.email == clean_email)).first() is not None:
        raise Conflict(
            f"An account with the email {clean_email} already exists. Sign in, or reset your "
            "password if you forgot it."
        )
    org = auth.create_organization(db, name=org_clean, slug=_unique_slug(db, org_clean))
    assert org.id is not None
    user = auth.create_user(
        db,
        org_id=org.id,
        email=clean_email,
        full_name=name,
        role=Role.ADMIN,
        password=password,
        email_verified=False,
    )
    seclog.record(
        db,
        Kind.SIGNED_UP,
        org_id=org.id,
        user_id=user.id,
        actor_id=user.id,
        email=user.email,
        client=client,
        detail={"organization": org.name},
    )
    _send_verification(db, user, client)
    return user


def _send_verification(db: Session, user: User, client: Client | None) -> None:
    raw = _issue_token(db, user, VERIFY_EMAIL, client)
    queue_email(
        db,
        to=user.email,
        template="verify_email",
        context={
            "name": user.full_name,
            "url": routes.public_url(f"{routes.VERIFY_EMAIL}?token={raw}"),
            "hours": int(TTL[VERIFY_EMAIL].total_seconds() // 3600),
        },
        org_id=user.org_id,
        user_id=user.id,
    )


def resend_verification(db: Session, actor: User, client: Client | None = None) -> None:
    """Email a new verification link (earlier links stop working). Rate limited per account."""
    if actor.is_verified:
        raise Conflict("Your email address is already verified.")
    rate_limit.hit(rate_limit.VERIFY_RESEND_ACCOUNT, f"user:{actor.id}")
    _send_verification(db, actor, client)


@dataclass(frozen=True)
class Verified:
    email: str
    already: bool  # the address had been verified before (e.g. a second click on the link)


def verify_email(db: Session, token: str | None, client: Client | None = None) -> Verified:
    """Mark the address verified. Raises TokenRefused (expired, used, invalid)."""
    row, status = _find_token(db, VERIFY_EMAIL, token)
    if row is not None and status == TokenStatus.USED:
        user = db.get(User, row.user_id)
        if user is not None and user.is_active and user.is_verified:
            return Verified(email=user.email, already=True)
    _row, user = _use_token(db, VERIFY_EMAIL, token)
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        db.add(user)
        seclog.record(
            db,
            Kind.EMAIL_VERIFIED,
            org_id=user.org_id,
            user_id=user.id,
            actor_id=user.id,
            email=user.email,
            client=client,
        )
    return Verified(email=user.email, already=False)


# ---------------------------------------------------------------- password reset


def _reset_key(email: str) -> str:
    try:
        return parse_email(email) or email.strip().lower()
    except ValueError:
        return email.strip().lower()


def request_password_reset(db: Session, email: str, client: Client | None = None) -> None:
    """Email a 1-hour reset link if the address belongs to an active account.

    The outward result is the same whether or not it does: the same return, the same limits
    (counted per address typed and per client address), no email for unknown addresses.
    """
    client = client or Client()
    key = _reset_key(email)
    rate_limit.check(rate_limit.RESET_ADDRESS, client.ip_address)
    rate_limit.check(rate_limit.RESET_ACCOUNT, key)
    rate_limit.hit(rate_limit.RESET_ADDRESS, client.ip_address)
    rate_limit.hit(rate_limit.RESET_ACCOUNT, key)
    user = db.exec(select(User).where(User.email == key)).first() if key else None
    if user is None or not user.is_active:
        return
    raw = _issue_token(db, user, RESET_PASSWORD, client)
    queue_email(
        db,
        to=user.email,
        template="password_reset",
        context={
            "name": user.full_name,
            "url": routes.public_url(f"{routes.RESET_PASSWORD}?token={raw}"),
            "minutes": int(TTL[RESET_PASSWORD].total_seconds() // 60),
            "ip_address": client.ip_address or "unknown",
        },
        org_id=user.org_id,
        user_id=user.id,
    )
    seclog.record(
        db,
        Kind.PASSWORD_RESET_REQUESTED,
        org_id=user.org_id,
        user_id=user.id,
        email=user.email,
        client=client,
    )


def check_reset_token(db: Session, token: str | None) -> None:
    """Raise TokenRefused when the reset link cannot be used (the page says so up front)."""
    row, status = _find_token(db, RESET_PASSWORD, token)
    if status != TokenStatus.VALID:
        raise TokenRefused(RESET_PASSWORD, status)
    user = db.get(User, row.user_id) if row else None
    if user is None or not user.is_active:
        raise TokenRefused(RESET_PASSWORD, TokenStatus.INVALID)


@dataclass(frozen=True)
class ResetDone:
    user: User
    # A session to sign in with, or None when the account has two-factor sign-in on (the
    # emailed link alone must not get past the second factor).
    signed_in: auth.SignedIn | None


def complete_password_reset(
    db: Session,
    token: str | None,
    password: str,
    password2: str,
    client: Client | None = None,
) -> ResetDone:
    """Set the new password, revoke every session, lift the lockout, and sign in."""
    client = client or Client()
    check_reset_token(db, token)  # refuse a bad link before judging the password
    row, _status = _find_token(db, RESET_PASSWORD, token)
    assert row is not None
    user = db.get(User, row.user_id)
    assert user is not None
    _check_new_password(user, password, password2, field="password")
    _use_token(db, RESET_PASSWORD, token)
    auth.set_password(db, user, password)
    if user.email_verified_at is None:  # the emailed link proved the address too
        user.email_verified_at = utcnow()
        db.add(user)
    assert user.id is not None
    revoked = auth.revoke_all_sessions(db, user.id)
    rate_limit.clear(rate_limit.SIGN_IN_ACCOUNT, user.email)
    seclog.record(
        db,
        Kind.PASSWORD_RESET,
        org_id=user.org_id,
        user_id=user.id,
        actor_id=user.id,
        email=user.email,
        client=client,
        detail={"sessions_revoked": revoked},
    )
    _send_password_changed(db, user, client)
    if user.totp_enabled_at is not None:
        return ResetDone(user=user, signed_in=None)
    signed = auth.open_session(db, user, ip_address=client.ip_address, user_agent=client.user_agent)
    return ResetDone(user=user, signed_in=signed)


def _check_new_password(user: User, password: str, password2: str, *, field: str) -> None:
    weak = passwords.problem(password, email=user.email, full_name=user.full_name)
    if weak:
        raise ValidationFailed({field: weak})
    if password != password2:
        raise ValidationFailed({f"{field}2": PASSWORDS_DIFFER})


def _send_password_changed(db: Session, user: User, client: Client) -> None:
    queue_email(
        db,
        to=user.email,
        template="password_changed",
        context={
            "name": user.full_name,
            "when": utcnow().strftime("%Y-%m-%d %H:%M UTC"),
            "ip_address": client.ip_address or "unknown",
            "reset_url": routes.public_url(routes.FORGOT_PASSWORD),
        },
        org_id=user.org_id,
        user_id=user.id,
    )


# ---------------------------------------------------------------- sign-in attempts


@dataclass(frozen=True)
class SignInOutcome:
    """What the sign-in route answers. Exactly one of the fields below says what happened."""

    signed_in: auth.SignedIn | None = None
    two_factor_token: str = ""  # password right, TOTP on: the pending-step token
    error: str = ""  # "invalid" | "limited"
    limited: rate_limit.RateLimited | None = None  # the lockout, when error == "limited"


def attempt_sign_in(
    db: Session,
    *,
    email: str,
    password: str,
    client: Client | None = None,
    previous_token: str | None = None,
) -> SignInOutcome:
    """Sign-in with lockout (5 failures per account in 15 min) and a per-address limit.

    Failures are recorded as security events in this unit of work (nothing here raises for a
    refused attempt, so the caller commits them): each failed try, and the moment a limit
    fills up. Attempts refused while a limit is full are not logged one by one (they cost
    nothing to send, so logging each would let anyone grow the log without bound).
    ``previous_token`` is the session cookie the browser already had: it is revoked (session
    rotation).
    """
    client = client or Client()
    key = _reset_key(email)
    known = db.exec(select(User).where(User.email == key)).first() if key else None

    def log(kind: str, **detail: str) -> None:
        seclog.record(
            db,
            kind,
            org_id=known.org_id if known else None,
            user_id=known.id if known else None,
            email=key[:254],
            client=client,
            detail=detail,
        )

    try:
        rate_limit.check(rate_limit.SIGN_IN_ACCOUNT, key)
        rate_limit.check(rate_limit.SIGN_IN_ADDRESS, client.ip_address)
    except rate_limit.RateLimited as exc:
        return SignInOutcome(error="limited", limited=exc)
    try:
        user = auth.check_credentials(db, email=email, password=password)
    except AuthenticationFailed:
        reason = "inactive" if known and not known.is_active else "credentials"
        log(Kind.SIGN_IN_FAILED, reason=reason)
        rate_limit.hit(rate_limit.SIGN_IN_ADDRESS, client.ip_address)
        rate_limit.hit(rate_limit.SIGN_IN_ACCOUNT, key)
        try:  # was that the last try left?
            rate_limit.check(rate_limit.SIGN_IN_ACCOUNT, key)
        except rate_limit.RateLimited as exc:
            log(Kind.LOCKED_OUT)
            return SignInOutcome(error="limited", limited=exc)
        try:
            rate_limit.check(rate_limit.SIGN_IN_ADDRESS, client.ip_address)
        except rate_limit.RateLimited as exc:
            log(Kind.RATE_LIMITED, policy=exc.policy.name)
        return SignInOutcome(error="invalid")
    if user.totp_enabled_at is not None:
        pending = _issue_token(db, user, TWO_FACTOR, client)
        return SignInOutcome(two_factor_token=pending)
    return SignInOutcome(signed_in=_finish_sign_in(db, user, client, previous_token, "password"))


def _finish_sign_in(
    db: Session, user: User, client: Client, previous_token: str | None, method: str
) -> auth.SignedIn:
    if previous_token:
        auth.sign_out(db, previous_token)
    signed = auth.open_session(db, user, ip_address=client.ip_address, user_agent=client.user_agent)
    rate_limit.clear(rate_limit.SIGN_IN_ACCOUNT, user.email)
    seclog.record(
        db,
        Kind.SIGNED_IN,
        org_id=user.org_id,
        user_id=user.id,
        actor_id=user.id,
        email=user.email,
        client=client,
        detail={"method": method},
    )
    return signed


def pending_two_factor(db: Session, token: str | None) -> User:
    """The user of a pending two-factor step, or TokenRefused."""
    row, status = _find_token(db, TWO_FACTOR, token)
    if row is None or status != TokenStatus.VALID:
        raise TokenRefused(TWO_FACTOR, status)
    user = db.get(User, row.user_id)
    if user is None or not user.is_active or user.totp_enabled_at is None:
        raise TokenRefused(TWO_FACTOR, TokenStatus.INVALID)
    return user


@dataclass(frozen=True)
class TwoFactorOutcome:
    signed_in: auth.SignedIn | None = None
    error: str = ""  # "code" (wrong code, try again) | "limited" | "expired" (start over)
    message: str = ""
    limited: rate_limit.RateLimited | None = None


def complete_two_factor(
    db: Session,
    token: str | None,
    code: str,
    client: Client | None = None,
    previous_token: str | None = None,
) -> TwoFactorOutcome:
    """Second step of sign-in. Wrong codes count towards a per-account limit."""
    client = client or Client()
    try:
        user = pending_two_factor(db, token)
    except TokenRefused as exc:
        return TwoFactorOutcome(error="expired", message=exc.message)
    try:
        check_code(db, user, code, client=client, purpose="sign_in")
    except PasswordRefused as exc:
        if not exc.limited:
            return TwoFactorOutcome(error="code", message=WRONG_CODE)
        _invalidate_tokens(db, user, TWO_FACTOR)
        return TwoFactorOutcome(error="limited", message=exc.message)
    _use_token(db, TWO_FACTOR, token)
    return TwoFactorOutcome(
        signed_in=_finish_sign_in(db, user, client, previous_token, "password+totp")
    )


def record_sign_out(db: Session, token: str | None, client: Client | None = None) -> None:
    """Revoke the session behind ``token`` and log it (nothing when there is none)."""
    session = auth.session_for_token(db, token)
    if session is None or session.revoked_at is not None:
        return
    auth.sign_out(db, token)
    user = db.get(User, session.user_id)
    seclog.record(
        db,
        Kind.SIGNED_OUT,
        org_id=session.org_id,
        user_id=session.user_id,
        actor_id=session.user_id,
        email=user.email if user else "",
        client=client,
    )


# ---------------------------------------------------------------- re-authentication


def _log_refusal(db: Session, user: User, client: Client, kind: str, detail: dict) -> None:
    seclog.record(
        db,
        kind,
        org_id=user.org_id,
        user_id=user.id,
        actor_id=user.id,
        email=user.email,
        client=client,
        detail=detail,
    )


def check_password(
    db: Session,
    user: User,
    password: str,
    *,
    client: Client | None,
    purpose: str,
    field: str = "password",
    wrong: str = WRONG_PASSWORD,
) -> None:
    """Every check of a known account's password outside the sign-in form (changing it, turning
    two-factor off, accepting an invitation with an existing login) counts against the same
    lockout as sign-in (5 wrong per account, 20 per address, in 15 minutes) and is logged like
    a failed sign-in. While locked, nothing is revealed, not even whether this guess was right.

    Raises ``PasswordRefused`` marked ``keep_log``: the caller's unit of work commits the
    security events it holds, so call this before that unit of work changes anything else.
    """
    client = client or Client()
    key = _reset_key(user.email)
    try:
        rate_limit.check(rate_limit.SIGN_IN_ACCOUNT, key)
        rate_limit.check(rate_limit.SIGN_IN_ADDRESS, client.ip_address)
    except rate_limit.RateLimited as exc:
        raise PasswordRefused(field, str(exc), limited=True) from None
    if auth.verify_password(password or "", user.password_hash):
        return
    _log_refusal(
        db, user, client, Kind.SIGN_IN_FAILED, {"reason": "credentials", "purpose": purpose}
    )
    try:
        rate_limit.hit(rate_limit.SIGN_IN_ADDRESS, client.ip_address)
        rate_limit.hit(rate_limit.SIGN_IN_ACCOUNT, key)
        rate_limit.check(rate_limit.SIGN_IN_ACCOUNT, key)
    except rate_limit.RateLimited as exc:
        _log_refusal(db, user, client, Kind.LOCKED_OUT, {"purpose": purpose})
        raise keep_log(PasswordRefused(field, str(exc), limited=True)) from None
    raise keep_log(PasswordRefused(field, wrong))


def check_code(
    db: Session,
    user: User,
    code: str,
    *,
    client: Client | None,
    purpose: str,
    field: str = "code",
) -> None:
    """Every check of a TOTP code outside the sign-in step (confirming or turning off
    two-factor): the sign-in step's per-account limit of wrong codes, each one logged.
    Raises ``PasswordRefused`` marked ``keep_log``, like ``check_password``."""
    client = client or Client()
    key = f"user:{user.id}"
    try:
        rate_limit.check(rate_limit.TWO_FACTOR_ACCOUNT, key)
    except rate_limit.RateLimited as exc:
        raise PasswordRefused(field, str(exc), limited=True) from None
    if _accept_totp(db, user, code):
        rate_limit.clear(rate_limit.TWO_FACTOR_ACCOUNT, key)
        return
    _log_refusal(db, user, client, Kind.TWO_FACTOR_FAILED, {"purpose": purpose})
    try:
        rate_limit.hit(rate_limit.TWO_FACTOR_ACCOUNT, key)
        rate_limit.check(rate_limit.TWO_FACTOR_ACCOUNT, key)
    except rate_limit.RateLimited as exc:
        raise keep_log(PasswordRefused(field, str(exc), limited=True)) from None
    raise keep_log(PasswordRefused(field, WRONG_CODE))


# ---------------------------------------------------------------- own account


def _active(actor: User | None) -> User:
    if actor is None or not actor.is_active:
        raise PermissionDenied("Sign in again to continue.")
    return actor


def update_profile(db: Session, actor: User, *, full_name: str) -> User:
    actor = _active(actor)
    check = Collector()
    name = check.field("full_name", required_text, full_name, 200, "Name")
    check.raise_if_any()
    actor.full_name = name
    db.add(actor)
    db.flush()
    return actor


def change_password(
    db: Session,
    actor: User,
    *,
    current: str,
    new: str,
    new2: str,
    current_token: str | None,
    client: Client | None = None,
) -> int:
    """Change one's password; every other session is revoked. Returns how many were."""
    actor = _active(actor)
    client = client or Client()
    # The new password first: its problems say nothing about the current one, so a wrong
    # guess cannot be told from a right one by the answer.
    _check_new_password(actor, new, new2, field="new")
    check_password(db, actor, current, client=client, purpose="change_password", field="current")
    auth.set_password(db, actor, new, field="new")
    this = auth.session_for_token(db, current_token)
    keep = this.id if this is not None and this.user_id == actor.id else None
    assert actor.id is not None
    revoked = auth.revoke_all_sessions(db, actor.id, except_id=keep)
    seclog.record(
        db,
        Kind.PASSWORD_CHANGED,
        org_id=actor.org_id,
        user_id=actor.id,
        actor_id=actor.id,
        email=actor.email,
        client=client,
        detail={"sessions_revoked": revoked},
    )
    _send_password_changed(db, actor, client)
    return revoked


@dataclass(frozen=True)
class SessionRow:
    id: int
    created_at: str  # ISO 8601, UTC
    last_seen_at: str
    ip_address: str
    device: str
    current: bool


def describe_user_agent(ua: str) -> str:
    """A short "Browser on OS" from a User-Agent header (display only)."""
    ua = ua or ""
    browser = next(
        (
            name
            for token, name in (
                ("Edg/", "Edge"),
                ("OPR/", "Opera"),
                ("Firefox/", "Firefox"),
                ("Chrome/", "Chrome"),
                ("Chromium/", "Chromium"),
                ("Safari/", "Safari"),
            )
            if token in ua
        ),
        "",
    )
    system = next(
        (
            name
            for token, name in (
                ("iPhone", "iPhone"),
                ("iPad", "iPad"),
                ("Android", "Android"),
                ("Windows", "Windows"),
                ("Mac OS X", "macOS"),
                ("CrOS", "ChromeOS"),
                ("Linux", "Linux"),
            )
            if token in ua
        ),
        "",
    )
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or (ua[:60] if ua else "Unknown device")


def list_my_sessions(db: Session, actor: User, current_token: str | None) -> list[SessionRow]:
    """The actor's own live sessions, newest activity first (at most 50)."""
    actor = _active(actor)
    current_hash = auth.hash_token(current_token) if current_token else ""
    now = utcnow()
    rows = db.exec(
        select(UserSession)
        .where(
            UserSession.user_id == actor.id,
            col(UserSession.revoked_at).is_(None),
            UserSession.expires_at > now,
        )
        .order_by(col(UserSession.last_seen_at).desc(), col(UserSession.id).desc())
        .limit(MAX_SESSIONS_LISTED)
    ).all()
    return [
        SessionRow(
            id=s.id or 0,
            created_at=s.created_at.isoformat(timespec="seconds"),
            last_seen_at=s.last_seen_at.isoformat(timespec="seconds"),
            ip_address=s.ip_address,
            device=describe_user_agent(s.user_agent),
            current=bool(current_hash) and hmac.compare_digest(s.token_hash, current_hash),
        )
        for s in rows
    ]


def revoke_my_session(
    db: Session,
    actor: User,
    session_id: int,
    current_token: str | None,
    client: Client | None = None,
) -> None:
    """Sign out one of one's own other devices. Someone else's session is NotFound."""
    actor = _active(actor)
    session = db.get(UserSession, session_id)
    if session is None or session.user_id != actor.id or session.revoked_at is not None:
        raise NotFound("That session does not exist or has already ended.")
    if current_token and hmac.compare_digest(session.token_hash, auth.hash_token(current_token)):
        raise Conflict("That is this device: use Sign out instead.")
    session.revoked_at = utcnow()
    db.add(session)
    seclog.record(
        db,
        Kind.SESSION_REVOKED,
        org_id=actor.org_id,
        user_id=actor.id,
        actor_id=actor.id,
        email=actor.email,
        client=client,
        detail={"session_id": session_id},
    )
    db.flush()


def revoke_my_other_sessions(
    db: Session, actor: User, current_token: str | None, client: Client | None = None
) -> int:
    actor = _active(actor)
    this = auth.session_for_token(db, current_token)
    keep = this.id if this is not None and this.user_id == actor.id else None
    assert actor.id is not None
    revoked = auth.revoke_all_sessions(db, actor.id, except_id=keep)
    if revoked:
        seclog.record(
            db,
            Kind.SESSION_REVOKED,
            org_id=actor.org_id,
            user_id=actor.id,
            actor_id=actor.id,
            email=actor.email,
            client=client,
            detail={"sessions_revoked": revoked},
        )
    return revoked


# ---------------------------------------------------------------- TOTP two-factor sign-in


@lru_cache(maxsize=4)
def _fernet_for(secret_key: str) -> Fernet:
    derived = hashlib.sha256(b"chronos-totp-secret-v1\x00" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


def _fernet() -> Fernet:
    return _fernet_for(get_settings().secret_key)


def _encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def _decrypt(stored: str) -> str:
    try:
        return _fernet().decrypt(stored.encode()).decode()
    except (InvalidToken, ValueError):
        return ""


@dataclass(frozen=True)
class TotpSetup:
    secret: str  # base32, shown for manual entry
    uri: str  # otpauth:// URI
    qr_svg: str  # data:image/svg+xml URI of the QR code


def begin_totp(db: Session, actor: User) -> TotpSetup:
    """Start enrolment: a new secret (kept encrypted, not active until confirmed)."""
    actor = _active(actor)
    if actor.totp_enabled_at is not None:
        raise Conflict("Two-factor sign-in is already on. Turn it off first to change the app.")
    secret = pyotp.random_base32()
    actor.totp_secret = _encrypt(secret)
    actor.totp_last_step = None
    db.add(actor)
    db.flush()
    return _setup_for(actor, secret)


def _setup_for(actor: User, secret: str) -> TotpSetup:
    uri = pyotp.TOTP(secret).provisioning_uri(name=actor.email, issuer_name=TOTP_ISSUER)
    qr = segno.make(uri, error="m")
    return TotpSetup(secret=secret, uri=uri, qr_svg=qr.svg_data_uri(scale=5, border=2))


def pending_totp(db: Session, actor: User) -> TotpSetup | None:
    """The enrolment in progress (secret stored, not yet confirmed), if any."""
    actor = _active(actor)
    if actor.totp_enabled_at is not None or not actor.totp_secret:
        return None
    secret = _decrypt(actor.totp_secret)
    return _setup_for(actor, secret) if secret else None


def _accept_totp(db: Session, user: User, code: str, *, at: float | None = None) -> bool:
    """A code valid now (±1 step of 30 s) and newer than the last one accepted."""
    secret = _decrypt(user.totp_secret) if user.totp_secret else ""
    digits = re.sub(r"\s+", "", code or "")
    if not secret or not re.fullmatch(r"\d{6}", digits):
        return False
    totp = pyotp.TOTP(secret)
    now = time.time() if at is None else at
    step_now = int(now // totp.interval)
    for step in (step_now - 1, step_now, step_now + 1):
        if hmac.compare_digest(totp.generate_otp(step), digits):
            if user.totp_last_step is not None and step <= user.totp_last_step:
                return False  # replay of a code already used
            user.totp_last_step = step
            db.add(user)
            db.flush()
            return True
    return False


def confirm_totp(db: Session, actor: User, code: str, client: Client | None = None) -> None:
    actor = _active(actor)
    if actor.totp_enabled_at is not None:
        raise Conflict("Two-factor sign-in is already on.")
    if not actor.totp_secret:
        raise Conflict("Start by setting up your authenticator app.")
    check_code(db, actor, code, client=client, purpose="confirm_two_factor")
    actor.totp_enabled_at = utcnow()
    db.add(actor)
    seclog.record(
        db,
        Kind.TWO_FACTOR_ENABLED,
        org_id=actor.org_id,
        user_id=actor.id,
        actor_id=actor.id,
        email=actor.email,
        client=client,
    )
    db.flush()


def cancel_totp_setup(db: Session, actor: User) -> None:
    actor = _active(actor)
    if actor.totp_enabled_at is None:
        actor.totp_secret = ""
        actor.totp_last_step = None
        db.add(actor)
        db.flush()


def disable_totp(
    db: Session, actor: User, password: str, code: str, client: Client | None = None
) -> None:
    """Turning two-factor off needs the password and a current code: a stolen session or a
    guessed password alone must not remove the second factor."""
    actor = _active(actor)
    if actor.totp_enabled_at is None:
        raise Conflict("Two-factor sign-in is not on.")
    check_password(db, actor, password, client=client, purpose="disable_two_factor")
    check_code(db, actor, code, client=client, purpose="disable_two_factor")
    actor.totp_secret = ""
    actor.totp_enabled_at = None
    actor.totp_last_step = None
    db.add(actor)
    seclog.record(
        db,
        Kind.TWO_FACTOR_DISABLED,
        org_id=actor.org_id,
        user_id=actor.id,
        actor_id=actor.id,
        email=actor.email,
        client=client,
    )
    db.flush()
