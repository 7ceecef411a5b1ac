"""The UI handlers refuse the wrong persona, and refused data never enters their state.

Each test builds the real Reflex state tree, gives it the router data a browser's websocket
would carry (the session cookie header, the page's route params) and calls the handler.
"""

from __future__ import annotations

from typing import Any

import pytest
from reflex.state import State
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

import chronos.chronos  # noqa: F401  (registers every page and state)
from chronos import db as chronos_db
from chronos.models import Participant, Person, Transaction, User
from chronos.pages.people import PeopleState
from chronos.pages.person import PersonState
from chronos.pages.pipeline import PipelineState
from chronos.pages.portal import PortalDealState, PortalState
from chronos.pages.transaction import TransactionState
from chronos.pages.transaction_new import NewTransactionState
from chronos.services import auth
from chronos.services.transactions import get_transaction
from chronos.settings import get_settings
from tests.factories import DEFAULT_PASSWORD, World

OUTSIDE = ["client", "attorney", "lender"]
STAFF_PAGES: list[tuple[Any, str, str]] = [
    (PipelineState, "/pipeline", "rows"),
    (NewTransactionState, "/transactions/new", "ready"),
    (PeopleState, "/people", "rows"),
]


def _token(engine: Engine, user: User) -> str:
    with chronos_db.session_scope(engine) as db:
        return auth.sign_in(db, email=user.email, password=DEFAULT_PASSWORD).token


def make_state(
    cls: Any, engine: Engine, user: User | None, path: str, params: dict[str, str] | None = None
) -> Any:
    root = State(_reflex_internal_init=True)
    state = root.get_substate(cls.get_full_name().split(".")[1:])
    cookie = f"{get_settings().cookie_name}={_token(engine, user)}" if user else ""
    router_data = {
        "headers": {"cookie": cookie, "origin": "http://localhost:3000"},
        "pathname": path,
        "asPath": path,
        "query": params or {},
    }
    root.router_data = root._update_router_vars(router_data, {})
    return state


def call(handler: Any, state: Any, *args: Any) -> Any:
    return handler.fn(state, *args)


def redirect_path(result: Any) -> str:
    """The path of an rx.redirect(...) a handler returned ('' when it returned none)."""
    specs = result if isinstance(result, list) else [result]
    for spec in specs:
        if spec is not None and getattr(spec.handler, "fn", None) is not None:
            args = dict(spec.args)
            for key, value in args.items():
                if str(key._js_expr) == "path":
                    return str(value._var_value)
    return ""


def count(engine: Engine, model: Any) -> int:
    with Session(engine) as db:
        return int(db.exec(select(func.count()).select_from(model)).one())


@pytest.mark.parametrize(("cls", "path", "data_var"), STAFF_PAGES)
@pytest.mark.parametrize("who", OUTSIDE)
def test_outside_parties_are_sent_to_their_portal_from_staff_pages(
    engine: Engine, ui: World, cls: Any, path: str, data_var: str, who: str
) -> None:
    state = make_state(cls, engine, ui.user(who), path)
    result = call(cls.load, state)
    assert redirect_path(result) == "/portal"
    assert not getattr(state, data_var)


@pytest.mark.parametrize(("cls", "path", "data_var"), STAFF_PAGES)
def test_signed_out_visitors_are_sent_to_sign_in(
    engine: Engine, ui: World, cls: Any, path: str, data_var: str
) -> None:
    state = make_state(cls, engine, None, path)
    result = call(cls.load, state)
    assert redirect_path(result) == f"/sign-in?next={path}"
    assert not getattr(state, data_var)
    assert state.signed_in is False


def test_a_forged_or_revoked_cookie_is_a_signed_out_visitor(engine: Engine, ui: World) -> None:
    state = make_state(PipelineState, engine, ui.agent, "/pipeline")
    token = state.router.headers.cookie.split("=", 1)[1]
    with chronos_db.session_scope(engine) as db:
        auth.sign_out(db, token)
    assert redirect_path(call(PipelineState.load, state)).startswith("/sign-in")
    assert state.rows == []


def test_the_pipeline_holds_only_what_the_agent_may_see(engine: Engine, ui: World) -> None:
    state = make_state(PipelineState, engine, ui.agent2, "/pipeline")
    assert call(PipelineState.load, state) is None
    visible = {r.id for r in state.rows}
    assert ui.deal.id not in visible
    assert ui.outside_deal.id not in visible


@pytest.mark.parametrize("who", ["agent2", "outsider_agent", "outsider_admin"])
def test_staff_off_the_deal_get_not_found_and_no_data(engine: Engine, ui: World, who: str) -> None:
    state = make_state(
        TransactionState,
        engine,
        ui.user(who),
        "/transactions/[txn_id]",
        {"txn_id": str(ui.deal.id)},
    )
    call(TransactionState.load, state)
    assert state.not_found is True
    assert state.detail is None
    assert state.events == []


@pytest.mark.parametrize("who", OUTSIDE)
def test_outside_parties_opening_the_staff_view_go_to_the_portal_view(
    engine: Engine, ui: World, who: str
) -> None:
    state = make_state(
        TransactionState,
        engine,
        ui.user(who),
        "/transactions/[txn_id]",
        {"txn_id": str(ui.deal.id)},
    )
    assert redirect_path(call(TransactionState.load, state)) == f"/portal/{ui.deal.id}"
    assert state.detail is None


def test_a_client_cannot_open_another_clients_deal_in_the_portal(engine: Engine, ui: World) -> None:
    state = make_state(
        PortalDealState, engine, ui.client2, "/portal/[txn_id]", {"txn_id": str(ui.deal.id)}
    )
    call(PortalDealState.load, state)
    assert state.not_found is True
    assert state.found is False
    assert state.deal.address == ""
    assert state.people == [] and state.events == []


def test_staff_are_sent_from_the_portal_to_their_pipeline(engine: Engine, ui: World) -> None:
    state = make_state(PortalState, engine, ui.agent, "/portal")
    assert redirect_path(call(PortalState.load, state)) == "/pipeline"


def _loaded_deal_state(engine: Engine, world: World, viewer: User) -> Any:
    """A transaction page as a staff member loaded it, now driven by ``viewer``'s cookie.

    This is the forged-state case: whatever the browser claims, the handler re-checks.
    """
    state = make_state(
        TransactionState, engine, viewer, "/transactions/[txn_id]", {"txn_id": str(world.deal.id)}
    )
    with Session(engine) as db:
        state.detail = get_transaction(db, world.agent, world.deal.id)
    return state


def _stage_of(engine: Engine, txn_id: int) -> str:
    with Session(engine) as db:
        txn = db.get(Transaction, txn_id)
        assert txn is not None
        return txn.stage


@pytest.mark.parametrize("who", ["client", "attorney", "lender", "agent2", "outsider_admin"])
def test_the_stage_handler_refuses_everyone_who_may_not_move_the_deal(
    engine: Engine, ui: World, who: str
) -> None:
    before = _stage_of(engine, ui.deal.id)
    state = _loaded_deal_state(engine, ui, ui.user(who))
    state.stage_target = "cancelled"
    state.stage_reason = "forged"
    call(TransactionState.apply_stage, state)
    assert state.stage_error
    assert _stage_of(engine, ui.deal.id) == before


def test_the_stage_handler_moves_the_deal_for_its_agent(engine: Engine, ui: World) -> None:
    state = _loaded_deal_state(engine, ui, ui.agent)
    state.stage_target = "clear_to_close"
    call(TransactionState.apply_stage, state)
    assert state.stage_error == ""
    assert _stage_of(engine, ui.deal.id) == "clear_to_close"
    # Newest first: the clear-to-close checklist the move applied, then the move itself.
    assert [e.kind for e in state.events[:2]] == ["checklist_applied", "stage_changed"]


@pytest.mark.parametrize("who", ["client", "attorney", "agent2", "outsider_agent"])
def test_participants_cannot_be_removed_by_the_wrong_persona(
    engine: Engine, ui: World, who: str
) -> None:
    with Session(engine) as db:
        part = db.exec(select(Participant).where(Participant.transaction_id == ui.deal.id)).first()
        assert part is not None
    before = count(engine, Participant)
    state = _loaded_deal_state(engine, ui, ui.user(who))
    call(TransactionState.remove_participant, state, part.id)
    assert count(engine, Participant) == before


def test_a_deactivated_agent_with_the_page_open_can_no_longer_act(
    engine: Engine, ui: World
) -> None:
    state = _loaded_deal_state(engine, ui, ui.agent)
    with chronos_db.session_scope(engine) as db:
        agent = db.get(User, ui.agent.id)
        assert agent is not None
        agent.is_active = False
    state.stage_target = "clear_to_close"
    result = call(TransactionState.apply_stage, state)
    assert redirect_path(result) == "/sign-in"
    assert _stage_of(engine, ui.deal.id) != "clear_to_close"


NEW_TXN_FORM = {"street": "1 Forged Way", "city": "Austin", "state": "TX"}


@pytest.mark.parametrize("who", OUTSIDE)
def test_outside_parties_cannot_create_transactions_through_the_form_handler(
    engine: Engine, ui: World, who: str
) -> None:
    before = count(engine, Transaction)
    state = make_state(NewTransactionState, engine, ui.user(who), "/transactions/new")
    result = call(NewTransactionState.submit, state, NEW_TXN_FORM)
    assert redirect_path(result) == "/portal"
    assert count(engine, Transaction) == before


def test_the_new_transaction_handler_ignores_a_second_click_in_flight(
    engine: Engine, ui: World
) -> None:
    before = count(engine, Transaction)
    state = make_state(NewTransactionState, engine, ui.agent, "/transactions/new")
    state.saving = True  # the first submission is still running
    assert call(NewTransactionState.submit, state, NEW_TXN_FORM) is None
    assert count(engine, Transaction) == before


@pytest.mark.parametrize("who", OUTSIDE)
def test_outside_parties_cannot_create_contacts_through_the_dialog_handler(
    engine: Engine, ui: World, who: str
) -> None:
    before = count(engine, Person)
    state = make_state(PeopleState, engine, ui.user(who), "/people")
    call(PeopleState.create, state, {"first_name": "Forged", "email": "forged@example.com"})
    assert count(engine, Person) == before


@pytest.mark.parametrize("who", ["client", "outsider_admin"])
def test_contact_pages_are_closed_to_outside_parties_and_other_brokerages(
    engine: Engine, ui: World, who: str
) -> None:
    state = make_state(
        PersonState,
        engine,
        ui.user(who),
        "/people/[person_id]",
        {"person_id": str(ui.seller_contact.id)},
    )
    call(PersonState.load, state)
    assert state.found is False
    assert state.person.name == ""


def _key_date_count(engine: Engine, txn_id: int) -> int:
    from chronos.models import KeyDate

    with Session(engine) as db:
        return int(
            db.exec(
                select(func.count()).select_from(KeyDate).where(KeyDate.transaction_id == txn_id)
            ).one()
        )


@pytest.mark.parametrize("who", ["client", "lender", "agent2", "outsider_admin"])
def test_the_preset_handler_refuses_everyone_who_may_not_edit_the_deal(
    engine: Engine, ui: World, who: str
) -> None:
    state = _loaded_deal_state(engine, ui, ui.user(who))
    state.preset_choice = "generic_financed"
    call(TransactionState.apply_preset, state)
    assert state.key_dates_error
    assert _key_date_count(engine, ui.deal.id) == 0


def test_the_preset_handler_sets_key_dates_for_the_agent(engine: Engine, ui: World) -> None:
    state = _loaded_deal_state(engine, ui, ui.agent)
    state.preset_choice = "generic_financed"
    call(TransactionState.apply_preset, state)
    assert state.key_dates_error == ""
    assert _key_date_count(engine, ui.deal.id) == len(state.key_dates) > 0


@pytest.mark.parametrize("who", ["client", "attorney", "agent2", "outsider_agent"])
def test_the_override_handler_refuses_everyone_who_may_not_edit_the_deal(
    engine: Engine, ui: World, who: str
) -> None:
    agent_state = _loaded_deal_state(engine, ui, ui.agent)
    agent_state.preset_choice = "generic_financed"
    call(TransactionState.apply_preset, agent_state)
    key = agent_state.key_dates[0].key
    with Session(engine) as db:
        from chronos.models import KeyDate

        before = [(k.key, k.override_date) for k in db.exec(select(KeyDate)).all()]
    state = _loaded_deal_state(engine, ui, ui.user(who))
    state.override_key = key
    call(TransactionState.save_override, state, {"date": "2024-02-01", "reason": "forged"})
    assert state.override_error
    with Session(engine) as db:
        after = [(k.key, k.override_date) for k in db.exec(select(KeyDate)).all()]
    assert after == before
