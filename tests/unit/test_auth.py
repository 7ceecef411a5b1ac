"""Users, passwords and sign-in sessions."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import pytest
from passlib.context import CryptContext
from sqlalchemy import text
from sqlmodel import Session, select

from chronos.models import Person, User, UserSession, utcnow
from chronos.services import auth
from chronos.services.errors import AuthenticationFailed, Conflict, ValidationFailed
from tests.conftest import TEST_SECRET_KEY
from tests.factories import DEFAULT_PASSWORD, World, deactivate, make_org, make_user


def _session_row(db: Session, token: str) -> UserSession:
    return db.exec(
        select(UserSession).where(UserSession.token_hash == auth.hash_token(token))
    ).one()


def test_signing_in_opens_a_session_whose_token_resolves_to_the_user(
    db: Session, world: World
) -> None:
    signed = auth.sign_in(
        db,
        email="alice.agent@harbor.example.com",
        password=DEFAULT_PASSWORD,
        ip_address="203.0.113.9",
        user_agent="pytest",
    )
    assert signed.user.id == world.agent.id
    assert signed.max_age_seconds == 336 * 3600
    assert auth.resolve_session(db, signed.token).id == world.agent.id
    row = _session_row(db, signed.token)
    assert (row.user_id, row.org_id, row.ip_address, row.user_agent) == (
        world.agent.id,
        world.harbor.id,
        "203.0.113.9",
        "pytest",
    )
    assert row.expires_at - row.created_at == timedelta(hours=336)
    assert world.agent.last_login_at == row.created_at


def test_sign_in_email_is_case_and_space_insensitive(db: Session, world: World) -> None:
    signed = auth.sign_in(db, email="  Alice.Agent@HARBOR.example.com ", password=DEFAULT_PASSWORD)
    assert signed.user.id == world.agent.id


def test_each_sign_in_gets_a_fresh_token(db: Session, world: World) -> None:
    one = auth.sign_in(db, email=world.client.email, password=DEFAULT_PASSWORD)
    two = auth.sign_in(db, email=world.client.email, password=DEFAULT_PASSWORD)
    assert one.token != two.token
    assert auth.resolve_session(db, one.token).id == auth.resolve_session(db, two.token).id


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("alice.agent@harbor.example.com", "wrong-password-123"),
        ("alice.agent@harbor.example.com", ""),
        ("nobody@harbor.example.com", DEFAULT_PASSWORD),
        ("not an email", DEFAULT_PASSWORD),
        ("", ""),
    ],
)
def test_bad_credentials_all_fail_with_the_same_message(
    db: Session, world: World, email: str, password: str
) -> None:
    with pytest.raises(AuthenticationFailed) as exc:
        auth.sign_in(db, email=email, password=password)
    assert exc.value.message == auth.SIGN_IN_FAILED == "Email or password is incorrect."
    assert db.exec(select(UserSession)).all() == []


def test_an_inactive_user_cannot_sign_in_even_with_the_right_password(
    db: Session, world: World
) -> None:
    deactivate(db, world.agent)
    with pytest.raises(AuthenticationFailed) as exc:
        auth.sign_in(db, email=world.agent.email, password=DEFAULT_PASSWORD)
    assert exc.value.message == auth.SIGN_IN_FAILED
    assert world.agent.last_login_at is None


def test_an_expired_session_resolves_to_none(db: Session, world: World) -> None:
    signed = auth.sign_in(db, email=world.agent.email, password=DEFAULT_PASSWORD)
    row = _session_row(db, signed.token)
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.add(row)
    db.commit()
    assert auth.resolve_session(db, signed.token) is None


def test_a_revoked_session_resolves_to_none(db: Session, world: World) -> None:
    signed = auth.sign_in(db, email=world.agent.email, password=DEFAULT_PASSWORD)
    row = _session_row(db, signed.token)
    row.revoked_at = utcnow()
    db.add(row)
    db.commit()
    assert auth.resolve_session(db, signed.token) is None


def test_sign_out_revokes_the_session(db: Session, world: World) -> None:
    signed = auth.sign_in(db, email=world.agent.email, password=DEFAULT_PASSWORD)
    other = auth.sign_in(db, email=world.agent.email, password=DEFAULT_PASSWORD)
    auth.sign_out(db, signed.token)
    db.commit()
    assert _session_row(db, signed.token).revoked_at is not None
    assert auth.resolve_session(db, signed.token) is None
    assert auth.resolve_session(db, other.token).id == world.agent.id
    auth.sign_out(db, signed.token)  # a second sign-out is harmless
    auth.sign_out(db, None)


def test_deactivating_a_user_kills_their_sessions(db: Session, world: World) -> None:
    signed = auth.sign_in(db, email=world.lender.email, password=DEFAULT_PASSWORD)
    deactivate(db, world.lender)
    assert auth.resolve_session(db, signed.token) is None


def test_revoke_all_sessions_counts_and_revokes_only_live_ones(db: Session, world: World) -> None:
    tokens = [
        auth.sign_in(db, email=world.agent.email, password=DEFAULT_PASSWORD).token for _ in range(3)
    ]
    kept = auth.sign_in(db, email=world.agent2.email, password=DEFAULT_PASSWORD).token
    auth.sign_out(db, tokens[0])
    assert auth.revoke_all_sessions(db, world.agent.id) == 2
    assert [auth.resolve_session(db, t) for t in tokens] == [None, None, None]
    assert auth.resolve_session(db, kept).id == world.agent2.id


@pytest.mark.parametrize("token", [None, "", "garbage", "x" * 201])
def test_unknown_or_malformed_tokens_resolve_to_none(db: Session, world: World, token) -> None:
    assert auth.resolve_session(db, token) is None


def test_resolving_refreshes_last_seen_only_after_the_touch_interval(
    db: Session, world: World
) -> None:
    signed = auth.sign_in(db, email=world.agent.email, password=DEFAULT_PASSWORD)
    row = _session_row(db, signed.token)
    recent = utcnow() - timedelta(minutes=1)
    row.last_seen_at = recent
    db.add(row)
    db.flush()
    auth.resolve_session(db, signed.token)
    assert row.last_seen_at == recent
    stale = utcnow() - timedelta(minutes=30)
    row.last_seen_at = stale
    db.add(row)
    db.flush()
    auth.resolve_session(db, signed.token)
    assert row.last_seen_at > stale + timedelta(minutes=20)


def test_the_database_stores_only_a_keyed_hash_of_the_token(db: Session, world: World) -> None:
    signed = auth.sign_in(db, email=world.agent.email, password=DEFAULT_PASSWORD)
    db.commit()
    expected = hmac.new(TEST_SECRET_KEY.encode(), signed.token.encode(), hashlib.sha256).hexdigest()
    assert _session_row(db, signed.token).token_hash == expected
    assert expected != hashlib.sha256(signed.token.encode()).hexdigest()
    dump = "\n".join(
        str(value)
        for row in db.connection().execute(text("SELECT * FROM sessions"))
        for value in row
    )
    assert signed.token not in dump
    assert expected in dump


def test_passwords_are_stored_as_argon2_hashes(
    db: Session, production_password_context: CryptContext
) -> None:
    org = make_org(db)
    user = make_user(db, org, "agent", password="s3cret-passphrase")
    assert user.password_hash.startswith("$argon2id$")
    assert "m=65536,t=3" in user.password_hash
    assert "s3cret-passphrase" not in user.password_hash
    assert auth.verify_password("s3cret-passphrase", user.password_hash)
    assert not auth.verify_password("s3cret-passphrasE", user.password_hash)
    assert auth.verify_password("anything", "not-a-hash") is False


def test_a_weak_hash_is_upgraded_on_sign_in(db: Session, world: World, monkeypatch) -> None:
    weak = world.agent.password_hash
    assert weak.startswith("$argon2id$") and "m=8," in weak
    monkeypatch.setattr(auth, "pwd_context", CryptContext(schemes=["argon2"], deprecated="auto"))
    auth.sign_in(db, email=world.agent.email, password=DEFAULT_PASSWORD)
    assert world.agent.password_hash != weak
    assert "m=65536" in world.agent.password_hash


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"email": ""}, "email", "Email is required."),
        ({"email": "bad@"}, "email", "Not a valid email address"),
        ({"full_name": " "}, "full_name", "Name is required."),
        ({"role": "owner"}, "role", "Unknown role"),
        ({"password": "short"}, "password", "Password must be at least 10 characters."),
    ],
)
def test_create_user_validates_each_field(
    db: Session, world: World, kwargs: dict, field: str, message: str
) -> None:
    data = {
        "org_id": world.harbor.id,
        "email": "new@harbor.example.com",
        "full_name": "New Person",
        "role": "agent",
        "password": "long-enough-pw",
    }
    with pytest.raises(ValidationFailed) as exc:
        auth.create_user(db, **{**data, **kwargs})
    assert list(exc.value.errors) == [field]
    assert exc.value.errors[field].startswith(message)


def test_user_emails_are_unique_across_brokerages(db: Session, world: World) -> None:
    with pytest.raises(Conflict, match=r"A user with the email alice\.agent@harbor\.example\.com"):
        make_user(db, world.summit, "agent", email="ALICE.agent@harbor.example.com")


def test_staff_logins_get_no_contact_but_outside_parties_do(db: Session, world: World) -> None:
    staff = db.exec(select(Person).where(Person.user_id == world.agent.id)).first()
    assert staff is None
    lender = db.exec(select(Person).where(Person.user_id == world.lender.id)).one()
    assert (lender.first_name, lender.last_name, lender.email) == (
        "Leo",
        "Lender",
        "leo.lender@bank.example.com",
    )


def test_an_outside_login_links_the_existing_contact_with_that_email(
    db: Session, world: World
) -> None:
    before = db.exec(select(Person)).all()
    user = make_user(db, world.harbor, "client", email="Sally.Seller@example.com")
    assert len(db.exec(select(Person)).all()) == len(before)
    assert world.seller_contact.user_id == user.id


def test_set_password_enforces_length_and_changes_what_signs_in(db: Session, world: World) -> None:
    with pytest.raises(ValidationFailed, match="at least 10"):
        auth.set_password(db, world.agent, "short")
    auth.set_password(db, world.agent, "a-brand-new-password")
    with pytest.raises(AuthenticationFailed):
        auth.sign_in(db, email=world.agent.email, password=DEFAULT_PASSWORD)
    assert (
        auth.sign_in(db, email=world.agent.email, password="a-brand-new-password").user
        is world.agent
    )


def test_every_persona_can_sign_in(db: Session, world: World) -> None:
    users = db.exec(select(User).order_by(User.id)).all()  # type: ignore[arg-type]
    assert len(users) == 10
    for user in users:
        assert auth.sign_in(db, email=user.email, password=DEFAULT_PASSWORD).user.id == user.id
