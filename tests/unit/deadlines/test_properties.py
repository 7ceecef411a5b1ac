"""Hypothesis property tests of the counting laws."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from chronos.deadlines import (
    CLOSING_DATE,
    EFFECTIVE_DATE,
    Anchor,
    ComputedRule,
    CycleError,
    DayType,
    Direction,
    HolidayCalendar,
    TransactionAnchors,
    WeekendRule,
    apply_weekend_rule,
    compute_schedule,
    count_days,
    diff_schedules,
    explain,
)

TZ = "America/New_York"
DAY = timedelta(days=1)

days = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))
offsets = st.integers(min_value=0, max_value=90)
directions = st.sampled_from(Direction)
day_types = st.sampled_from(DayType)
weekend_rules = st.sampled_from(WeekendRule)
calendars = st.builds(
    HolidayCalendar.us_federal,
    st.frozensets(st.dates(min_value=date(2020, 1, 1), max_value=date(2036, 6, 30)), max_size=8),
)


@st.composite
def rule_sets(draw: st.DrawFn, *, calendar_only: bool = False) -> list[ComputedRule]:
    """A random acyclic rule set: each rule anchors on a transaction date or an earlier rule."""
    size = draw(st.integers(min_value=1, max_value=8))
    rules: list[ComputedRule] = []
    for index in range(size):
        choices = [EFFECTIVE_DATE, CLOSING_DATE] + [Anchor.key_date(r.key) for r in rules]
        rules.append(
            ComputedRule(
                f"k{index}",
                f"Date {index}",
                draw(st.sampled_from(choices)),
                draw(offsets),
                draw(directions),
                DayType.CALENDAR if calendar_only else draw(day_types),
                WeekendRule.NONE if calendar_only else draw(weekend_rules),
            )
        )
    return draw(st.permutations(rules))


@given(days, offsets, directions, weekend_rules, calendars)
def test_business_day_results_are_never_weekends_or_holidays(
    start: date, offset: int, direction: Direction, rule: WeekendRule, calendar: HolidayCalendar
) -> None:
    counted = count_days(start, offset, direction, DayType.BUSINESS, calendar)
    final = apply_weekend_rule(counted, rule, calendar)
    if offset > 0:
        assert calendar.is_business_day(counted)
        assert final == counted
        # exactly `offset` business days lie between day 0 (excluded) and the result (included)
        low, high = sorted((start, counted))
        span = [low + i * DAY for i in range(1, (high - low).days + 1)]
        if direction is Direction.BEFORE:
            span = [low + i * DAY for i in range((high - low).days)]
        assert sum(calendar.is_business_day(d) for d in span) == offset
    if rule is not WeekendRule.NONE:
        assert calendar.is_business_day(final)


@given(days, offsets, directions, day_types, calendars)
def test_weekend_rules_move_the_right_way_and_no_further_than_needed(
    start: date, offset: int, direction: Direction, day_type: DayType, calendar: HolidayCalendar
) -> None:
    raw = count_days(start, offset, direction, day_type, calendar)
    forward = apply_weekend_rule(raw, WeekendRule.NEXT_BUSINESS_DAY, calendar)
    backward = apply_weekend_rule(raw, WeekendRule.PREVIOUS_BUSINESS_DAY, calendar)
    assert forward >= raw >= backward
    assert all(not calendar.is_business_day(raw + i * DAY) for i in range((forward - raw).days))
    assert all(not calendar.is_business_day(raw - i * DAY) for i in range((raw - backward).days))
    assert apply_weekend_rule(raw, WeekendRule.NONE, calendar) == raw


@given(days, offsets, directions, calendars)
def test_calendar_days_without_a_weekend_rule_land_exactly_offset_days_away(
    start: date, offset: int, direction: Direction, calendar: HolidayCalendar
) -> None:
    rule = ComputedRule("x", "X", EFFECTIVE_DATE, offset, direction)
    item = compute_schedule([rule], TransactionAnchors(start), calendar, TZ)["x"]
    sign = 1 if direction is Direction.AFTER else -1
    assert (item.day - start).days == sign * offset


@settings(max_examples=150)
@given(rule_sets(calendar_only=True), days, days, st.integers(min_value=-400, max_value=400))
def test_moving_the_anchor_by_k_days_moves_calendar_dates_by_k(
    rules: list[ComputedRule], effective: date, closing: date, shift: int
) -> None:
    calendar = HolidayCalendar.us_federal()
    before = compute_schedule(rules, TransactionAnchors(effective, closing), calendar, TZ)
    after = compute_schedule(
        rules, TransactionAnchors(effective + shift * DAY, closing), calendar, TZ
    )
    by_key = {rule.key: rule for rule in rules}

    def root(key: str) -> Anchor:
        anchor = by_key[key].anchor
        while anchor.key is not None:
            anchor = by_key[anchor.key].anchor
        return anchor

    for item in before:
        moved = (after[item.key].day - item.day).days
        assert moved == (shift if root(item.key) == EFFECTIVE_DATE else 0)
    assert (not diff_schedules(before, after)) == (
        shift == 0 or not any(root(rule.key) == EFFECTIVE_DATE for rule in rules)
    )


@settings(max_examples=150)
@given(rule_sets(), days, days, calendars, st.randoms(use_true_random=False))
def test_recomputation_is_deterministic_and_order_independent(
    rules: list[ComputedRule], effective: date, closing: date, calendar: HolidayCalendar, rng
) -> None:
    anchors = TransactionAnchors(effective, closing)
    first = compute_schedule(rules, anchors, calendar, TZ)
    assert compute_schedule(rules, anchors, calendar, TZ) == first
    shuffled = list(rules)
    rng.shuffle(shuffled)
    assert compute_schedule(shuffled, anchors, calendar, TZ).as_dict() == first.as_dict()
    assert diff_schedules(first, first) == []
    for item in first:
        assert explain(item).startswith(f"{item.label} ")


@st.composite
def anchor_graphs(draw: st.DrawFn) -> list[int | None]:
    """parents[i] is the index rule i counts from, or None for the effective date."""
    size = draw(st.integers(min_value=1, max_value=9))
    return draw(
        st.lists(
            st.none() | st.integers(min_value=0, max_value=size - 1), min_size=size, max_size=size
        )
    )


@settings(max_examples=300)
@given(anchor_graphs(), offsets)
def test_cycles_are_always_detected(parents: list[int | None], offset: int) -> None:
    rules = [
        ComputedRule(
            f"k{i}",
            f"Date {i}",
            EFFECTIVE_DATE if parent is None else Anchor.key_date(f"k{parent}"),
            offset,
        )
        for i, parent in enumerate(parents)
    ]

    def has_cycle() -> bool:
        for start in range(len(parents)):
            seen: set[int] = set()
            node: int | None = start
            while node is not None:
                if node in seen:
                    return True
                seen.add(node)
                node = parents[node]
        return False

    anchors = TransactionAnchors(date(2026, 1, 2), date(2026, 3, 2))
    try:
        schedule = compute_schedule(rules, anchors, HolidayCalendar.us_federal(), TZ)
    except CycleError as error:
        assert has_cycle()
        loop = error.cycle
        assert loop[0] == loop[-1]
        assert len(set(loop[:-1])) == len(loop) - 1
        for key, parent in itertools.pairwise(loop):
            assert parents[int(key[1:])] == int(parent[1:])
        assert str(error).endswith(" form a cycle")
    else:
        assert not has_cycle()
        assert len(schedule) == len(rules)
