"""The Today page: its handlers, and the key dates around today across files."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from chronos.models import Task
from chronos.pages.today import TodayState
from chronos.services import key_dates, tasks
from tests.factories import World
from tests.unit.test_state_handlers import call, make_state, redirect_path


def _due_today_task(db: Session, world: World, **data: object) -> Task:
    today = tasks.org_today(db, world.harbor.id or 0)
    task = tasks.create_task(
        db, world.agent, world.deal.id or 0, {"title": "Call the lender", "due_date": today, **data}
    )
    db.commit()
    return task


def test_the_agent_sees_and_ticks_off_todays_task(db: Session, engine: Engine, ui: World) -> None:
    task = _due_today_task(db, ui)
    state = make_state(TodayState, engine, ui.agent, "/today")
    assert call(TodayState.load, state) is None
    assert "Call the lender" in [r.title for r in state.due_today]
    assert state.today_label
    call(TodayState.toggle, state, task.id, "open")
    assert state.notice == "Done: Call the lender" and state.error == ""
    db.expire_all()
    assert db.get(Task, task.id).status == "done"  # type: ignore[union-attr]
    # The same click from a stale page does not flip it back.
    call(TodayState.toggle, state, task.id, "open")
    assert "already done" in state.error
    db.expire_all()
    assert db.get(Task, task.id).status == "done"  # type: ignore[union-attr]


@pytest.mark.parametrize("persona", ["client", "attorney", "lender"])
def test_outside_parties_are_sent_home_with_nothing_loaded(
    db: Session, engine: Engine, ui: World, persona: str
) -> None:
    _due_today_task(db, ui)
    state = make_state(TodayState, engine, ui.user(persona), "/today")
    assert redirect_path(call(TodayState.load, state)) == "/portal"
    assert state.due_today == [] and state.overdue == [] and state.deadlines == []
    task = db.exec(select(Task).where(Task.title == "Call the lender")).one()
    assert redirect_path(call(TodayState.toggle, state, task.id, "open")) == "/portal"
    db.expire_all()
    assert db.get(Task, task.id).status == "open"  # type: ignore[union-attr]


def test_signed_out_visitors_go_to_sign_in(engine: Engine, ui: World) -> None:
    state = make_state(TodayState, engine, None, "/today")
    assert redirect_path(call(TodayState.load, state)).startswith("/sign-in")


@pytest.mark.parametrize("persona", ["agent2", "outsider_agent", "outsider_admin"])
def test_staff_of_other_files_neither_see_nor_tick_the_task(
    db: Session, engine: Engine, ui: World, persona: str
) -> None:
    task = _due_today_task(db, ui)
    state = make_state(TodayState, engine, ui.user(persona), "/today")
    call(TodayState.load, state)
    assert task.id not in [r.id for r in state.due_today]
    call(TodayState.toggle, state, task.id, "open")
    assert state.error == "Task not found."
    db.expire_all()
    assert db.get(Task, task.id).status == "open"  # type: ignore[union-attr]


def test_upcoming_deadlines_around_today(db: Session, world: World) -> None:
    key_dates.apply_preset(db, world.agent, world.deal.id or 0, "generic_financed")
    db.commit()
    today = date(2024, 1, 20)  # inspection Mon 22 Jan; earnest money Tue 16 Jan (4 days ago)
    rows, total = key_dates.upcoming_deadlines(db, world.agent, today=today)
    assert [(r.key, r.days_label) for r in rows] == [("inspection", "in 2 days")]
    assert total == 1
    wider, _ = key_dates.upcoming_deadlines(
        db, world.agent, today=today, back_days=5, ahead_days=10
    )
    assert [r.key for r in wider] == ["earnest_money", "inspection", "appraisal"]
    assert wider[0].passed and not wider[1].passed and wider[1].due_soon
    assert key_dates.upcoming_deadlines(db, world.agent2, today=today) == ([], 0)
    assert key_dates.upcoming_deadlines(db, world.outsider_admin, today=today) == ([], 0)
    # Outside parties see only shared dates.
    key_dates.set_shared(db, world.agent, world.deal.id or 0, "inspection", False)
    db.commit()
    assert key_dates.upcoming_deadlines(db, world.client, today=today) == ([], 0)
    assert [r.key for r in key_dates.upcoming_deadlines(db, world.agent, today=today)[0]] == [
        "inspection"
    ]


def test_next_dates_by_file_for_a_page_of_files(db: Session, world: World) -> None:
    key_dates.apply_preset(db, world.agent, world.deal.id or 0, "generic_financed")
    key_dates.set_shared(db, world.agent, world.deal.id or 0, "appraisal", False)
    db.commit()
    ids = [world.deal.id or 0, world.other_deal.id or 0, world.outside_deal.id or 0]
    staff = key_dates.next_dates_by_file(db, world.agent, ids, today=date(2024, 1, 20), per_file=2)
    assert list(staff) == [world.deal.id]
    assert [d.key for d in staff[world.deal.id or 0]] == ["inspection", "appraisal"]
    outside = key_dates.next_dates_by_file(
        db, world.attorney, ids, today=date(2024, 1, 20), per_file=2
    )
    assert [d.key for d in outside[world.deal.id or 0]] == ["inspection", "loan_approval"]
    assert key_dates.next_dates_by_file(db, world.client2, ids, today=date(2024, 1, 20)) == {}
