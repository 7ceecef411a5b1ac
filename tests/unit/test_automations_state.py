"""The automation builder's handlers: admins build rules from forms; nobody else loads any."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from chronos.models import AutomationRule
from chronos.pages.admin_automations import AutomationsState
from tests.factories import World
from tests.unit.test_state_handlers import call, make_state, redirect_path


def test_an_admin_builds_a_rule_and_sees_errors_per_action(
    db: Session, engine: Engine, ui: World
) -> None:
    state = make_state(AutomationsState, engine, ui.admin, "/admin/automations")
    call(AutomationsState.load, state)
    call(AutomationsState.new_rule, state)
    call(AutomationsState.set_field, state, "name", "Closing reminder to clients")
    call(AutomationsState.set_field, state, "trigger", "key_date_approaching")
    call(AutomationsState.set_field, state, "date_key", "closing")
    call(AutomationsState.set_field, state, "days", "3")
    call(AutomationsState.set_action, state, 0, "type", "email")
    call(AutomationsState.set_action, state, 0, "audience", "clients")
    call(AutomationsState.set_action, state, 0, "message", "Closing on {closing_day}")
    call(AutomationsState.save, state)
    assert state.editing
    assert (
        "subject" in state.actions[0].error.lower() or "Write a subject" in state.actions[0].error
    )
    assert "{closing_day}" in state.actions[0].error
    call(AutomationsState.set_action, state, 0, "subject", "Closing soon: {address}")
    call(AutomationsState.set_action, state, 0, "message", "Closing is {closing_date}.")
    call(AutomationsState.save, state)
    assert not state.editing and state.notice == "Saved “Closing reminder to clients”."
    call(AutomationsState.load, state)  # the page reloads after saving
    assert [r.sentence for r in state.rules] == [
        "3 days before Closing: email our clients (the side we represent)."
    ]
    db.expire_all()
    rule = db.exec(select(AutomationRule)).one()
    assert rule.actions[0]["to"] == "clients"


@pytest.mark.parametrize("persona", ["agent", "coordinator", "client", "outsider_agent"])
def test_non_admins_load_nothing(db: Session, engine: Engine, ui: World, persona: str) -> None:
    state = make_state(AutomationsState, engine, ui.user(persona), "/admin/automations")
    assert redirect_path(call(AutomationsState.load, state)) in ("/pipeline", "/portal")
    assert state.rules == [] and state.runs == []
    assert redirect_path(call(AutomationsState.save, state)) != ""
    assert db.exec(select(AutomationRule)).all() == []
