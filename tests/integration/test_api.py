"""The HTTP API (auth routes + REST v1) through Starlette's TestClient on a migrated database."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from chronos import db as chronos_db
from chronos import migrate, settings
from chronos.services import auth, transactions

PASSWORD = "correct-horse-battery"
ORIGIN = "http://testserver"


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
        other = auth.create_organization(db, name="Summit", slug="summit")
        users = {
            role: auth.create_user(
                db,
                org_id=org.id,
                email=f"{role}@h.example",
                full_name=f"{role.title()} H",
                role=role,
                password=PASSWORD,
            )  # type: ignore[arg-type]
            for role in ("admin", "agent", "coordinator", "client", "attorney", "lender")
        }
        users["agent2"] = auth.create_user(
            db,
            org_id=org.id,
            email="agent2@h.example",
            full_name="Agent Two",
            role="agent",
            password=PASSWORD,
        )  # type: ignore[arg-type]
        users["outsider"] = auth.create_user(
            db,
            org_id=other.id,
            email="admin@s.example",
            full_name="Outsider",
            role="admin",
            password=PASSWORD,
        )  # type: ignore[arg-type]
        deal = transactions.create_transaction(
            db,
            users["agent"],
            {
                "side": "buyer",
                "street": "1 Deal St",
                "client_name": "Client H",
                "client_email": "client@h.example",
            },
        )
        other_deal = transactions.create_transaction(
            db, users["agent"], {"side": "seller", "street": "2 Other St"}
        )
        ids = {"deal": deal.id, "other_deal": other_deal.id}
    from chronos.api.app import create_api

    client = TestClient(create_api(), base_url=ORIGIN, follow_redirects=False)
    yield {"client": client, "ids": ids}
    settings.get_settings.cache_clear()
    chronos_db.get_engine.cache_clear()


def _signed_in(api: dict[str, Any], who: str) -> TestClient:
    client: TestClient = api["client"]
    client.cookies.clear()
    r = client.post(
        "/auth/sign-in",
        data={
            "email": f"{who}@h.example" if who != "outsider" else "admin@s.example",
            "password": PASSWORD,
        },
        headers={"Origin": ORIGIN},
    )
    assert r.status_code == 303, r.text
    return client


def test_sign_in_sets_an_httponly_samesite_cookie_and_redirects_by_role(
    api: dict[str, Any],
) -> None:
    client: TestClient = api["client"]
    r = client.post(
        "/auth/sign-in",
        data={"email": "AGENT@h.example", "password": PASSWORD},
        headers={"Origin": ORIGIN},
    )
    assert r.status_code == 303
    assert r.headers["location"].endswith("/pipeline")
    cookie = r.headers["set-cookie"]
    assert "chronos_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain HTTP here; HTTPS (or X-Forwarded-Proto) adds it
    r = client.post(
        "/auth/sign-in",
        data={"email": "client@h.example", "password": PASSWORD},
        headers={"Origin": ORIGIN},
    )
    assert r.headers["location"].endswith("/portal")


def test_cookie_is_secure_behind_an_https_proxy(api: dict[str, Any]) -> None:
    r = api["client"].post(
        "/auth/sign-in",
        data={"email": "agent@h.example", "password": PASSWORD},
        headers={"Origin": ORIGIN, "X-Forwarded-Proto": "https"},
    )
    assert "Secure" in r.headers["set-cookie"]


@pytest.mark.parametrize("origin", [None, "https://evil.example", "null"])
def test_cross_origin_or_originless_sign_in_is_refused(
    api: dict[str, Any], origin: str | None
) -> None:
    headers = {"Origin": origin} if origin else {}
    r = api["client"].post(
        "/auth/sign-in", data={"email": "agent@h.example", "password": PASSWORD}, headers=headers
    )
    assert r.status_code == 403
    assert "set-cookie" not in r.headers


def test_wrong_password_redirects_back_with_error_and_no_cookie(api: dict[str, Any]) -> None:
    r = api["client"].post(
        "/auth/sign-in",
        data={"email": "agent@h.example", "password": "nope", "next": "/people"},
        headers={"Origin": ORIGIN},
    )
    assert r.status_code == 303
    assert "/sign-in?error=invalid" in r.headers["location"]
    assert "next=%2Fpeople" in r.headers["location"]
    assert "set-cookie" not in r.headers


@pytest.mark.parametrize(
    "next_path", ["//evil.example/x", "https://evil.example", "/\\evil.example"]
)
def test_sign_in_never_redirects_off_site(api: dict[str, Any], next_path: str) -> None:
    r = api["client"].post(
        "/auth/sign-in",
        data={"email": "agent@h.example", "password": PASSWORD, "next": next_path},
        headers={"Origin": ORIGIN},
    )
    assert r.headers["location"] == f"{ORIGIN}/pipeline"


def test_sign_in_returns_to_a_safe_next_path(api: dict[str, Any]) -> None:
    r = api["client"].post(
        "/auth/sign-in",
        data={"email": "agent@h.example", "password": PASSWORD, "next": "/people"},
        headers={"Origin": ORIGIN},
    )
    assert r.headers["location"] == f"{ORIGIN}/people"


def test_sign_out_revokes_the_session(api: dict[str, Any]) -> None:
    client = _signed_in(api, "agent")
    token = client.cookies.get("chronos_session")
    assert client.get("/api/v1/me").status_code == 200
    r = client.post("/auth/sign-out", headers={"Origin": ORIGIN})
    assert r.status_code == 303 and "Max-Age=0" in r.headers["set-cookie"]
    client.cookies.set("chronos_session", token or "")
    assert client.get("/api/v1/me").status_code == 401


def test_cross_origin_sign_out_is_refused(api: dict[str, Any]) -> None:
    client = _signed_in(api, "agent")
    assert (
        client.post("/auth/sign-out", headers={"Origin": "https://evil.example"}).status_code == 403
    )
    assert client.get("/api/v1/me").status_code == 200


def test_api_needs_a_session(api: dict[str, Any]) -> None:
    client: TestClient = api["client"]
    client.cookies.clear()
    assert client.get("/api/v1/transactions").status_code == 401
    client.cookies.set("chronos_session", "forged-token")
    assert client.get("/api/v1/transactions").status_code == 401


@pytest.mark.parametrize("who", ["agent2", "outsider", "attorney", "lender"])
def test_personas_not_on_a_deal_get_404_for_it(api: dict[str, Any], who: str) -> None:
    client = _signed_in(api, who)
    deal = api["ids"]["other_deal"] if who in ("attorney", "lender") else api["ids"]["deal"]
    assert client.get(f"/api/v1/transactions/{deal}").status_code == 404
    assert client.get(f"/api/v1/transactions/{deal}/events").status_code == 404
    r = client.post(
        f"/api/v1/transactions/{deal}/stage", json={"stage": "closed"}, headers={"Origin": ORIGIN}
    )
    assert r.status_code == 404
    listed = client.get("/api/v1/transactions").json()
    assert deal not in [row["id"] for row in listed["items"]]


@pytest.mark.parametrize("who", ["client"])
def test_outside_party_reads_their_deal_but_cannot_change_it(api: dict[str, Any], who: str) -> None:
    client = _signed_in(api, who)
    deal = api["ids"]["deal"]
    body = client.get(f"/api/v1/transactions/{deal}").json()
    assert body["street"] == "1 Deal St" and body["can_edit"] is False
    r = client.post(
        f"/api/v1/transactions/{deal}/stage",
        json={"stage": "clear_to_close"},
        headers={"Origin": ORIGIN},
    )
    assert r.status_code == 403
    assert (
        client.patch(
            f"/api/v1/transactions/{deal}", json={"price": 1}, headers={"Origin": ORIGIN}
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/api/v1/transactions",
            json={"side": "buyer", "street": "x"},
            headers={"Origin": ORIGIN},
        ).status_code
        == 403
    )
    assert client.get("/api/v1/people").status_code == 403


def test_agent_creates_and_moves_a_transaction_through_the_api(api: dict[str, Any]) -> None:
    client = _signed_in(api, "agent")
    r = client.post(
        "/api/v1/transactions",
        json={"side": "seller", "street": "5 Api Way", "price": "$500,000"},
        headers={"Origin": ORIGIN},
    )
    assert r.status_code == 201
    created = r.json()
    assert created["stage"] == "pre_listing" and created["price"] == "$500,000"
    r = client.post(
        f"/api/v1/transactions/{created['id']}/stage",
        json={"stage": "active_listing", "expected_stage": "pre_listing"},
        headers={"Origin": ORIGIN},
    )
    assert r.status_code == 201 and r.json()["stage"] == "active_listing"
    # The same click again (stale page, double submit) is a conflict, not a second move.
    r = client.post(
        f"/api/v1/transactions/{created['id']}/stage",
        json={"stage": "active_listing", "expected_stage": "pre_listing"},
        headers={"Origin": ORIGIN},
    )
    assert r.status_code == 409
    events = client.get(f"/api/v1/transactions/{created['id']}/events").json()
    assert [e["kind"] for e in events["items"]] == [
        "checklist_applied",  # the listing checklist, applied once by the one move
        "stage_changed",
        "transaction_created",
    ]


def test_invalid_input_gets_field_errors_and_saves_nothing(api: dict[str, Any]) -> None:
    client = _signed_in(api, "agent")
    before = client.get("/api/v1/transactions").json()["total"]
    r = client.post(
        "/api/v1/transactions",
        json={"side": "buyer", "street": "", "price": -3, "closing_date": "2026-02-30"},
        headers={"Origin": ORIGIN},
    )
    assert r.status_code == 422
    assert set(r.json()["fields"]) == {"street", "price", "closing_date"}
    assert client.get("/api/v1/transactions").json()["total"] == before
    r = client.post(
        "/api/v1/transactions",
        content=b"{not json",
        headers={"Origin": ORIGIN, "Content-Type": "application/json"},
    )
    assert r.status_code == 422 and "JSON" in r.json()["error"]


def test_unsafe_api_calls_need_same_origin(api: dict[str, Any]) -> None:
    client = _signed_in(api, "agent")
    r = client.post(
        "/api/v1/transactions",
        json={"side": "buyer", "street": "1 Csrf St"},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403


def test_head_on_a_read_endpoint_answers_like_get_without_a_body(api: dict[str, Any]) -> None:
    client = _signed_in(api, "agent")
    r = client.head("/api/v1/me")
    assert r.status_code == 200 and r.content == b""
    client.cookies.clear()
    assert client.head("/api/v1/me").status_code == 401


# ---------------------------------------------------------------- hostile input (issues 13, 15)


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        # A parser's refusal outside a form used to escape as a bare ValueError: a 500.
        (
            "POST",
            "/api/v1/transactions/{deal}/stage",
            {"stage": "cancelled", "reason": "r" * 600},
            422,
        ),
        ("GET", "/api/v1/transactions/{deal}/documents?q=" + "q" * 150, None, 422),
        ("PATCH", "/api/v1/transactions/{deal}", {"street": ["a", "b"]}, 422),
        ("PATCH", "/api/v1/transactions/{deal}", {"street": "\u200b\u202e"}, 422),
        ("PATCH", "/api/v1/transactions/{deal}", {"price": "1e3"}, 422),
        # Numbers outside the database's integer range: OverflowError used to be a 500.
        ("GET", "/api/v1/transactions/99999999999999999999999", None, 404),
        ("GET", "/api/v1/people/99999999999999999999999", None, 404),
        ("GET", "/api/v1/transactions?page=99999999999999999999", None, 422),
        ("GET", "/api/v1/transactions?page=2147483647", None, 200),
    ],
)
def test_hostile_input_gets_a_specific_4xx_and_changes_nothing(
    api: dict[str, Any], method: str, path: str, body: Any, status: int
) -> None:
    client = _signed_in(api, "agent")
    url = path.format(deal=api["ids"]["deal"])
    before = client.get(f"/api/v1/transactions/{api['ids']['deal']}").json()
    r = client.request(method, url, json=body, headers={"Origin": ORIGIN})
    assert r.status_code == status, r.text
    if status >= 400:
        assert r.json()["error"] and "Traceback" not in r.text
    after = client.get(f"/api/v1/transactions/{api['ids']['deal']}").json()
    assert after == before
