"""POST /auth/accept-invitation through Starlette's TestClient on a migrated database: CSRF,
cookie, landing page, refusals by code, and the per-address rate limit."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from chronos import db as chronos_db
from chronos import migrate, settings
from chronos.models import EmailMessage, Invitation, SecurityEvent, User, utcnow
from chronos.services import auth, invitations, rate_limit, transactions

PASSWORD = "correct-horse-battery"
NEW_PASSWORD = "a-brand-new-passphrase"
ORIGIN = "http://testserver"
ROUTE = "/auth/accept-invitation"


@pytest.fixture
def api(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("CHRONOS_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'api.db'}")
    monkeypatch.setenv("CHRONOS_SECRET_KEY", "api-test-secret")
    settings.get_settings.cache_clear()
    chronos_db.get_engine.cache_clear()
    migrate.upgrade()
    with chronos_db.session_scope() as db:
        org = auth.create_organization(db, name="Harbor", slug="harbor")
        users = {
            role: auth.create_user(
                db,
                org_id=org.id,  # type: ignore[arg-type]
                email=f"{role}@h.example",
                full_name=f"{role.title()} H",
                role=role,
                password=PASSWORD,
            )
            for role in ("admin", "agent", "client")
        }
        for user in users.values():
            user.email_verified_at = utcnow()
        deal = transactions.create_transaction(
            db, users["agent"], {"side": "buyer", "street": "1 Deal St"}
        )
        other = transactions.create_transaction(
            db, users["agent"], {"side": "seller", "street": "2 Other St"}
        )
        ids = {"deal": deal.id, "other": other.id}
    from chronos.api.app import create_api

    client = TestClient(create_api(), base_url=ORIGIN, follow_redirects=False)
    yield {"client": client, "ids": ids}
    settings.get_settings.cache_clear()
    chronos_db.get_engine.cache_clear()


def _agent(db: Any) -> User:
    return db.exec(select(User).where(User.email == "agent@h.example")).one()


def _latest_token(email: str) -> str:
    with chronos_db.session_scope() as db:
        body = db.exec(
            select(EmailMessage.text_body)
            .where(EmailMessage.to_address == email)
            .order_by(EmailMessage.id.desc())  # type: ignore[union-attr]
        ).first()
    assert body is not None
    match = re.search(r"/invitation\?token=([\w\-]+)", body)
    assert match
    return match.group(1)


def invite(api: dict[str, Any], email: str = "nina@example.com", txn: str = "deal") -> str:
    with chronos_db.session_scope() as db:
        role = "client"
        invitations.invite_to_transaction(
            db, _agent(db), api["ids"][txn], role=role, email=email, name="Nina New"
        )
    return _latest_token(email)


def post(api: dict[str, Any], data: dict[str, str], origin: str | None = ORIGIN) -> Any:
    headers = {"Origin": origin} if origin else {}
    return api["client"].post(ROUTE, data=data, headers=headers)


def error_of(response: Any) -> str:
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == "/invitation"
    return parse_qs(location.query)["error"][0]


def accept_form(token: str, **extra: str) -> dict[str, str]:
    return {
        "token": token,
        "full_name": "Nina New",
        "password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD,
        **extra,
    }


def test_accepting_sets_the_cookie_and_lands_on_the_transaction(api: dict[str, Any]) -> None:
    token = invite(api)
    r = post(api, accept_form(token))
    assert r.status_code == 303
    assert r.headers["location"] == f"{ORIGIN}/portal/{api['ids']['deal']}"
    cookie = r.headers["set-cookie"]
    assert "chronos_session=" in cookie and "HttpOnly" in cookie
    # The new cookie is a working session for the client, who sees only the invited deal.
    session_token = re.search(r"chronos_session=([^;]+)", cookie).group(1)  # type: ignore[union-attr]
    with chronos_db.session_scope() as db:
        user = auth.resolve_session(db, session_token)
        assert user is not None and user.email == "nina@example.com" and user.is_verified
        page = transactions.list_transactions(db, user)
        assert [row.id for row in page.items] == [api["ids"]["deal"]]
        event = db.exec(
            select(SecurityEvent).where(SecurityEvent.kind == "invitation_accepted")
        ).one()
        assert event.ip_address == "testclient"
    # The link is single use.
    api["client"].cookies.clear()
    assert error_of(post(api, accept_form(token))) == "accepted"


@pytest.mark.parametrize("origin", [None, "https://evil.example"])
def test_cross_origin_posts_are_refused(api: dict[str, Any], origin: str | None) -> None:
    token = invite(api)
    r = post(api, accept_form(token), origin=origin)
    assert r.status_code == 403 and "set-cookie" not in r.headers
    with chronos_db.session_scope() as db:
        assert db.exec(select(User).where(User.email == "nina@example.com")).first() is None


def test_refusals_come_back_as_codes_without_a_cookie(api: dict[str, Any]) -> None:
    token = invite(api)
    assert error_of(post(api, accept_form("forged"))) == "invalid"
    assert error_of(post(api, accept_form(token, confirm="different-thing-1"))) == "mismatch"
    assert error_of(post(api, accept_form(token, password="short", confirm="short"))) == "weak"
    with chronos_db.session_scope() as db:
        inv = db.exec(select(Invitation)).one()
        inv.expires_at = utcnow()
    r = post(api, accept_form(token))
    assert error_of(r) == "expired" and "set-cookie" not in r.headers
    with chronos_db.session_scope() as db:
        inv = db.exec(select(Invitation)).one()
        inv.expires_at = utcnow().replace(year=utcnow().year + 1)
        invitations.revoke(db, _agent(db), inv.id or 0)
    assert error_of(post(api, accept_form(token))) == "revoked"


def test_an_existing_login_accepts_with_its_password(api: dict[str, Any]) -> None:
    token = invite(api, email="client@h.example", txn="other")
    assert error_of(post(api, {"token": token, "password": "wrong-password-1"})) == "password"
    r = post(api, {"token": token, "password": PASSWORD})
    assert r.headers["location"] == f"{ORIGIN}/portal/{api['ids']['other']}"
    assert "chronos_session=" in r.headers["set-cookie"]


def test_an_existing_login_already_signed_in_needs_no_password(api: dict[str, Any]) -> None:
    token = invite(api, email="client@h.example", txn="other")
    client: TestClient = api["client"]
    r = client.post(
        "/auth/sign-in",
        data={"email": "client@h.example", "password": PASSWORD},
        headers={"Origin": ORIGIN},
    )
    assert r.status_code == 303
    r = post(api, {"token": token})
    assert r.headers["location"] == f"{ORIGIN}/portal/{api['ids']['other']}"
    assert "set-cookie" not in r.headers  # the session they have is kept


def test_a_two_factor_account_is_sent_to_sign_in_itself(api: dict[str, Any]) -> None:
    with chronos_db.session_scope() as db:
        user = db.exec(select(User).where(User.email == "client@h.example")).one()
        user.totp_enabled_at = utcnow()
    token = invite(api, email="client@h.example", txn="other")
    r = post(api, {"token": token, "password": PASSWORD})
    location = urlsplit(r.headers["location"])
    assert location.path == "/invitation" and parse_qs(location.query)["done"] == ["sign_in"]
    assert "set-cookie" not in r.headers
    with chronos_db.session_scope() as db:
        assert db.exec(select(Invitation)).one().accepted_at is not None


def test_the_rate_limit_per_address_is_reached(api: dict[str, Any]) -> None:
    token = invite(api)
    for _ in range(20):
        assert error_of(post(api, accept_form("guess"))) == "invalid"
    r = post(api, accept_form(token))
    assert error_of(r) == "limited" and "set-cookie" not in r.headers
    rate_limit.reset_all()
    assert (
        post(api, accept_form(token)).headers["location"].endswith(f"/portal/{api['ids']['deal']}")
    )
