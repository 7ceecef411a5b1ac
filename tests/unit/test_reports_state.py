"""The Reports page's handlers, driven like a browser's websocket: staff see their own numbers,
outside parties and signed-out visitors are sent away with nothing loaded, and forged filters
are refused with a clear message and reset to the defaults."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from chronos import db as chronos_db
from chronos.models import User
from chronos.state.reports import ReportsState
from tests.factories import World, deactivate, make_transaction
from tests.unit.test_state_handlers import call, make_state, redirect_path


def _state(engine: Engine, user: User | None) -> ReportsState:
    return make_state(ReportsState, engine, user, "/reports")


def _open_files(state: ReportsState) -> int:
    return sum(s.files for s in state.stages)


def test_an_agent_sees_only_their_files_and_the_admin_sees_the_brokerage(
    engine: Engine, ui: World
) -> None:
    agent = _state(engine, ui.agent)
    assert call(ReportsState.load, agent) is None
    assert agent.loaded and agent.error == ""
    admin = _state(engine, ui.admin)
    call(ReportsState.load, admin)
    assert _open_files(admin) > _open_files(agent) >= 1
    assert [a.label for a in agent.agents] == ["Alice Agent"]
    assert "Bob Agent" in [a.label for a in admin.agents]
    assert len(admin.months) == 12 and len(admin.upcoming) == 8


def test_a_filter_reloads_the_reports_narrowed(engine: Engine, ui: World) -> None:
    admin = _state(engine, ui.admin)
    call(ReportsState.load, admin)
    everyone = _open_files(admin)
    call(ReportsState.set_agent, admin, str(ui.agent2.id))
    call(ReportsState.load, admin)
    assert admin.agent == str(ui.agent2.id)
    assert _open_files(admin) < everyone
    assert "agent=" + str(ui.agent2.id) in admin.csv_query


def test_forged_filters_are_refused_clearly_and_reset(engine: Engine, ui: World) -> None:
    state = _state(engine, ui.agent)
    call(ReportsState.set_period, state, "99999")
    call(ReportsState.load, state)
    assert "Period" in state.error and not state.loaded and state.stages == []
    assert state.period == "90"
    call(ReportsState.load, state)
    assert state.error == "" and state.loaded


@pytest.mark.parametrize("who", ["client", "attorney", "lender"])
def test_outside_parties_are_sent_to_their_portal_with_nothing_loaded(
    engine: Engine, ui: World, who: str
) -> None:
    state = _state(engine, ui.user(who))
    assert redirect_path(call(ReportsState.load, state)) == "/portal"
    assert state.stages == [] and state.at_risk == [] and not state.loaded


def test_signed_out_and_deactivated_users_see_nothing(engine: Engine, ui: World) -> None:
    state = _state(engine, None)
    assert redirect_path(call(ReportsState.load, state)).startswith("/sign-in")
    assert not state.loaded and state.agents == []
    state = _state(engine, ui.agent)  # signed in, then deactivated while the tab is open
    with chronos_db.session_scope(engine) as db:
        deactivate(db, db.get(User, ui.agent.id))
    call(ReportsState.load, state)
    assert not state.loaded and state.stages == []


def test_today_shows_the_agents_own_at_risk_files_only(engine: Engine, ui: World) -> None:
    from chronos.pages.today import TodayState

    with chronos_db.session_scope(engine) as db:
        txn = make_transaction(db, db.get(User, ui.agent.id), stage="under_contract")
        txn_id = txn.id  # under contract with no key dates: a listed factor
    mine = make_state(TodayState, engine, ui.agent, "/today")
    call(TodayState.load, mine)
    assert txn_id in {r.transaction_id for r in mine.at_risk}
    assert all(r.factors and r.score > 0 for r in mine.at_risk)
    bob = make_state(TodayState, engine, ui.agent2, "/today")
    call(TodayState.load, bob)
    assert txn_id not in {r.transaction_id for r in bob.at_risk}


def test_filters_that_match_nothing_leave_the_page_empty_not_broken(
    engine: Engine, ui: World
) -> None:
    state = _state(engine, ui.agent)
    call(ReportsState.load, state)
    assert state.has_data
    call(ReportsState.set_property_type, state, "land")
    call(ReportsState.load, state)
    assert state.loaded and not state.has_data and state.error == ""
    call(ReportsState.clear_filters, state)
    call(ReportsState.load, state)
    assert state.has_data and state.property_type == "all"
