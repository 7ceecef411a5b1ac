"""Worked examples from real contract patterns (DOMAIN.md), with exact dates around holidays.

Reference calendar (US federal, observed): Thanksgiving Thu 26 Nov 2026; Christmas Fri 25 Dec 2026;
New Year Fri 1 Jan 2027; Independence Day Sat 4 Jul 2026 observed Fri 3 Jul 2026, Sun 4 Jul 2027
observed Mon 5 Jul 2027; MLK Day Mon 18 Jan 2027; New Year Sat 1 Jan 2028 observed Fri 31 Dec 2027.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta

import pytest

from chronos.deadlines import (
    CALIFORNIA,
    COLORADO,
    FLORIDA,
    GENERIC_FINANCED,
    NEW_JERSEY,
    TEXAS,
    HolidayCalendar,
    Preset,
    Source,
    TransactionAnchors,
    compute_schedule,
)

CAL = HolidayCalendar.us_federal()
FIVE_PM = time(17, 0)
END = time(23, 59)


@dataclass(frozen=True)
class Case:
    id: str
    preset: Preset
    key: str
    effective: date
    expected: date
    at: time | None = None
    closing: date | None = None
    effective_time: time | None = None
    tz: str = "America/New_York"


CASES = [
    # Texas: calendar days, off a weekend/holiday to the next day; option period ends 5:00 pm.
    Case("tx-earnest-lands-on-july-4th-saturday", TEXAS, "earnest_money",
         date(2026, 7, 1), date(2026, 7, 6), tz="America/Chicago"),
    Case("tx-option-lands-on-july-4th-observed-friday", TEXAS, "option_period",
         date(2026, 6, 23), date(2026, 7, 6), FIVE_PM, tz="America/Chicago"),
    Case("tx-option-lands-on-thanksgiving", TEXAS, "option_period",
         date(2026, 11, 16), date(2026, 11, 27), FIVE_PM, tz="America/Chicago"),
    Case("tx-earnest-lands-on-christmas", TEXAS, "earnest_money",
         date(2026, 12, 22), date(2026, 12, 28), tz="America/Chicago"),
    Case("tx-option-plain-weekday", TEXAS, "option_period",
         date(2026, 1, 2), date(2026, 1, 12), FIVE_PM, tz="America/Chicago"),
    Case("tx-option-lands-on-sunday", TEXAS, "option_period",
         date(2026, 1, 1), date(2026, 1, 12), FIVE_PM, tz="America/Chicago"),
    # Florida: calendar days; a weekend/holiday deadline moves to 5:00 pm of the next business day.
    Case("fl-deposit-lands-on-new-year", FLORIDA, "earnest_money",
         date(2026, 12, 29), date(2027, 1, 4), FIVE_PM),
    Case("fl-deposit-plain-weekday-runs-to-end-of-day", FLORIDA, "earnest_money",
         date(2026, 3, 2), date(2026, 3, 5), END),
    Case("fl-inspection-from-juneteenth-lands-on-july-4th", FLORIDA, "inspection",
         date(2026, 6, 19), date(2026, 7, 6), FIVE_PM),
    Case("fl-title-evidence-saturday-moves-earlier", FLORIDA, "title_evidence",
         date(2026, 8, 10), date(2026, 9, 11), closing=date(2026, 9, 17)),
    Case("fl-title-evidence-july-3rd-observed-moves-earlier", FLORIDA, "title_evidence",
         date(2026, 6, 1), date(2026, 7, 2), closing=date(2026, 7, 8)),
    Case("fl-title-evidence-thanksgiving-moves-earlier", FLORIDA, "title_evidence",
         date(2026, 10, 20), date(2026, 11, 25), closing=date(2026, 12, 1)),
    Case("fl-closing-on-christmas-moves-to-monday", FLORIDA, "closing",
         date(2026, 11, 20), date(2026, 12, 28), closing=date(2026, 12, 25)),
    Case("fl-title-evidence-counts-from-moved-closing", FLORIDA, "title_evidence",
         date(2026, 11, 20), date(2026, 12, 23), closing=date(2026, 12, 25)),
    # California: 3 business days for the deposit; 17/17/21 calendar days rolling forward.
    Case("ca-deposit-skips-thanksgiving", CALIFORNIA, "earnest_money",
         date(2026, 11, 23), date(2026, 11, 27), tz="America/Los_Angeles"),
    Case("ca-deposit-skips-christmas-and-weekend", CALIFORNIA, "earnest_money",
         date(2026, 12, 23), date(2026, 12, 29), tz="America/Los_Angeles"),
    Case("ca-deposit-skips-new-year-observed-in-december", CALIFORNIA, "earnest_money",
         date(2027, 12, 29), date(2028, 1, 4), tz="America/Los_Angeles"),
    Case("ca-inspection-lands-on-day-after-christmas", CALIFORNIA, "inspection",
         date(2026, 12, 9), date(2026, 12, 28), END, tz="America/Los_Angeles"),
    Case("ca-loan-lands-on-new-year", CALIFORNIA, "loan_approval",
         date(2026, 12, 11), date(2027, 1, 4), END, tz="America/Los_Angeles"),
    Case("ca-appraisal-plain-weekday", CALIFORNIA, "appraisal",
         date(2026, 6, 8), date(2026, 6, 25), END, tz="America/Los_Angeles"),
    Case("ca-walkthrough-on-veterans-day-does-not-move", CALIFORNIA, "final_walkthrough",
         date(2026, 10, 1), date(2026, 11, 11), closing=date(2026, 11, 16),
         tz="America/Los_Angeles"),
    Case("ca-closing-on-july-4th-moves-to-monday", CALIFORNIA, "closing",
         date(2026, 6, 1), date(2026, 7, 6), closing=date(2026, 7, 4), tz="America/Los_Angeles"),
    Case("ca-walkthrough-counts-from-moved-closing", CALIFORNIA, "final_walkthrough",
         date(2026, 6, 1), date(2026, 7, 1), closing=date(2026, 7, 4), tz="America/Los_Angeles"),
    # Colorado: business days for earnest money, deadlines end 11:59 pm.
    Case("co-earnest-from-july-3rd-observed", COLORADO, "earnest_money",
         date(2026, 7, 3), date(2026, 7, 8), END, tz="America/Denver"),
    Case("co-inspection-lands-on-july-4th-observed-monday", COLORADO, "inspection",
         date(2027, 6, 25), date(2027, 7, 6), END, tz="America/Denver"),
    Case("co-inspection-lands-on-sunday-after-new-year", COLORADO, "inspection",
         date(2026, 12, 24), date(2027, 1, 4), END, tz="America/Denver"),
    # New Jersey: 3 business days of attorney review; delivery after 5 pm counts as next day.
    Case("nj-review-skips-thanksgiving", NEW_JERSEY, "attorney_review",
         date(2026, 11, 23), date(2026, 11, 27), effective_time=time(10, 0)),
    Case("nj-review-late-delivery-counts-from-next-day", NEW_JERSEY, "attorney_review",
         date(2026, 11, 23), date(2026, 11, 30), effective_time=time(18, 0)),
    Case("nj-review-delivery-at-exactly-5pm-is-same-day", NEW_JERSEY, "attorney_review",
         date(2026, 11, 23), date(2026, 11, 27), effective_time=FIVE_PM),
    Case("nj-review-skips-new-year", NEW_JERSEY, "attorney_review",
         date(2026, 12, 30), date(2027, 1, 5), effective_time=time(9, 0)),
    Case("nj-inspection-chained-on-review-lands-on-mlk-day", NEW_JERSEY, "inspection",
         date(2027, 1, 5), date(2027, 1, 19), effective_time=time(9, 0)),
    # Generic financed purchase.
    Case("generic-walkthrough-day-before-closing-even-sunday", GENERIC_FINANCED,
         "final_walkthrough", date(2026, 11, 20), date(2027, 1, 3), closing=date(2027, 1, 4)),
    Case("generic-loan-approval-21-days", GENERIC_FINANCED, "loan_approval",
         date(2026, 11, 20), date(2026, 12, 11)),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_worked_example(case: Case) -> None:
    closing = case.closing or case.effective + timedelta(days=60)
    anchors = TransactionAnchors(case.effective, closing, effective_time=case.effective_time)
    schedule = compute_schedule(case.preset.rules, anchors, CAL, case.tz)
    item = schedule[case.key]
    assert item.source is Source.COMPUTED
    assert (item.day, item.at) == (case.expected, case.at)
    assert item.due_at.tzinfo is not None
    assert str(item.due_at.tzinfo) == case.tz


def test_option_period_deadline_is_five_pm_central_time() -> None:
    anchors = TransactionAnchors(date(2026, 11, 16), date(2026, 12, 30))
    item = compute_schedule(TEXAS.rules, anchors, CAL, "America/Chicago")["option_period"]
    assert item.due_at.isoformat() == "2026-11-27T17:00:00-06:00"


def test_date_without_cutoff_is_due_at_end_of_day() -> None:
    anchors = TransactionAnchors(date(2026, 7, 1), date(2026, 8, 30))
    item = compute_schedule(TEXAS.rules, anchors, CAL, "America/Chicago")["earnest_money"]
    assert item.due_at.isoformat() == "2026-07-06T23:59:59-05:00"


def test_brokerage_extra_holiday_moves_a_deadline() -> None:
    # The day after Thanksgiving is not federal; a brokerage closed that day adds it.
    brokerage = HolidayCalendar.us_federal({date(2026, 11, 27): "Day after Thanksgiving"})
    anchors = TransactionAnchors(date(2026, 11, 16), date(2026, 12, 30))
    item = compute_schedule(TEXAS.rules, anchors, brokerage, "America/Chicago")["option_period"]
    assert item.day == date(2026, 11, 30)
