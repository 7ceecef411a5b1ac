"""The account form POSTs through Starlette's TestClient on a migrated database: CSRF, lockout,
session rotation, two-factor, sign-up, forgot/reset password, sign-out events."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from chronos import db as chronos_db
from chronos import migrate, settings
from chronos.models import EmailMessage, SecurityEvent, User
from chronos.pages.sign_in import query_error
from chronos.services import accounts, auth

PASSWORD = "correct-horse-battery"
NEW_PASSWORD = "lantern-orchid-velvet"
ORIGIN = "http://testserver"
SAME = {"Origin": ORIGIN}


@pytest.fixture
def client(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("CHRONOS_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'auth.db'}")
    monkeypatch.setenv("CHRONOS_SECRET_KEY", "auth-routes-test-secret")
    monkeypatch.setenv("CHRONOS_PUBLIC_URL", ORIGIN)
    settings.get_settings.cache_clear()
    chronos_db.get_engine.cache_clear()
    migrate.upgrade()
    with chronos_db.session_scope() as db:
        org = auth.create_organization(db, name="Harbor", slug="harbor")
        for role in ("admin", "agent", "client"):
            auth.create_user(
                db,
                org_id=org.id,  # type: ignore[arg-type]
                email=f"{role}@h.example",
                full_name=f"{role.title()} H",
                role=role,
                password=PASSWORD,
            )
    from chronos.api.app import create_api

    yield TestClient(create_api(), base_url=ORIGIN, follow_redirects=False)
    settings.get_settings.cache_clear()
    chronos_db.get_engine.cache_clear()


def _where(response: Any) -> tuple[str, dict[str, str]]:
    assert response.status_code == 303, response.text
    parts = urlsplit(response.headers["location"])
    return parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}


def _sign_in(client: TestClient, email: str, password: str = PASSWORD, **headers: str) -> Any:
    return client.post(
        "/auth/sign-in", data={"email": email, "password": password}, headers={**SAME, **headers}
    )


def _session_cookie(client: TestClient) -> str | None:
    return client.cookies.get("chronos_session")


def _me(client: TestClient) -> int:
    return client.get("/api/v1/me").status_code


def _events(kind: str) -> list[SecurityEvent]:
    with chronos_db.session_scope() as db:
        return list(db.exec(select(SecurityEvent).where(SecurityEvent.kind == kind)).all())


def _mails(to: str) -> list[EmailMessage]:
    with chronos_db.session_scope() as db:
        return list(
            db.exec(
                select(EmailMessage).where(EmailMessage.to_address == to).order_by(EmailMessage.id)  # type: ignore[arg-type]
            ).all()
        )


def _token_in(mail: EmailMessage) -> str:
    match = re.search(r"token=([A-Za-z0-9_\-]+)", mail.text_body)
    assert match
    return match.group(1)


# ---------------------------------------------------------------- CSRF


@pytest.mark.parametrize(
    "path",
    [
        "/auth/sign-in",
        "/auth/sign-up",
        "/auth/two-factor",
        "/auth/forgot-password",
        "/auth/reset-password",
        "/auth/sign-out",
    ],
)
@pytest.mark.parametrize("headers", [{}, {"Origin": "https://evil.example"}])
def test_every_account_form_refuses_cross_site_posts(
    client: TestClient, path: str, headers: dict[str, str]
) -> None:
    r = client.post(
        path,
        data={"email": "agent@h.example", "password": PASSWORD, "token": "x", "code": "1"},
        headers=headers,
    )
    assert r.status_code == 403
    assert "set-cookie" not in r.headers
    assert _mails("agent@h.example") == []


def test_a_same_site_referer_is_accepted_in_place_of_origin(client: TestClient) -> None:
    r = client.post(
        "/auth/forgot-password",
        data={"email": "agent@h.example"},
        headers={"Referer": f"{ORIGIN}/forgot-password"},
    )
    assert _where(r) == ("/forgot-password", {"sent": "1"})


# ---------------------------------------------------------------- sign-in


def test_the_sixth_attempt_is_locked_out_with_a_clear_message(client: TestClient) -> None:
    for _ in range(4):
        assert _where(_sign_in(client, "agent@h.example", "wrong-password-1"))[1]["error"] == (
            "invalid"
        )
    path, query = _where(_sign_in(client, "agent@h.example", "wrong-password-1"))
    assert (path, query["error"], query["limit"]) == ("/sign-in", "limited", "sign_in_account")
    path, query = _where(_sign_in(client, "agent@h.example"))  # right password, still locked
    assert (
        query["error"] == "limited"
        and "set-cookie" not in _sign_in(client, "agent@h.example").headers
    )
    message = query_error(query)
    assert message.startswith("Too many failed sign-ins for this account. Try again in 1")
    assert "reset your password" in message
    assert query["email"] == "agent@h.example"
    assert len(_events("sign_in_failed")) == 5 and _events("locked_out")


def test_signing_in_rotates_the_session(client: TestClient) -> None:
    _sign_in(client, "agent@h.example")
    first = _session_cookie(client)
    assert first and _me(client) == 200
    path, _ = _where(_sign_in(client, "admin@h.example"))
    second = _session_cookie(client)
    assert path == "/pipeline" and second and second != first
    with chronos_db.session_scope() as db:
        assert auth.resolve_session(db, first) is None
        assert auth.resolve_session(db, second).email == "admin@h.example"  # type: ignore[union-attr]
    [event] = _events("signed_in")[-1:]
    assert event.ip_address == "testclient"


def test_a_deactivated_user_is_refused_and_their_open_session_stops_working(
    client: TestClient,
) -> None:
    _sign_in(client, "agent@h.example")
    assert _me(client) == 200
    with chronos_db.session_scope() as db:
        user = db.exec(select(User).where(User.email == "agent@h.example")).one()
        user.is_active = False
        db.add(user)
    assert _me(client) == 401
    client.cookies.clear()
    assert _where(_sign_in(client, "agent@h.example"))[1]["error"] == "invalid"
    r = client.post("/auth/forgot-password", data={"email": "agent@h.example"}, headers=SAME)
    assert _where(r) == ("/forgot-password", {"sent": "1"})
    assert _mails("agent@h.example") == []


def test_sign_out_is_recorded(client: TestClient) -> None:
    _sign_in(client, "agent@h.example")
    r = client.post("/auth/sign-out", headers=SAME)
    assert _where(r) == ("/sign-in", {"signed_out": "1"})
    assert _me(client) == 401
    [event] = _events("signed_out")
    assert event.email == "agent@h.example"


# ---------------------------------------------------------------- two-factor


def _enable_totp(email: str) -> pyotp.TOTP:
    import time

    with chronos_db.session_scope() as db:
        user = db.exec(select(User).where(User.email == email)).one()
        setup = accounts.begin_totp(db, user)
        totp = pyotp.TOTP(setup.secret)
        accounts.confirm_totp(db, user, totp.at(time.time() - 30))
    return totp


def test_the_two_factor_flow(client: TestClient) -> None:
    totp = _enable_totp("agent@h.example")
    r = client.post(
        "/auth/sign-in",
        data={"email": "agent@h.example", "password": PASSWORD, "next": "/people"},
        headers=SAME,
    )
    assert _where(r) == ("/two-factor", {"next": "/people"})
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("chronos_session_2fa=") and "HttpOnly" in cookie
    assert "Path=/auth/" in cookie and "SameSite=strict" in cookie
    assert _session_cookie(client) is None and _me(client) == 401
    wrong = client.post(
        "/auth/two-factor", data={"code": "000000", "next": "/people"}, headers=SAME
    )
    assert _where(wrong) == ("/two-factor", {"error": "code", "next": "/people"})
    assert query_error({"error": "code"}) == accounts.WRONG_CODE
    ok = client.post("/auth/two-factor", data={"code": totp.now(), "next": "/people"}, headers=SAME)
    assert _where(ok)[0] == "/people"
    assert _me(client) == 200
    cleared = [c for c in ok.headers.get_list("set-cookie") if c.startswith("chronos_session_2fa=")]
    assert len(cleared) == 1 and "Max-Age=0" in cleared[0]


def test_the_two_factor_step_without_a_pending_sign_in_starts_over(client: TestClient) -> None:
    totp = _enable_totp("agent@h.example")
    r = client.post("/auth/two-factor", data={"code": totp.now()}, headers=SAME)
    path, query = _where(r)
    assert (path, query["error"]) == ("/sign-in", "two_factor_expired")
    assert _me(client) == 401


# ---------------------------------------------------------------- sign-up


SIGN_UP = {
    "org_name": "Bayside Homes",
    "full_name": "Frances Founder",
    "email": "frances@bayside.example",
    "password": NEW_PASSWORD,
    "password2": NEW_PASSWORD,
}


def test_sign_up_creates_signs_in_and_emails_a_verification_link(client: TestClient) -> None:
    r = client.post("/auth/sign-up", data=SIGN_UP, headers=SAME)
    assert _where(r) == ("/pipeline", {"welcome": "1"})
    assert "HttpOnly" in r.headers["set-cookie"]
    assert client.get("/api/v1/me").json()["email"] == "frances@bayside.example"
    [mail] = _mails("frances@bayside.example")
    assert mail.template == "verify_email"
    assert f"{ORIGIN}/verify-email?token=" in mail.text_body
    with chronos_db.session_scope() as db:
        user = db.exec(select(User).where(User.email == "frances@bayside.example")).one()
        assert (user.role, user.is_verified) == ("admin", False)
        accounts.verify_email(db, _token_in(mail))
        assert user.is_verified


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"password2": "something-else-here"}, "mismatch"),
        ({"password": "password123", "password2": "password123"}, "common"),
        ({"password": "short", "password2": "short"}, "too_short"),
        ({"email": "nope"}, "email_invalid"),
        ({"org_name": ""}, "org_missing"),
        ({"email": "agent@h.example"}, "email_taken"),
    ],
)
def test_a_refused_sign_up_comes_back_with_a_code_and_the_typed_values(
    client: TestClient, change: dict[str, str], code: str
) -> None:
    r = client.post("/auth/sign-up", data={**SIGN_UP, **change}, headers=SAME)
    path, query = _where(r)
    assert (path, query["error"]) == ("/sign-up", code)
    assert query_error(query)  # every code has a message
    assert "password" not in query and "password2" not in query
    assert query.get("full_name") == "Frances Founder"
    assert "set-cookie" not in r.headers


def test_sign_up_is_rate_limited_per_address(client: TestClient) -> None:
    for n in range(5):
        client.cookies.clear()
        data = {**SIGN_UP, "email": f"f{n}@bayside.example"}
        assert _where(client.post("/auth/sign-up", data=data, headers=SAME))[0] == "/pipeline"
    client.cookies.clear()
    r = client.post("/auth/sign-up", data={**SIGN_UP, "email": "f9@bayside.example"}, headers=SAME)
    path, query = _where(r)
    assert (path, query["error"], query["limit"]) == ("/sign-up", "limited", "sign_up_address")
    assert query_error(query).startswith("Too many sign-ups from your network")


# ---------------------------------------------------------------- forgot and reset password


def test_forgot_password_answers_the_same_for_unknown_addresses(client: TestClient) -> None:
    known = client.post("/auth/forgot-password", data={"email": "agent@h.example"}, headers=SAME)
    unknown = client.post("/auth/forgot-password", data={"email": "who@h.example"}, headers=SAME)
    assert known.status_code == unknown.status_code == 303
    assert known.headers["location"] == unknown.headers["location"]
    assert _where(known) == ("/forgot-password", {"sent": "1"})
    assert len(_mails("agent@h.example")) == 1 and _mails("who@h.example") == []


def test_forgot_password_rate_limit_comes_back_with_its_message(client: TestClient) -> None:
    for _ in range(3):
        client.post("/auth/forgot-password", data={"email": "who@h.example"}, headers=SAME)
    path, query = _where(
        client.post("/auth/forgot-password", data={"email": "who@h.example"}, headers=SAME)
    )
    assert (path, query["error"], query["limit"]) == (
        "/forgot-password",
        "limited",
        "reset_account",
    )
    assert query_error(query).startswith("A reset link was sent recently")


def test_reset_password_signs_in_and_signs_out_everywhere_else(client: TestClient) -> None:
    other = TestClient(client.app, base_url=ORIGIN, follow_redirects=False)
    _sign_in(other, "agent@h.example")
    assert _me(other) == 200
    client.post("/auth/forgot-password", data={"email": "agent@h.example"}, headers=SAME)
    token = _token_in(_mails("agent@h.example")[0])
    r = client.post(
        "/auth/reset-password",
        data={"token": token, "password": NEW_PASSWORD, "password2": NEW_PASSWORD},
        headers=SAME,
    )
    assert _where(r) == ("/pipeline", {"reset": "1"})
    assert _me(client) == 200
    assert _me(other) == 401
    assert _events("password_reset")
    # the link is single use
    again = client.post(
        "/auth/reset-password",
        data={
            "token": token,
            "password": "another-fine-phrase",
            "password2": "another-fine-phrase",
        },
        headers=SAME,
    )
    assert _where(again) == ("/reset-password", {"error": "token_used"})
    client.cookies.clear()
    assert _where(_sign_in(client, "agent@h.example", NEW_PASSWORD))[0] == "/pipeline"


def test_a_refused_new_password_keeps_the_link(client: TestClient) -> None:
    client.post("/auth/forgot-password", data={"email": "agent@h.example"}, headers=SAME)
    token = _token_in(_mails("agent@h.example")[0])
    r = client.post(
        "/auth/reset-password",
        data={"token": token, "password": "qwertyuiop", "password2": "qwertyuiop"},
        headers=SAME,
    )
    assert _where(r) == ("/reset-password", {"token": token, "error": "common"})
    assert "set-cookie" not in r.headers


def test_a_forged_reset_token_is_refused(client: TestClient) -> None:
    r = client.post(
        "/auth/reset-password",
        data={"token": "forged", "password": NEW_PASSWORD, "password2": NEW_PASSWORD},
        headers=SAME,
    )
    assert _where(r) == ("/reset-password", {"error": "token_invalid"})
    assert "set-cookie" not in r.headers
