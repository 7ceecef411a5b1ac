"""POST /webhooks/resend over HTTP (Starlette's TestClient) on a migrated database.

Authenticated by Resend's (Svix) signature only: not configured answers 404, a forged,
stale or unsigned call 401 (a valid session cookie changes nothing), a replayed id 200 with
no effect, oversized 413, bad JSON 400.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from chronos import db as chronos_db
from chronos import migrate, routes, settings
from chronos.api.webhook_routes import MAX_BODY, sign, signing_key
from chronos.models import EmailMessage, Event, Notification
from chronos.models.message import WebhookReceipt
from chronos.services import auth, transactions

SECRET = "whsec_" + base64.b64encode(b"integration-webhook-secret-key!!").decode()
PASSWORD = "correct-horse-battery"
ORIGIN = "http://testserver"
URL = routes.RESEND_WEBHOOK


def _start(tmp_path: Any, monkeypatch: pytest.MonkeyPatch, secret: str | None) -> dict[str, Any]:
    monkeypatch.setenv("CHRONOS_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'hooks.db'}")
    monkeypatch.setenv("CHRONOS_SECRET_KEY", "webhook-test-secret")
    if secret is None:
        monkeypatch.delenv("RESEND_WEBHOOK_SECRET", raising=False)
    else:
        monkeypatch.setenv("RESEND_WEBHOOK_SECRET", secret)
    settings.get_settings.cache_clear()
    chronos_db.get_engine.cache_clear()
    migrate.upgrade()
    with chronos_db.session_scope() as db:
        org = auth.create_organization(db, name="Harbor", slug="harbor")
        admin = auth.create_user(
            db,
            org_id=org.id,  # type: ignore[arg-type]
            email="admin@h.example",
            full_name="Admin H",
            role="admin",
            password=PASSWORD,
        )
        agent = auth.create_user(
            db,
            org_id=org.id,  # type: ignore[arg-type]
            email="agent@h.example",
            full_name="Agent H",
            role="agent",
            password=PASSWORD,
        )
        deal = transactions.create_transaction(db, agent, {"side": "buyer", "street": "1 Deal St"})
        m = EmailMessage(
            org_id=org.id,
            transaction_id=deal.id,
            sent_by_id=agent.id,
            to_address="buyer@example.com",
            template="compose",
            subject="Inspection on Friday",
            text_body="Hello",
            html_body="<p>Hello</p>",
            status="sent",
            backend="resend",
            provider_id="4ef9a417-02e9-4d39-ad75-9611e0fcc33c",
            attempts=1,
        )
        db.add(m)
        db.flush()
        ids = {"message": m.id, "deal": deal.id, "agent": agent.id, "admin": admin.id}
    from chronos.api.app import create_api

    client = TestClient(create_api(), base_url=ORIGIN, follow_redirects=False)
    return {"client": client, "ids": ids}


@pytest.fixture
def hooks(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    yield _start(tmp_path, monkeypatch, SECRET)
    settings.get_settings.cache_clear()
    chronos_db.get_engine.cache_clear()


def _event(kind: str = "bounced", email_id: str = "4ef9a417-02e9-4d39-ad75-9611e0fcc33c") -> bytes:
    return json.dumps(
        {
            "type": f"email.{kind}",
            "created_at": "2026-11-21T12:00:00.000Z",
            "data": {
                "email_id": email_id,
                "to": ["buyer@example.com"],
                "bounce": {"message": "Mailbox does not exist", "type": "Permanent"},
            },
        }
    ).encode()


def _signed(
    body: bytes, *, msg_id: str = "msg_1", ts: int | None = None, secret: str = SECRET
) -> dict[str, str]:
    stamp = str(int(time.time()) if ts is None else ts)
    return {
        "content-type": "application/json",
        "svix-id": msg_id,
        "svix-timestamp": stamp,
        "svix-signature": "v1," + sign(signing_key(secret), msg_id, stamp, body),
    }


def _delivery() -> str:
    with chronos_db.session_scope() as db:
        return db.exec(select(EmailMessage.delivery_status)).one()


def _set_delivery(value: str) -> None:
    with chronos_db.session_scope() as db:
        m = db.exec(select(EmailMessage)).one()
        m.delivery_status, m.delivery_updated_at = value, None
        db.add(m)


def _receipts() -> list[str]:
    with chronos_db.session_scope() as db:
        return list(db.exec(select(WebhookReceipt.event_id)).all())


def test_a_signed_bounce_is_applied_with_its_timeline_event_and_notification(
    hooks: dict[str, Any],
) -> None:
    body = _event("bounced")
    r = hooks["client"].post(URL, content=body, headers=_signed(body))  # no Origin, no cookie
    assert r.status_code == 200, r.text
    assert r.json() == {"ok": True, "duplicate": False}
    assert _delivery() == "bounced"
    assert _receipts() == ["msg_1"]
    with chronos_db.session_scope() as db:
        events = db.exec(select(Event.kind).where(Event.kind == "email_bounced")).all()
        notes = db.exec(
            select(Notification.user_id).where(Notification.kind == "email_bounced")
        ).all()
    assert events == ["email_bounced"] and notes == [hooks["ids"]["agent"]]


def test_a_replayed_event_id_answers_200_and_changes_nothing(hooks: dict[str, Any]) -> None:
    client: TestClient = hooks["client"]
    body = _event("bounced")
    h = _signed(body)
    assert client.post(URL, content=body, headers=h).json()["duplicate"] is False
    _set_delivery("")  # so a second application would show
    r = client.post(URL, content=body, headers=h)
    assert r.status_code == 200 and r.json() == {"ok": True, "duplicate": True}
    assert _delivery() == "" and _receipts() == ["msg_1"]


def test_a_replay_after_five_minutes_is_refused_outright(hooks: dict[str, Any]) -> None:
    body = _event("delivered")
    r = hooks["client"].post(URL, content=body, headers=_signed(body, ts=int(time.time()) - 600))
    assert r.status_code == 401
    assert _delivery() == "" and _receipts() == []


@pytest.mark.parametrize(
    "tamper",
    ["no headers", "wrong secret", "tampered body", "future", "other id", "bad signature"],
)
def test_forged_calls_are_refused_with_401_and_change_nothing(
    hooks: dict[str, Any], tamper: str
) -> None:
    body = _event("bounced")
    h = _signed(body)
    sent = body
    if tamper == "no headers":
        h = {"content-type": "application/json"}
    elif tamper == "wrong secret":
        h = _signed(body, secret="whsec_" + base64.b64encode(b"guessed").decode())
    elif tamper == "tampered body":
        sent = _event("complained")
    elif tamper == "future":
        h = _signed(body, ts=int(time.time()) + 600)
    elif tamper == "other id":
        h = {**h, "svix-id": "msg_2"}
    elif tamper == "bad signature":
        h = {**h, "svix-signature": "v1,not-a-signature"}
    r = hooks["client"].post(URL, content=sent, headers=h)
    assert r.status_code == 401
    assert r.json() == {"error": "Invalid signature."}
    assert _delivery() == "" and _receipts() == []


def test_a_session_cookie_is_no_substitute_for_a_signature(hooks: dict[str, Any]) -> None:
    client: TestClient = hooks["client"]
    r = client.post(
        "/auth/sign-in",
        data={"email": "admin@h.example", "password": PASSWORD},
        headers={"Origin": ORIGIN},
    )
    assert r.status_code == 303 and client.cookies.get("chronos_session")
    body = _event("bounced")
    r = client.post(
        URL, content=body, headers={"Origin": ORIGIN, "content-type": "application/json"}
    )
    assert r.status_code == 401
    assert _delivery() == "" and _receipts() == []


def test_an_oversized_body_is_refused_before_anything_else(hooks: dict[str, Any]) -> None:
    body = b'{"type":"email.bounced","pad":"' + b"x" * MAX_BODY + b'"}'
    r = hooks["client"].post(URL, content=body, headers=_signed(body))
    assert r.status_code == 413
    assert _receipts() == []


@pytest.mark.parametrize("body", [b"{not json", b'["email.bounced"]', b'{"data": {}}', b"\xff\xfe"])
def test_a_signed_body_that_is_not_a_json_event_is_a_400(
    hooks: dict[str, Any], body: bytes
) -> None:
    r = hooks["client"].post(URL, content=body, headers=_signed(body))
    assert r.status_code == 400
    assert _receipts() == []


def test_an_unknown_email_id_is_accepted_with_no_effect(hooks: dict[str, Any]) -> None:
    body = _event("bounced", email_id="someone-elses-id")
    r = hooks["client"].post(URL, content=body, headers=_signed(body))
    assert r.status_code == 200
    assert _delivery() == "" and _receipts() == ["msg_1"]


def test_only_post_is_routed(hooks: dict[str, Any]) -> None:
    assert hooks["client"].get(URL).status_code == 405


def test_not_configured_answers_404_even_when_signed(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    try:
        client = _start(tmp_path, monkeypatch, None)["client"]
        body = _event("bounced")
        r = client.post(URL, content=body, headers=_signed(body))
        assert r.status_code == 404
        assert _delivery() == "" and _receipts() == []
    finally:
        settings.get_settings.cache_clear()
        chronos_db.get_engine.cache_clear()


def test_a_malformed_secret_is_a_server_error_not_an_open_door(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    try:
        client = _start(tmp_path, monkeypatch, "whsec_not base64!")["client"]
        body = _event("bounced")
        r = client.post(URL, content=body, headers=_signed(body))
        assert r.status_code == 500
        assert _delivery() == "" and _receipts() == []
    finally:
        settings.get_settings.cache_clear()
        chronos_db.get_engine.cache_clear()
