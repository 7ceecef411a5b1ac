"""The calendar: whole weeks around a month, closings without presets, who sees which dates."""

from __future__ import annotations

from datetime import date

from sqlalchemy.engine import Engine
from sqlmodel import Session

from chronos.pages.calendar import CalendarState, build_month
from chronos.services import key_dates, transactions
from tests.factories import World
from tests.unit.test_state_handlers import call, make_state, redirect_path


def test_a_month_is_whole_weeks_monday_first() -> None:
    days = build_month(date(2024, 2, 1), date(2024, 2, 14), [])
    assert len(days) == 35  # Mon 29 Jan .. Sun 3 Mar
    assert (days[0].iso, days[-1].iso) == ("2024-01-29", "2024-03-03")
    assert [d.is_today for d in days].count(True) == 1
    assert not days[0].in_month and days[3].in_month


def _calendar(engine: Engine, world: World, persona: str, month: str = "2024-01"):  # type: ignore[no-untyped-def]
    state = make_state(CalendarState, engine, world.user(persona), f"/calendar?month={month}")
    state.month = month
    result = call(CalendarState.load, state)
    return state, result


def _labels(state) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return {(d.iso, i.label) for d in state.days for i in d.dates}


def test_staff_see_key_dates_and_closings(db: Session, engine: Engine, ui: World) -> None:
    key_dates.apply_preset(db, ui.agent, ui.deal.id or 0, "generic_financed")
    db.commit()
    state, _ = _calendar(engine, ui, "agent", "2024-02")
    assert state.title == "February 2024"
    assert ("2024-02-20", "Closing") in _labels(state)
    assert [a.heading for a in state.agenda][-1] == "Tuesday 20 February"
    jan, _ = _calendar(engine, ui, "agent", "2024-01")
    assert ("2024-01-22", "Inspection period ends") in _labels(jan)
    # Without a preset the file's own closing date still shows (other_deal gets one here).
    transactions.update_transaction(
        db, ui.agent2, ui.other_deal.id or 0, {"closing_date": "2024-02-16"}
    )
    db.commit()
    bob, _ = _calendar(engine, ui, "agent2", "2024-02")
    assert _labels(bob) == {("2024-02-16", "Closing")}


def test_outside_parties_see_only_shared_dates_of_their_files(
    db: Session, engine: Engine, ui: World
) -> None:
    key_dates.apply_preset(db, ui.agent, ui.deal.id or 0, "generic_financed")
    key_dates.set_shared(db, ui.agent, ui.deal.id or 0, "inspection", False)
    db.commit()
    client, _ = _calendar(engine, ui, "client")
    assert ("2024-01-16", "Earnest money due") in _labels(client)
    assert ("2024-01-22", "Inspection period ends") not in _labels(client)
    other, _ = _calendar(engine, ui, "client2")
    assert _labels(other) == set()
    outsider, _ = _calendar(engine, ui, "outsider_admin")
    assert _labels(outsider) == set()


def test_signed_out_is_sent_to_sign_in(engine: Engine, ui: World) -> None:
    state = make_state(CalendarState, engine, None, "/calendar")
    assert redirect_path(call(CalendarState.load, state)).startswith("/sign-in")
    assert state.days == []


def test_a_bad_month_falls_back_to_this_month(engine: Engine, ui: World) -> None:
    state, _ = _calendar(engine, ui, "agent", "not-a-month")
    assert state.error == "" and len(state.days) in (35, 42, 28)
