"""The transaction page's task panel: staff on the file work it; nobody else loads a task."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from chronos.models import Task
from chronos.pages.transaction_tasks import TaskPanelState
from chronos.services import key_dates
from tests.factories import World
from tests.unit.test_state_handlers import call, make_state


def _panel(engine: Engine, world: World, persona: str, txn_id: int | None = None):  # type: ignore[no-untyped-def]
    state = make_state(
        TaskPanelState,
        engine,
        world.user(persona),
        "/transactions/[txn_id]",
        {"txn_id": str(txn_id or world.deal.id)},
    )
    call(TaskPanelState.load, state)
    return state


def test_the_agent_sees_the_checklist_and_ticks_a_task(
    db: Session, engine: Engine, ui: World
) -> None:
    state = _panel(engine, ui, "agent")
    assert len(state.rows) >= 5 and state.counts["open"] == len(state.rows)
    first = state.rows[0]
    call(TaskPanelState.toggle, state, first.id, "open")
    assert state.error == "" and first.id not in [r.id for r in state.rows]
    db.expire_all()
    assert db.get(Task, first.id).status == "done"  # type: ignore[union-attr]


def test_adding_a_task_counted_from_a_key_date(db: Session, engine: Engine, ui: World) -> None:
    key_dates.apply_preset(db, ui.agent, ui.deal.id or 0, "generic_financed")
    db.commit()
    state = _panel(engine, ui, "coordinator")
    assert state.date_options["inspection"] == "Inspection period ends"
    call(TaskPanelState.open_add, state)
    call(TaskPanelState.save, state)
    assert state.form_errors == {"title": "Title is required."} and state.dialog_open
    call(TaskPanelState.set_form, state, "form_title", "Book the re-inspection")
    call(TaskPanelState.set_form, state, "form_due_mode", "relative")
    call(TaskPanelState.set_form, state, "form_due_key", "inspection")
    call(TaskPanelState.set_form, state, "form_offset", "-1")
    call(TaskPanelState.save, state)
    assert not state.dialog_open
    row = next(r for r in state.rows if r.title == "Book the re-inspection")
    assert (row.due_date, row.due_rule) == ("2024-01-21", "1 day before Inspection period ends")


def test_bulk_complete(db: Session, engine: Engine, ui: World) -> None:
    state = _panel(engine, ui, "agent")
    ids = [r.id for r in state.rows[:3]]
    for i in ids:
        call(TaskPanelState.toggle_selected, state, i, True)
    call(TaskPanelState.complete_selected, state)
    assert state.notice == "3 tasks completed." and state.selected == []
    db.expire_all()
    assert {db.get(Task, i).status for i in ids} == {"done"}  # type: ignore[union-attr]


@pytest.mark.parametrize("persona", ["client", "attorney", "lender", "agent2", "outsider_admin"])
def test_nobody_else_loads_or_touches_the_tasks(
    db: Session, engine: Engine, ui: World, persona: str
) -> None:
    state = _panel(engine, ui, persona)
    assert state.rows == [] and state.assignees == []
    task = db.exec(select(Task).where(Task.transaction_id == ui.deal.id)).first()
    assert task is not None
    call(TaskPanelState.toggle, state, task.id, "open")
    db.expire_all()
    assert db.get(Task, task.id).status == "open"  # type: ignore[union-attr]
    assert state.rows == []
