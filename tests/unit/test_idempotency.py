"""Idempotent writes: a repeated key gives the first result; a reused key for another request is
refused; a failed write leaves the key free; the create handlers skip a double submit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from chronos import db as chronos_db
from chronos.models import IdempotencyKey, Message, Person, Task, Transaction, User, utcnow
from chronos.pages.people import PeopleState
from chronos.pages.transaction_messages import MessagePanelState
from chronos.pages.transaction_new import NewTransactionState
from chronos.pages.transaction_tasks import TaskPanelState
from chronos.services import idempotency, messages, transactions
from chronos.services.errors import Conflict, PasswordRefused, ValidationFailed, keep_log
from tests.factories import World
from tests.unit.test_state_handlers import call, count, make_state

NEW_TXN = {"side": "buyer", "street": "9 Double Click Ln", "city": "Boston", "state": "MA"}


def _create(db: Session, agent: User, key: str | None, data: dict[str, Any] = NEW_TXN) -> int:
    return idempotency.once(
        db,
        agent,
        "transaction.create",
        key,
        data,
        lambda: transactions.create_transaction(db, agent, dict(data)).id,
    )


def _count(db: Session, model: Any) -> int:
    return int(db.exec(select(func.count()).select_from(model)).one())


def test_the_same_key_and_request_return_the_first_result(db: Session, world: World) -> None:
    before = _count(db, Transaction)
    first = _create(db, world.agent, "k-1")
    db.commit()
    again = _create(db, world.agent, "k-1")
    db.commit()
    assert again == first
    assert _count(db, Transaction) == before + 1


def test_no_key_creates_each_time(db: Session, world: World) -> None:
    before = _count(db, Transaction)
    assert _create(db, world.agent, None) != _create(db, world.agent, "")
    assert _count(db, Transaction) == before + 2


def test_a_key_reused_for_another_request_is_refused(db: Session, world: World) -> None:
    _create(db, world.agent, "k-2")
    db.commit()
    before = _count(db, Transaction)
    with pytest.raises(ValidationFailed) as refused:
        _create(db, world.agent, "k-2", {**NEW_TXN, "street": "10 Other St"})
    assert "already used for a different request" in refused.value.errors["idempotency_key"]
    db.rollback()
    assert _count(db, Transaction) == before


def test_keys_are_per_user_and_per_scope(db: Session, world: World) -> None:
    before = _count(db, Transaction)
    mine = _create(db, world.agent, "shared")
    theirs = _create(db, world.coordinator, "shared")
    assert mine != theirs
    assert _count(db, Transaction) == before + 2
    # Another kind of write with the same key is not a repeat of the first.
    got = idempotency.once(db, world.agent, "person.create", "shared", NEW_TXN, lambda: 7)
    assert got == 7


@pytest.mark.parametrize("bad", ["has space", "x" * 256, "tab\there", "é", 12, ["k"]])
def test_malformed_keys_are_refused(db: Session, world: World, bad: Any) -> None:
    with pytest.raises(ValidationFailed) as refused:
        idempotency.once(db, world.agent, "s", bad, {}, lambda: 1)
    assert "printable" in refused.value.errors["idempotency_key"]


def test_a_failed_write_leaves_the_key_free(db: Session, world: World) -> None:
    with pytest.raises(ValidationFailed):
        _create(db, world.agent, "k-3", {"side": "buyer", "street": ""})
    db.rollback()
    assert _count(db, IdempotencyKey) == 0
    assert _create(db, world.agent, "k-3", {"side": "buyer", "street": "1 Retry Rd"})


def test_a_refusal_that_commits_its_unit_of_work_releases_the_key(
    db: Session, world: World
) -> None:
    """errors.keep_log commits the unit of work: the claim must not be left without a result."""

    def refuse() -> int:
        raise keep_log(PasswordRefused("password", "Wrong password."))

    with pytest.raises(PasswordRefused):
        idempotency.once(db, world.agent, "s", "k-4", {}, refuse)
    db.commit()
    assert _count(db, IdempotencyKey) == 0
    assert idempotency.once(db, world.agent, "s", "k-4", {}, lambda: 5) == 5


def test_an_unfinished_claim_is_reported_as_in_progress(db: Session, world: World) -> None:
    db.add(
        IdempotencyKey(user_id=world.agent.id, scope="s", key="k-5", fingerprint="x", result=None)
    )
    db.commit()
    digest = idempotency.fingerprint({})
    row = db.exec(select(IdempotencyKey)).one()
    row.fingerprint = digest
    db.commit()
    with pytest.raises(Conflict, match="still being saved"):
        idempotency.once(db, world.agent, "s", "k-5", {}, lambda: 1)


def test_a_key_past_the_window_is_free_again_and_swept(db: Session, world: World) -> None:
    first = _create(db, world.agent, "k-6")
    db.commit()
    row = db.exec(select(IdempotencyKey)).one()
    row.created_at = utcnow() - idempotency.WINDOW - timedelta(minutes=1)
    db.commit()
    again = _create(db, world.agent, "k-6")
    assert again != first
    db.commit()
    stale = db.exec(select(IdempotencyKey)).one()
    stale.created_at = utcnow() - idempotency.WINDOW - timedelta(minutes=1)
    db.commit()
    assert idempotency.sweep(db) == 1


# ------------------------------------------------------------------------- the UI handlers


def _rows(engine: Engine, model: Any) -> int:
    return count(engine, model)


def test_a_double_submit_of_new_transaction_makes_one(engine: Engine, ui: World) -> None:
    state = make_state(NewTransactionState, engine, ui.agent, "/transactions/new")
    call(NewTransactionState.load, state)
    key = state.once_key
    assert key
    form = {"street": "44 Twice Ave", "city": "Salem", "state": "MA", "once_key": key}
    before = _rows(engine, Transaction)
    call(NewTransactionState.submit, state, dict(form))
    assert state.once_key != key  # rotated: the browser's control is enabled again
    call(NewTransactionState.submit, state, dict(form))  # the queued second click
    assert _rows(engine, Transaction) == before + 1
    # A new tab (fresh state) replaying the same key gets the first transaction back.
    other = make_state(NewTransactionState, engine, ui.agent, "/transactions/new")
    call(NewTransactionState.submit, other, dict(form))
    assert _rows(engine, Transaction) == before + 1
    # The next submit (the rotated key) is a new transaction.
    call(NewTransactionState.submit, state, {**form, "once_key": state.once_key})
    assert _rows(engine, Transaction) == before + 2


def test_a_refused_submit_rotates_the_key_and_saves_nothing(engine: Engine, ui: World) -> None:
    state = make_state(NewTransactionState, engine, ui.agent, "/transactions/new")
    call(NewTransactionState.load, state)
    key = state.once_key
    before = _rows(engine, Transaction)
    call(NewTransactionState.submit, state, {"street": "", "once_key": key})
    assert state.errors and state.once_key != key
    assert _rows(engine, Transaction) == before
    call(NewTransactionState.submit, state, {"street": "1 Fixed St", "once_key": state.once_key})
    assert _rows(engine, Transaction) == before + 1


def test_a_double_submit_of_new_contact_makes_one(engine: Engine, ui: World) -> None:
    state = make_state(PeopleState, engine, ui.agent, "/people")
    call(PeopleState.set_new_open, state, True)
    form = {"first_name": "Twice", "last_name": "Clicked", "once_key": state.once_key}
    before = _rows(engine, Person)
    call(PeopleState.create, state, dict(form))
    call(PeopleState.create, state, dict(form))
    assert _rows(engine, Person) == before + 1


def test_a_double_click_on_save_task_makes_one(engine: Engine, ui: World) -> None:
    txn = str(ui.deal.id)
    state = make_state(TaskPanelState, engine, ui.agent, f"/transactions/{txn}", {"txn_id": txn})
    call(TaskPanelState.open_add, state)
    state.form_title, state.form_due_mode, state.form_due_date = "Call the lender", "fixed", ""
    key = state.once_key
    before = _rows(engine, Task)
    call(TaskPanelState.save, state, key)
    state.form_title = "Call the lender"  # whatever the form holds, the repeat is skipped
    call(TaskPanelState.save, state, key)
    assert _rows(engine, Task) == before + 1


def test_a_double_click_on_send_reply_posts_one_message(engine: Engine, ui: World) -> None:
    with chronos_db.session_scope(engine) as db:
        thread = messages.start_thread(
            db, ui.agent, ui.deal.id or 0, subject="Inspection", body="When?", internal=True
        )
        thread_id = thread.id or 0
    txn = str(ui.deal.id)
    state = make_state(MessagePanelState, engine, ui.agent, f"/transactions/{txn}", {"txn_id": txn})
    call(MessagePanelState.open_thread, state, thread_id)
    key = state.once_key
    state.reply = "Thursday at 10."
    before = _rows(engine, Message)
    call(MessagePanelState.send_reply, state, key)
    state.reply = "Thursday at 10."
    call(MessagePanelState.send_reply, state, key)
    assert _rows(engine, Message) == before + 1


def test_a_double_click_on_send_email_sends_one(
    db: Session, engine: Engine, ui: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import chronos.jobs
    from chronos.models import EmailMessage
    from chronos.pages.transaction_compose import ComposeState
    from tests.factories import participant_of

    monkeypatch.setattr(chronos.jobs, "enqueue_delivery", lambda _id: None)
    txn = str(ui.deal.id)
    state = make_state(ComposeState, engine, ui.agent, "/transactions/[txn_id]", {"txn_id": txn})
    call(ComposeState.load, state)
    key = state.once_key
    assert key
    cora = participant_of(db, ui.deal, ui.client).id
    for _ in range(2):  # the second click finds the form cleared, and is skipped
        call(ComposeState.toggle_recipient, state, cora, True)
        call(ComposeState.set_subject, state, "Closing time")
        call(ComposeState.set_body, state, "See you at 10.")
        call(ComposeState.send, state, key)
    assert state.notice == "Sent to 1 person."
    assert _rows(engine, EmailMessage) == 1


def test_a_double_click_on_send_for_signature_sends_one(
    db: Session, engine: Engine, ui: World
) -> None:
    from chronos.models import SignatureRequest
    from chronos.pages.transaction_signatures import SignaturePanelState
    from chronos.services import documents
    from tests.support.pdfs import make_pdf

    documents.upload(db, ui.agent, ui.deal.id or 0, "lease.pdf", make_pdf(["Lease"]))
    db.commit()
    txn = str(ui.deal.id)
    panel = make_state(
        SignaturePanelState, engine, ui.agent, "/transactions/[txn_id]", {"txn_id": txn}
    )
    call(SignaturePanelState.load, panel)
    call(SignaturePanelState.open_request, panel)
    key = panel.once_key
    signer = panel.signer_opts[0].participant_id
    call(SignaturePanelState.add_signer, panel, str(signer))
    call(SignaturePanelState.send_request, panel, key)
    call(SignaturePanelState.send_request, panel, key)
    assert _rows(engine, SignatureRequest) == 1
