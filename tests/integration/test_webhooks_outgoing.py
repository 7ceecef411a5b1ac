"""Outgoing webhooks against a real HTTP receiver on loopback, on SQLite and PostgreSQL: signed
per Standard Webhooks (verified here with the standard library), sent after the commit only,
retried with backoff, paused after repeated failures with the owner told (never silently), resumed
with what waited; a file its owner can no longer see stops sending and the owner is told why;
SSRF-prone URLs refused; each persona may do only what it should."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from chronos import settings
from chronos.models import (
    EmailMessage,
    Notification,
    Participant,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
    utcnow,
)
from chronos.services import tasks, transactions, webhooks
from chronos.services.errors import NotFound, PermissionDenied, ValidationFailed
from tests.factories import World, build_world


class Receiver:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.status = 200
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                outer.calls.append({"headers": dict(self.headers), "body": body})
                self.send_response(outer.status)
                self.end_headers()
                self.wfile.write(b"ok" if outer.status < 300 else b"nope")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    r = Receiver()
    monkeypatch.setenv("CHRONOS_WEBHOOK_ALLOWED_HOSTS", f"127.0.0.1:{r.server.server_port}")
    settings.get_settings.cache_clear()
    # The after-commit job would go to the app's queue: these tests run deliver_due themselves.
    monkeypatch.setattr(webhooks, "_enqueue_after_commit", lambda session: None)
    yield r
    r.server.shutdown()
    settings.get_settings.cache_clear()


@pytest.fixture
def w(engine: Engine) -> World:
    with Session(engine, expire_on_commit=False) as db:
        world = build_world(db)
        db.commit()
    return world


def _verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(expected, sig.split(",", 1)[1])
        for sig in headers["webhook-signature"].split()
    )


def _subscribe(engine: Engine, who: Any, url: str, types: list[str]) -> webhooks.Created:
    with Session(engine, expire_on_commit=False) as db:
        made = webhooks.subscribe(db, who, url=url, types=types, description="CRM sync")
        db.commit()
    return made


def test_a_stage_change_reaches_the_receiver_signed(
    engine: Engine, w: World, receiver: Receiver
) -> None:
    made = _subscribe(engine, w.agent, receiver.url, ["transaction.stage_changed", "task.created"])
    with Session(engine, expire_on_commit=False) as db:
        transactions.change_stage(db, w.agent, w.deal.id or 0, "clear_to_close")
        tasks.create_task(db, w.agent, w.deal.id or 0, {"title": "Book the walkthrough"})
        transactions.update_transaction(db, w.agent, w.deal.id or 0, {"mls_number": "X-9"})
        db.commit()
    outcome = webhooks.deliver_due(engine=engine)
    assert outcome.delivered == 2
    assert len(receiver.calls) == 2
    kinds = []
    for call in receiver.calls:
        headers = {k.lower(): v for k, v in call["headers"].items()}
        assert _verify(made.secret, headers, call["body"])
        payload = json.loads(call["body"])
        assert payload["id"] == headers["webhook-id"] and payload["id"].startswith("evt_")
        assert payload["data"]["transaction"]["id"] == w.deal.id
        kinds.append(payload["type"])
    assert kinds == ["transaction.stage_changed", "task.created"]  # not the unsubscribed update
    first = json.loads(receiver.calls[0]["body"])
    assert first["data"]["change"] == {"from": "under_contract", "to": "clear_to_close"}
    with Session(engine) as db:
        assert {d.status for d in db.exec(select(WebhookDelivery))} == {"delivered"}
        log = webhooks.deliveries(db, w.agent, made.row.id)
        assert [r.status for r in log] == ["delivered", "delivered"]
        assert log[0].last_status_code == 200
    # Nothing is sent twice.
    assert webhooks.deliver_due(engine=engine) == webhooks.Outcome()
    assert len(receiver.calls) == 2


def test_a_rolled_back_change_sends_nothing(engine: Engine, w: World, receiver: Receiver) -> None:
    _subscribe(engine, w.agent, receiver.url, ["transaction.stage_changed"])
    with Session(engine) as db:
        transactions.change_stage(db, w.agent, w.deal.id or 0, "clear_to_close")
        db.rollback()
    with Session(engine) as db:
        assert db.exec(select(WebhookEvent)).all() == []
    assert webhooks.deliver_due(engine=engine) == webhooks.Outcome()
    assert receiver.calls == []


def test_failures_retry_then_pause_and_tell_the_owner(
    engine: Engine, w: World, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhooks, "PAUSE_AFTER", 3)
    made = _subscribe(engine, w.agent, receiver.url, ["task.created"])
    receiver.status = 500
    with Session(engine, expire_on_commit=False) as db:
        tasks.create_task(db, w.agent, w.deal.id or 0, {"title": "One"})
        db.commit()
    now = utcnow()
    assert webhooks.deliver_due(engine=engine, now=now, rand=lambda: 0.5).retried == 1
    with Session(engine) as db:
        d = db.exec(select(WebhookDelivery)).one()
        assert d.attempts == 1 and d.status == "pending" and d.last_status_code == 500
        assert d.next_attempt_at is not None
        assert timedelta(seconds=29) < d.next_attempt_at - now < timedelta(seconds=31)
    # Not due yet: nothing sent.
    assert (
        webhooks.deliver_due(engine=engine, now=now + timedelta(seconds=10)) == webhooks.Outcome()
    )
    assert webhooks.deliver_due(engine=engine, now=now + timedelta(minutes=1)).retried == 1
    outcome = webhooks.deliver_due(engine=engine, now=now + timedelta(minutes=5))
    assert outcome.paused == 1 and len(receiver.calls) == 3
    with Session(engine) as db:
        sub = db.exec(select(WebhookSubscription)).one()
        assert sub.state == "paused" and "HTTP 500" in sub.paused_reason
        note = db.exec(select(Notification).where(Notification.kind == "webhook_paused")).one()
        assert note.user_id == w.agent.id
        mail = db.exec(select(EmailMessage).where(EmailMessage.template == "webhook_paused")).one()
        assert mail.to_address == w.agent.email and "HTTP 500" in mail.text_body
    # Paused: a new event waits instead of being tried.
    with Session(engine, expire_on_commit=False) as db:
        tasks.create_task(db, w.agent, w.deal.id or 0, {"title": "Two"})
        db.commit()
    assert webhooks.deliver_due(engine=engine, now=now + timedelta(hours=2)) == webhooks.Outcome()
    assert len(receiver.calls) == 3
    # Resumed once the receiver is fixed: both are delivered.
    receiver.status = 204
    with Session(engine) as db:
        assert webhooks.resume(db, w.agent, made.row.id).state == "active"
        db.commit()
    assert webhooks.deliver_due(engine=engine, now=utcnow() + timedelta(seconds=1)).delivered == 2
    titles = [json.loads(c["body"])["data"]["change"] for c in receiver.calls[-2:]]
    assert len(titles) == 2


def test_a_redirect_counts_as_a_failure(engine: Engine, w: World, receiver: Receiver) -> None:
    _subscribe(engine, w.agent, receiver.url, ["task.created"])
    receiver.status = 302
    with Session(engine, expire_on_commit=False) as db:
        tasks.create_task(db, w.agent, w.deal.id or 0, {"title": "One"})
        db.commit()
    assert webhooks.deliver_due(engine=engine).retried == 1
    with Session(engine) as db:
        assert "redirects are not followed" in db.exec(select(WebhookDelivery)).one().last_error


def test_a_file_the_owner_can_no_longer_see_stops_and_says_why(
    engine: Engine, w: World, receiver: Receiver
) -> None:
    _subscribe(engine, w.coordinator, receiver.url, ["task.created"])
    with Session(engine, expire_on_commit=False) as db:
        tasks.create_task(db, w.agent, w.deal.id or 0, {"title": "Seen"})
        db.commit()
        # The coordinator comes off the file before the delivery runs.
        for p in db.exec(
            select(Participant).where(
                Participant.transaction_id == w.deal.id, Participant.user_id == w.coordinator.id
            )
        ):
            db.delete(p)
        db.commit()
    assert webhooks.deliver_due(engine=engine).skipped == 1
    assert receiver.calls == []
    with Session(engine, expire_on_commit=False) as db:
        note = db.exec(select(Notification).where(Notification.kind == "webhook_access_lost")).one()
        assert note.user_id == w.coordinator.id and f"#{w.deal.id}" in note.body
        # New events on that file are not even recorded for this subscription.
        tasks.create_task(db, w.agent, w.deal.id or 0, {"title": "Unseen"})
        db.commit()
        assert len(db.exec(select(WebhookDelivery)).all()) == 1


def test_events_of_files_the_owner_never_saw_are_not_sent(
    engine: Engine, w: World, receiver: Receiver
) -> None:
    _subscribe(engine, w.agent2, receiver.url, ["task.created"])
    _subscribe(engine, w.outsider_admin, receiver.url, ["task.created"])
    with Session(engine, expire_on_commit=False) as db:
        tasks.create_task(db, w.agent, w.deal.id or 0, {"title": "Private"})
        db.commit()
        assert db.exec(select(WebhookEvent)).all() == []


@pytest.mark.parametrize(
    "url, message",
    [
        ("http://127.0.0.1:9/x", "local or private"),
        ("http://10.1.2.3/x", "local or private"),
        ("http://169.254.169.254/latest/meta-data", "local or private"),
        ("http://[::1]/x", "local or private"),
        ("http://[::ffff:127.0.0.1]/x", "local or private"),
        ("http://metadata.internal/x", "local or private"),  # resolves to a private address
        ("ftp://example.com/x", "https://"),
        ("https://user:pw@example.com/x", "passwords"),
        ("https://example.com:99999/x", "not a valid URL"),
        ("not a url", "https://"),
        ("", "Enter the URL"),
    ],
)
def test_urls_that_could_reach_inside_are_refused(
    engine: Engine, w: World, receiver: Receiver, url: str, message: str
) -> None:
    def resolver(host: str, port: int) -> list[str]:
        return ["10.0.0.7"] if host == "metadata.internal" else ["93.184.216.34"]

    with Session(engine) as db:
        with pytest.raises(ValidationFailed) as caught:
            webhooks.subscribe(db, w.agent, url=url, types=["task.created"], resolver=resolver)
        assert message in caught.value.errors["url"]
    with Session(engine) as db:
        made = webhooks.subscribe(
            db,
            w.agent,
            url="https://hooks.example.com/in",
            types=["task.created"],
            resolver=resolver,
        )
        assert made.row.url == "https://hooks.example.com/in"


def test_bad_types_and_personas(engine: Engine, w: World, receiver: Receiver) -> None:
    with Session(engine) as db:
        for types in (["task.exploded"], [], "task.created", [1]):
            with pytest.raises(ValidationFailed):
                webhooks.subscribe(db, w.agent, url=receiver.url, types=types)
        for who in ("client", "attorney", "lender"):
            with pytest.raises(PermissionDenied):
                webhooks.subscribe(db, w.user(who), url=receiver.url, types=["task.created"])
            with pytest.raises(PermissionDenied):
                webhooks.list_subscriptions(db, w.user(who))
    made = _subscribe(engine, w.agent, receiver.url, ["task.created"])
    with Session(engine) as db:
        for who in ("agent2", "coordinator", "outsider_admin"):
            for action in (
                webhooks.resume,
                webhooks.send_test,
                webhooks.remove,
                webhooks.secret_of,
            ):
                with pytest.raises(NotFound):
                    action(db, w.user(who), made.row.id)
            assert made.row.id not in [s.id for s in webhooks.list_subscriptions(db, w.user(who))]
        for bad in ("1", None, True, 2**70, -3):
            with pytest.raises(NotFound):
                webhooks.resume(db, w.agent, bad)
        # The brokerage's admin sees and manages everyone's.
        assert [s.id for s in webhooks.list_subscriptions(db, w.admin)] == [made.row.id]
        assert webhooks.secret_of(db, w.admin, made.row.id) == made.secret


def test_send_test_and_redeliver(engine: Engine, w: World, receiver: Receiver) -> None:
    made = _subscribe(engine, w.agent, receiver.url, ["task.created"])
    with Session(engine) as db:
        row = webhooks.send_test(db, w.agent, made.row.id)
        db.commit()
    assert row.type == "webhook.test"
    assert webhooks.deliver_due(engine=engine).delivered == 1
    with Session(engine) as db:
        webhooks.redeliver(db, w.agent, row.id)
        db.commit()
    assert webhooks.deliver_due(engine=engine).delivered == 1
    first, again = (json.loads(c["body"]) for c in receiver.calls)
    assert first["id"] == again["id"]  # the same event: the receiver can drop the repeat
    stamps = [c["headers"]["webhook-signature"] for c in receiver.calls]
    assert all(
        _verify(made.secret, {k.lower(): v for k, v in c["headers"].items()}, c["body"])
        for c in receiver.calls
    )
    assert len(stamps) == 2
    with Session(engine) as db, pytest.raises(NotFound):
        webhooks.redeliver(db, w.agent2, row.id)


def test_events_can_be_read_again_through_the_api(
    engine: Engine, w: World, receiver: Receiver
) -> None:
    _subscribe(engine, w.agent, receiver.url, ["task.created"])
    _subscribe(engine, w.admin, receiver.url, ["task.created"])
    with Session(engine, expire_on_commit=False) as db:
        for title in ("One", "Two", "Three"):
            tasks.create_task(db, w.agent, w.deal.id or 0, {"title": title})
        tasks.create_task(db, w.agent2, w.other_deal.id or 0, {"title": "Elsewhere"})
        db.commit()
    with Session(engine) as db:
        first = webhooks.events_since(db, w.agent, limit=2)
        assert len(first.events) == 2 and first.events[0]["type"] == "task.created"
        rest = webhooks.events_since(db, w.agent, after=first.next_after)
        assert len(rest.events) == 1  # not agent2's file's event, recorded for the admin
        assert webhooks.events_since(db, w.agent, after=rest.next_after).events == []
        assert len(webhooks.events_since(db, w.admin).events) == 4
        # agent2 sees only their own file's event; another brokerage nothing.
        [theirs] = webhooks.events_since(db, w.agent2).events
        assert theirs["data"]["transaction"]["id"] == w.other_deal.id
        assert webhooks.events_since(db, w.outsider_admin).events == []
        with pytest.raises(PermissionDenied):
            webhooks.events_since(db, w.client)
        with pytest.raises(ValidationFailed):
            webhooks.events_since(db, w.agent, after=-1)
