"""Transaction messaging: who sees which thread, unread counts, notifications, emails, limits,
and a contact's communication history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from chronos.models import EmailMessage, Event, Notification, NotificationPreference, User
from chronos.models.message import Message, MessageThread
from chronos.services import messages, rate_limit
from chronos.services.errors import NotFound, PermissionDenied, ValidationFailed
from tests.factories import World, participant_of

OUTSIDE = ["client", "attorney", "lender"]
NOT_ON_DEAL = ["agent2", "client2", "outsider_agent", "outsider_admin"]
SECRET = "Seller's lowest acceptable price is 410k"


def _internal(db: Session, world: World) -> MessageThread:
    thread = messages.start_thread(
        db, world.agent, world.deal.id or 0, subject="Pricing", body=SECRET, internal=True
    )
    db.commit()
    return thread


def _shared(
    db: Session, world: World, *who: str, body: str = "Inspection on Tuesday"
) -> MessageThread:
    ids = [participant_of(db, world.deal, world.user(w)).id or 0 for w in who]
    thread = messages.start_thread(
        db, world.agent, world.deal.id or 0, subject="Inspection", body=body, member_ids=ids
    )
    db.commit()
    return thread


def _notes(db: Session, user: User) -> list[Notification]:
    return list(db.exec(select(Notification).where(Notification.user_id == user.id)).all())


def _mails(db: Session, to: str) -> list[EmailMessage]:
    return list(
        db.exec(
            select(EmailMessage).where(
                EmailMessage.to_address == to, EmailMessage.template == "new_message"
            )
        ).all()
    )


# --- internal notes -------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["agent", "coordinator", "admin"])
def test_staff_on_the_file_see_internal_notes(db: Session, world: World, who: str) -> None:
    thread = _internal(db, world)
    rows = messages.list_threads(db, world.user(who), world.deal.id or 0).items
    assert [r.id for r in rows] == [thread.id]
    assert rows[0].visibility == "internal"
    view = messages.read_thread(db, world.user(who), thread.id or 0)
    assert [m.body for m in view.messages.items] == [SECRET]


@pytest.mark.parametrize("who", OUTSIDE)
def test_outside_parties_never_see_internal_notes(db: Session, world: World, who: str) -> None:
    thread = _internal(db, world)
    user = world.user(who)
    assert messages.list_threads(db, user, world.deal.id or 0).items == []
    assert messages.list_threads(db, user, world.deal.id or 0).total == 0
    with pytest.raises(NotFound):
        messages.read_thread(db, user, thread.id or 0)
    with pytest.raises(NotFound):
        messages.post_message(db, user, thread.id or 0, "let me in")
    assert messages.unread_by_thread(db, user, world.deal.id or 0) == {}
    assert messages.unread_total(db, user) == 0
    assert _notes(db, user) == []
    assert _mails(db, user.email) == []
    # and nothing with the secret anywhere in what was sent
    assert not [
        m
        for m in db.exec(select(EmailMessage)).all()
        if SECRET in m.text_body and m.to_address == user.email
    ]


@pytest.mark.parametrize("who", NOT_ON_DEAL)
def test_people_off_the_file_see_no_thread_at_all(db: Session, world: World, who: str) -> None:
    shared = _shared(db, world, "client")
    internal = _internal(db, world)
    user = world.user(who)
    with pytest.raises(NotFound):
        messages.list_threads(db, user, world.deal.id or 0)
    for thread in (shared, internal):
        with pytest.raises(NotFound):
            messages.read_thread(db, user, thread.id or 0)
        with pytest.raises(NotFound):
            messages.post_message(db, user, thread.id or 0, "hello")
    assert messages.unread_total(db, user) == 0
    assert _notes(db, user) == []


def test_internal_note_notifies_and_emails_the_files_staff_only(db: Session, world: World) -> None:
    _internal(db, world)
    assert [n.kind for n in _notes(db, world.coordinator)] == ["message"]
    assert _notes(db, world.agent) == []  # the author
    assert len(_mails(db, world.coordinator.email)) == 1
    sent_to = {m.to_address for m in db.exec(select(EmailMessage)).all() if SECRET in m.text_body}
    assert sent_to == {world.coordinator.email}
    # an admin not on the file can read it but is not pinged about every file
    assert _notes(db, world.admin) == []


def test_outside_parties_cannot_start_internal_threads_or_pick_members(
    db: Session, world: World
) -> None:
    other = participant_of(db, world.deal, world.attorney).id or 0
    thread = messages.start_thread(
        db,
        world.client,
        world.deal.id or 0,
        subject="Question",
        body="When do we close?",
        internal=True,
        member_ids=[other],
    )
    db.commit()
    assert thread.visibility == "shared"
    assert messages.list_threads(db, world.attorney, world.deal.id or 0).items == []
    assert [r.id for r in messages.list_threads(db, world.client, world.deal.id or 0).items] == [
        thread.id
    ]
    # the file's staff get it
    assert [n.link for n in _notes(db, world.agent)] == [f"/transactions/{world.deal.id}"]
    assert len(_notes(db, world.coordinator)) == 1
    assert _notes(db, world.attorney) == []


# --- shared threads -------------------------------------------------------------------------


def test_shared_thread_reaches_its_members_only(db: Session, world: World) -> None:
    thread = _shared(db, world, "client")
    client_rows = messages.list_threads(db, world.client, world.deal.id or 0).items
    assert [(r.id, r.unread, r.members) for r in client_rows] == [(thread.id, 1, "Cora Client")]
    for who in ("attorney", "lender"):
        assert messages.list_threads(db, world.user(who), world.deal.id or 0).items == []
        with pytest.raises(NotFound):
            messages.read_thread(db, world.user(who), thread.id or 0)
    notes = _notes(db, world.client)
    assert [(n.kind, n.link) for n in notes] == [("message", f"/portal/{world.deal.id}")]
    assert len(_mails(db, world.client.email)) == 1
    assert _mails(db, world.attorney.email) == []


def test_client_reads_and_answers_and_the_agent_sees_it(db: Session, world: World) -> None:
    thread = _shared(db, world, "client")
    deal = world.deal.id or 0
    assert messages.unread_total(db, world.client) == 1
    view = messages.read_thread(db, world.client, thread.id or 0)
    db.commit()
    assert [(m.author, m.mine, m.staff) for m in view.messages.items] == [
        ("Alice Agent", False, True)
    ]
    assert messages.unread_total(db, world.client) == 0
    assert messages.unread_for_transaction(db, world.client, deal) == 0
    messages.post_message(db, world.client, thread.id or 0, "  Tuesday works.\n")
    db.commit()
    assert messages.unread_by_thread(db, world.agent, deal) == {thread.id: 1}
    assert messages.unread_by_thread(db, world.coordinator, deal) == {thread.id: 2}
    assert messages.unread_total(db, world.client) == 0  # own messages are never unread
    agent_view = messages.read_thread(db, world.agent, thread.id or 0)
    assert [m.body for m in agent_view.messages.items][-1] == "Tuesday works."
    assert messages.unread_by_thread(db, world.agent, deal) == {}
    assert len(_notes(db, world.agent)) == 1
    assert _notes(db, world.agent)[0].link == f"/transactions/{deal}"


def test_contacts_without_a_login_get_the_message_by_email_without_a_link(
    db: Session, world: World
) -> None:
    part = world.inspector_participant
    messages.start_thread(
        db,
        world.agent,
        world.deal.id or 0,
        subject="Access",
        body="Lockbox 1234",
        member_ids=[part.id or 0],
    )
    db.commit()
    mails = _mails(db, "ivan@inspect.example.com")
    assert len(mails) == 1
    assert mails[0].person_id == world.inspector_contact.id
    assert "Lockbox 1234" in mails[0].text_body and "http" not in mails[0].text_body


def test_message_bodies_are_escaped_in_the_html_email(db: Session, world: World) -> None:
    _shared(db, world, "client", body="<script>alert(1)</script>")
    mail = _mails(db, world.client.email)[0]
    assert "<script>" not in mail.html_body and "&lt;script&gt;" in mail.html_body


def test_email_preference_off_keeps_the_in_app_notification(db: Session, world: World) -> None:
    db.add(NotificationPreference(user_id=world.client.id or 0, message_email=False))
    db.commit()
    _shared(db, world, "client")
    assert len(_notes(db, world.client)) == 1
    assert _mails(db, world.client.email) == []
    assert len(_mails(db, world.coordinator.email)) == 1


def test_each_message_notifies_once_per_user(db: Session, world: World) -> None:
    thread = _shared(db, world, "client")
    messages.post_message(db, world.agent, thread.id or 0, "Second")
    db.commit()
    keys = [n.dedupe_key for n in _notes(db, world.client)]
    assert len(keys) == 2 and len(set(keys)) == 2


def test_staff_cannot_share_with_people_off_the_file_or_with_nobody(
    db: Session, world: World
) -> None:
    foreign = participant_of(db, world.other_deal, world.client2).id or 0
    staff_row = participant_of(db, world.deal, world.coordinator).id or 0
    for ids in ([], [foreign], [staff_row]):
        with pytest.raises(ValidationFailed) as exc:
            messages.start_thread(
                db, world.agent, world.deal.id or 0, subject="x", body="y", member_ids=ids
            )
        assert "members" in exc.value.errors
    assert db.exec(select(MessageThread)).all() == []


@pytest.mark.parametrize(
    ("subject", "body", "field"),
    [
        ("", "body", "subject"),
        ("s" * 201, "body", "subject"),
        ("Hi", "  ", "body"),
        ("Hi", "x" * 5001, "body"),
    ],
)
def test_subject_and_body_are_validated(
    db: Session, world: World, subject: str, body: str, field: str
) -> None:
    with pytest.raises(ValidationFailed) as exc:
        messages.start_thread(
            db, world.agent, world.deal.id or 0, subject=subject, body=body, internal=True
        )
    assert field in exc.value.errors


def test_a_5000_character_message_is_accepted(db: Session, world: World) -> None:
    thread = _internal(db, world)
    msg = messages.post_message(db, world.coordinator, thread.id or 0, "x" * 5000)
    assert len(msg.body) == 5000


def test_thread_start_is_on_the_staff_timeline_and_messages_are_not(
    db: Session, world: World
) -> None:
    thread = _shared(db, world, "client")
    messages.post_message(db, world.client, thread.id or 0, "ok")
    db.commit()
    kinds = [e.kind for e in db.exec(select(Event).where(Event.transaction_id == world.deal.id))]
    assert kinds.count("thread_started") == 1
    assert not [k for k in kinds if k.startswith("message")]
    from chronos.services import timeline

    assert "thread_started" not in timeline.SHARED_KINDS


def test_sending_is_rate_limited_per_user(
    db: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        messages,
        "SEND_MESSAGE",
        rate_limit.Policy("message_send_t", "2/hour", messages.SEND_MESSAGE.message),
    )
    thread = _shared(db, world, "client")  # 1
    messages.post_message(db, world.agent, thread.id or 0, "two")  # 2
    with pytest.raises(PermissionDenied):
        messages.post_message(db, world.agent, thread.id or 0, "three")
    messages.post_message(db, world.client, thread.id or 0, "the client has their own window")


def test_the_thread_page_is_newest_last_and_pages_go_back_in_time(
    db: Session, world: World
) -> None:
    thread = _internal(db, world)
    for i in range(4):
        msg = messages.post_message(db, world.agent, thread.id or 0, f"m{i}")
        msg.created_at = msg.created_at + timedelta(seconds=i + 1)
        db.add(msg)
    db.commit()
    first = messages.read_thread(db, world.coordinator, thread.id or 0, page_size=2)
    assert [m.body for m in first.messages.items] == ["m2", "m3"]
    older = messages.read_thread(db, world.coordinator, thread.id or 0, page=2, page_size=2)
    assert [m.body for m in older.messages.items] == ["m0", "m1"]
    oldest = messages.read_thread(db, world.coordinator, thread.id or 0, page=3, page_size=2)
    assert [m.body for m in oldest.messages.items] == [SECRET]
    assert first.messages.total == 5


def test_member_options_list_only_outside_participants_for_staff(db: Session, world: World) -> None:
    labels = [o.label for o in messages.member_options(db, world.agent, world.deal.id or 0)]
    assert "Cora Client (buyer)" in labels and "Ivan Inspector (inspector)" in labels
    assert not [label for label in labels if "Cody" in label]
    with pytest.raises(PermissionDenied):
        messages.member_options(db, world.client, world.deal.id or 0)
    with pytest.raises(NotFound):
        messages.member_options(db, world.agent2, world.deal.id or 0)


# --- communication history --------------------------------------------------------------------


def _client_person_id(db: Session, world: World) -> int:
    return participant_of(db, world.deal, world.client).person_id or 0


def test_history_lists_messages_and_emails_newest_first(db: Session, world: World) -> None:
    thread = _shared(db, world, "client")
    messages.post_message(db, world.client, thread.id or 0, "Tuesday works.")
    _internal(db, world)  # not with the client
    db.commit()
    pid = _client_person_id(db, world)
    page = messages.history_for_person(db, world.agent, pid)
    kinds = [r.kind for r in page.items]
    assert kinds.count("message") == 2 and "email" in kinds
    assert not [r for r in page.items if SECRET in r.snippet]
    assert [r.date for r in page.items] == sorted((r.date for r in page.items), reverse=True)
    only_mail = messages.history_for_person(db, world.agent, pid, kind="emails")
    assert {r.kind for r in only_mail.items} == {"email"}
    assert only_mail.items[0].status == "queued"
    assert only_mail.items[0].address == world.deal.address
    only_msgs = messages.history_for_person(db, world.agent, pid, kind="messages")
    assert {r.kind for r in only_msgs.items} == {"message"} and only_msgs.total == 2


def test_history_skips_files_the_actor_cannot_see(db: Session, world: World) -> None:
    _shared(db, world, "client")
    pid = _client_person_id(db, world)
    assert messages.history_for_person(db, world.agent2, pid).total == 0
    assert messages.history_for_person(db, world.admin, pid).total > 0


@pytest.mark.parametrize("who", ["client", "attorney", "lender", "client2"])
def test_history_is_staff_only(db: Session, world: World, who: str) -> None:
    with pytest.raises(PermissionDenied):
        messages.history_for_person(db, world.user(who), _client_person_id(db, world))


@pytest.mark.parametrize("who", ["outsider_agent", "outsider_admin"])
def test_history_of_another_brokerages_contact_is_not_found(
    db: Session, world: World, who: str
) -> None:
    with pytest.raises(NotFound):
        messages.history_for_person(db, world.user(who), _client_person_id(db, world))


def test_messages_have_no_attachments(db: Session, world: World) -> None:
    _shared(db, world, "client")
    assert [m.attachments for m in db.exec(select(Message).where(col(Message.id) > 0))] == [[]]
