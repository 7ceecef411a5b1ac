"""/admin/summary-pdf driven as the websocket would: an admin toggles, reorders and saves the
summary PDF's sections; other personas are sent home with nothing loaded and cannot save; bad
arguments change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from chronos.models import Organization, User
from chronos.pages.admin_summary import AdminSummaryState
from tests.factories import World
from tests.unit.test_state_handlers import call, make_state, redirect_path


def summary_state(engine: Engine, user: User | None) -> Any:
    return make_state(AdminSummaryState, engine, user, "/admin/summary-pdf")


def stored(engine: Engine, world: World) -> str:
    with Session(engine) as db:
        org = db.get(Organization, world.harbor.id)
        assert org is not None
        return org.cover_sheet_sections


def test_an_admin_reorders_leaves_out_and_saves(engine: Engine, ui: World) -> None:
    state = summary_state(engine, ui.admin)
    call(AdminSummaryState.load, state)
    assert [s.key for s in state.sections][:2] == ["parties", "key_dates"]
    assert not state.dirty
    call(AdminSummaryState.move, state, "key_dates", -1)
    call(AdminSummaryState.toggle, state, "open_tasks")
    assert state.dirty
    call(AdminSummaryState.save, state)
    assert state.notice.startswith("Saved") and not state.error and not state.dirty
    assert stored(engine, ui) == "key_dates,parties,missing_documents"
    # The left-out section is listed last, unticked, ready to be put back.
    assert [(s.key, s.included) for s in state.sections][-1] == ("open_tasks", False)


@pytest.mark.parametrize(
    "args",
    [
        ("parties", -1),  # already first
        ("missing_documents", 1),  # already last
        ("parties", 5),
        ("nothing", 1),
        (["parties"], 1),
        ("parties", "down"),
    ],
)
def test_moves_that_make_no_sense_change_nothing(engine: Engine, ui: World, args: tuple) -> None:
    state = summary_state(engine, ui.admin)
    call(AdminSummaryState.load, state)
    before = list(state.sections)
    call(AdminSummaryState.move, state, *args)
    call(AdminSummaryState.toggle, state, {"key": "parties"})
    assert state.sections == before and not state.dirty


@pytest.mark.parametrize(
    ("who", "home"),
    [
        ("agent", "/pipeline"),
        ("coordinator", "/pipeline"),
        ("client", "/portal"),
        ("attorney", "/portal"),
        ("lender", "/portal"),
    ],
)
def test_other_personas_are_sent_home_and_cannot_save(
    engine: Engine, ui: World, who: str, home: str
) -> None:
    state = summary_state(engine, ui.user(who))
    assert redirect_path(call(AdminSummaryState.load, state)) == home
    assert state.sections == []
    # Replaying an admin's tab against this cookie: the handlers re-check who is asking.
    admin = summary_state(engine, ui.admin)
    call(AdminSummaryState.load, admin)
    state.sections = [s for s in admin.sections if s.key != "parties"]
    assert redirect_path(call(AdminSummaryState.save, state)) == home
    assert redirect_path(call(AdminSummaryState.toggle, state, "parties")) == home
    assert stored(engine, ui) == "parties,key_dates,open_tasks,missing_documents"


def test_signed_out_visitors_go_to_sign_in(engine: Engine, ui: World) -> None:
    state = summary_state(engine, None)
    assert redirect_path(call(AdminSummaryState.load, state)).startswith("/sign-in")
    assert redirect_path(call(AdminSummaryState.save, state)).startswith("/sign-in")
