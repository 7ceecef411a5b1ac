"""Resend's delivery webhooks: signature checks and applying delivery events to messages.

The signature is Svix's scheme; Svix's published test vector and ``resend``'s own verifier
pin our implementation to it. Delivery status only moves forward, is keyed by the provider's
message id alone, and a bounce or complaint on a file's email lands on its staff timeline and
in the sender's notifications.
"""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime
from typing import Any

import pytest
import resend
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from chronos.api.webhook_routes import SignatureError, sign, signing_key, verify
from chronos.models import EmailMessage, Event, Notification
from chronos.models.message import WebhookReceipt
from chronos.services import email_log, timeline
from chronos.services.email_log import apply_delivery_event, receive_resend_event
from chronos.services.errors import ValidationFailed
from tests.factories import World

SECRET = "whsec_" + base64.b64encode(b"chronos-webhook-test-key-32bytes").decode()
KEY = signing_key(SECRET)
NOW = 1_800_000_000
BODY = b'{"type":"email.delivered","created_at":"2026-11-21T12:00:00Z","data":{"email_id":"e1"}}'


def headers(
    body: bytes = BODY, *, msg_id: str = "msg_1", ts: int = NOW, key: bytes = KEY
) -> dict[str, str]:
    return {
        "svix-id": msg_id,
        "svix-timestamp": str(ts),
        "svix-signature": "v1," + sign(key, msg_id, str(ts), body),
    }


# ---------------------------------------------------------------- signature verification


def test_svix_published_test_vector() -> None:
    key = signing_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    assert (
        sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", b'{"test": 2432232314}')
        == "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_a_good_signature_returns_the_event_id() -> None:
    assert verify(KEY, headers(), BODY, now=NOW) == "msg_1"


def test_our_signatures_are_the_ones_resends_own_verifier_accepts() -> None:
    now = int(time.time())
    h = headers(ts=now)
    event = resend.Webhooks.verify(
        {
            "payload": BODY.decode(),
            "headers": {
                "id": h["svix-id"],
                "timestamp": h["svix-timestamp"],
                "signature": h["svix-signature"],
            },
            "webhook_secret": SECRET,
        }
    )
    assert event["type"] == "email.delivered"  # type: ignore[index]


def test_a_signature_made_with_another_secret_is_refused() -> None:
    with pytest.raises(SignatureError, match="no valid"):
        verify(KEY, headers(key=b"someone-else's-key"), BODY, now=NOW)


def test_a_tampered_body_is_refused() -> None:
    tampered = BODY.replace(b"delivered", b"bounced")
    with pytest.raises(SignatureError, match="no valid"):
        verify(KEY, headers(), tampered, now=NOW)


def test_a_signature_for_another_id_or_timestamp_is_refused() -> None:
    h = headers()
    with pytest.raises(SignatureError):
        verify(KEY, {**h, "svix-id": "msg_2"}, BODY, now=NOW)
    with pytest.raises(SignatureError):
        verify(KEY, {**h, "svix-timestamp": str(NOW + 1)}, BODY, now=NOW)


@pytest.mark.parametrize("offset", [-301, 301, -86_400, 86_400])
def test_a_timestamp_outside_five_minutes_is_refused(offset: int) -> None:
    # Correctly signed, but too old (a replay) or in the future.
    with pytest.raises(SignatureError, match="window"):
        verify(KEY, headers(ts=NOW + offset), BODY, now=NOW)


@pytest.mark.parametrize("offset", [-300, 0, 300])
def test_a_timestamp_within_five_minutes_is_accepted(offset: int) -> None:
    assert verify(KEY, headers(ts=NOW + offset), BODY, now=NOW) == "msg_1"


def test_one_valid_signature_among_several_is_enough() -> None:
    good = headers()["svix-signature"]
    bad = "v1," + sign(b"old-rotated-key", "msg_1", str(NOW), BODY)
    h = {**headers(), "svix-signature": f"{bad} v2,abc {good}"}
    assert verify(KEY, h, BODY, now=NOW) == "msg_1"
    h = {**headers(), "svix-signature": f"{bad} v1,{'A' * 44}"}
    with pytest.raises(SignatureError):
        verify(KEY, h, BODY, now=NOW)


def test_only_v1_signatures_count() -> None:
    value = sign(KEY, "msg_1", str(NOW), BODY)
    for wrong in (f"v2,{value}", f"v1a,{value}", value, f"v1;{value}"):
        with pytest.raises(SignatureError):
            verify(KEY, {**headers(), "svix-signature": wrong}, BODY, now=NOW)


@pytest.mark.parametrize(
    "change",
    [
        {"svix-id": ""},
        {"svix-timestamp": ""},
        {"svix-signature": ""},
        {"svix-timestamp": "17e8"},
        {"svix-timestamp": "-1800000000"},
        {"svix-timestamp": " 1800000000"},
        {"svix-timestamp": "1_800_000_000"},
        {"svix-timestamp": "\uff11\uff18\uff10\uff10"},  # full-width digits: isdigit(), not ASCII
        {"svix-id": "x" * 201},
        {"svix-id": "msg\n1"},
        {"svix-signature": "v1,"},
        {"svix-signature": "garbage"},
    ],
)
def test_malformed_headers_are_refused(change: dict[str, str]) -> None:
    with pytest.raises(SignatureError):
        verify(KEY, {**headers(), **change}, BODY, now=NOW)


def test_missing_headers_are_refused() -> None:
    for name in ("svix-id", "svix-timestamp", "svix-signature"):
        h = headers()
        del h[name]
        with pytest.raises(SignatureError, match="missing"):
            verify(KEY, h, BODY, now=NOW)


@pytest.mark.parametrize("secret", ["whsec_not base64!", "whsec_", "whsec_abc"])
def test_a_secret_that_is_not_whsec_base64_is_a_configuration_error(secret: str) -> None:
    with pytest.raises(ValueError):
        signing_key(secret)


def test_the_secret_works_with_or_without_its_prefix() -> None:
    assert signing_key(SECRET.removeprefix("whsec_")) == KEY


# ---------------------------------------------------------------- applying delivery events


def _message(
    db: Session,
    world: World,
    provider_id: str,
    *,
    org: str = "harbor",
    backend: str = "resend",
    on_deal: bool = True,
) -> EmailMessage:
    m = EmailMessage(
        org_id=getattr(world, org).id,
        to_address=f"{provider_id}@example.com",
        template="compose",
        subject=f"Subject {provider_id}",
        text_body="Hello",
        html_body="<p>Hello</p>",
        status="sent",
        backend=backend,
        provider_id=provider_id,
        attempts=1,
        transaction_id=world.deal.id if on_deal else None,
        sent_by_id=world.agent.id if on_deal else None,
    )
    db.add(m)
    db.commit()
    return m


def _event(kind: str, email_id: str, at: str = "2026-11-21T12:00:00Z", **data: Any) -> dict:
    return {"type": f"email.{kind}", "created_at": at, "data": {"email_id": email_id, **data}}


def _status(engine: Engine, message_id: int | None) -> tuple[str, datetime | None]:
    with Session(engine) as fresh:
        m = fresh.get(EmailMessage, message_id)
        assert m is not None
        return m.delivery_status, m.delivery_updated_at


def _kinds(db: Session, kind_prefix: str = "email_") -> list[tuple[str, int]]:
    rows = db.exec(select(Event).where(Event.kind.startswith(kind_prefix))).all()  # type: ignore[attr-defined]
    return [(e.kind, e.transaction_id or 0) for e in rows]


def _notifications(db: Session) -> list[tuple[str, int, str]]:
    rows = db.exec(select(Notification).where(Notification.kind.startswith("email_"))).all()  # type: ignore[attr-defined]
    return [(n.kind, n.user_id, n.link) for n in rows]


def test_delivered_sets_the_status_and_the_event_time(
    db: Session, engine: Engine, world: World
) -> None:
    m = _message(db, world, "re_1")
    assert apply_delivery_event(db, _event("delivered", "re_1")) is not None
    db.commit()
    status, at = _status(engine, m.id)
    assert status == "delivered"
    assert at is not None and at.replace(tzinfo=UTC) == datetime(2026, 11, 21, 12, tzinfo=UTC)
    assert _kinds(db) == [] and _notifications(db) == []  # delivered is not news


def test_a_bounce_beats_delivered_whatever_the_order(
    db: Session, engine: Engine, world: World
) -> None:
    a, b = _message(db, world, "re_a"), _message(db, world, "re_b")
    # a: delivered then bounced. b: bounced arrives first, then a late "delivered".
    apply_delivery_event(db, _event("delivered", "re_a", "2026-11-21T12:00:00Z"))
    apply_delivery_event(db, _event("bounced", "re_a", "2026-11-21T12:01:00Z"))
    apply_delivery_event(db, _event("bounced", "re_b", "2026-11-21T12:01:00Z"))
    assert apply_delivery_event(db, _event("delivered", "re_b", "2026-11-21T12:05:00Z")) is None
    db.commit()
    assert _status(engine, a.id)[0] == "bounced"
    assert _status(engine, b.id)[0] == "bounced"


def test_an_older_event_after_a_newer_one_changes_nothing(
    db: Session, engine: Engine, world: World
) -> None:
    m = _message(db, world, "re_1")
    apply_delivery_event(db, _event("complained", "re_1", "2026-11-21T12:10:00Z"))
    assert apply_delivery_event(db, _event("bounced", "re_1", "2026-11-21T12:05:00Z")) is None
    db.commit()
    status, at = _status(engine, m.id)
    assert status == "complained"
    assert at is not None and at.replace(tzinfo=UTC).minute == 10
    # A newer one of the same rank does apply.
    assert apply_delivery_event(db, _event("bounced", "re_1", "2026-11-21T12:20:00Z")) is not None
    db.commit()
    assert _status(engine, m.id)[0] == "bounced"


def test_sent_and_delayed_events_change_nothing(db: Session, engine: Engine, world: World) -> None:
    m = _message(db, world, "re_1")
    for kind in ("sent", "delivery_delayed", "opened", "clicked"):
        assert apply_delivery_event(db, _event(kind, "re_1")) is None
    db.commit()
    assert _status(engine, m.id) == ("", None)


def test_unknown_or_missing_email_ids_change_nothing(
    db: Session, engine: Engine, world: World
) -> None:
    outbox = _message(db, world, "", backend="outbox")  # provider id "" must never match
    other = _message(db, world, "outbox-7", backend="outbox")
    for event in (
        _event("bounced", "re_unknown"),
        _event("bounced", ""),
        _event("bounced", "outbox-7"),  # not sent through Resend
        {"type": "email.bounced", "data": {"email_id": 7}},
        {"type": "email.bounced", "data": "re_1"},
        {"type": "email.bounced"},
    ):
        assert apply_delivery_event(db, event) is None
    db.commit()
    assert _status(engine, outbox.id) == ("", None)
    assert _status(engine, other.id) == ("", None)


def test_an_event_touches_exactly_the_row_with_its_provider_id_in_any_brokerage(
    db: Session, engine: Engine, world: World
) -> None:
    # Events carry no brokerage: the provider id (Resend's, for a message this deployment
    # sent) is the only key, and it names one row. Another brokerage's row is reached only
    # by its own id, which only a correctly signed call from Resend can carry.
    harbor = _message(db, world, "re_h", on_deal=False)
    summit = _message(db, world, "re_s", org="summit", on_deal=False)
    apply_delivery_event(db, _event("bounced", "re_s"))
    db.commit()
    assert _status(engine, summit.id)[0] == "bounced"
    assert _status(engine, harbor.id)[0] == ""
    # A guessed near-miss (prefix, case, wildcard) matches nothing.
    for guess in ("re_", "RE_H", "re_%", "re_h "):
        assert apply_delivery_event(db, _event("complained", guess)) is None
    db.commit()
    assert _status(engine, harbor.id)[0] == ""


def test_a_bounce_on_a_files_email_goes_on_the_staff_timeline_and_tells_the_sender(
    db: Session, engine: Engine, world: World
) -> None:
    m = _message(db, world, "re_1")
    reason = "550 5.1.1 The email account that you tried to reach does not exist."
    apply_delivery_event(db, _event("bounced", "re_1", bounce={"message": reason}))
    db.commit()
    assert _kinds(db) == [("email_bounced", world.deal.id)]
    event = db.exec(select(Event).where(Event.kind == "email_bounced")).one()
    assert m.to_address in event.summary and reason in event.summary
    assert "email_bounced" not in timeline.SHARED_KINDS
    assert _notifications(db) == [
        ("email_bounced", world.agent.id, f"/transactions/{world.deal.id}")
    ]
    # The same bounce again (a second event id) adds nothing: only changes are reported.
    apply_delivery_event(db, _event("bounced", "re_1", "2026-11-21T12:30:00Z"))
    db.commit()
    assert len(_kinds(db)) == 1 and len(_notifications(db)) == 1


def test_a_complaint_is_reported_too(db: Session, world: World) -> None:
    _message(db, world, "re_1")
    apply_delivery_event(db, _event("delivered", "re_1", "2026-11-21T12:00:00Z"))
    apply_delivery_event(db, _event("complained", "re_1", "2026-11-21T13:00:00Z"))
    db.commit()
    assert _kinds(db) == [("email_complained", world.deal.id)]
    assert [n[:2] for n in _notifications(db)] == [("email_complained", world.agent.id)]


def test_the_timeline_event_is_hidden_from_outside_parties(db: Session, world: World) -> None:
    _message(db, world, "re_1")
    apply_delivery_event(db, _event("bounced", "re_1"))
    db.commit()
    staff = timeline.list_events(db, world.agent, world.deal.id or 0)
    assert any(e.kind == "email_bounced" for e in staff.items)
    for who in (world.client, world.attorney, world.lender):
        seen = timeline.list_events(db, who, world.deal.id or 0)
        assert all(e.kind != "email_bounced" for e in seen.items)


def test_no_timeline_or_notification_for_mail_outside_a_file_or_an_inactive_sender(
    db: Session, world: World
) -> None:
    _message(db, world, "re_account", on_deal=False)  # e.g. a password reset
    apply_delivery_event(db, _event("bounced", "re_account"))
    world.agent.is_active = False
    db.add(world.agent)
    _message(db, world, "re_2")
    apply_delivery_event(db, _event("bounced", "re_2"))
    db.commit()
    assert _kinds(db) == [("email_bounced", world.deal.id)]  # only the file's email
    assert _notifications(db) == []


def test_an_event_without_a_usable_time_counts_as_now(
    db: Session, engine: Engine, world: World
) -> None:
    m = _message(db, world, "re_1")
    now = datetime(2026, 11, 21, 15, tzinfo=UTC)
    event = _event("delivered", "re_1", at="yesterday")
    apply_delivery_event(db, event, now=now)
    db.commit()
    at = _status(engine, m.id)[1]
    assert at is not None and at.replace(tzinfo=UTC) == now


# ---------------------------------------------------------------- receipts and replays


def test_an_event_id_is_applied_once_and_its_replay_does_nothing(
    db: Session, engine: Engine, world: World
) -> None:
    m = _message(db, world, "re_1")
    first = receive_resend_event(db, "msg_1", _event("bounced", "re_1"))
    db.commit()
    assert first.duplicate is False and first.message_id == m.id
    # Reset by hand, then replay the same id: the receipt stops it before anything is applied.
    m.delivery_status, m.delivery_updated_at = "", None
    db.add(m)
    db.commit()
    again = receive_resend_event(db, "msg_1", _event("bounced", "re_1"))
    db.commit()
    assert again.duplicate is True and again.message_id is None
    assert _status(engine, m.id) == ("", None)
    receipts = db.exec(select(WebhookReceipt)).all()
    assert [(r.provider, r.event_id, r.event_type) for r in receipts] == [
        ("resend", "msg_1", "email.bounced")
    ]


def test_an_unknown_message_still_leaves_a_receipt(db: Session, world: World) -> None:
    outcome = receive_resend_event(db, "msg_9", _event("delivered", "re_nobody"))
    db.commit()
    assert outcome == email_log.WebhookOutcome(duplicate=False, message_id=None)
    assert db.exec(select(WebhookReceipt.event_id)).all() == ["msg_9"]


@pytest.mark.parametrize("event_id", ["", "x" * 201])
def test_an_event_id_must_be_sane(db: Session, world: World, event_id: str) -> None:
    with pytest.raises(ValidationFailed):
        receive_resend_event(db, event_id, _event("delivered", "re_1"))


def test_the_admins_log_shows_and_filters_delivery_status(db: Session, world: World) -> None:
    a = _message(db, world, "re_a")
    _message(db, world, "re_b")
    _message(db, world, "re_s", org="summit")
    apply_delivery_event(db, _event("bounced", "re_a"))
    apply_delivery_event(db, _event("delivered", "re_b"))
    apply_delivery_event(db, _event("bounced", "re_s"))
    db.commit()
    page = email_log.email_log(db, world.admin, delivery="bounced")
    assert [(r.id, r.delivery_status, r.delivery_label) for r in page.items] == [
        (a.id, "bounced", "Bounced")
    ]
    assert page.items[0].delivery_updated_at.startswith("2026-11-21T12:00:00")
    assert email_log.delivery_counts(db, world.admin) == {
        "delivered": 1,
        "bounced": 1,
        "complained": 0,
    }
    with pytest.raises(ValidationFailed):
        email_log.email_log(db, world.admin, delivery="sent")


def test_the_mailbox_shows_delivery_status(db: Session, world: World) -> None:
    m = _message(db, world, "re_a")
    apply_delivery_event(db, _event("complained", "re_a"))
    db.commit()
    row = next(r for r in email_log.mailbox(db).items if r.id == m.id)
    assert (row.delivery_status, row.delivery_label) == ("complained", "Complained")
    message = email_log.mailbox_message(db, m.id or 0)
    assert message.delivery_label == "Complained" and message.delivery_updated_at
