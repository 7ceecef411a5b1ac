"""Sending from a transaction: access, recipients, scheduling, cancelling, the sweeper,
the rate limit, timeline and communication history, and the status update."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import chronos.jobs
from chronos.mail import delivery
from chronos.models import EmailMessage, Event, KeyDate, Task, utcnow
from chronos.services import email_templates, outbound, rate_limit, timeline, transactions
from chronos.services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tests.factories import World, participant_of

NY = ZoneInfo("America/New_York")


@pytest.fixture(autouse=True)
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    ids: list[int] = []
    monkeypatch.setattr(chronos.jobs, "enqueue_delivery", ids.append)
    return ids


def _pid(db: Session, world: World, persona: str) -> int:
    return participant_of(db, world.deal, world.user(persona)).id or 0


def _send(db: Session, world: World, actor: str = "agent", **kw: object) -> outbound.SendResult:
    args: dict[str, object] = {
        "participant_ids": [_pid(db, world, "client")],
        "subject": "About {{ address }}",
        "body": "Hi {{ recipient.first_name }},\n\nClosing is {{ closing_date }}.",
    }
    args.update(kw)
    return outbound.send(db, world.user(actor), world.deal.id or 0, **args)  # type: ignore[arg-type]


def _local(dt: datetime) -> str:
    return dt.astimezone(NY).strftime("%Y-%m-%dT%H:%M")


# ------------------------------------------------------------------------------------ access


@pytest.mark.parametrize("persona", ["agent", "coordinator", "admin"])
def test_staff_on_the_file_can_send(db: Session, world: World, persona: str) -> None:
    result = _send(db, world, persona)
    assert result.count == 1 and result.scheduled_for is None


@pytest.mark.parametrize("persona", ["client", "attorney", "lender"])
def test_outside_parties_cannot_send(db: Session, world: World, persona: str) -> None:
    with pytest.raises(PermissionDenied):
        _send(db, world, persona)
    with pytest.raises(PermissionDenied):
        outbound.recipients(db, world.user(persona), world.deal.id or 0)
    with pytest.raises(PermissionDenied):
        outbound.status_update(db, world.user(persona), world.deal.id or 0)


@pytest.mark.parametrize("persona", ["agent2", "outsider_agent", "outsider_admin"])
def test_staff_off_the_file_cannot_send(db: Session, world: World, persona: str) -> None:
    with pytest.raises(NotFound):
        _send(db, world, persona)
    with pytest.raises(NotFound):
        outbound.list_scheduled(db, world.user(persona), world.deal.id or 0)
    assert db.exec(select(EmailMessage)).all() == []


# ---------------------------------------------------------------------------- recipients


def test_recipients_are_the_files_participants_with_an_email(db: Session, world: World) -> None:
    options = outbound.recipients(db, world.agent, world.deal.id or 0)
    emails = {o.email for o in options}
    assert {
        "cora.client@example.com",
        "ava.attorney@law.example.com",
        "leo.lender@bank.example.com",
        "sally.seller@example.com",
        "ivan@inspect.example.com",
        "cody.coord@harbor.example.com",
    } == emails
    assert [o.email for o in options if o.is_client] == ["cora.client@example.com"]


def test_one_message_per_recipient_with_history_and_timeline(db: Session, world: World) -> None:
    seller = world.seller_contact
    result = _send(
        db,
        world,
        participant_ids=[_pid(db, world, "client")],
        extra_addresses=["Sally.Seller@example.com"],
        body="Hi {{ recipient.first_name }}, <b>bold</b>",
    )
    rows = db.exec(select(EmailMessage).order_by(EmailMessage.id)).all()  # type: ignore[arg-type]
    assert [r.to_address for r in rows] == ["cora.client@example.com", "sally.seller@example.com"]
    assert [r.id for r in rows] == result.message_ids
    cora, sally = rows
    assert cora.template == "composed" and cora.status == "queued"
    assert cora.sent_by_id == world.agent.id and cora.transaction_id == world.deal.id
    assert cora.user_id == world.client.id and cora.person_id is not None
    assert sally.person_id == seller.id and sally.user_id is None
    assert "Hi Cora," in cora.text_body and "Hi Sally," in sally.text_body
    assert "&lt;b&gt;bold&lt;/b&gt;" in cora.html_body and "<b>" not in cora.html_body
    assert cora.subject == f"About {world.deal.address}"
    event = db.exec(select(Event).where(Event.kind == "email_sent")).one()
    assert event.transaction_id == world.deal.id
    assert event.data["recipients"] == ["Cora Client", "Sally Seller"]
    assert "email_sent" not in timeline.SHARED_KINDS  # staff-only


def test_sending_now_enqueues_after_the_commit(
    db: Session, world: World, enqueued: list[int]
) -> None:
    result = _send(db, world)
    assert enqueued == []
    db.commit()
    assert enqueued == result.message_ids


def test_an_address_not_on_the_file_is_refused(db: Session, world: World) -> None:
    with pytest.raises(ValidationFailed) as exc:
        _send(db, world, extra_addresses=["stranger@example.com"])
    assert "extra" in exc.value.errors
    # A contact of the brokerage that is not on this file is refused too.
    with pytest.raises(ValidationFailed):
        _send(db, world, extra_addresses=["dan.client@example.com"])
    other = participant_of(db, world.other_deal, world.client2).id or 0
    with pytest.raises(ValidationFailed) as exc:
        _send(db, world, participant_ids=[other])
    assert "recipients" in exc.value.errors
    with pytest.raises(ValidationFailed):
        _send(db, world, participant_ids=[])
    assert db.exec(select(EmailMessage)).all() == []


def test_a_flagged_field_refuses_the_whole_send(db: Session, world: World) -> None:
    with pytest.raises(ValidationFailed) as exc:
        _send(
            db,
            world,
            participant_ids=[_pid(db, world, "client"), _pid(db, world, "lender")],
            body="Hi {{ recipient.first_name }}, title: {{ title.name }}",
        )
    assert "title.name" in exc.value.message
    with pytest.raises(ValidationFailed):
        _send(db, world, body="Hi {{ client.nickname }}")
    assert db.exec(select(EmailMessage)).all() == []
    flags = outbound.check_compose(
        db,
        world.agent,
        world.deal.id or 0,
        participant_ids=[_pid(db, world, "client")],
        subject="s",
        body="{{ title.name }} {{ nope }}",
    )
    assert (flags.unknown, flags.empty) == (["nope"], ["title.name"])


def test_sending_is_rate_limited_per_sender(
    db: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        outbound, "COMPOSE_SEND", rate_limit.Policy("compose_test", "2/hour", "Slow down.")
    )
    _send(db, world)
    _send(db, world)
    with pytest.raises(rate_limit.RateLimited):
        _send(db, world)
    _send(db, world, actor="coordinator")  # per sender


# ---------------------------------------------------------------------------- scheduling


def test_a_scheduled_send_waits_and_can_be_cancelled(
    db: Session, world: World, enqueued: list[int]
) -> None:
    at = (utcnow() + timedelta(days=2)).replace(second=0, microsecond=0)
    result = _send(db, world, send_at=_local(at))
    db.commit()
    assert enqueued == []  # no job: the sweeper picks it up when due
    row = db.get(EmailMessage, result.message_ids[0])
    assert row is not None
    assert row.scheduled_for is not None and row.next_attempt_at is not None
    assert row.scheduled_for.replace(tzinfo=ZoneInfo("UTC")) == at
    assert db.exec(select(Event.kind).where(Event.kind == "email_scheduled")).all()
    rows = outbound.list_scheduled(db, world.coordinator, world.deal.id or 0)
    assert [r.id for r in rows] == result.message_ids
    with pytest.raises(PermissionDenied):
        outbound.cancel_scheduled(db, world.client, row.id or 0)
    with pytest.raises(NotFound):
        outbound.cancel_scheduled(db, world.agent2, row.id or 0)
    with pytest.raises(NotFound):
        outbound.cancel_scheduled(db, world.outsider_admin, row.id or 0)
    outbound.cancel_scheduled(db, world.agent, row.id or 0)
    db.commit()
    db.refresh(row)
    assert row.status == "cancelled"
    assert outbound.list_scheduled(db, world.agent, world.deal.id or 0) == []
    with pytest.raises(Conflict):
        outbound.cancel_scheduled(db, world.agent, row.id or 0)
    assert "email_cancelled" in db.exec(select(Event.kind)).all()


def test_a_message_sent_now_cannot_be_cancelled(db: Session, world: World) -> None:
    result = _send(db, world)
    with pytest.raises(Conflict):
        outbound.cancel_scheduled(db, world.agent, result.message_ids[0])


@pytest.mark.parametrize(
    ("offset", "message"),
    [
        (timedelta(minutes=-5), "future"),
        (timedelta(days=91), "90 days"),
    ],
)
def test_the_schedule_window(db: Session, world: World, offset: timedelta, message: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        _send(db, world, send_at=_local(utcnow() + offset))
    assert message in exc.value.errors["send_at"]
    with pytest.raises(ValidationFailed):
        _send(db, world, send_at="tomorrow at nine")


def test_send_at_is_read_in_the_brokerages_zone(db: Session, world: World) -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=ZoneInfo("UTC"))
    at = outbound.parse_send_at(db, world.harbor.id or 0, "2026-03-02T09:30", now)
    assert at == datetime(2026, 3, 2, 14, 30, tzinfo=ZoneInfo("UTC"))  # 9:30 EST


def test_the_sweeper_sends_a_due_scheduled_message_and_not_an_early_one(
    engine: Engine, db: Session, world: World
) -> None:
    at = (utcnow() + timedelta(hours=3)).replace(second=0, microsecond=0)
    result = _send(db, world, send_at=_local(at))
    db.commit()
    message_id = result.message_ids[0]
    # Before its time: neither swept nor claimable by a stray job.
    assert message_id not in delivery.sweep(engine=engine, now=at - timedelta(minutes=1)).due
    early = delivery.deliver(message_id, engine=engine, now=lambda: at - timedelta(minutes=1))
    assert early.outcome == "skipped"
    # Its time has come: the very next sweep enqueues it, and the job sends it.
    assert message_id in delivery.sweep(engine=engine, now=at + timedelta(seconds=30)).due
    sent = delivery.deliver(message_id, engine=engine, now=lambda: at + timedelta(seconds=31))
    assert sent.outcome == "sent"
    # A cancelled one is never swept.
    other = _send(db, world, send_at=_local(at)).message_ids[0]
    outbound.cancel_scheduled(db, world.agent, other)
    db.commit()
    assert other not in delivery.sweep(engine=engine, now=at + timedelta(hours=1)).due
    assert delivery.deliver(other, engine=engine, now=lambda: at + timedelta(hours=1)).outcome == (
        "skipped"
    )


# ------------------------------------------------------------------------- status update


def test_status_update_summarises_the_deal_for_the_client(db: Session, world: World) -> None:
    deal = world.deal
    for key, label, day in (
        ("inspection", "Inspection", date(2024, 1, 20)),
        ("appraisal", "Appraisal", date(2024, 2, 1)),
    ):
        db.add(
            KeyDate(
                org_id=world.harbor.id or 0,
                transaction_id=deal.id or 0,
                key=key,
                label=label,
                computed_date=day,
            )
        )
    cora = participant_of(db, deal, world.client)
    db.add(
        Task(
            org_id=world.harbor.id or 0,
            transaction_id=deal.id or 0,
            title="Sign the {{ disclosure }}",
            assignee_participant_id=cora.id,
            due_date=date(2024, 1, 30),
        )
    )
    db.add(Task(org_id=world.harbor.id or 0, transaction_id=deal.id or 0, title="Staff-only chore"))
    db.flush()
    draft = outbound.status_update(db, world.agent, deal.id or 0, today=date(2024, 1, 25))
    assert draft.participant_ids == [cora.id]
    assert draft.subject.startswith("Update on 12 Harbor View Rd")
    body = draft.body
    assert body.startswith("Hi Cora,")
    assert email_templates.STAGE_LINES[deal.stage] in body
    assert "Done so far:\n- Contract effective" in body and "- Inspection" in body
    assert "Coming up:\n- Appraisal" in body
    assert "What we need from you:\n- Sign the { { disclosure } }" in body
    assert "Staff-only chore" not in body
    # The draft goes through the merge unchanged: nothing in it is flagged.
    result = outbound.send(
        db,
        world.agent,
        deal.id or 0,
        participant_ids=draft.participant_ids,
        subject=draft.subject,
        body=draft.body,
    )
    assert result.count == 1


def test_status_update_needs_a_recipient_on_the_file(db: Session, world: World) -> None:
    with pytest.raises(ValidationFailed):
        outbound.status_update(db, world.admin, world.other_deal.id or 0, participant_id=10_000)
    bare = transactions.create_transaction(
        db, world.agent, {"side": "buyer", "street": "1 Empty St", "city": "Bath", "state": "ME"}
    )
    with pytest.raises(ValidationFailed) as exc:
        outbound.status_update(db, world.agent, bare.id or 0)
    assert "no client" in exc.value.message
