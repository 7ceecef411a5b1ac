"""Start from the purchase agreement: staging, the signed token, confirm-and-create, and the
New transaction handlers (staff only; outside parties and forged arguments get nothing)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from chronos import db as chronos_db
from chronos.models import Document, DocumentSlot, KeyDate, Transaction
from chronos.pages.transaction_new import NewTransactionState
from chronos.services import agreement_intake as intake
from chronos.services import compliance
from chronos.services.errors import PermissionDenied, ValidationFailed
from chronos.storage import get_storage
from tests.factories import World
from tests.support import agreements
from tests.unit.test_state_handlers import OUTSIDE, call, count, make_state, redirect_path

CONFIRMED = {
    "street": "12 Elm Street",
    "city": "Austin",
    "state": "TX",
    "postal_code": "78701",
    "price": "450000",
    "effective_date": "2026-03-02",
    "closing_date": "2026-04-10",
    "client_name": "Ana Lopez",
    "option_days": "7",
}


def _stage(db: Session, actor: Any, data: bytes | None = None) -> intake.Staged:
    return intake.stage(db, actor, ("contract.pdf", data or agreements.fillable_agreement()))


# --- pure helpers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12 Elm Street, Austin, TX 78701", ("12 Elm Street", "", "Austin", "TX", "78701")),
        (
            "9 Bay Rd, Unit 4B, Miami, FL 33101-1234",
            ("9 Bay Rd", "Unit 4B", "Miami", "FL", "33101-1234"),
        ),
        ("48 Orchard Lane, Sacramento, ca", ("48 Orchard Lane", "", "Sacramento", "CA", "")),
        ("Lot 7 on the hill", ("Lot 7 on the hill", "", "", "", "")),
    ],
)
def test_a_proposed_address_is_split_into_its_parts(text: str, expected: tuple[str, ...]) -> None:
    got = intake.split_address(text)
    assert (got["street"], got["unit"], got["city"], got["state"], got["postal_code"]) == expected


# --- service --------------------------------------------------------------------------------


def test_staging_keeps_the_files_and_opening_reads_them_again(db: Session, agent: Any) -> None:
    staged = _stage(db, agent)
    assert staged.reading.proposals["price"].value == "450000.00"
    assert get_storage().exists(staged.files[0][0])
    again = intake.open_staged(db, agent, staged.token)
    assert again.reading.proposals["option_days"].value == "7"
    values = intake.prefill(again.reading)
    assert (values["street"], values["city"], values["state"], values["postal_code"]) == (
        "12 Elm Street",
        "Austin",
        "TX",
        "78701",
    )


@pytest.mark.parametrize("persona", ["client", "attorney", "lender"])
def test_outside_parties_may_not_stage_an_agreement(
    db: Session, request: Any, persona: str
) -> None:
    with pytest.raises(PermissionDenied):
        _stage(db, request.getfixturevalue(persona))


def test_a_token_opens_only_for_its_own_user(db: Session, agent: Any, agent2: Any) -> None:
    staged = _stage(db, agent)
    with pytest.raises(PermissionDenied, match="expired or belongs to another"):
        intake.open_staged(db, agent2, staged.token)
    body, _, sig = staged.token.partition(".")
    with pytest.raises(PermissionDenied):
        intake.open_staged(db, agent, body + "." + sig[::-1])
    with pytest.raises(PermissionDenied):
        intake.open_staged(db, agent, "not-a-token")


def test_confirming_creates_the_file_with_the_contract_periods_and_the_agreement_on_its_item(
    db: Session, agent: Any
) -> None:
    compliance.seed_default_templates(db, agent.org_id)
    staged = _stage(db, agent)
    data = {**CONFIRMED, "side": "buyer", "deadline_preset": "tx_trec"}
    txn = intake.create_from_agreement(db, agent, data, staged.token)
    dates = {
        k.key: k.computed_date
        for k in db.exec(select(KeyDate).where(KeyDate.transaction_id == txn.id)).all()
    }
    # 7 days from the contract, not the preset's typical 10
    assert dates["option_period"] == date(2026, 3, 9)
    docs = db.exec(select(Document).where(Document.transaction_id == txn.id)).all()
    assert [d.title for d in docs] == ["Purchase agreement"]
    slot = db.get(DocumentSlot, docs[0].slot_id)
    assert slot is not None and slot.key == "purchase_agreement"
    intake.discard(agent, staged.token)
    assert not get_storage().exists(staged.files[0][0])
    with pytest.raises(PermissionDenied):
        intake.create_from_agreement(db, agent, data, staged.token)


def test_a_bad_period_is_refused_on_its_field_and_creates_nothing(db: Session, agent: Any) -> None:
    staged = _stage(db, agent)
    before = len(db.exec(select(Transaction)).all())
    with pytest.raises(ValidationFailed) as caught:
        intake.create_from_agreement(
            db, agent, {**CONFIRMED, "side": "buyer", "option_days": "-3"}, staged.token
        )
    assert "option_days" in caught.value.errors
    assert len(db.exec(select(Transaction)).all()) == before


# --- handlers -------------------------------------------------------------------------------


def _token_for(engine: Engine, who: Any, data: bytes | None = None) -> str:
    with chronos_db.session_scope(engine) as db:
        return _stage(db, who, data).token


def test_the_page_shows_each_proposal_and_prefills_the_form(engine: Engine, ui: World) -> None:
    token = _token_for(engine, ui.agent)
    state = make_state(
        NewTransactionState, engine, ui.agent, "/transactions/new", {"agreement": token}
    )
    assert call(NewTransactionState.load, state) is None
    assert state.agreement_name == "contract.pdf"
    labels = {p.label: p for p in state.proposals}
    assert labels["Purchase price"].value == "450000.00"
    assert "page 2 of the agreement" in labels["Purchase price"].where
    assert labels["Purchase price"].source
    assert state.values["street"] == "12 Elm Street"
    assert state.values["client_name"] == "Ana Lopez"
    assert state.preset == "tx_trec"
    assert not state.no_text


def test_a_scan_says_there_is_no_text_layer(engine: Engine, ui: World) -> None:
    token = _token_for(engine, ui.agent, agreements.scanned_agreement())
    state = make_state(
        NewTransactionState, engine, ui.agent, "/transactions/new", {"agreement": token}
    )
    call(NewTransactionState.load, state)
    assert state.no_text and state.proposals == []
    assert state.agreement_name == "contract.pdf"


def test_submitting_the_confirmed_form_creates_the_file_from_the_agreement(
    engine: Engine, ui: World
) -> None:
    token = _token_for(engine, ui.agent)
    state = make_state(
        NewTransactionState, engine, ui.agent, "/transactions/new", {"agreement": token}
    )
    call(NewTransactionState.load, state)
    result = call(NewTransactionState.submit, state, {**CONFIRMED, "_once": state.once_key})
    assert redirect_path(result).startswith("/transactions/")
    assert state.agreement_name == "" and state._agreement_token == ""
    with Session(engine) as db:
        txn = db.exec(select(Transaction).where(Transaction.street == "12 Elm Street")).one()
        docs = db.exec(select(Document).where(Document.transaction_id == txn.id)).all()
        assert [d.title for d in docs] == ["Purchase agreement"]


@pytest.mark.parametrize("who", OUTSIDE)
def test_outside_parties_get_nothing_from_the_agreement_handlers(
    engine: Engine, ui: World, who: str
) -> None:
    token = _token_for(engine, ui.agent)  # an agent's token, stolen or guessed
    state = make_state(
        NewTransactionState, engine, ui.user(who), "/transactions/new", {"agreement": token}
    )
    assert redirect_path(call(NewTransactionState.load, state)) == "/portal"
    assert state.proposals == [] and state.values == {} and state.agreement_name == ""
    state._agreement_token = token
    before = count(engine, Transaction)
    assert redirect_path(call(NewTransactionState.submit, state, CONFIRMED)) == "/portal"
    assert redirect_path(call(NewTransactionState.start_over, state)) == "/portal"
    assert count(engine, Transaction) == before
    assert get_storage().exists(_claims_key(token))


def _claims_key(token: str) -> str:
    body = intake._decode(token)
    assert body is not None
    return str(body["f"][0][0])


def test_another_agents_token_shows_nothing_of_their_agreement(engine: Engine, ui: World) -> None:
    token = _token_for(engine, ui.agent)
    state = make_state(
        NewTransactionState, engine, ui.agent2, "/transactions/new", {"agreement": token}
    )
    call(NewTransactionState.load, state)
    assert state.proposals == [] and state.values == {} and state.agreement_name == ""
    assert state.agreement_errors == [intake.EXPIRED]


@pytest.mark.parametrize("form", [None, "x", 7, ["street"], {"street": ["a"], "state": {"x": 1}}])
def test_bad_submit_arguments_get_a_clear_answer_not_a_crash(
    engine: Engine, ui: World, form: Any
) -> None:
    state = make_state(NewTransactionState, engine, ui.agent, "/transactions/new")
    call(NewTransactionState.load, state)
    before = count(engine, Transaction)
    call(NewTransactionState.submit, state, form)
    assert count(engine, Transaction) == before
    assert not state.saving


def test_start_over_drops_the_staged_files(engine: Engine, ui: World) -> None:
    token = _token_for(engine, ui.agent)
    state = make_state(
        NewTransactionState, engine, ui.agent, "/transactions/new", {"agreement": token}
    )
    call(NewTransactionState.load, state)
    key = _claims_key(token)
    assert redirect_path(call(NewTransactionState.start_over, state)) == "/transactions/new"
    assert not get_storage().exists(key)
    assert state.proposals == [] and state.agreement_name == ""


def test_more_than_four_addenda_are_refused_and_nothing_is_staged(db: Session, agent: Any) -> None:
    extra = [(f"a{i}.pdf", agreements.addendum("Closing Date: 04/20/2026")) for i in range(5)]
    with pytest.raises(ValidationFailed, match="at most 4 addenda"):
        intake.stage(db, agent, ("contract.pdf", agreements.fillable_agreement()), extra)


def test_preset_offsets_only_take_sane_days_for_the_presets_own_rules(
    db: Session, agent: Any
) -> None:
    from chronos.services import key_dates, transactions

    txn = transactions.create_transaction(
        db,
        agent,
        {"street": "5 Offset Ln", "city": "Austin", "state": "TX", "side": "buyer",
         "effective_date": "2026-03-02", "closing_date": "2026-04-10"},
    )  # fmt: skip
    rows = key_dates.apply_preset(
        db,
        agent,
        txn.id or 0,
        "tx_trec",
        offsets={"option_period": True, "earnest_money": -2, "nope": 3},  # type: ignore[dict-item]
    )
    got = {r.key: r.computed_date for r in rows}
    assert got["option_period"] == date(2026, 3, 12)  # the preset's 10 days: True is no number
    assert got["earnest_money"] == date(2026, 3, 5)  # 3 days: a negative offset is ignored
    assert "nope" not in got
