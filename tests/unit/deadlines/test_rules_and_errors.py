"""Refusals (typed errors with plain messages), chains, overrides and lenient computation."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from chronos.deadlines import (
    CLOSING_DATE,
    EFFECTIVE_DATE,
    FLORIDA,
    Anchor,
    AnchorKind,
    ComputedRule,
    CycleError,
    DayType,
    DeadlineRuleError,
    Direction,
    DuplicateKeyError,
    EnteredDate,
    HolidayCalendar,
    InvalidRuleError,
    KeyDateRule,
    MissingAnchorError,
    NegativeOffsetError,
    Override,
    Source,
    TransactionAnchors,
    UnknownAnchorError,
    UnknownOverrideError,
    WeekendRule,
    compute_schedule,
)

CAL = HolidayCalendar.us_federal()
TZ = "America/New_York"
ANCHORS = TransactionAnchors(date(2026, 3, 2), date(2026, 4, 15))


def rule(key: str, label: str, anchor: Anchor, offset: int = 5) -> ComputedRule:
    return ComputedRule(key, label, anchor, offset)


def test_cycle_is_refused_with_the_labels_in_order() -> None:
    rules = [
        rule("inspection", "Inspection", Anchor.key_date("appraisal")),
        rule("appraisal", "Appraisal", Anchor.key_date("inspection")),
    ]
    with pytest.raises(CycleError) as caught:
        compute_schedule(rules, ANCHORS, CAL, TZ)
    assert str(caught.value) == "Inspection → Appraisal → Inspection form a cycle"
    assert caught.value.cycle == ("inspection", "appraisal", "inspection")
    assert isinstance(caught.value, DeadlineRuleError)


def test_cycle_reached_through_a_tail_names_only_the_loop() -> None:
    rules = [
        rule("tail", "Tail", Anchor.key_date("b")),
        rule("a", "A", Anchor.key_date("c")),
        rule("b", "B", Anchor.key_date("a")),
        rule("c", "C", Anchor.key_date("b")),
    ]
    with pytest.raises(CycleError, match=r"^A → C → B → A form a cycle$"):
        compute_schedule(rules, ANCHORS, CAL, TZ)


def test_self_reference_is_a_cycle() -> None:
    rules = [rule("loan", "Loan approval", Anchor.key_date("loan"))]
    with pytest.raises(CycleError, match=r"^Loan approval → Loan approval form a cycle$"):
        compute_schedule(rules, ANCHORS, CAL, TZ)


def test_unknown_anchor_is_refused() -> None:
    rules = [rule("appraisal", "Appraisal", Anchor.key_date("inspektion"))]
    with pytest.raises(UnknownAnchorError) as caught:
        compute_schedule(rules, ANCHORS, CAL, TZ)
    assert str(caught.value) == (
        'Appraisal is counted from "inspektion", which is not a key date on this transaction'
    )


def test_negative_offset_is_refused() -> None:
    with pytest.raises(NegativeOffsetError, match="cannot be negative"):
        ComputedRule("title", "Title evidence", CLOSING_DATE, -5)


@pytest.mark.parametrize("offset", [1.5, True, "3"])
def test_offset_must_be_whole_days(offset: object) -> None:
    with pytest.raises(InvalidRuleError):
        ComputedRule("x", "X", EFFECTIVE_DATE, offset)  # type: ignore[arg-type]


def test_missing_closing_date_is_refused_in_plain_words() -> None:
    rules = [ComputedRule("title_evidence", "Title evidence", CLOSING_DATE, 5, Direction.BEFORE)]
    with pytest.raises(MissingAnchorError) as caught:
        compute_schedule(rules, TransactionAnchors(effective_date=date(2026, 3, 2)), CAL, TZ)
    assert str(caught.value) == "Closing date is not set, so Title evidence cannot be computed"
    assert caught.value.key == "title_evidence"


def test_missing_anchor_in_a_chain_raises_for_the_root() -> None:
    anchors = TransactionAnchors(effective_date=date(2026, 3, 2))
    with pytest.raises(MissingAnchorError, match=r"^Closing date is not set, so Closing cannot"):
        compute_schedule(FLORIDA.rules, anchors, CAL, TZ)


def test_allow_missing_lists_what_cannot_be_computed_yet() -> None:
    anchors = TransactionAnchors(effective_date=date(2026, 3, 2))
    schedule = compute_schedule(FLORIDA.rules, anchors, CAL, TZ, allow_missing=True)
    assert schedule.keys() == ["earnest_money", "inspection", "loan_approval"]
    assert schedule.unresolved == (
        ("closing", "Closing", "Closing date is not set, so Closing cannot be computed"),
        (
            "title_evidence",
            "Title evidence due",
            "Closing cannot be computed yet, so Title evidence due cannot be computed",
        ),
    )


def test_duplicate_keys_are_refused() -> None:
    rules = [rule("a", "A", EFFECTIVE_DATE), rule("a", "A again", EFFECTIVE_DATE)]
    with pytest.raises(DuplicateKeyError):
        compute_schedule(rules, ANCHORS, CAL, TZ)


@pytest.mark.parametrize(
    "build",
    [
        lambda: Anchor(AnchorKind.KEY_DATE),
        lambda: Anchor(AnchorKind.CLOSING_DATE, "closing"),
        lambda: ComputedRule("", "Empty key", EFFECTIVE_DATE, 1),
        lambda: ComputedRule("x", " ", EFFECTIVE_DATE, 1),
        lambda: ComputedRule("x", "X", EFFECTIVE_DATE, 1, direction="sideways"),  # type: ignore[arg-type]
        lambda: EnteredDate("x", "X", datetime(2026, 1, 1, 9, 0)),
    ],
)
def test_malformed_rules_are_refused(build: object) -> None:
    with pytest.raises(InvalidRuleError):
        build()  # type: ignore[operator]


def test_enum_values_may_be_given_as_strings() -> None:
    made = ComputedRule(
        "x",
        "X",
        EFFECTIVE_DATE,
        1,
        "before",  # type: ignore[arg-type]
        "business",  # type: ignore[arg-type]
        "previous_business_day",  # type: ignore[arg-type]
    )
    assert made.direction is Direction.BEFORE
    assert made.day_type is DayType.BUSINESS
    assert made.weekend_rule is WeekendRule.PREVIOUS_BUSINESS_DAY


def test_chain_resolves_regardless_of_rule_order() -> None:
    rules = [
        rule("c", "C", Anchor.key_date("b"), 1),
        rule("b", "B", Anchor.key_date("a"), 1),
        rule("a", "A", EFFECTIVE_DATE, 1),
    ]
    schedule = compute_schedule(rules, ANCHORS, CAL, TZ)
    assert schedule.keys() == ["c", "b", "a"]  # the order given, for display
    assert schedule.as_dict() == {
        "a": date(2026, 3, 3),
        "b": date(2026, 3, 4),
        "c": date(2026, 3, 5),
    }


def test_rules_can_count_from_an_entered_date() -> None:
    rules: list[KeyDateRule] = [
        EnteredDate("hoa_docs", "HOA documents delivered", date(2026, 3, 6), time(16, 0)),
        ComputedRule(
            "hoa_cancel",
            "HOA cancellation window ends",
            Anchor.key_date("hoa_docs"),
            3,
            weekend_rule=WeekendRule.NEXT_BUSINESS_DAY,
        ),
    ]
    schedule = compute_schedule(rules, ANCHORS, CAL, TZ)
    assert schedule["hoa_docs"].source is Source.ENTERED
    assert schedule["hoa_cancel"].day == date(2026, 3, 9)


def test_dependents_count_from_the_overridden_value() -> None:
    rules = [
        rule("inspection", "Inspection", EFFECTIVE_DATE, 10),
        rule("appraisal", "Appraisal", Anchor.key_date("inspection"), 2),
    ]
    overrides = {"inspection": Override(date(2026, 3, 20))}
    schedule = compute_schedule(rules, ANCHORS, CAL, TZ, overrides=overrides)
    assert schedule["inspection"].day == date(2026, 3, 20)
    assert schedule["inspection"].computed_day == date(2026, 3, 12)
    assert schedule["appraisal"].day == date(2026, 3, 22)


def test_override_survives_an_anchor_change() -> None:
    rules = [ComputedRule("inspection", "Inspection", EFFECTIVE_DATE, 10, cutoff=time(17, 0))]
    overrides = {"inspection": Override(date(2026, 3, 20))}
    moved = TransactionAnchors(date(2026, 3, 5), date(2026, 4, 15))
    item = compute_schedule(rules, moved, CAL, TZ, overrides=overrides)["inspection"]
    assert (item.day, item.at, item.source) == (date(2026, 3, 20), time(17, 0), Source.OVERRIDDEN)
    assert item.computed_day == date(2026, 3, 15)


def test_override_of_unknown_or_entered_date_is_refused() -> None:
    rules = [EnteredDate("closing", "Closing", date(2026, 4, 15))]
    with pytest.raises(UnknownOverrideError, match="no such key date"):
        compute_schedule(rules, ANCHORS, CAL, TZ, overrides={"nope": Override(date(2026, 1, 1))})
    with pytest.raises(UnknownOverrideError, match="is entered"):
        compute_schedule(rules, ANCHORS, CAL, TZ, overrides={"closing": Override(date(2026, 1, 1))})


def test_zero_offset_business_rule_still_applies_the_weekend_rule() -> None:
    rules = [
        ComputedRule(
            "closing",
            "Closing",
            CLOSING_DATE,
            0,
            day_type=DayType.BUSINESS,
            weekend_rule=WeekendRule.PREVIOUS_BUSINESS_DAY,
        )
    ]
    anchors = TransactionAnchors(date(2026, 3, 2), date(2026, 7, 5))
    assert compute_schedule(rules, anchors, CAL, TZ)["closing"].day == date(2026, 7, 2)


def test_business_days_before_skip_holidays() -> None:
    rules = [
        ComputedRule("x", "X", CLOSING_DATE, 2, Direction.BEFORE, DayType.BUSINESS),
    ]
    anchors = TransactionAnchors(date(2026, 3, 2), date(2026, 7, 7))  # Tue after July 3rd
    assert compute_schedule(rules, anchors, CAL, TZ)["x"].day == date(2026, 7, 2)


def test_time_zone_may_be_a_string_or_zoneinfo() -> None:
    from zoneinfo import ZoneInfo

    rules = [rule("a", "A", EFFECTIVE_DATE)]
    assert compute_schedule(rules, ANCHORS, CAL, TZ) == compute_schedule(
        rules, ANCHORS, CAL, ZoneInfo(TZ)
    )
