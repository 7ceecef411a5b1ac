"""Preset rule sets: a generic financed purchase and state-flavoured ones, as plain data.

These are starting points a brokerage copies and adjusts, not legal advice: contract forms change
and most numbers are blanks the parties fill in. Every preset counts from the effective
(acceptance) date as day 0 and from the closing date entered on the transaction; each includes a
``closing`` key date (the closing date moved off a weekend/holiday) so that dates counted "before
closing" use the day the closing really happens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from chronos.deadlines.rules import (
    CLOSING_DATE,
    EFFECTIVE_DATE,
    Anchor,
    ComputedRule,
    DayType,
    Direction,
    WeekendRule,
)

FIVE_PM = time(17, 0)
END_OF_DAY = time(23, 59)

NEXT = WeekendRule.NEXT_BUSINESS_DAY
PREVIOUS = WeekendRule.PREVIOUS_BUSINESS_DAY
NO_MOVE = WeekendRule.NONE
BUSINESS = DayType.BUSINESS
BEFORE = Direction.BEFORE
CLOSING = Anchor.key_date("closing")


@dataclass(frozen=True)
class Preset:
    key: str
    name: str
    state: str | None
    rules: tuple[ComputedRule, ...]
    caveats: str

    def keys(self) -> list[str]:
        return [rule.key for rule in self.rules]


def _closing(weekend_rule: WeekendRule = NEXT) -> ComputedRule:
    return ComputedRule("closing", "Closing", CLOSING_DATE, 0, weekend_rule=weekend_rule)


GENERIC_FINANCED = Preset(
    key="generic_financed",
    name="Financed purchase (generic)",
    state=None,
    rules=(
        ComputedRule("earnest_money", "Earnest money due", EFFECTIVE_DATE, 3, weekend_rule=NEXT),
        ComputedRule("inspection", "Inspection period ends", EFFECTIVE_DATE, 10, weekend_rule=NEXT),
        ComputedRule(
            "appraisal", "Appraisal contingency ends", EFFECTIVE_DATE, 17, weekend_rule=NEXT
        ),
        ComputedRule("loan_approval", "Loan approval due", EFFECTIVE_DATE, 21, weekend_rule=NEXT),
        _closing(),
        ComputedRule("final_walkthrough", "Final walkthrough", CLOSING, 1, BEFORE),
    ),
    caveats=(
        "A typical 30-45 day financed purchase: calendar days from the effective date, deadlines on "
        "a weekend or federal holiday move to the next business day, walkthrough the day before "
        "closing (24-72 hours is usual). Replace every number with the contract's own."
    ),
)

TEXAS = Preset(
    key="tx_trec",
    name="Texas (TREC one-to-four family resale)",
    state="TX",
    rules=(
        ComputedRule(
            "earnest_money",
            "Earnest money and option fee due",
            EFFECTIVE_DATE,
            3,
            weekend_rule=NEXT,
        ),
        ComputedRule(
            "option_period",
            "Option period ends",
            EFFECTIVE_DATE,
            10,
            weekend_rule=NEXT,
            cutoff=FIVE_PM,
        ),
        _closing(),
    ),
    caveats=(
        "Texas counts calendar days; a deadline that falls on a Saturday, Sunday or legal holiday "
        "moves to the next day that is not one. The option period (7-10 days is usual) ends at "
        "5:00 pm local time where the property is; its length is a blank in the contract. Check the "
        "TREC form version in use: whether the option period itself is extended off a weekend has "
        "differed between versions, so set its weekend rule to match the form."
    ),
)

CALIFORNIA = Preset(
    key="ca_rpa",
    name="California (C.A.R. residential purchase agreement)",
    state="CA",
    rules=(
        ComputedRule(
            "earnest_money",
            "Earnest money deposit due",
            EFFECTIVE_DATE,
            3,
            day_type=BUSINESS,
        ),
        ComputedRule(
            "inspection",
            "Inspection contingency removal due",
            EFFECTIVE_DATE,
            17,
            weekend_rule=NEXT,
            cutoff=END_OF_DAY,
        ),
        ComputedRule(
            "appraisal",
            "Appraisal contingency removal due",
            EFFECTIVE_DATE,
            17,
            weekend_rule=NEXT,
            cutoff=END_OF_DAY,
        ),
        ComputedRule(
            "loan_approval",
            "Loan contingency removal due",
            EFFECTIVE_DATE,
            21,
            weekend_rule=NEXT,
            cutoff=END_OF_DAY,
        ),
        _closing(),
        ComputedRule("final_walkthrough", "Final walkthrough (earliest)", CLOSING, 5, BEFORE),
    ),
    caveats=(
        "California counts calendar days, but the deposit is due within 3 business days. "
        "Contingencies are not removed by the passing of time: the buyer must remove them in "
        "writing, so these dates are when removal is due, not when it happens. A closing (close of "
        "escrow) on a weekend or legal holiday moves to the next business day. The final "
        "walkthrough may take place up to 5 days before closing; the date shown is the earliest."
    ),
)

FLORIDA = Preset(
    key="fl_asis",
    name="Florida (FR/BAR AS IS residential contract)",
    state="FL",
    rules=(
        ComputedRule(
            "earnest_money",
            "Initial deposit due",
            EFFECTIVE_DATE,
            3,
            weekend_rule=NEXT,
            cutoff=END_OF_DAY,
            moved_cutoff=FIVE_PM,
        ),
        ComputedRule(
            "inspection",
            "Inspection period ends",
            EFFECTIVE_DATE,
            15,
            weekend_rule=NEXT,
            cutoff=END_OF_DAY,
            moved_cutoff=FIVE_PM,
        ),
        ComputedRule(
            "loan_approval",
            "Loan approval period ends",
            EFFECTIVE_DATE,
            30,
            weekend_rule=NEXT,
            cutoff=END_OF_DAY,
            moved_cutoff=FIVE_PM,
        ),
        _closing(),
        ComputedRule(
            "title_evidence",
            "Title evidence due",
            CLOSING,
            5,
            BEFORE,
            weekend_rule=PREVIOUS,
        ),
    ),
    caveats=(
        "Florida counts calendar days; any deadline that falls on a Saturday, Sunday or national "
        "legal holiday moves to 5:00 pm of the next business day (otherwise deadlines run to the "
        "end of the day). Title evidence is due at least 5 days before closing, counted backward "
        "from closing, so a weekend moves it earlier, never later. The 15-day inspection and "
        "30-day loan approval periods are the form's defaults; the parties may fill in others."
    ),
)

NEW_JERSEY = Preset(
    key="nj_attorney_review",
    name="New Jersey (realtor contract with attorney review)",
    state="NJ",
    rules=(
        ComputedRule(
            "attorney_review",
            "Attorney review ends",
            EFFECTIVE_DATE,
            3,
            day_type=BUSINESS,
            late_after=FIVE_PM,
        ),
        ComputedRule(
            "inspection",
            "Inspection contingency ends",
            Anchor.key_date("attorney_review"),
            10,
            weekend_rule=NEXT,
        ),
        ComputedRule(
            "loan_approval",
            "Mortgage commitment due",
            Anchor.key_date("attorney_review"),
            30,
            weekend_rule=NEXT,
        ),
        _closing(),
    ),
    caveats=(
        "New Jersey's 3-day attorney review runs 3 business days (weekends and legal holidays "
        "excluded) after both parties have received the fully signed contract: enter that delivery "
        "as the effective date and time. Delivery after 5:00 pm counts as the next day. Inspection "
        "and mortgage periods are commonly counted from the end of attorney review, and their "
        "lengths are blanks in the contract. State holidays are not in the federal calendar: add "
        "them (or use a NJ subdivision calendar) when they matter."
    ),
)

COLORADO = Preset(
    key="co_cbs",
    name="Colorado (contract to buy and sell, residential)",
    state="CO",
    rules=(
        ComputedRule(
            "earnest_money",
            "Earnest money due",
            EFFECTIVE_DATE,
            3,
            day_type=BUSINESS,
            cutoff=END_OF_DAY,
        ),
        ComputedRule(
            "inspection",
            "Inspection objection deadline",
            EFFECTIVE_DATE,
            10,
            weekend_rule=NEXT,
            cutoff=END_OF_DAY,
        ),
        _closing(),
    ),
    caveats=(
        "Colorado deadlines end at 11:59 pm in the property's time zone. Earnest money is due "
        "within 1-3 business days (3 here); inspection objection is commonly 7-10 days. Whether a "
        "deadline on a weekend or holiday is extended is a box the parties tick in the contract: "
        "this preset assumes it is extended to the next business day."
    ),
)

PRESETS: dict[str, Preset] = {
    preset.key: preset
    for preset in (GENERIC_FINANCED, TEXAS, CALIFORNIA, FLORIDA, NEW_JERSEY, COLORADO)
}
