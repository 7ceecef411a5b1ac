"""Plain-words explanations match exact strings."""

from __future__ import annotations

from datetime import date, time

import pytest

from chronos.deadlines import (
    CALIFORNIA,
    EFFECTIVE_DATE,
    FLORIDA,
    NEW_JERSEY,
    TEXAS,
    ComputedRule,
    EnteredDate,
    HolidayCalendar,
    Override,
    Preset,
    TransactionAnchors,
    WeekendRule,
    compute_schedule,
    explain,
    explain_schedule,
    format_day,
    format_time,
)

CAL = HolidayCalendar.us_federal()
INSPECTION = ComputedRule(
    "inspection",
    "Inspection ends",
    EFFECTIVE_DATE,
    10,
    weekend_rule=WeekendRule.NEXT_BUSINESS_DAY,
    cutoff=time(17, 0),
)


def _explain(
    preset: Preset,
    key: str,
    effective: date,
    closing: date,
    effective_time: time | None = None,
) -> str:
    anchors = TransactionAnchors(effective, closing, effective_time=effective_time)
    return explain(compute_schedule(preset.rules, anchors, CAL, "America/New_York")[key])


@pytest.mark.parametrize(
    ("preset", "key", "effective", "closing", "effective_time", "expected"),
    [
        (
            TEXAS, "option_period", date(2026, 1, 1), date(2026, 2, 13), None,
            "Option period ends Mon 12 Jan 2026, 5:00 pm: 10 calendar days after the effective "
            "date (Thu 1 Jan), moved from Sun 11 Jan to the next business day",
        ),
        (
            TEXAS, "option_period", date(2026, 11, 16), date(2026, 12, 30), None,
            "Option period ends Fri 27 Nov 2026, 5:00 pm: 10 calendar days after the effective "
            "date (Mon 16 Nov), moved from Thu 26 Nov (Thanksgiving Day) to the next business day",
        ),
        (
            TEXAS, "earnest_money", date(2026, 1, 1), date(2026, 2, 13), None,
            "Earnest money and option fee due Mon 5 Jan 2026: 3 calendar days after the effective "
            "date (Thu 1 Jan), moved from Sun 4 Jan to the next business day",
        ),
        (
            TEXAS, "earnest_money", date(2026, 1, 2), date(2026, 2, 13), None,
            "Earnest money and option fee due Mon 5 Jan 2026: 3 calendar days after the effective "
            "date (Fri 2 Jan)",
        ),
        (
            FLORIDA, "earnest_money", date(2026, 12, 29), date(2027, 2, 12), None,
            "Initial deposit due Mon 4 Jan 2027, 5:00 pm: 3 calendar days after the effective "
            "date (Tue 29 Dec 2026), moved from Fri 1 Jan (New Year's Day) to the next business "
            "day",
        ),
        (
            FLORIDA, "title_evidence", date(2026, 6, 1), date(2026, 7, 8), None,
            "Title evidence due Thu 2 Jul 2026: 5 calendar days before Closing (Wed 8 Jul), moved "
            "from Fri 3 Jul (Independence Day (observed)) to the previous business day",
        ),
        (
            FLORIDA, "closing", date(2026, 11, 20), date(2026, 12, 25), None,
            "Closing Mon 28 Dec 2026: the closing date (Fri 25 Dec, Christmas Day) moved to the "
            "next business day",
        ),
        (
            FLORIDA, "closing", date(2026, 11, 20), date(2026, 12, 22), None,
            "Closing Tue 22 Dec 2026: on the closing date (Tue 22 Dec)",
        ),
        (
            CALIFORNIA, "earnest_money", date(2026, 11, 23), date(2026, 12, 30), None,
            "Earnest money deposit due Fri 27 Nov 2026: 3 business days after the effective date "
            "(Mon 23 Nov)",
        ),
        (
            CALIFORNIA, "final_walkthrough", date(2026, 10, 1), date(2026, 11, 16), None,
            "Final walkthrough (earliest) Wed 11 Nov 2026: 5 calendar days before Closing "
            "(Mon 16 Nov)",
        ),
        (
            NEW_JERSEY, "attorney_review", date(2026, 11, 23), date(2026, 12, 30), time(18, 30),
            "Attorney review ends Mon 30 Nov 2026: 3 business days after the effective date "
            "(Mon 23 Nov, 6:30 pm, after 5:00 pm so counted from Tue 24 Nov)",
        ),
        (
            NEW_JERSEY, "attorney_review", date(2026, 11, 23), date(2026, 12, 30), time(9, 15),
            "Attorney review ends Fri 27 Nov 2026: 3 business days after the effective date "
            "(Mon 23 Nov, 9:15 am)",
        ),
        (
            NEW_JERSEY, "inspection", date(2027, 1, 5), date(2027, 3, 1), time(9, 0),
            "Inspection contingency ends Tue 19 Jan 2027: 10 calendar days after Attorney review "
            "ends (Fri 8 Jan), moved from Mon 18 Jan (Martin Luther King Jr. Day) to the next "
            "business day",
        ),
    ],
)  # fmt: skip
def test_explanations(
    preset: Preset,
    key: str,
    effective: date,
    closing: date,
    effective_time: time | None,
    expected: str,
) -> None:
    assert _explain(preset, key, effective, closing, effective_time) == expected


def test_entered_date_says_entered() -> None:
    rules = [EnteredDate("closing", "Closing", date(2026, 6, 12), time(10, 0))]
    schedule = compute_schedule(rules, TransactionAnchors(), CAL, "America/New_York")
    assert explain(schedule["closing"]) == "Closing Fri 12 Jun 2026, 10:00 am: entered"


def test_override_keeps_computed_value_in_the_explanation() -> None:
    schedule = compute_schedule(
        [INSPECTION],
        TransactionAnchors(effective_date=date(2026, 1, 1)),
        CAL,
        "America/Chicago",
        overrides={"inspection": Override(date(2026, 1, 14), note="seller agreed to extend")},
    )
    item = schedule["inspection"]
    assert item.is_overridden
    assert item.computed_day == date(2026, 1, 12)
    assert explain(item) == (
        "Inspection ends Wed 14 Jan 2026, 5:00 pm: overridden (seller agreed to extend); "
        "computed Mon 12 Jan 2026, 5:00 pm: 10 calendar days after the effective date "
        "(Thu 1 Jan), moved from Sun 11 Jan to the next business day"
    )


def test_override_without_computable_rule() -> None:
    schedule = compute_schedule(
        [INSPECTION],
        TransactionAnchors(),
        CAL,
        "America/Chicago",
        overrides={"inspection": Override(date(2026, 1, 14), time(12, 0))},
    )
    assert explain(schedule["inspection"]) == (
        "Inspection ends Wed 14 Jan 2026, 12:00 pm: overridden; the rule cannot be computed yet: "
        "Effective date is not set, so Inspection ends cannot be computed"
    )


def test_explain_schedule_covers_every_date_in_order() -> None:
    anchors = TransactionAnchors(date(2026, 11, 20), date(2026, 12, 26))
    texts = explain_schedule(compute_schedule(TEXAS.rules, anchors, CAL, "America/Chicago"))
    assert list(texts) == ["earnest_money", "option_period", "closing"]
    assert texts["closing"] == (
        "Closing Mon 28 Dec 2026: the closing date (Sat 26 Dec) moved to the next business day"
    )


def test_anchor_in_another_year_shows_its_year() -> None:
    anchors = TransactionAnchors(date(2026, 12, 24), date(2027, 2, 1))
    schedule = compute_schedule([INSPECTION], anchors, CAL, "America/Denver")
    assert explain(schedule["inspection"]) == (
        "Inspection ends Mon 4 Jan 2027, 5:00 pm: 10 calendar days after the effective date "
        "(Thu 24 Dec 2026), moved from Sun 3 Jan to the next business day"
    )


@pytest.mark.parametrize(
    ("at", "text"),
    [
        (time(0, 0), "12:00 am"),
        (time(0, 30), "12:30 am"),
        (time(9, 5), "9:05 am"),
        (time(12, 0), "12:00 pm"),
        (time(17, 0), "5:00 pm"),
        (time(23, 59), "11:59 pm"),
    ],
)
def test_format_time(at: time, text: str) -> None:
    assert format_time(at) == text


def test_format_day_is_locale_free() -> None:
    assert format_day(date(2027, 1, 12)) == "Tue 12 Jan 2027"
    assert format_day(date(2026, 1, 2), year=False) == "Fri 2 Jan"
