"""The transaction page's add-note and add-participant forms submit once per key: a double
Enter or a double click adds one note / one participant, a new tab replaying the key gets the
first result, a refused submit saves nothing and rotates the key."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from chronos.models import Event, Participant, Person
from chronos.pages.transaction import TransactionState
from tests.factories import World
from tests.unit.test_state_handlers import call, count, make_state


def _page(engine: Engine, ui: World) -> TransactionState:
    txn = str(ui.deal.id)
    state = make_state(TransactionState, engine, ui.agent, f"/transactions/{txn}", {"txn_id": txn})
    call(TransactionState.load, state)
    return state


def _notes(engine: Engine, body: str) -> int:
    with Session(engine) as db:
        return int(
            db.exec(
                select(func.count()).select_from(Event).where(Event.summary.contains(body))
            ).one()  # type: ignore[attr-defined]
        )


def test_a_double_enter_on_add_note_adds_one_note(engine: Engine, ui: World) -> None:
    state = _page(engine, ui)
    key = state.note_once_key
    assert key
    form = {"note": "Lender ordered the appraisal", "once_key": key}
    call(TransactionState.add_note, state, dict(form))
    assert state.note_once_key != key  # rotated: the browser's form is enabled again
    call(TransactionState.add_note, state, dict(form))  # the queued second Enter
    assert _notes(engine, "Lender ordered the appraisal") == 1
    other = _page(engine, ui)  # another tab (or worker) replaying the same key
    call(TransactionState.add_note, other, dict(form))
    assert _notes(engine, "Lender ordered the appraisal") == 1
    call(TransactionState.add_note, state, {**form, "once_key": state.note_once_key})
    assert _notes(engine, "Lender ordered the appraisal") == 2


def test_a_refused_note_saves_nothing_and_rotates_the_key(engine: Engine, ui: World) -> None:
    state = _page(engine, ui)
    key = state.note_once_key
    call(TransactionState.add_note, state, {"note": "x" * 5000, "once_key": key})
    assert state.note_error and state.note_once_key != key
    assert _notes(engine, "x" * 100) == 0


def test_a_double_click_on_add_participant_adds_one(engine: Engine, ui: World) -> None:
    state = _page(engine, ui)
    call(TransactionState.set_add_open, state, True)
    call(TransactionState.set_add_mode, state, "new")
    call(TransactionState.set_add_role, state, "inspector")
    key = state.participant_once_key
    assert key
    form = {"first_name": "Ivy", "last_name": "Twice", "once_key": key}
    people, parts = count(engine, Person), count(engine, Participant)
    call(TransactionState.add_participant, state, dict(form))
    assert not state.add_error and state.participant_once_key != key
    call(TransactionState.add_participant, state, dict(form))
    assert (count(engine, Person), count(engine, Participant)) == (people + 1, parts + 1)
    other = _page(engine, ui)
    call(TransactionState.set_add_mode, other, "new")
    call(TransactionState.set_add_role, other, "inspector")
    call(TransactionState.add_participant, other, dict(form))
    assert (count(engine, Person), count(engine, Participant)) == (people + 1, parts + 1)


def test_a_refused_participant_saves_nothing_and_rotates_the_key(engine: Engine, ui: World) -> None:
    state = _page(engine, ui)
    call(TransactionState.set_add_open, state, True)
    call(TransactionState.set_add_mode, state, "staff")
    call(TransactionState.set_picked_user, state, "not-a-number")
    key = state.participant_once_key
    parts = count(engine, Participant)
    call(TransactionState.add_participant, state, {"once_key": key})
    assert state.add_errors.get("user") and state.participant_once_key != key
    assert count(engine, Participant) == parts
