"""Holiday calendar, schedule diffs and presets."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from chronos.deadlines import (
    CALIFORNIA,
    EFFECTIVE_DATE,
    FLORIDA,
    NEW_JERSEY,
    PRESETS,
    TEXAS,
    ComputedRule,
    DateChange,
    HolidayCalendar,
    Override,
    TransactionAnchors,
    compute_schedule,
    diff_schedules,
)

CAL = HolidayCalendar.us_federal()


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2026, 7, 3), "Independence Day (observed)"),
        (date(2026, 7, 4), "Independence Day"),
        (date(2027, 7, 5), "Independence Day (observed)"),
        (date(2026, 11, 26), "Thanksgiving Day"),
        (date(2026, 12, 25), "Christmas Day"),
        (date(2027, 12, 24), "Christmas Day (observed)"),
        (date(2027, 12, 31), "New Year's Day (observed)"),
        (date(2026, 6, 19), "Juneteenth National Independence Day"),
        (date(2027, 1, 18), "Martin Luther King Jr. Day"),
        (date(2026, 11, 27), None),
        (date(2026, 12, 24), None),
    ],
)
def test_us_federal_holidays_with_observed_dates(day: date, name: str | None) -> None:
    assert CAL.holiday_name(day) == name


def test_business_days() -> None:
    assert CAL.is_business_day(date(2026, 11, 27))
    assert not CAL.is_business_day(date(2026, 11, 26))
    assert not CAL.is_business_day(date(2026, 11, 28))
    assert CAL.next_business_day(date(2026, 7, 3)) == date(2026, 7, 6)
    assert CAL.previous_business_day(date(2026, 7, 5)) == date(2026, 7, 2)
    assert CAL.next_business_day(date(2026, 7, 6)) == date(2026, 7, 6)
    assert CAL.add_business_days(date(2026, 12, 23), 3) == date(2026, 12, 29)
    assert CAL.add_business_days(date(2026, 12, 29), -3) == date(2026, 12, 23)
    assert CAL.add_business_days(date(2026, 12, 26), 0) == date(2026, 12, 26)


def test_brokerage_extra_dates() -> None:
    extra = HolidayCalendar.us_federal({date(2026, 11, 27)})
    assert extra.holiday_name(date(2026, 11, 27)) == "brokerage holiday"
    assert extra.extra_dates == frozenset({date(2026, 11, 27)})
    named = CAL.with_extra_dates({date(2026, 12, 24): "Christmas Eve"})
    assert named.holiday_name(date(2026, 12, 24)) == "Christmas Eve"
    assert named.is_holiday(date(2026, 12, 25))
    assert HolidayCalendar.us_federal([date(2026, 12, 24)]) == HolidayCalendar.us_federal(
        {date(2026, 12, 24)}
    )
    assert list(named.holidays_in(2026))[-2:] == [date(2026, 12, 24), date(2026, 12, 25)]
    with pytest.raises(TypeError):
        HolidayCalendar.us_federal([datetime(2026, 1, 1, 9, 0)])


def test_weekends_only_calendar_has_no_public_holidays() -> None:
    plain = HolidayCalendar.weekends_only()
    assert plain.is_business_day(date(2026, 12, 25))
    assert not plain.is_business_day(date(2026, 12, 26))


def _florida(effective: date, closing: date | None) -> TransactionAnchors:
    return TransactionAnchors(effective, closing)


def _fl(closing: date) -> list[DateChange]:
    return diff_schedules(
        compute_schedule(
            FLORIDA.rules, _florida(date(2026, 6, 1), date(2026, 7, 8)), CAL, "America/New_York"
        ),
        compute_schedule(
            FLORIDA.rules, _florida(date(2026, 6, 1), closing), CAL, "America/New_York"
        ),
    )


def test_diff_lists_every_date_that_moved_when_the_closing_changes() -> None:
    changes = _fl(date(2026, 7, 13))
    assert changes == [
        DateChange("closing", "Closing", date(2026, 7, 8), date(2026, 7, 13)),
        DateChange("title_evidence", "Title evidence due", date(2026, 7, 2), date(2026, 7, 8)),
    ]
    key, label, before, after = changes[0]
    assert (key, label, before, after) == (
        "closing",
        "Closing",
        date(2026, 7, 8),
        date(2026, 7, 13),
    )
    assert changes[1].describe() == "Title evidence due: Thu 2 Jul 2026 → Wed 8 Jul 2026"


def test_diff_leaves_out_dates_that_did_not_move() -> None:
    # Closing Wed 8 Jul → Fri 10 Jul: 5 days before is Sun 5 Jul, and with Fri 3 Jul observed as
    # Independence Day the previous business day is still Thu 2 Jul.
    assert _fl(date(2026, 7, 10)) == [
        DateChange("closing", "Closing", date(2026, 7, 8), date(2026, 7, 10)),
    ]


def test_diff_of_a_schedule_with_itself_is_empty() -> None:
    schedule = compute_schedule(
        CALIFORNIA.rules, _florida(date(2026, 6, 1), date(2026, 7, 8)), CAL, "America/Los_Angeles"
    )
    assert diff_schedules(schedule, schedule) == []


def test_diff_reports_dates_that_appear_and_disappear() -> None:
    rules = FLORIDA.rules
    before = compute_schedule(
        rules, _florida(date(2026, 6, 1), None), CAL, "America/New_York", allow_missing=True
    )
    after = compute_schedule(rules, _florida(date(2026, 6, 1), date(2026, 7, 8)), CAL, "UTC")
    changes = diff_schedules(before, after)
    assert [(c.key, c.old, c.new) for c in changes] == [
        ("closing", None, date(2026, 7, 8)),
        ("title_evidence", None, date(2026, 7, 2)),
    ]
    assert changes[0].describe() == "Closing: not set → Wed 8 Jul 2026"
    assert [(c.key, c.old, c.new) for c in diff_schedules(after, before)] == [
        ("closing", date(2026, 7, 8), None),
        ("title_evidence", date(2026, 7, 2), None),
    ]
    fewer = compute_schedule(rules[:1], _florida(date(2026, 6, 1), None), CAL, "UTC")
    assert [c.key for c in diff_schedules(after, fewer)] == [
        "inspection",
        "loan_approval",
        "closing",
        "title_evidence",
    ]


def test_diff_compares_overridden_values() -> None:
    rules = [ComputedRule("inspection", "Inspection", EFFECTIVE_DATE, 10)]
    anchors = TransactionAnchors(date(2026, 3, 2))
    plain = compute_schedule(rules, anchors, CAL, "UTC")
    overridden = compute_schedule(
        rules, anchors, CAL, "UTC", overrides={"inspection": Override(date(2026, 3, 13))}
    )
    assert diff_schedules(plain, overridden) == [
        DateChange("inspection", "Inspection", date(2026, 3, 12), date(2026, 3, 13))
    ]


@pytest.mark.parametrize("preset", list(PRESETS.values()), ids=list(PRESETS))
def test_every_preset_computes_and_has_caveats(preset: object) -> None:
    from chronos.deadlines import Preset

    assert isinstance(preset, Preset)
    assert preset.caveats
    assert len(set(preset.keys())) == len(preset.rules)
    assert preset.keys().count("closing") == 1
    effective = date(2026, 11, 20)
    anchors = TransactionAnchors(effective, effective + timedelta(days=40))
    schedule = compute_schedule(preset.rules, anchors, CAL, "America/New_York")
    assert schedule.keys() == preset.keys()


def test_state_presets_carry_the_domain_numbers() -> None:
    assert len(PRESETS) >= 4
    assert {p.state for p in PRESETS.values()} >= {"TX", "CA", "FL", "NJ"}
    by_key = {rule.key: rule for rule in TEXAS.rules}
    assert by_key["earnest_money"].offset_days == 3
    assert by_key["option_period"].cutoff is not None
    assert by_key["option_period"].cutoff.hour == 17
    ca = {rule.key: rule.offset_days for rule in CALIFORNIA.rules}
    assert (ca["inspection"], ca["appraisal"], ca["loan_approval"], ca["final_walkthrough"]) == (
        17,
        17,
        21,
        5,
    )
    assert {rule.key: rule.offset_days for rule in NEW_JERSEY.rules}["attorney_review"] == 3
