"""The conversation panels' handlers: an outside party's state never holds an internal note
or another party's thread; wrong personas load nothing and cannot post; the person page's
communication history is staff only."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from chronos.models import NotificationPreference
from chronos.models.message import Message, MessageThread
from chronos.pages.notifications import NotificationsState
from chronos.pages.person import PersonState
from chronos.pages.portal_messages import PortalMessagesState
from chronos.pages.transaction_messages import MessagePanelState
from chronos.services import messages
from tests.factories import World, participant_of
from tests.unit.test_state_handlers import call, make_state, redirect_path

SECRET = "Seller will take 410k"


def _staff(engine: Engine, world: World, persona: str, txn_id: int | None = None) -> Any:
    state = make_state(
        MessagePanelState,
        engine,
        world.user(persona),
        "/transactions/[txn_id]",
        {"txn_id": str(txn_id or world.deal.id)},
    )
    call(MessagePanelState.load, state)
    return state


def _portal(engine: Engine, world: World, persona: str, txn_id: int | None = None) -> Any:
    state = make_state(
        PortalMessagesState,
        engine,
        world.user(persona),
        "/portal/[txn_id]",
        {"txn_id": str(txn_id or world.deal.id)},
    )
    call(PortalMessagesState.load, state)
    return state


def _seed(db: Session, world: World) -> tuple[int, int, int]:
    deal = world.deal.id or 0
    internal = messages.start_thread(
        db, world.agent, deal, subject="Pricing strategy", body=SECRET, internal=True
    )
    with_client = messages.start_thread(
        db,
        world.agent,
        deal,
        subject="Inspection",
        body="Tuesday at 10?",
        member_ids=[participant_of(db, world.deal, world.client).id or 0],
    )
    with_attorney = messages.start_thread(
        db,
        world.agent,
        deal,
        subject="Title search",
        body="Any liens?",
        member_ids=[participant_of(db, world.deal, world.attorney).id or 0],
    )
    db.commit()
    return internal.id or 0, with_client.id or 0, with_attorney.id or 0


def _dump(state: Any) -> str:
    return repr({k: getattr(state, k) for k in state.base_vars})


def test_the_clients_state_never_holds_an_internal_note(
    db: Session, engine: Engine, ui: World
) -> None:
    internal, with_client, with_attorney = _seed(db, ui)
    state = _portal(engine, ui, "client")
    assert [t.id for t in state.threads] == [with_client]
    assert state.unread == 1
    # forcing the ids of threads they are not in
    for thread_id in (internal, with_attorney):
        call(PortalMessagesState.open_thread, state, thread_id)
        assert state.open_id == 0 and state.thread_msgs == []
        assert state.error == "Conversation not found."
    dump = _dump(state)
    assert SECRET not in dump and "Pricing strategy" not in dump and "Title search" not in dump


def test_the_client_reads_and_answers_in_the_portal(db: Session, engine: Engine, ui: World) -> None:
    _, with_client, _ = _seed(db, ui)
    state = _portal(engine, ui, "client")
    call(PortalMessagesState.open_thread, state, with_client)
    assert [m.body for m in state.thread_msgs] == ["Tuesday at 10?"]
    assert state.threads[0].unread == 0 and state.unread == 0
    call(PortalMessagesState.send_reply, state)
    assert state.reply_error == "Write a message."
    call(PortalMessagesState.set_reply, state, "Tuesday works")
    call(PortalMessagesState.send_reply, state)
    assert state.reply == "" and [m.body for m in state.thread_msgs][-1] == "Tuesday works"
    agent = _staff(engine, ui, "agent")
    assert {t.id: t.unread for t in agent.threads}[with_client] == 1


def test_the_client_starts_a_conversation_with_their_agent(
    db: Session, engine: Engine, ui: World
) -> None:
    state = _portal(engine, ui, "client")
    assert state.threads == []
    call(PortalMessagesState.open_new, state)
    call(PortalMessagesState.create, state)
    assert set(state.new_errors) == {"subject", "body"} and state.new_open
    call(PortalMessagesState.set_new_subject, state, "Closing date")
    call(PortalMessagesState.set_new_body, state, "Can we move it?")
    call(PortalMessagesState.create, state)
    assert not state.new_open and state.open_id != 0
    assert [t.subject for t in state.threads] == ["Closing date"]
    assert "Closing date" in [t.subject for t in _staff(engine, ui, "coordinator").threads]


@pytest.mark.parametrize("who", ["client2", "agent", "outsider_agent"])
def test_the_portal_panel_loads_nothing_for_others(
    db: Session, engine: Engine, ui: World, who: str
) -> None:
    _seed(db, ui)
    state = _portal(engine, ui, who)
    assert state.threads == [] and state.thread_msgs == [] and state.unread == 0


@pytest.mark.parametrize("who", ["client", "attorney", "lender"])
def test_outside_parties_cannot_use_the_staff_panel(
    db: Session, engine: Engine, ui: World, who: str
) -> None:
    internal, _, _ = _seed(db, ui)
    state = _staff(engine, ui, who)
    assert state.threads == [] and state.member_choices == []
    call(MessagePanelState.open_thread, state, internal)
    assert state.thread_msgs == [] and SECRET not in _dump(state)
    state.open_id, state.reply = internal, "sneaky"
    result = call(MessagePanelState.send_reply, state)
    assert redirect_path(result).startswith("/portal")
    assert db.exec(select(func.count()).select_from(Message)).one() == 3


@pytest.mark.parametrize("who", ["agent2", "outsider_agent", "outsider_admin"])
def test_staff_off_the_file_load_nothing_and_cannot_post(
    db: Session, engine: Engine, ui: World, who: str
) -> None:
    internal, _, _ = _seed(db, ui)
    state = _staff(engine, ui, who)
    assert state.threads == [] and state.member_choices == []
    state.open_id, state.reply = internal, "hello"
    call(MessagePanelState.send_reply, state)
    assert state.error == "Conversation not found." and state.thread_msgs == []
    call(MessagePanelState.open_new, state)
    call(MessagePanelState.set_new_subject, state, "x")
    call(MessagePanelState.set_new_body, state, "y")
    call(MessagePanelState.set_new_internal, state, True)
    call(MessagePanelState.create, state)
    db.expire_all()
    assert db.exec(select(func.count()).select_from(Message)).one() == 3
    assert db.exec(select(func.count()).select_from(MessageThread)).one() == 3


def test_the_agent_starts_shared_and_internal_conversations(
    db: Session, engine: Engine, ui: World
) -> None:
    state = _staff(engine, ui, "agent")
    client_row = participant_of(db, ui.deal, ui.client).id or 0
    assert client_row in [o.participant_id for o in state.member_choices]
    call(MessagePanelState.open_new, state)
    call(MessagePanelState.set_new_subject, state, "Welcome")
    call(MessagePanelState.set_new_body, state, "Hello Cora")
    call(MessagePanelState.create, state)
    assert "members" in state.new_errors
    call(MessagePanelState.toggle_member, state, client_row, True)
    call(MessagePanelState.create, state)
    assert not state.new_open and state.open_subject == "Welcome"
    assert state.open_members == "Cora Client"
    call(MessagePanelState.close_thread, state)
    call(MessagePanelState.open_new, state)
    call(MessagePanelState.set_new_subject, state, "Notes")
    call(MessagePanelState.set_new_body, state, SECRET)
    call(MessagePanelState.set_new_internal, state, True)
    call(MessagePanelState.create, state)
    assert state.open_visibility == "internal"
    assert [t.subject for t in state.threads] == ["Notes", "Welcome"]
    client = _portal(engine, ui, "client")
    assert [t.subject for t in client.threads] == ["Welcome"]


def test_the_communication_history_on_the_person_page(
    db: Session, engine: Engine, ui: World
) -> None:
    _seed(db, ui)
    person_id = participant_of(db, ui.deal, ui.client).person_id or 0
    state = make_state(
        PersonState, engine, ui.agent, "/people/[person_id]", {"person_id": str(person_id)}
    )
    call(PersonState.load, state)
    assert {h.kind for h in state.history} == {"message", "email"}
    assert SECRET not in _dump(state)
    call(PersonState.set_history_kind, state, "emails")
    assert {h.kind for h in state.history} == {"email"}
    call(PersonState.set_history_kind, state, "messages")
    assert [h.subject for h in state.history] == ["Inspection"]
    other = make_state(
        PersonState, engine, ui.agent2, "/people/[person_id]", {"person_id": str(person_id)}
    )
    call(PersonState.load, other)
    assert other.history == []


@pytest.mark.parametrize("who", ["client", "outsider_admin"])
def test_the_history_is_never_loaded_for_outside_parties_or_other_brokerages(
    db: Session, engine: Engine, ui: World, who: str
) -> None:
    _seed(db, ui)
    person_id = participant_of(db, ui.deal, ui.client).person_id or 0
    state = make_state(
        PersonState, engine, ui.user(who), "/people/[person_id]", {"person_id": str(person_id)}
    )
    call(PersonState.load, state)
    call(PersonState.set_history_kind, state, "all")
    assert state.history == [] and state.history_total == 0


def test_the_message_email_switch_is_saved(db: Session, engine: Engine, ui: World) -> None:
    state = make_state(NotificationsState, engine, ui.client, "/notifications")
    call(NotificationsState.load, state)
    assert state.message_email is True
    call(NotificationsState.set_pref, state, "message_email", False)
    call(NotificationsState.save_preferences, state)
    assert state.prefs_notice == "Preferences saved."
    db.expire_all()
    assert db.get(NotificationPreference, ui.client.id).message_email is False  # type: ignore[union-attr]
    call(NotificationsState.load, state)
    assert state.message_email is False
