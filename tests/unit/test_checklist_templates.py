"""Admins edit their brokerage's checklist templates; nobody else can, and nothing leaks."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from chronos.models import ChecklistTemplate, Task
from chronos.pages.admin_checklists import ChecklistAdminState
from chronos.services import checklist_templates as templates
from chronos.services import tasks, transactions
from chronos.services.errors import NotFound, PermissionDenied, ValidationFailed
from tests.factories import World
from tests.unit.test_state_handlers import call, make_state, redirect_path

GOOD = {
    "name": "Condo extras",
    "side": "buyer",
    "property_type": "condo",
    "stage": "under_contract",
    "items": [
        {
            "title": "Request the HOA documents",
            "assignee": "owner",
            "due_key": "effective_date",
            "due_offset_days": "2",
        },
        {"title": "Review the HOA budget", "assignee": "buyer"},
    ],
}


def test_an_admin_creates_a_template_that_new_files_get(db: Session, world: World) -> None:
    tpl = templates.create_template(db, world.admin, GOOD)
    db.commit()
    assert [i["key"] for i in tpl.items] == ["request_the_hoa_documents", "review_the_hoa_budget"]
    condo = transactions.create_transaction(
        db,
        world.agent,
        {
            "side": "buyer",
            "street": "1 Pier St",
            "property_type": "condo",
            "effective_date": "2024-03-01",
        },
    )
    house = transactions.create_transaction(db, world.agent, {"side": "buyer", "street": "2 Elm"})
    db.commit()
    condo_titles = {r.title: r for r in tasks.list_tasks(db, world.agent, condo.id or 0)}
    assert condo_titles["Request the HOA documents"].due_date == "2024-03-03"
    assert "Review the HOA budget" in condo_titles
    house_titles = {r.title for r in tasks.list_tasks(db, world.agent, house.id or 0)}
    assert "Review the HOA budget" not in house_titles


def test_bad_templates_are_refused_row_by_row_and_nothing_is_saved(db: Session, world: World):
    before = len(templates.list_templates(db, world.admin))
    bad = {
        **GOOD,
        "stage": "closed",
        "items": [
            {"title": "", "assignee": "nobody"},
            {"title": "ok", "due_key": "the_moon", "due_offset_days": "9999"},
        ],
    }
    with pytest.raises(ValidationFailed) as err:
        templates.create_template(db, world.admin, bad)
    assert set(err.value.errors) == {
        "stage",
        "items.0.title",
        "items.0.assignee",
        "items.1.due_key",
        "items.1.due_offset_days",
    }
    with pytest.raises(ValidationFailed) as err:
        templates.create_template(db, world.admin, {**GOOD, "items": []})
    assert "items" in err.value.errors
    db.rollback()
    assert len(templates.list_templates(db, world.admin)) == before


def test_edit_copy_delete(db: Session, world: World) -> None:
    tpl = templates.create_template(db, world.admin, GOOD)
    templates.update_template(db, world.admin, tpl.id or 0, {**GOOD, "name": "Condo (v2)"})
    copy = templates.copy_template(db, world.admin, tpl.id or 0)
    assert (copy.name, copy.is_active) == ("Condo (v2) (copy)", False)
    templates.delete_template(db, world.admin, tpl.id or 0)
    db.commit()
    assert db.get(ChecklistTemplate, tpl.id) is None


def test_deleting_a_template_keeps_the_tasks_it_added(db: Session, world: World) -> None:
    tpl_id = next(
        t.id for t in templates.list_templates(db, world.admin) if t.name == "Buyer: under contract"
    )
    on_deal = db.exec(select(Task).where(Task.template_id == tpl_id)).all()
    assert on_deal
    templates.delete_template(db, world.admin, tpl_id)
    db.commit()
    db.expire_all()
    ids = [t.id for t in on_deal]
    kept = db.exec(select(Task).where(Task.id.in_(ids))).all()  # type: ignore[union-attr]
    assert len(kept) == len(on_deal) and {t.template_id for t in kept} == {None}


@pytest.mark.parametrize("persona", ["agent", "coordinator", "client", "attorney", "lender"])
def test_only_admins_touch_templates(db: Session, world: World, persona: str) -> None:
    actor = world.user(persona)
    tpl = templates.create_template(db, world.admin, GOOD)
    for call_ in (
        lambda: templates.list_templates(db, actor),
        lambda: templates.get_template(db, actor, tpl.id or 0),
        lambda: templates.create_template(db, actor, GOOD),
        lambda: templates.update_template(db, actor, tpl.id or 0, GOOD),
        lambda: templates.delete_template(db, actor, tpl.id or 0),
    ):
        with pytest.raises(PermissionDenied):
            call_()


def test_another_brokerages_admin_cannot_reach_them(db: Session, world: World) -> None:
    tpl = templates.create_template(db, world.admin, GOOD)
    with pytest.raises(NotFound):
        templates.get_template(db, world.outsider_admin, tpl.id or 0)
    with pytest.raises(NotFound):
        templates.update_template(db, world.outsider_admin, tpl.id or 0, GOOD)
    names = {t.name for t in templates.list_templates(db, world.outsider_admin)}
    assert "Condo extras" not in names


def test_the_admin_page_handlers(db: Session, engine: Engine, ui: World) -> None:
    state = make_state(ChecklistAdminState, engine, ui.admin, "/admin/checklists")
    call(ChecklistAdminState.load, state)
    assert len(state.templates) == len(tasks.DEFAULT_CHECKLISTS)
    call(ChecklistAdminState.new_template, state)
    call(ChecklistAdminState.set_name, state, "Walkthrough extras")
    call(ChecklistAdminState.set_item, state, 0, "title", "")
    call(ChecklistAdminState.save, state)
    assert state.editing and state.items[0].error == "Task is required."
    call(ChecklistAdminState.set_item, state, 0, "title", "Test every appliance")
    call(ChecklistAdminState.set_item, state, 0, "due_key", "final_walkthrough")
    call(ChecklistAdminState.set_item, state, 0, "due_offset_days", "0")
    call(ChecklistAdminState.save, state)
    assert not state.editing and "Walkthrough extras" in state.notice
    db.expire_all()
    saved = db.exec(
        select(ChecklistTemplate).where(ChecklistTemplate.name == "Walkthrough extras")
    ).one()
    assert saved.items[0]["due_key"] == "final_walkthrough"


@pytest.mark.parametrize("persona", ["agent", "client", "outsider_agent"])
def test_the_admin_page_refuses_others_with_nothing_loaded(
    engine: Engine, ui: World, persona: str
) -> None:
    state = make_state(ChecklistAdminState, engine, ui.user(persona), "/admin/checklists")
    assert redirect_path(call(ChecklistAdminState.load, state)) in ("/pipeline", "/portal")
    assert state.templates == []
    assert redirect_path(call(ChecklistAdminState.open_template, state, 1)) != ""
    assert state.items == [] and not state.editing
