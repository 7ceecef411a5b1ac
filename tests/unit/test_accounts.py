"""Account self-service: policy, sign-up, verification, reset, lockout, sessions, TOTP, log."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from chronos.models import AccountToken, EmailMessage, Organization, SecurityEvent, User, utcnow
from chronos.services import accounts, auth, passwords, rate_limit, security_log
from chronos.services.errors import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from chronos.services.security_log import Client, Kind
from tests.factories import DEFAULT_PASSWORD, World, deactivate, make_transaction

NEW_PASSWORD = "lantern-orchid-velvet"
HOME = Client("198.51.100.7", "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0")


def _mails(db: Session, to: str, template: str | None = None) -> list[EmailMessage]:
    query = select(EmailMessage).where(EmailMessage.to_address == to)
    if template:
        query = query.where(EmailMessage.template == template)
    return list(db.exec(query.order_by(EmailMessage.id)).all())  # type: ignore[arg-type]


def _link_token(message: EmailMessage) -> str:
    match = re.search(r"token=([A-Za-z0-9_\-]+)", message.text_body)
    assert match, message.text_body
    return match.group(1)


def _kinds(db: Session, user_id: int | None = None) -> list[str]:
    query = select(SecurityEvent.kind).order_by(SecurityEvent.id)  # type: ignore[arg-type]
    if user_id is not None:
        query = query.where(SecurityEvent.user_id == user_id)
    return list(db.exec(query).all())


def _sign_up(db: Session, email: str = "founder@newbrokerage.example", **kw: str) -> User:
    data = {
        "org_name": "Bayside Homes",
        "full_name": "Frances Founder",
        "email": email,
        "password": DEFAULT_PASSWORD,
        "password2": DEFAULT_PASSWORD,
    }
    data.update(kw)
    return accounts.sign_up(db, client=HOME, **data)


# ---------------------------------------------------------------- password policy


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short-pw", passwords.TOO_SHORT),
        ("x" * 1025, passwords.TOO_LONG),
        ("password123", passwords.TOO_COMMON),
        ("Password123!", passwords.TOO_COMMON),
        ("qwertyuiop", passwords.TOO_COMMON),
        ("1234567890", passwords.TOO_COMMON),
        ("!!Football2024", passwords.TOO_COMMON),
        ("aaaaaaaaaaaa", passwords.TOO_REPETITIVE),
        ("abcabcabcabc", passwords.TOO_REPETITIVE),
        ("alice.agent-2024", passwords.TOO_PERSONAL),
        ("my-name-is-alice-agent", passwords.TOO_PERSONAL),
    ],
)
def test_the_policy_refuses_weak_passwords(password: str, message: str) -> None:
    got = passwords.problem(
        password, email="alice.agent@harbor.example.com", full_name="Alice Agent"
    )
    assert got == message


@pytest.mark.parametrize(
    "password",
    [DEFAULT_PASSWORD, "chronos-demo-2026", NEW_PASSWORD, "no symbols needed here", "ab1-" * 256],
)
def test_the_policy_accepts_long_uncommon_passwords_without_composition_rules(
    password: str,
) -> None:
    assert passwords.problem(password, email="a@b.example", full_name="Ann Bee") is None


def test_the_blocklist_is_the_ranked_list_shipped_by_zxcvbn() -> None:
    common = passwords.common_passwords()
    assert len(common) > 29_000
    assert {"password", "123456", "qwertyuiop"} <= common


def test_create_user_and_set_password_apply_the_policy(db: Session, world: World) -> None:
    with pytest.raises(ValidationFailed) as exc:
        auth.create_user(
            db,
            org_id=world.harbor.id,
            email="new@harbor.example.com",
            full_name="New Person",
            role="agent",
            password="password1234",
        )
    assert exc.value.errors == {"password": passwords.TOO_COMMON}
    with pytest.raises(ValidationFailed, match="most common"):
        auth.set_password(db, world.agent, "qwertyuiop")


# ---------------------------------------------------------------- sign-up and verification


def test_sign_up_creates_the_brokerage_and_an_unverified_admin(db: Session) -> None:
    user = _sign_up(db)
    org = db.get(Organization, user.org_id)
    assert org is not None and (org.name, org.slug) == ("Bayside Homes", "bayside-homes")
    assert (user.role, user.is_verified, user.full_name) == ("admin", False, "Frances Founder")
    assert _kinds(db, user.id) == [Kind.SIGNED_UP]
    event = db.exec(select(SecurityEvent)).one()
    assert (event.ip_address, event.org_id, event.actor_id) == ("198.51.100.7", org.id, user.id)
    [mail] = _mails(db, user.email, "verify_email")
    assert mail.subject == "Verify your email address for Chronos"
    assert "/verify-email?token=" in mail.text_body and "48 hours" in mail.text_body
    token = _link_token(mail)
    row = db.exec(select(AccountToken)).one()
    assert row.purpose == "verify_email" and row.token_hash == auth.hash_token(token)
    assert row.expires_at - row.created_at == timedelta(hours=48)
    dump = " ".join(
        str(v) for r in db.connection().execute(text("SELECT * FROM account_tokens")) for v in r
    )
    assert token not in dump


def test_a_second_brokerage_with_the_same_name_gets_its_own_slug(db: Session) -> None:
    one = _sign_up(db, "one@bayside.example")
    two = _sign_up(db, "two@bayside.example")
    slugs = [db.get(Organization, u.org_id).slug for u in (one, two)]  # type: ignore[union-attr]
    assert slugs == ["bayside-homes", "bayside-homes-2"]


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"org_name": " "}, "org_name", "Brokerage name is required."),
        ({"full_name": ""}, "full_name", "Your name is required."),
        ({"email": "not-an-email"}, "email", "Not a valid email"),
        ({"password": "short", "password2": "short"}, "password", passwords.TOO_SHORT),
        ({"password": "password123", "password2": "password123"}, "password", "This password"),
        ({"password2": "something-else-entirely"}, "password2", accounts.PASSWORDS_DIFFER),
    ],
)
def test_sign_up_validates_each_field_and_creates_nothing(
    db: Session, kwargs: dict[str, str], field: str, message: str
) -> None:
    with pytest.raises(ValidationFailed) as exc:
        _sign_up(db, **kwargs)
    assert field in exc.value.errors
    assert exc.value.errors[field].startswith(message)
    assert db.exec(select(Organization)).all() == []
    assert db.exec(select(EmailMessage)).all() == []


def test_sign_up_refuses_an_email_that_has_an_account(db: Session, world: World) -> None:
    with pytest.raises(Conflict, match="already exists"):
        _sign_up(db, world.agent.email.upper())


def test_sign_up_is_rate_limited_per_client_address(db: Session) -> None:
    for n in range(5):
        _sign_up(db, f"user{n}@bayside.example")
    with pytest.raises(rate_limit.RateLimited, match="Too many sign-ups from your network"):
        _sign_up(db, "user6@bayside.example")
    assert len(db.exec(select(User)).all()) == 5


def test_an_unverified_account_can_look_around_but_not_open_transactions(db: Session) -> None:
    user = _sign_up(db)
    with pytest.raises(PermissionDenied, match="Verify your email address first"):
        make_transaction(db, user)
    with pytest.raises(PermissionDenied):
        auth.require_verified(user)
    # verified accounts (operator-made ones included) pass
    mail = _mails(db, user.email)[0]
    accounts.verify_email(db, _link_token(mail))
    assert auth.require_verified(user) is user
    assert make_transaction(db, user).id


def test_verifying_marks_the_address_and_the_link_works_once(db: Session) -> None:
    user = _sign_up(db)
    token = _link_token(_mails(db, user.email)[0])
    result = accounts.verify_email(db, token, HOME)
    assert (result.email, result.already) == (user.email, False)
    assert user.is_verified
    assert _kinds(db, user.id) == [Kind.SIGNED_UP, Kind.EMAIL_VERIFIED]
    # a second click: no second event, a friendly "already verified"
    again = accounts.verify_email(db, token, HOME)
    assert again.already is True
    assert _kinds(db, user.id).count(Kind.EMAIL_VERIFIED) == 1


def test_an_expired_verification_link_is_refused(db: Session) -> None:
    user = _sign_up(db)
    token = _link_token(_mails(db, user.email)[0])
    row = db.exec(select(AccountToken)).one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.add(row)
    with pytest.raises(accounts.TokenRefused) as exc:
        accounts.verify_email(db, token)
    assert exc.value.status == "expired"
    assert "expired" in exc.value.message
    assert not user.is_verified


@pytest.mark.parametrize("forged", ["", "x", "A" * 43, "a" * 500])
def test_a_forged_verification_link_is_refused(db: Session, forged: str) -> None:
    user = _sign_up(db)
    with pytest.raises(accounts.TokenRefused) as exc:
        accounts.verify_email(db, forged)
    assert exc.value.status == "invalid"
    assert not user.is_verified


def test_a_reset_token_cannot_verify_an_email(db: Session) -> None:
    user = _sign_up(db)
    accounts.request_password_reset(db, user.email, HOME)
    reset_token = _link_token(_mails(db, user.email, "password_reset")[0])
    with pytest.raises(accounts.TokenRefused) as exc:
        accounts.verify_email(db, reset_token)
    assert exc.value.status == "invalid"


def test_resending_replaces_the_earlier_link_and_is_rate_limited(db: Session) -> None:
    user = _sign_up(db)
    first = _link_token(_mails(db, user.email)[0])
    accounts.resend_verification(db, user, HOME)
    second = _link_token(_mails(db, user.email)[-1])
    assert first != second
    with pytest.raises(accounts.TokenRefused) as exc:
        accounts.verify_email(db, first)
    assert exc.value.status == "used"
    accounts.resend_verification(db, user, HOME)
    accounts.resend_verification(db, user, HOME)
    with pytest.raises(rate_limit.RateLimited, match="verification email was sent recently"):
        accounts.resend_verification(db, user, HOME)
    assert len(_mails(db, user.email, "verify_email")) == 4
    accounts.verify_email(db, _link_token(_mails(db, user.email)[-1]))
    with pytest.raises(Conflict, match="already verified"):
        accounts.resend_verification(db, user, HOME)


def test_a_deactivated_user_cannot_verify(db: Session) -> None:
    user = _sign_up(db)
    token = _link_token(_mails(db, user.email)[0])
    deactivate(db, user)
    with pytest.raises(accounts.TokenRefused):
        accounts.verify_email(db, token)


# ---------------------------------------------------------------- password reset


def test_a_reset_request_for_an_unknown_address_looks_the_same_and_sends_nothing(
    db: Session, world: World
) -> None:
    assert accounts.request_password_reset(db, "nobody@nowhere.example", HOME) is None
    assert accounts.request_password_reset(db, world.agent.email, HOME) is None
    assert _mails(db, "nobody@nowhere.example") == []
    [mail] = _mails(db, world.agent.email, "password_reset")
    assert "/reset-password?token=" in mail.text_body and "60 minutes" in mail.text_body
    assert "198.51.100.7" in mail.text_body
    tokens = db.exec(select(AccountToken)).all()
    assert [(t.user_id, t.purpose) for t in tokens] == [(world.agent.id, "reset_password")]
    assert tokens[0].expires_at - tokens[0].created_at == timedelta(hours=1)


def test_a_deactivated_user_gets_no_reset_link(db: Session, world: World) -> None:
    deactivate(db, world.agent)
    accounts.request_password_reset(db, world.agent.email, HOME)
    assert _mails(db, world.agent.email) == []


@pytest.mark.parametrize("known", [True, False])
def test_reset_requests_are_limited_per_account_the_same_way_for_unknown_addresses(
    db: Session, world: World, known: bool
) -> None:
    email = world.agent.email if known else "ghost@harbor.example.com"
    for _ in range(3):
        accounts.request_password_reset(db, email, HOME)
    with pytest.raises(rate_limit.RateLimited) as exc:
        accounts.request_password_reset(db, email.upper(), Client("203.0.113.50"))
    assert str(exc.value).startswith("A reset link was sent recently.")


def test_reset_requests_are_limited_per_client_address(db: Session, world: World) -> None:
    for n in range(10):
        accounts.request_password_reset(db, f"person{n}@example.com", HOME)
    with pytest.raises(rate_limit.RateLimited, match="Too many reset requests from your network"):
        accounts.request_password_reset(db, world.agent.email, HOME)
    assert _mails(db, world.agent.email) == []


def _reset_token(db: Session, user: User) -> str:
    accounts.request_password_reset(db, user.email, HOME)
    return _link_token(_mails(db, user.email, "password_reset")[-1])


def test_completing_a_reset_sets_the_password_and_revokes_every_session(
    db: Session, world: World
) -> None:
    old = [auth.sign_in(db, email=world.agent.email, password=DEFAULT_PASSWORD) for _ in range(2)]
    token = _reset_token(db, world.agent)
    done = accounts.complete_password_reset(db, token, NEW_PASSWORD, NEW_PASSWORD, HOME)
    assert all(auth.resolve_session(db, s.token) is None for s in old)
    assert done.signed_in is not None
    assert auth.resolve_session(db, done.signed_in.token).id == world.agent.id
    assert auth.check_credentials(db, email=world.agent.email, password=NEW_PASSWORD)
    with pytest.raises(AuthenticationFailed):
        auth.check_credentials(db, email=world.agent.email, password=DEFAULT_PASSWORD)
    assert world.agent.password_changed_at is not None
    assert Kind.PASSWORD_RESET in _kinds(db, world.agent.id)
    [changed] = _mails(db, world.agent.email, "password_changed")
    assert changed.subject == "Your Chronos password was changed"
    # single use
    with pytest.raises(accounts.TokenRefused) as exc:
        accounts.complete_password_reset(db, token, "another-fine-phrase", "another-fine-phrase")
    assert exc.value.status == "used"


def test_a_reset_lifts_the_sign_in_lockout(db: Session, world: World) -> None:
    for _ in range(5):
        accounts.attempt_sign_in(db, email=world.agent.email, password="wrong-password-1")
    locked = accounts.attempt_sign_in(db, email=world.agent.email, password=DEFAULT_PASSWORD)
    assert locked.error == "limited"
    token = _reset_token(db, world.agent)
    accounts.complete_password_reset(db, token, NEW_PASSWORD, NEW_PASSWORD, HOME)
    again = accounts.attempt_sign_in(db, email=world.agent.email, password=NEW_PASSWORD)
    assert again.signed_in is not None


def test_an_expired_reset_link_is_refused(db: Session, world: World) -> None:
    token = _reset_token(db, world.agent)
    row = db.exec(select(AccountToken)).one()
    row.expires_at = utcnow() - timedelta(minutes=1)
    db.add(row)
    with pytest.raises(accounts.TokenRefused) as exc:
        accounts.check_reset_token(db, token)
    assert exc.value.status == "expired"
    with pytest.raises(accounts.TokenRefused):
        accounts.complete_password_reset(db, token, NEW_PASSWORD, NEW_PASSWORD)
    assert auth.check_credentials(db, email=world.agent.email, password=DEFAULT_PASSWORD)


def test_a_forged_reset_link_is_refused(db: Session, world: World) -> None:
    _reset_token(db, world.agent)
    with pytest.raises(accounts.TokenRefused) as exc:
        accounts.complete_password_reset(db, "forged-token", NEW_PASSWORD, NEW_PASSWORD)
    assert exc.value.status == "invalid"


def test_a_newer_reset_link_replaces_the_older_one(db: Session, world: World) -> None:
    first = _reset_token(db, world.agent)
    second = _reset_token(db, world.agent)
    with pytest.raises(accounts.TokenRefused) as exc:
        accounts.check_reset_token(db, first)
    assert exc.value.status == "used"
    accounts.check_reset_token(db, second)


@pytest.mark.parametrize(
    ("pw", "pw2", "field"),
    [("password123", "password123", "password"), (NEW_PASSWORD, "not-the-same-one", "password2")],
)
def test_a_refused_new_password_does_not_use_up_the_link(
    db: Session, world: World, pw: str, pw2: str, field: str
) -> None:
    token = _reset_token(db, world.agent)
    with pytest.raises(ValidationFailed) as exc:
        accounts.complete_password_reset(db, token, pw, pw2)
    assert field in exc.value.errors
    accounts.check_reset_token(db, token)  # still usable


def test_a_deactivated_user_cannot_complete_a_reset(db: Session, world: World) -> None:
    token = _reset_token(db, world.agent)
    deactivate(db, world.agent)
    with pytest.raises(accounts.TokenRefused):
        accounts.complete_password_reset(db, token, NEW_PASSWORD, NEW_PASSWORD)


def test_a_reset_does_not_bypass_two_factor_sign_in(db: Session, world: World) -> None:
    _enable_totp(db, world.agent)
    token = _reset_token(db, world.agent)
    done = accounts.complete_password_reset(db, token, NEW_PASSWORD, NEW_PASSWORD, HOME)
    assert done.signed_in is None
    outcome = accounts.attempt_sign_in(db, email=world.agent.email, password=NEW_PASSWORD)
    assert outcome.two_factor_token and outcome.signed_in is None


def test_a_reset_link_also_verifies_the_address(db: Session) -> None:
    user = _sign_up(db)
    token = _reset_token(db, user)
    accounts.complete_password_reset(db, token, NEW_PASSWORD, NEW_PASSWORD)
    assert user.is_verified


# ---------------------------------------------------------------- sign-in attempts


def test_five_failures_lock_the_account_whatever_the_address(db: Session, world: World) -> None:
    outcomes = [
        accounts.attempt_sign_in(
            db, email=world.agent.email, password="wrong-password-1", client=Client(f"10.0.0.{n}")
        )
        for n in range(5)
    ]
    assert [o.error for o in outcomes] == ["invalid"] * 4 + ["limited"]
    assert "Too many failed sign-ins for this account" in str(outcomes[-1].limited)
    # even the right password is refused while locked, from anywhere
    locked = accounts.attempt_sign_in(
        db, email=world.agent.email, password=DEFAULT_PASSWORD, client=Client("192.0.2.1")
    )
    assert (locked.error, locked.signed_in) == ("limited", None)
    kinds = _kinds(db, world.agent.id)
    assert kinds == [Kind.SIGN_IN_FAILED] * 5 + [Kind.LOCKED_OUT]
    # attempts refused while locked are not logged one by one (the log cannot be flooded)
    for _ in range(3):
        accounts.attempt_sign_in(db, email=world.agent.email, password="wrong-password-1")
    assert len(_kinds(db, world.agent.id)) == 6
    # other accounts are unaffected
    assert accounts.attempt_sign_in(
        db, email=world.agent2.email, password=DEFAULT_PASSWORD
    ).signed_in


def test_failures_from_one_address_are_limited_across_accounts(db: Session, world: World) -> None:
    attacker = Client("203.0.113.66")
    results = [
        accounts.attempt_sign_in(
            db, email=f"guess{n}@harbor.example.com", password="nope-nope-nope", client=attacker
        ).error
        for n in range(20)
    ]
    assert results == ["invalid"] * 20
    [limited] = db.exec(select(SecurityEvent).where(SecurityEvent.kind == Kind.RATE_LIMITED)).all()
    assert (limited.ip_address, limited.detail) == ("203.0.113.66", {"policy": "sign_in_address"})
    blocked = accounts.attempt_sign_in(
        db, email=world.agent.email, password=DEFAULT_PASSWORD, client=attacker
    )
    assert blocked.error == "limited"
    assert "from your network" in str(blocked.limited)
    elsewhere = accounts.attempt_sign_in(
        db, email=world.agent.email, password=DEFAULT_PASSWORD, client=HOME
    )
    assert elsewhere.signed_in is not None


def test_a_successful_sign_in_records_an_event_and_forgets_earlier_failures(
    db: Session, world: World
) -> None:
    for _ in range(4):
        accounts.attempt_sign_in(db, email=world.agent.email, password="wrong-password-1")
    ok = accounts.attempt_sign_in(
        db, email=world.agent.email, password=DEFAULT_PASSWORD, client=HOME
    )
    assert ok.signed_in is not None
    event = db.exec(select(SecurityEvent).where(SecurityEvent.kind == Kind.SIGNED_IN)).one()
    assert (event.user_id, event.ip_address) == (world.agent.id, HOME.ip_address)
    assert event.user_agent.startswith("Mozilla")
    for _ in range(4):
        accounts.attempt_sign_in(db, email=world.agent.email, password="wrong-password-1")
    assert accounts.attempt_sign_in(
        db, email=world.agent.email, password=DEFAULT_PASSWORD
    ).signed_in


def test_signing_in_revokes_the_session_the_browser_already_had(db: Session, world: World) -> None:
    before = accounts.attempt_sign_in(db, email=world.agent2.email, password=DEFAULT_PASSWORD)
    assert before.signed_in is not None
    after = accounts.attempt_sign_in(
        db,
        email=world.agent.email,
        password=DEFAULT_PASSWORD,
        previous_token=before.signed_in.token,
    )
    assert after.signed_in is not None
    assert auth.resolve_session(db, before.signed_in.token) is None
    assert auth.resolve_session(db, after.signed_in.token).id == world.agent.id


def test_a_deactivated_user_cannot_sign_in_and_it_is_logged(db: Session, world: World) -> None:
    deactivate(db, world.agent)
    outcome = accounts.attempt_sign_in(db, email=world.agent.email, password=DEFAULT_PASSWORD)
    assert (outcome.error, outcome.signed_in) == ("invalid", None)
    event = db.exec(select(SecurityEvent)).one()
    assert (event.kind, event.detail) == (Kind.SIGN_IN_FAILED, {"reason": "inactive"})


def test_a_failed_sign_in_for_an_unknown_email_belongs_to_no_brokerage(
    db: Session, world: World
) -> None:
    accounts.attempt_sign_in(db, email="stranger@else.example", password="whatever-it-is")
    event = db.exec(select(SecurityEvent)).one()
    assert (event.org_id, event.user_id, event.email) == (None, None, "stranger@else.example")


def test_signing_out_revokes_and_logs(db: Session, world: World) -> None:
    signed = auth.sign_in(db, email=world.agent.email, password=DEFAULT_PASSWORD)
    accounts.record_sign_out(db, signed.token, HOME)
    assert auth.resolve_session(db, signed.token) is None
    assert _kinds(db) == [Kind.SIGNED_OUT]
    accounts.record_sign_out(db, signed.token, HOME)  # twice: nothing more
    accounts.record_sign_out(db, None)
    assert _kinds(db) == [Kind.SIGNED_OUT]


# ---------------------------------------------------------------- TOTP


def _enable_totp(db: Session, user: User) -> pyotp.TOTP:
    setup = accounts.begin_totp(db, user)
    totp = pyotp.TOTP(setup.secret)
    # a code of the previous step, so a test's own "now" code is newer and not a replay
    accounts.confirm_totp(db, user, totp.at(time.time() - 30))
    return totp


def test_totp_enrolment_stores_the_secret_encrypted_and_needs_a_right_code(
    db: Session, world: World
) -> None:
    setup = accounts.begin_totp(db, world.agent)
    assert setup.uri.startswith("otpauth://totp/Chronos:")
    assert setup.qr_svg.startswith("data:image/svg+xml")
    assert world.agent.totp_secret and setup.secret not in world.agent.totp_secret
    assert accounts.pending_totp(db, world.agent).secret == setup.secret  # type: ignore[union-attr]
    with pytest.raises(ValidationFailed):
        accounts.confirm_totp(db, world.agent, "000000")
    assert world.agent.totp_enabled_at is None
    accounts.confirm_totp(db, world.agent, pyotp.TOTP(setup.secret).now(), HOME)
    assert world.agent.totp_enabled_at is not None
    assert Kind.TWO_FACTOR_ENABLED in _kinds(db, world.agent.id)
    with pytest.raises(Conflict):
        accounts.begin_totp(db, world.agent)


def test_totp_codes_are_accepted_within_one_step_and_never_twice(db: Session, world: World) -> None:
    setup = accounts.begin_totp(db, world.agent)
    totp = pyotp.TOTP(setup.secret)
    now = 1_900_000_000.0
    user = world.agent
    assert not accounts._accept_totp(db, user, totp.at(now - 60), at=now)
    assert not accounts._accept_totp(db, user, totp.at(now + 60), at=now)
    assert accounts._accept_totp(db, user, totp.at(now - 30), at=now)
    assert accounts._accept_totp(db, user, totp.at(now), at=now)
    assert not accounts._accept_totp(db, user, totp.at(now), at=now)  # replay
    assert not accounts._accept_totp(db, user, totp.at(now - 30), at=now)  # older than last
    assert accounts._accept_totp(db, user, totp.at(now + 30), at=now)
    assert not accounts._accept_totp(db, user, "12345", at=now)
    assert not accounts._accept_totp(db, user, "abcdef", at=now)


def test_sign_in_with_totp_needs_the_second_step(db: Session, world: World) -> None:
    totp = _enable_totp(db, world.agent)
    outcome = accounts.attempt_sign_in(db, email=world.agent.email, password=DEFAULT_PASSWORD)
    assert outcome.signed_in is None and outcome.two_factor_token
    assert accounts.pending_two_factor(db, outcome.two_factor_token).id == world.agent.id
    wrong = accounts.complete_two_factor(db, outcome.two_factor_token, "000000", HOME)
    assert (wrong.error, wrong.signed_in) == ("code", None)
    code = totp.now()
    ok = accounts.complete_two_factor(db, outcome.two_factor_token, code, HOME)
    assert ok.signed_in is not None and ok.signed_in.user.id == world.agent.id
    assert Kind.TWO_FACTOR_FAILED in _kinds(db, world.agent.id)
    # the pending step is single use, and the code cannot be replayed on a new attempt
    assert accounts.complete_two_factor(db, outcome.two_factor_token, code).error == "expired"
    again = accounts.attempt_sign_in(db, email=world.agent.email, password=DEFAULT_PASSWORD)
    assert accounts.complete_two_factor(db, again.two_factor_token, code).error == "code"


def test_wrong_totp_codes_are_rate_limited(db: Session, world: World) -> None:
    totp = _enable_totp(db, world.agent)
    outcome = accounts.attempt_sign_in(db, email=world.agent.email, password=DEFAULT_PASSWORD)
    errors = [
        accounts.complete_two_factor(db, outcome.two_factor_token, "000000").error for _ in range(5)
    ]
    assert errors == ["code"] * 4 + ["limited"]
    # the pending step is gone and a new one is refused until the window passes
    assert accounts.complete_two_factor(db, outcome.two_factor_token, totp.now()).error == "expired"
    again = accounts.attempt_sign_in(db, email=world.agent.email, password=DEFAULT_PASSWORD)
    assert accounts.complete_two_factor(db, again.two_factor_token, totp.now()).error == "limited"


def test_an_expired_or_forged_two_factor_step_is_refused(db: Session, world: World) -> None:
    totp = _enable_totp(db, world.agent)
    outcome = accounts.attempt_sign_in(db, email=world.agent.email, password=DEFAULT_PASSWORD)
    assert accounts.complete_two_factor(db, "forged", totp.now()).error == "expired"
    row = db.exec(select(AccountToken).where(AccountToken.purpose == "two_factor")).one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.add(row)
    assert accounts.complete_two_factor(db, outcome.two_factor_token, totp.now()).error == "expired"


def test_a_deactivated_user_cannot_finish_the_two_factor_step(db: Session, world: World) -> None:
    totp = _enable_totp(db, world.agent)
    outcome = accounts.attempt_sign_in(db, email=world.agent.email, password=DEFAULT_PASSWORD)
    deactivate(db, world.agent)
    assert accounts.complete_two_factor(db, outcome.two_factor_token, totp.now()).error == "expired"


def _next_code(totp: pyotp.TOTP) -> str:
    """A code of the next 30-second step (the current one was just used: no code twice)."""
    return totp.at(time.time() + 30)


def test_turning_totp_off_needs_the_password_and_a_code(db: Session, world: World) -> None:
    totp = _enable_totp(db, world.agent)
    with pytest.raises(ValidationFailed) as wrong_password:
        accounts.disable_totp(db, world.agent, "not-my-password", _next_code(totp))
    assert wrong_password.value.errors == {"password": accounts.WRONG_PASSWORD}
    with pytest.raises(ValidationFailed) as no_code:
        accounts.disable_totp(db, world.agent, DEFAULT_PASSWORD, "")
    assert no_code.value.errors == {"code": accounts.WRONG_CODE}
    with pytest.raises(ValidationFailed):
        accounts.disable_totp(db, world.agent, DEFAULT_PASSWORD, "123456")
    assert world.agent.totp_enabled_at is not None
    accounts.disable_totp(db, world.agent, DEFAULT_PASSWORD, _next_code(totp), HOME)
    assert (world.agent.totp_enabled_at, world.agent.totp_secret) == (None, "")
    assert Kind.TWO_FACTOR_DISABLED in _kinds(db, world.agent.id)
    assert accounts.attempt_sign_in(
        db, email=world.agent.email, password=DEFAULT_PASSWORD
    ).signed_in


# ---------------------------------------------------------------- own account


def test_changing_the_password_needs_the_current_one_and_keeps_only_this_session(
    db: Session, world: World
) -> None:
    here = auth.sign_in(db, email=world.agent.email, password=DEFAULT_PASSWORD)
    there = auth.sign_in(db, email=world.agent.email, password=DEFAULT_PASSWORD)
    with pytest.raises(ValidationFailed) as exc:
        accounts.change_password(
            db, world.agent, current="wrong", new=NEW_PASSWORD, new2=NEW_PASSWORD,
            current_token=here.token,
        )  # fmt: skip
    assert exc.value.errors == {"current": accounts.WRONG_PASSWORD}
    with pytest.raises(ValidationFailed) as exc:
        accounts.change_password(
            db, world.agent, current=DEFAULT_PASSWORD, new=NEW_PASSWORD, new2="different-words",
            current_token=here.token,
        )  # fmt: skip
    assert exc.value.errors == {"new2": accounts.PASSWORDS_DIFFER}
    revoked = accounts.change_password(
        db,
        world.agent,
        current=DEFAULT_PASSWORD,
        new=NEW_PASSWORD,
        new2=NEW_PASSWORD,
        current_token=here.token,
        client=HOME,
    )
    assert revoked == 1
    assert auth.resolve_session(db, here.token).id == world.agent.id
    assert auth.resolve_session(db, there.token) is None
    assert Kind.PASSWORD_CHANGED in _kinds(db, world.agent.id)
    assert len(_mails(db, world.agent.email, "password_changed")) == 1


def test_profile_updates_the_name_and_validates_it(db: Session, world: World) -> None:
    accounts.update_profile(db, world.agent, full_name="  Alice A. Agent ")
    assert world.agent.full_name == "Alice A. Agent"
    with pytest.raises(ValidationFailed):
        accounts.update_profile(db, world.agent, full_name=" ")


def test_a_user_lists_only_their_own_live_sessions(db: Session, world: World) -> None:
    mine = auth.sign_in(
        db, email=world.agent.email, password=DEFAULT_PASSWORD, user_agent=HOME.user_agent
    )
    other = auth.sign_in(db, email=world.agent.email, password=DEFAULT_PASSWORD)
    ended = auth.sign_in(db, email=world.agent.email, password=DEFAULT_PASSWORD)
    auth.sign_out(db, ended.token)
    auth.sign_in(db, email=world.agent2.email, password=DEFAULT_PASSWORD)
    rows = accounts.list_my_sessions(db, world.agent, mine.token)
    ids = {r.id for r in rows}
    assert len(rows) == 2
    assert ids == {
        auth.session_for_token(db, mine.token).id,  # type: ignore[union-attr]
        auth.session_for_token(db, other.token).id,  # type: ignore[union-attr]
    }
    current = [r for r in rows if r.current]
    assert len(current) == 1 and current[0].device == "Chrome on Linux"


def test_revoking_someone_elses_session_is_not_found(db: Session, world: World) -> None:
    theirs = auth.sign_in(db, email=world.agent2.email, password=DEFAULT_PASSWORD)
    mine = auth.sign_in(db, email=world.agent.email, password=DEFAULT_PASSWORD)
    their_id = auth.session_for_token(db, theirs.token).id  # type: ignore[union-attr]
    with pytest.raises(NotFound):
        accounts.revoke_my_session(db, world.agent, their_id, mine.token)
    assert auth.resolve_session(db, theirs.token).id == world.agent2.id
    with pytest.raises(NotFound):
        accounts.revoke_my_session(db, world.agent, 999_999, mine.token)


def test_revoking_my_other_session_works_but_not_this_one(db: Session, world: World) -> None:
    mine = auth.sign_in(db, email=world.agent.email, password=DEFAULT_PASSWORD)
    laptop = auth.sign_in(db, email=world.agent.email, password=DEFAULT_PASSWORD)
    laptop_id = auth.session_for_token(db, laptop.token).id  # type: ignore[union-attr]
    mine_id = auth.session_for_token(db, mine.token).id  # type: ignore[union-attr]
    with pytest.raises(Conflict):
        accounts.revoke_my_session(db, world.agent, mine_id, mine.token)
    accounts.revoke_my_session(db, world.agent, laptop_id, mine.token, HOME)
    assert auth.resolve_session(db, laptop.token) is None
    assert auth.resolve_session(db, mine.token) is not None
    assert Kind.SESSION_REVOKED in _kinds(db, world.agent.id)
    with pytest.raises(NotFound):  # already ended
        accounts.revoke_my_session(db, world.agent, laptop_id, mine.token)


def test_a_deactivated_user_cannot_use_the_account_services(db: Session, world: World) -> None:
    deactivate(db, world.agent)
    with pytest.raises(PermissionDenied):
        accounts.list_my_sessions(db, world.agent, None)
    with pytest.raises(PermissionDenied):
        accounts.update_profile(db, world.agent, full_name="X")
    with pytest.raises(PermissionDenied):
        accounts.begin_totp(db, world.agent)


# ---------------------------------------------------------------- the security log


def test_the_security_log_shows_admins_their_own_brokerage_only(db: Session, world: World) -> None:
    accounts.attempt_sign_in(db, email=world.agent.email, password=DEFAULT_PASSWORD, client=HOME)
    accounts.attempt_sign_in(db, email=world.agent.email, password="wrong-password-1")
    accounts.attempt_sign_in(db, email=world.outsider_agent.email, password=DEFAULT_PASSWORD)
    page = security_log.list_events(db, world.admin)
    assert [r.kind for r in page.items] == [Kind.SIGN_IN_FAILED, Kind.SIGNED_IN]
    signed = page.items[1]
    assert (signed.label, signed.email, signed.ip_address) == (
        "Signed in",
        world.agent.email,
        HOME.ip_address,
    )
    assert signed.actor == ""  # the account itself: no "by ..."
    security_log.record(
        db, Kind.ROLE_CHANGED, org_id=world.harbor.id, user_id=world.agent.id,
        actor_id=world.admin.id, email=world.agent.email,
    )  # fmt: skip
    changed = security_log.list_events(db, world.admin, kind=Kind.ROLE_CHANGED).items[0]
    assert world.admin.email in changed.actor and world.admin.full_name in changed.actor
    only = security_log.list_events(db, world.admin, kind=Kind.SIGNED_IN)
    assert [r.kind for r in only.items] == [Kind.SIGNED_IN]
    summit = security_log.list_events(db, world.outsider_admin)
    assert [r.email for r in summit.items] == [world.outsider_agent.email]
    with pytest.raises(ValidationFailed):
        security_log.list_events(db, world.admin, kind="bogus")


@pytest.mark.parametrize("who", ["agent", "coordinator", "client", "lender"])
def test_only_admins_may_read_the_security_log(db: Session, world: World, who: str) -> None:
    with pytest.raises(PermissionDenied):
        security_log.list_events(db, world.user(who))


def test_the_security_log_is_paginated(db: Session, world: World) -> None:
    for _ in range(7):
        accounts.record_sign_out(
            db, auth.sign_in(db, email=world.agent.email, password=DEFAULT_PASSWORD).token
        )
    first = security_log.list_events(db, world.admin, page=1, page_size=5)
    second = security_log.list_events(db, world.admin, page=2, page_size=5)
    assert (first.total, first.pages, len(first.items), len(second.items)) == (7, 2, 5, 2)
    assert not {r.id for r in first.items} & {r.id for r in second.items}


# ---------------------------------------------------------------- re-authentication limits


def _refused_kinds(engine_db: Session, user: User) -> list[tuple[str, str]]:
    rows = engine_db.exec(
        select(SecurityEvent).where(SecurityEvent.user_id == user.id).order_by(SecurityEvent.id)  # type: ignore[arg-type]
    ).all()
    return [(r.kind, str(r.detail.get("purpose", ""))) for r in rows]


def test_guessing_the_current_password_locks_the_account_like_sign_in(
    db: Session, world: World
) -> None:
    """60 guesses used to get 60 'not correct' answers, then the right one was confirmed."""
    for _ in range(4):
        with pytest.raises(ValidationFailed) as wrong:
            accounts.change_password(
                db,
                world.agent,
                current="guess-1234",
                new=NEW_PASSWORD,
                new2=NEW_PASSWORD,
                current_token=None,
                client=HOME,
            )
        assert wrong.value.errors == {"current": accounts.WRONG_PASSWORD}
        assert wrong.value.commit_unit_of_work  # the caller keeps the security event
    with pytest.raises(ValidationFailed) as fifth:
        accounts.change_password(
            db,
            world.agent,
            current="guess-1234",
            new=NEW_PASSWORD,
            new2=NEW_PASSWORD,
            current_token=None,
            client=HOME,
        )
    assert "Too many failed sign-ins" in fifth.value.errors["current"]
    # The right password now tells nothing either, and the password is unchanged.
    with pytest.raises(ValidationFailed) as right:
        accounts.change_password(
            db,
            world.agent,
            current=DEFAULT_PASSWORD,
            new=NEW_PASSWORD,
            new2=NEW_PASSWORD,
            current_token=None,
            client=HOME,
        )
    assert "Too many failed sign-ins" in right.value.errors["current"]
    assert auth.verify_password(DEFAULT_PASSWORD, world.agent.password_hash)
    # One lockout for the sign-in form and every other check of this password.
    outcome = accounts.attempt_sign_in(db, email=world.agent.email, password=DEFAULT_PASSWORD)
    assert outcome.error == "limited"
    kinds = _refused_kinds(db, world.agent)
    assert kinds.count((Kind.SIGN_IN_FAILED, "change_password")) == 5
    assert (Kind.LOCKED_OUT, "change_password") in kinds


def test_the_new_password_is_checked_before_the_current_one_is_revealed(
    db: Session, world: World
) -> None:
    for current in ("wrong-password-99", DEFAULT_PASSWORD):
        with pytest.raises(ValidationFailed) as exc:
            accounts.change_password(
                db,
                world.agent,
                current=current,
                new="short",
                new2="short",
                current_token=None,
                client=HOME,
            )
        assert set(exc.value.errors) == {"new"}  # the same answer, right or wrong
    assert _refused_kinds(db, world.agent) == []  # nothing was tried against the password


def test_a_refused_password_is_logged_even_though_the_change_rolls_back(
    engine: Engine, world: World
) -> None:
    from chronos.db import session_scope

    with pytest.raises(ValidationFailed), session_scope(engine) as uow:
        agent = uow.get(User, world.agent.id)
        assert agent is not None
        accounts.change_password(
            uow,
            agent,
            current="guess-1234",
            new=NEW_PASSWORD,
            new2=NEW_PASSWORD,
            current_token=None,
            client=HOME,
        )
    with Session(engine) as fresh:
        assert _refused_kinds(fresh, world.agent) == [(Kind.SIGN_IN_FAILED, "change_password")]


def test_guessing_the_password_to_turn_two_factor_off_locks_too(db: Session, world: World) -> None:
    totp = _enable_totp(db, world.agent)
    for _ in range(5):
        with pytest.raises(ValidationFailed):
            accounts.disable_totp(db, world.agent, "guess-1234", totp.now(), HOME)
    with pytest.raises(ValidationFailed) as locked:
        accounts.disable_totp(db, world.agent, DEFAULT_PASSWORD, totp.now(), HOME)
    assert "Too many failed sign-ins" in locked.value.errors["password"]
    assert world.agent.totp_enabled_at is not None


def test_guessing_codes_to_turn_two_factor_off_hits_the_code_limit(
    db: Session, world: World
) -> None:
    totp = _enable_totp(db, world.agent)
    for _ in range(5):
        with pytest.raises(ValidationFailed):
            accounts.disable_totp(db, world.agent, DEFAULT_PASSWORD, "000000", HOME)
    with pytest.raises(ValidationFailed) as locked:
        accounts.disable_totp(db, world.agent, DEFAULT_PASSWORD, _next_code(totp), HOME)
    assert "Too many wrong codes" in locked.value.errors["code"]
    assert world.agent.totp_enabled_at is not None
    kinds = _refused_kinds(db, world.agent)
    assert kinds.count((Kind.TWO_FACTOR_FAILED, "disable_two_factor")) == 5
