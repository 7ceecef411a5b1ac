"""Key dates wired into transactions: presets, recompute on anchor changes, overrides, access.

``deal`` (persona world) is effective Wed 10 Jan 2024 and closes Tue 20 Feb 2024; its
organization's zone is America/New_York. Holidays are US federal: Mon 15 Jan 2024 is Martin
Luther King Jr. Day, Mon 19 Feb 2024 is Washington's Birthday.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session, select

from chronos.deadlines import PRESETS, EnteredDate
from chronos.models import Event, KeyDate, Transaction, User
from chronos.services import key_dates, timeline, transactions
from chronos.services.errors import NotFound, PermissionDenied, ValidationFailed
from tests.factories import World, event_kinds, make_transaction

TODAY = date(2024, 1, 20)  # a Saturday, between the inspection and appraisal deadlines

GENERIC = {
    "earnest_money": date(2024, 1, 16),  # +3 = Sat 13 Jan → Mon 15 Jan is MLK Day → Tue 16
    "inspection": date(2024, 1, 22),  # +10 = Sat 20 Jan → Mon 22
    "appraisal": date(2024, 1, 29),  # +17 = Sat 27 Jan → Mon 29
    "loan_approval": date(2024, 1, 31),  # +21 = Wed 31 Jan
    "closing": date(2024, 2, 20),  # the closing date, a Tuesday
    "final_walkthrough": date(2024, 2, 19),  # 1 day before closing; no weekend rule
}


def _apply(db: Session, actor: User, txn: Transaction, preset: str = "generic_financed") -> None:
    assert txn.id is not None
    key_dates.apply_preset(db, actor, txn.id, preset)
    db.commit()


def _stored(db: Session, txn: Transaction) -> dict[str, date | None]:
    rows = db.exec(select(KeyDate).where(KeyDate.transaction_id == txn.id)).all()
    return {r.key: r.day for r in rows}


def _last_event(db: Session, txn: Transaction) -> Event:
    event = db.exec(
        select(Event).where(Event.transaction_id == txn.id).order_by(Event.id.desc())  # type: ignore[union-attr]
    ).first()
    assert event is not None
    return event


# ---------------------------------------------------------------- applying a preset


def test_apply_preset_computes_the_expected_dates(db: Session, world: World) -> None:
    _apply(db, world.agent, world.deal)
    assert _stored(db, world.deal) == GENERIC
    rows = key_dates.list_key_dates(db, world.agent, world.deal.id or 0, today=TODAY)
    assert [r.key for r in rows] == list(GENERIC)
    earnest = rows[0]
    assert earnest.date == "2024-01-16"
    assert earnest.date_label == "Tue 16 Jan 2024"
    assert earnest.explanation == (
        "Earnest money due Tue 16 Jan 2024: 3 calendar days after the effective date "
        "(Wed 10 Jan), moved from Sat 13 Jan to the next business day"
    )
    assert (earnest.days_left, earnest.overdue, earnest.due_soon) == (-4, True, False)
    assert earnest.days_label == "4 days ago"
    inspection = rows[1]
    assert (inspection.days_left, inspection.days_label) == (2, "in 2 days")
    assert (inspection.overdue, inspection.due_soon) == (False, True)
    appraisal = rows[2]
    assert (appraisal.overdue, appraisal.due_soon) == (False, False)
    assert not any(r.is_overridden for r in rows)
    assert event_kinds(db, world.deal.id)[-1] == "key_dates_applied"
    assert "Financed purchase (generic): 6 dates" in _last_event(db, world.deal).summary


def test_cutoff_times_are_in_the_organizations_zone(db: Session, world: World) -> None:
    _apply(db, world.agent, world.deal, "tx_trec")
    option = db.exec(
        select(KeyDate).where(
            KeyDate.transaction_id == world.deal.id, KeyDate.key == "option_period"
        )
    ).one()
    # +10 = Sat 20 Jan → Mon 22 Jan, ends 5:00 pm in New York (EST, UTC-5) = 22:00 UTC.
    assert option.computed_date == date(2024, 1, 22)
    assert option.due_at == datetime(2024, 1, 22, 22, 0, tzinfo=UTC)
    rows = key_dates.list_key_dates(db, world.agent, world.deal.id or 0, today=TODAY)
    assert rows[1].date_label == "Mon 22 Jan 2024, 5:00 pm"


def test_applying_again_replaces_the_schedule(db: Session, world: World) -> None:
    _apply(db, world.agent, world.deal)
    _apply(db, world.coordinator, world.deal, "tx_trec")
    assert set(_stored(db, world.deal)) == {"earnest_money", "option_period", "closing"}
    assert "(replaced 6)" in _last_event(db, world.deal).summary


def test_no_dates_listed_before_a_preset_is_applied(db: Session, world: World) -> None:
    assert key_dates.list_key_dates(db, world.agent, world.deal.id or 0, today=TODAY) == []


def test_an_unknown_preset_is_refused(db: Session, world: World) -> None:
    with pytest.raises(ValidationFailed) as err:
        key_dates.apply_preset(db, world.agent, world.deal.id or 0, "atlantis")
    assert "preset" in err.value.errors


def test_a_missing_anchor_saves_nothing(db: Session, world: World) -> None:
    # other_deal has no effective or closing date: the engine's message, nothing saved.
    before = event_kinds(db, world.other_deal.id)
    with pytest.raises(ValidationFailed) as err:
        key_dates.apply_preset(db, world.agent2, world.other_deal.id or 0, "generic_financed")
    assert err.value.errors == {
        "effective_date": "Effective date is not set, so Earnest money due cannot be computed"
    }
    db.rollback()
    assert _stored(db, world.other_deal) == {}
    assert event_kinds(db, world.other_deal.id) == before


def test_create_transaction_can_apply_a_preset(db: Session, world: World) -> None:
    txn = make_transaction(
        db,
        world.agent,
        effective_date="2025-06-02",  # a Monday
        closing_date="2025-07-03",  # Thursday; Fri 4 Jul 2025 is Independence Day
        deadline_preset="generic_financed",
    )
    db.commit()
    stored = _stored(db, txn)
    assert stored["earnest_money"] == date(2025, 6, 5)
    assert stored["inspection"] == date(2025, 6, 12)
    assert stored["closing"] == date(2025, 7, 3)
    assert stored["final_walkthrough"] == date(2025, 7, 2)
    # The dates first, then the stage's checklist (whose due dates count from them).
    assert event_kinds(db, txn.id)[-2:] == ["key_dates_applied", "checklist_applied"]


def test_create_transaction_refuses_an_unknown_preset(db: Session, world: World) -> None:
    with pytest.raises(ValidationFailed) as err:
        make_transaction(db, world.agent, deadline_preset="nope")
    assert "deadline_preset" in err.value.errors


def test_create_transaction_with_a_preset_but_no_dates_saves_nothing(
    db: Session, world: World
) -> None:
    count = len(db.exec(select(Transaction)).all())
    with pytest.raises(ValidationFailed) as err:
        make_transaction(db, world.agent, deadline_preset="generic_financed")
    assert "effective_date" in err.value.errors
    db.rollback()
    assert len(db.exec(select(Transaction)).all()) == count


# ---------------------------------------------------------------- anchors move


def test_changing_the_closing_date_moves_dependent_dates(db: Session, world: World) -> None:
    _apply(db, world.agent, world.deal)
    transactions.update_transaction(
        db, world.agent, world.deal.id or 0, {"closing_date": "2024-02-24"}
    )
    db.commit()
    stored = _stored(db, world.deal)
    # Sat 24 Feb → closing on Mon 26 Feb; walkthrough the day before (Sun 25 Feb, no rule).
    assert stored["closing"] == date(2024, 2, 26)
    assert stored["final_walkthrough"] == date(2024, 2, 25)
    assert stored["inspection"] == GENERIC["inspection"]  # counted from the effective date
    assert event_kinds(db, world.deal.id)[-2:] == ["dates_changed", "key_dates_moved"]
    event = _last_event(db, world.deal)
    assert event.summary == (
        "Key dates moved: Closing: Tue 20 Feb 2024 → Mon 26 Feb 2024; "
        "Final walkthrough: Mon 19 Feb 2024 → Sun 25 Feb 2024"
    )
    assert event.data == {
        "moved": {
            "closing": ["2024-02-20", "2024-02-26"],
            "final_walkthrough": ["2024-02-19", "2024-02-25"],
        }
    }


def test_other_edits_leave_key_dates_alone(db: Session, world: World) -> None:
    _apply(db, world.agent, world.deal)
    transactions.update_transaction(db, world.agent, world.deal.id or 0, {"city": "Bangor"})
    db.commit()
    assert _stored(db, world.deal) == GENERIC
    assert "key_dates_moved" not in event_kinds(db, world.deal.id)


def test_clearing_an_anchor_dates_count_from_is_refused_and_saves_nothing(
    db: Session, world: World
) -> None:
    _apply(db, world.agent, world.deal)
    with pytest.raises(ValidationFailed) as err:
        transactions.update_transaction(db, world.agent, world.deal.id or 0, {"closing_date": ""})
    assert err.value.errors == {
        "closing_date": "Closing date is not set, so Closing cannot be computed"
    }
    db.rollback()
    assert db.get(Transaction, world.deal.id).closing_date == date(2024, 2, 20)  # type: ignore[union-attr]
    assert _stored(db, world.deal) == GENERIC


def test_preview_lists_moves_without_saving(db: Session, world: World) -> None:
    _apply(db, world.agent, world.deal)
    kinds = event_kinds(db, world.deal.id)
    moves = key_dates.preview_anchor_change(
        db, world.agent, world.deal.id or 0, "2024-01-11", "2024-02-20"
    )
    by_key = {m.key: m for m in moves}
    # +3 from Thu 11 Jan = Sun 14 → MLK Day → Tue 16: unchanged, so not listed.
    assert "earnest_money" not in by_key
    assert by_key["loan_approval"].text == "Loan approval due: Wed 31 Jan 2024 → Thu 1 Feb 2024"
    db.commit()
    assert _stored(db, world.deal) == GENERIC
    assert db.get(Transaction, world.deal.id).effective_date == date(2024, 1, 10)  # type: ignore[union-attr]
    assert event_kinds(db, world.deal.id) == kinds


def test_preview_validates_its_input(db: Session, world: World) -> None:
    _apply(db, world.agent, world.deal)
    with pytest.raises(ValidationFailed) as err:
        key_dates.preview_anchor_change(
            db, world.agent, world.deal.id or 0, "2024-03-01", "2024-02-20"
        )
    assert "closing_date" in err.value.errors
    with pytest.raises(ValidationFailed) as err:
        key_dates.preview_anchor_change(db, world.agent, world.deal.id or 0, "soon", "2024-02-20")
    assert "effective_date" in err.value.errors


# ---------------------------------------------------------------- overrides


def test_an_override_is_kept_marked_and_moves_dependents(db: Session, world: World) -> None:
    _apply(db, world.agent, world.deal)
    moves = key_dates.override_key_date(
        db, world.coordinator, world.deal.id or 0, "closing", "2024-02-23", "Seller asked"
    )
    db.commit()
    assert [m.text for m in moves] == [
        "Closing: Tue 20 Feb 2024 → Fri 23 Feb 2024",
        "Final walkthrough: Mon 19 Feb 2024 → Thu 22 Feb 2024",
    ]
    row = db.exec(
        select(KeyDate).where(KeyDate.transaction_id == world.deal.id, KeyDate.key == "closing")
    ).one()
    assert (row.computed_date, row.override_date, row.override_reason) == (
        date(2024, 2, 20),
        date(2024, 2, 23),
        "Seller asked",
    )
    listed = {
        r.key: r for r in key_dates.list_key_dates(db, world.agent, world.deal.id or 0, today=TODAY)
    }
    closing = listed["closing"]
    assert closing.is_overridden and closing.date == "2024-02-23"
    assert closing.computed_label == "Tue 20 Feb 2024"
    assert closing.override_reason == "Seller asked"
    assert closing.explanation.startswith("Closing Fri 23 Feb 2024: overridden (Seller asked);")
    assert event_kinds(db, world.deal.id)[-1] == "key_date_overridden"

    # The override survives an anchor change; the computed value still follows the rule.
    transactions.update_transaction(
        db, world.agent, world.deal.id or 0, {"closing_date": "2024-02-27"}
    )
    db.commit()
    db.refresh(row)
    assert (row.computed_date, row.override_date) == (date(2024, 2, 27), date(2024, 2, 23))
    assert _stored(db, world.deal)["final_walkthrough"] == date(2024, 2, 22)

    # Removing the override puts the rule's value back.
    key_dates.override_key_date(db, world.agent, world.deal.id or 0, "closing", "", "")
    db.commit()
    assert _stored(db, world.deal)["closing"] == date(2024, 2, 27)
    assert event_kinds(db, world.deal.id)[-1] == "key_date_override_removed"


def test_an_override_needs_a_reason_and_a_known_key(db: Session, world: World) -> None:
    _apply(db, world.agent, world.deal)
    with pytest.raises(ValidationFailed) as err:
        key_dates.override_key_date(
            db, world.agent, world.deal.id or 0, "closing", "2024-02-23", " "
        )
    assert "reason" in err.value.errors
    with pytest.raises(ValidationFailed):
        key_dates.override_key_date(db, world.agent, world.deal.id or 0, "closing", "someday", "x")
    with pytest.raises(NotFound):
        key_dates.override_key_date(db, world.agent, world.deal.id or 0, "nope", "2024-02-23", "x")
    db.rollback()
    assert _stored(db, world.deal) == GENERIC


# ---------------------------------------------------------------- who sees and changes what


@pytest.mark.parametrize("who", ["client", "attorney", "lender"])
def test_outside_parties_see_only_shared_dates(db: Session, world: World, who: str) -> None:
    _apply(db, world.agent, world.deal)
    key_dates.override_key_date(
        db, world.agent, world.deal.id or 0, "closing", "2024-02-23", "internal note"
    )
    key_dates.set_shared(db, world.agent, world.deal.id or 0, "loan_approval", False)
    db.commit()
    party = world.user(who)
    rows = key_dates.list_key_dates(db, party, world.deal.id or 0, today=TODAY)
    assert [r.key for r in rows] == [k for k in GENERIC if k != "loan_approval"]
    closing = next(r for r in rows if r.key == "closing")
    assert closing.override_reason == "" and "internal note" not in closing.explanation
    # Staff still see every date.
    staff_rows = key_dates.list_key_dates(db, world.agent, world.deal.id or 0, today=TODAY)
    assert len(staff_rows) == 6
    # Key-date events are staff-only timeline entries.
    shared = timeline.list_events(db, party, world.deal.id or 0).items
    assert not any(e.kind.startswith("key_date") for e in shared)


@pytest.mark.parametrize("who", ["client", "attorney", "lender"])
def test_outside_parties_cannot_apply_or_override(db: Session, world: World, who: str) -> None:
    _apply(db, world.agent, world.deal)
    party = world.user(who)
    txn_id = world.deal.id or 0
    with pytest.raises(PermissionDenied):
        key_dates.apply_preset(db, party, txn_id, "tx_trec")
    with pytest.raises(PermissionDenied):
        key_dates.override_key_date(db, party, txn_id, "closing", "2024-02-23", "x")
    with pytest.raises(PermissionDenied):
        key_dates.preview_anchor_change(db, party, txn_id, "2024-01-11", "2024-02-20")
    with pytest.raises(PermissionDenied):
        key_dates.set_shared(db, party, txn_id, "closing", False)


@pytest.mark.parametrize("who", ["agent2", "outsider_agent", "outsider_admin", "client2"])
def test_others_get_not_found(db: Session, world: World, who: str) -> None:
    _apply(db, world.agent, world.deal)
    actor = world.user(who)
    txn_id = world.deal.id or 0
    with pytest.raises(NotFound):
        key_dates.list_key_dates(db, actor, txn_id, today=TODAY)
    with pytest.raises(NotFound):
        key_dates.apply_preset(db, actor, txn_id, "tx_trec")
    with pytest.raises(NotFound):
        key_dates.override_key_date(db, actor, txn_id, "closing", "2024-02-23", "x")
    with pytest.raises(NotFound):
        key_dates.preview_anchor_change(db, actor, txn_id, "2024-01-11", "2024-02-20")
    db.rollback()
    assert _stored(db, world.deal) == GENERIC


def test_admin_and_assigned_coordinator_may_apply(db: Session, world: World) -> None:
    _apply(db, world.admin, world.deal, "tx_trec")
    _apply(db, world.coordinator, world.deal)
    assert _stored(db, world.deal) == GENERIC


# ---------------------------------------------------------------- rules round-trip


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_rules_round_trip_through_json(preset: str) -> None:
    for rule in PRESETS[preset].rules:
        assert key_dates.rule_from_json(rule.key, rule.label, key_dates.rule_to_json(rule)) == rule
    entered = EnteredDate("closing", "Closing", date(2025, 6, 12))
    assert (
        key_dates.rule_from_json("closing", "Closing", key_dates.rule_to_json(entered)) == entered
    )


# ---------------------------------------------------------------- finished deals and the portal


def test_a_closed_deal_has_nothing_overdue(db: Session, world: World) -> None:
    from chronos.pages.portal import portal_key_dates

    _apply(db, world.agent, world.deal)
    transactions.change_stage(db, world.agent, world.deal.id or 0, "closed")
    db.commit()
    rows = key_dates.list_key_dates(db, world.client, world.deal.id or 0, today=date(2024, 3, 1))
    assert rows and not any(r.overdue or r.due_soon for r in rows)
    portal = portal_key_dates(rows, open_stage=False)
    assert [p.label for p in portal] == [r.label for r in rows]
    assert all(p.when == "" for p in portal)
    assert portal[0].date_label == "Tue 16 Jan 2024"
