"""Admins copy a contract preset and edit it; the engine checks it; staff apply it to files."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from chronos.models import KeyDate, Transaction
from chronos.pages.admin_deadlines import DeadlineAdminState
from chronos.pages.transaction_new import NewTransactionState
from chronos.services import deadline_templates as templates
from chronos.services import key_dates
from chronos.services.errors import NotFound, PermissionDenied, ValidationFailed
from tests.factories import World
from tests.unit.test_state_handlers import call, make_state, redirect_path


def _form(db: Session, world: World, tpl_id: int) -> dict:  # type: ignore[type-arg]
    tpl, rules = templates.get_form(db, world.admin, tpl_id)
    return {"name": tpl.name, "state": tpl.state, "rules": [dict(r.__dict__) for r in rules]}


def test_a_copy_is_edited_and_applied_to_a_file(db: Session, world: World) -> None:
    tpl = templates.copy_preset(db, world.admin, "generic_financed")
    assert tpl.name == "Financed purchase (generic) (our copy)"
    form = _form(db, world, tpl.id or 0)
    inspection = next(r for r in form["rules"] if r["key"] == "inspection")
    inspection["offset_days"] = "7"  # our contracts give 7 days
    form["name"] = "Harbor financed purchase"
    templates.update_template(db, world.admin, tpl.id or 0, form)
    db.commit()
    choices = {o.key: o.name for o in key_dates.preset_options(db, world.agent)}
    assert choices[f"tpl:{tpl.id}"] == "Harbor financed purchase"
    key_dates.apply_preset(db, world.agent, world.deal.id or 0, f"tpl:{tpl.id}")
    db.commit()
    row = db.exec(
        select(KeyDate).where(KeyDate.transaction_id == world.deal.id, KeyDate.key == "inspection")
    ).one()
    assert row.computed_date == date(2024, 1, 17)  # 10 Jan + 7 = Wed 17 Jan
    # Another brokerage cannot apply it.
    with pytest.raises(ValidationFailed):
        key_dates.apply_preset(
            db, world.outsider_agent, world.outside_deal.id or 0, f"tpl:{tpl.id}"
        )


def test_bad_rows_and_cycles_are_refused_and_nothing_changes(db: Session, world: World) -> None:
    tpl = templates.copy_preset(db, world.admin, "generic_financed")
    db.commit()
    form = _form(db, world, tpl.id or 0)
    bad = {**form, "rules": [dict(r) for r in form["rules"]]}
    bad["rules"][0] |= {"label": "", "offset_days": "-4", "cutoff": "5pm"}
    with pytest.raises(ValidationFailed) as err:
        templates.update_template(db, world.admin, tpl.id or 0, bad)
    assert {"rules.0.label", "rules.0.offset_days", "rules.0.cutoff"} <= set(err.value.errors)
    # A date counted from itself through another one: the engine's cycle error, word for word.
    cyc = {**form, "rules": [dict(r) for r in form["rules"]]}
    first, second = cyc["rules"][0], cyc["rules"][1]
    first["anchor"], second["anchor"] = f"key:{second['key']}", f"key:{first['key']}"
    with pytest.raises(ValidationFailed) as err:
        templates.update_template(db, world.admin, tpl.id or 0, cyc)
    assert (
        "cycle" in err.value.errors["rules"].lower()
        or "circular" in err.value.errors["rules"].lower()
    )
    db.rollback()
    assert _form(db, world, tpl.id or 0)["rules"] == form["rules"]


@pytest.mark.parametrize("persona", ["agent", "coordinator", "client", "lender"])
def test_only_admins_edit_templates(db: Session, world: World, persona: str) -> None:
    tpl = templates.copy_preset(db, world.admin, "tx_trec")
    actor = world.user(persona)
    with pytest.raises(PermissionDenied):
        templates.copy_preset(db, actor, "tx_trec")
    with pytest.raises(PermissionDenied):
        templates.update_template(db, actor, tpl.id or 0, {})
    with pytest.raises(PermissionDenied):
        templates.list_templates(db, actor)


def test_another_brokerages_admin_cannot_reach_them(db: Session, world: World) -> None:
    tpl = templates.copy_preset(db, world.admin, "tx_trec")
    with pytest.raises(NotFound):
        templates.get_form(db, world.outsider_admin, tpl.id or 0)
    with pytest.raises(NotFound):
        templates.copy_preset(db, world.outsider_admin, f"tpl:{tpl.id}")
    assert templates.list_templates(db, world.outsider_admin) == []


def test_the_admin_page_copies_and_saves(db: Session, engine: Engine, ui: World) -> None:
    state = make_state(DeadlineAdminState, engine, ui.admin, "/admin/deadlines")
    call(DeadlineAdminState.load, state)
    call(DeadlineAdminState.copy, state, "fl_asis")
    assert state.editing and state.rules
    call(DeadlineAdminState.set_rule, state, 0, "label", "")
    call(DeadlineAdminState.save, state)
    assert state.editing and state.rule_errors[0] == "Name the key date."
    call(DeadlineAdminState.set_rule, state, 0, "label", "Deposit due")
    call(DeadlineAdminState.save, state)
    assert not state.editing and state.notice.startswith("Saved")


@pytest.mark.parametrize("persona", ["agent", "client", "outsider_agent"])
def test_the_admin_page_refuses_others(engine: Engine, ui: World, persona: str) -> None:
    state = make_state(DeadlineAdminState, engine, ui.user(persona), "/admin/deadlines")
    assert redirect_path(call(DeadlineAdminState.load, state)) in ("/pipeline", "/portal")
    assert redirect_path(call(DeadlineAdminState.copy, state, "tx_trec")) != ""
    assert state.rows == [] and state.rules == []


def test_a_new_file_can_start_from_a_template(db: Session, engine: Engine, ui: World) -> None:
    tpl = templates.copy_preset(db, ui.admin, "tx_trec")
    db.commit()
    state = make_state(NewTransactionState, engine, ui.agent, "/transactions/new")
    call(NewTransactionState.load, state)
    assert f"tpl:{tpl.id}" in [o.key for o in state.preset_choices]
    call(NewTransactionState.set_preset, state, f"tpl:{tpl.id}")
    call(
        NewTransactionState.submit,
        state,
        {"street": "9 Bayou Ln", "effective_date": "2024-03-01", "closing_date": "2024-04-01"},
    )
    assert state.errors == {}
    db.expire_all()
    txn = db.exec(select(Transaction).where(Transaction.street == "9 Bayou Ln")).one()
    keys = {k.key for k in db.exec(select(KeyDate).where(KeyDate.transaction_id == txn.id))}
    assert "option_period" in keys
    # Another brokerage's template id is refused, field by field.
    other = templates.copy_preset(db, ui.outsider_admin, "tx_trec")
    db.commit()
    call(NewTransactionState.set_preset, state, f"tpl:{other.id}")
    call(NewTransactionState.submit, state, {"street": "10 Bayou Ln"})
    assert "deadline_preset" in state.errors


def test_an_overlong_name_or_label_is_a_field_error_not_a_crash(db: Session, world: World) -> None:
    """The admin page has no length cap; 230 characters used to be a bare ValueError."""
    tpl = templates.copy_preset(db, world.admin, "generic_financed")
    db.commit()
    form = _form(db, world, tpl.id or 0)
    long = {**form, "name": "N" * 230, "rules": [dict(r) for r in form["rules"]]}
    long["rules"][1]["label"] = "L" * 230
    with pytest.raises(ValidationFailed) as err:
        templates.update_template(db, world.admin, tpl.id or 0, long)
    assert "at most 200 characters" in err.value.errors["name"]
    assert "at most 200 characters" in err.value.errors["rules.1.label"]
