"""Personal API tokens through the REST API: a script with only a token lists, creates and reads
as its user; read-only tokens cannot write; revoked, expired, malformed and deactivated-user
tokens get 401; a token never sees more than its user; token requests ignore cookies and the
cross-origin check; one token is rate limited with 429 + Retry-After."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from chronos import db as chronos_db
from chronos.models import ApiToken, SecurityEvent, User
from chronos.services import api_tokens, rate_limit, user_admin
from chronos.services.errors import NotFound, PermissionDenied, ValidationFailed
from tests.integration.test_api import ORIGIN, _signed_in
from tests.integration.test_api import api as api


def _user(email: str) -> User:
    with chronos_db.session_scope() as db:
        user = db.exec(select(User).where(User.email == email)).one()
        db.expunge(user)
        return user


def _token(email: str, scopes: str = "read,write", days: int = 30) -> str:
    with chronos_db.session_scope() as db:
        user = db.exec(select(User).where(User.email == email)).one()
        return api_tokens.create(
            db, user, name=f"script {scopes} {days}", scopes=scopes, expires_in_days=days
        ).secret


def _bare(api: dict[str, Any]) -> TestClient:
    client: TestClient = api["client"]
    client.cookies.clear()
    return client


def _auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture(autouse=True)
def _fresh_limits() -> Iterator[None]:
    rate_limit.reset_all()
    yield
    rate_limit.reset_all()


def test_a_script_works_with_only_its_token(api: dict[str, Any]) -> None:
    secret = _token("agent@h.example")
    client = _bare(api)
    me = client.get("/api/v1/me", headers=_auth(secret))
    assert me.status_code == 200 and me.json()["email"] == "agent@h.example"
    # A write from anywhere (no Origin, or another site's): the token is the credential.
    made = client.post(
        "/api/v1/transactions",
        json={"side": "buyer", "street": "9 Script Way"},
        headers={**_auth(secret), "Origin": "https://elsewhere.example"},
    )
    assert made.status_code == 201, made.text
    listed = client.get("/api/v1/transactions", headers=_auth(secret)).json()
    assert "9 Script Way" in str(listed)
    with chronos_db.session_scope() as db:
        token = db.exec(select(ApiToken)).one()
        assert token.last_used_at is not None


def test_a_read_only_token_cannot_write(api: dict[str, Any]) -> None:
    secret = _token("agent@h.example", scopes="read")
    client = _bare(api)
    assert client.get("/api/v1/transactions", headers=_auth(secret)).status_code == 200
    r = client.post(
        "/api/v1/transactions", json={"side": "buyer", "street": "1 No Way"}, headers=_auth(secret)
    )
    assert r.status_code == 403 and "read only" in r.json()["error"]
    deal = api["ids"]["deal"]
    assert (
        client.patch(
            f"/api/v1/transactions/{deal}", json={"price": 1}, headers=_auth(secret)
        ).status_code
        == 403
    )


def test_a_token_sees_only_what_its_user_may(api: dict[str, Any]) -> None:
    client = _bare(api)
    deal = api["ids"]["deal"]
    other = api["ids"]["other_deal"]
    clients = _token("client@h.example")
    assert client.get(f"/api/v1/transactions/{deal}", headers=_auth(clients)).status_code == 200
    assert client.get(f"/api/v1/transactions/{other}", headers=_auth(clients)).status_code == 404
    outsider = _token("admin@s.example")
    assert client.get(f"/api/v1/transactions/{deal}", headers=_auth(outsider)).status_code == 404
    agent2 = _token("agent2@h.example")
    r = client.patch(
        f"/api/v1/transactions/{deal}", json={"price": "500000"}, headers=_auth(agent2)
    )
    assert r.status_code in (403, 404)


@pytest.mark.parametrize(
    "header",
    [
        "Bearer chr_" + "x" * 43,  # well-formed, unknown
        "Bearer chr_short",
        "Bearer " + "y" * 500,
        "Basic YWdlbnQ6cGFzcw==",
        "Bearer",
        "Bearer ",
    ],
)
def test_bad_tokens_get_401_even_with_a_valid_cookie(api: dict[str, Any], header: str) -> None:
    client = _signed_in(api, "agent")  # the cookie is there: a token request ignores it
    r = client.get("/api/v1/me", headers={"Authorization": header})
    assert r.status_code == 401 and r.json()["error"]


def test_revoked_expired_and_deactivated_tokens_stop_at_once(api: dict[str, Any]) -> None:
    client = _bare(api)
    agent = _user("agent@h.example")
    revoked = _token("agent@h.example")
    expired = _token("agent@h.example", days=7)
    for secret in (revoked, expired):
        assert client.get("/api/v1/me", headers=_auth(secret)).status_code == 200
    with chronos_db.session_scope() as db:
        rows = {r.name: r for r in api_tokens.list_mine(db, agent)}
        api_tokens.revoke(db, agent, rows["script read,write 30"].id)
        token = db.exec(select(ApiToken).where(ApiToken.name == "script read,write 7")).one()
        token.expires_at = token.created_at - timedelta(seconds=1)
        db.add(token)
    assert client.get("/api/v1/me", headers=_auth(revoked)).status_code == 401
    assert client.get("/api/v1/me", headers=_auth(expired)).status_code == 401
    with chronos_db.session_scope() as db:
        states = {r.name: r.state for r in api_tokens.list_mine(db, agent)}
    assert states == {"script read,write 30": "revoked", "script read,write 7": "expired"}

    live = _token("coordinator@h.example")
    assert client.get("/api/v1/me", headers=_auth(live)).status_code == 200
    with chronos_db.session_scope() as db:
        admin = db.exec(select(User).where(User.email == "admin@h.example")).one()
        coordinator = db.exec(select(User).where(User.email == "coordinator@h.example")).one()
        user_admin.deactivate(db, admin, coordinator.id)
    assert client.get("/api/v1/me", headers=_auth(live)).status_code == 401
    with chronos_db.session_scope() as db:
        kept = db.exec(select(ApiToken).where(ApiToken.name == "script read,write 30")).all()
        assert all(t.revoked_at is not None for t in kept)
        deactivated = db.exec(
            select(SecurityEvent).where(SecurityEvent.kind == "deactivated")
        ).one()
        assert deactivated.detail.get("api_tokens_revoked") == 1


def test_one_token_is_rate_limited(api: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        rate_limit,
        "API_TOKEN",
        rate_limit.Policy("api_token_test", "3/minute", rate_limit.API_TOKEN.message),
    )
    client = _bare(api)
    secret = _token("agent@h.example")
    other = _token("agent2@h.example")
    for _ in range(3):
        assert client.get("/api/v1/me", headers=_auth(secret)).status_code == 200
    r = client.get("/api/v1/me", headers=_auth(secret))
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert "too many requests" in r.json()["error"]
    assert client.get("/api/v1/me", headers=_auth(other)).status_code == 200  # per token


def test_the_token_rules_in_the_service(api: dict[str, Any]) -> None:
    agent = _user("agent@h.example")
    agent2 = _user("agent2@h.example")
    admin = _user("admin@h.example")
    outsider = _user("admin@s.example")
    with chronos_db.session_scope() as db:
        made = api_tokens.create(db, agent, name="Zapier", scopes="read", expires_in_days=0)
        assert made.secret.startswith("chr_") and made.row.expires == ""
        assert made.row.prefix == made.secret[:10]
        stored = db.exec(select(ApiToken)).one()
        assert made.secret not in (stored.token_hash, stored.prefix)
        for bad in (
            {"name": "  \u200b "},
            {"name": "x", "scopes": "admin"},
            {"name": "x", "scopes": ["read"]},
            {"name": "x", "expires_in_days": 3},
            {"name": "x", "expires_in_days": True},
            {"name": "x", "expires_in_days": "30"},
            {"name": "zapier"},  # the same name as a live one
        ):
            with pytest.raises(ValidationFailed):
                api_tokens.create(db, agent, **bad)  # type: ignore[arg-type]
        # Someone else's token: not found, for another agent and another brokerage's admin.
        for who in (agent2, outsider):
            with pytest.raises(NotFound):
                api_tokens.revoke(db, who, made.row.id)
        for bad_id in ("1", None, 2**70, -1, True):
            with pytest.raises(NotFound):
                api_tokens.revoke(db, agent, bad_id)
        with pytest.raises(PermissionDenied):
            api_tokens.list_for_org(db, agent)
        with pytest.raises(PermissionDenied):
            api_tokens.list_for_org(db, agent2)
        assert [r.owner_email for r in api_tokens.list_for_org(db, admin)] == ["agent@h.example"]
        assert api_tokens.list_for_org(db, outsider) == []
        # The brokerage's admin may revoke it.
        assert api_tokens.revoke(db, admin, made.row.id).state == "revoked"
        kinds = [e.kind for e in db.exec(select(SecurityEvent).order_by(SecurityEvent.id))]
    assert kinds[-2:] == ["api_token_created", "api_token_revoked"]


def test_a_cookie_request_still_needs_its_origin(api: dict[str, Any]) -> None:
    client = _signed_in(api, "agent")
    r = client.post(
        "/api/v1/transactions",
        json={"side": "buyer", "street": "1 Forged St"},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403
    ok = client.post(
        "/api/v1/transactions",
        json={"side": "buyer", "street": "1 Own St"},
        headers={"Origin": ORIGIN},
    )
    assert ok.status_code == 201
