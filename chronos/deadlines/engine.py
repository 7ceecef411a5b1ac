"""Computing a transaction's key dates from rules: counting, weekend rules, chains, overrides."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from chronos.deadlines.calendar import HolidayCalendar
from chronos.deadlines.errors import (
    CycleError,
    DeadlineRuleError,
    DuplicateKeyError,
    MissingAnchorError,
    UnknownAnchorError,
    UnknownOverrideError,
)
from chronos.deadlines.rules import (
    AnchorKind,
    ComputedRule,
    DayType,
    Direction,
    EnteredDate,
    KeyDateRule,
    Override,
    TransactionAnchors,
    WeekendRule,
)

_DAY = timedelta(days=1)


class Source(StrEnum):
    ENTERED = "entered"
    COMPUTED = "computed"
    OVERRIDDEN = "overridden"


def count_days(
    start: date,
    offset_days: int,
    direction: Direction,
    day_type: DayType,
    calendar: HolidayCalendar,
) -> date:
    """Count ``offset_days`` from ``start`` (day 0), calendar or business days, after or before."""
    sign = 1 if direction is Direction.AFTER else -1
    if day_type is DayType.CALENDAR:
        return start + sign * offset_days * _DAY
    return calendar.add_business_days(start, sign * offset_days)


def apply_weekend_rule(day: date, rule: WeekendRule, calendar: HolidayCalendar) -> date:
    """Move ``day`` off a weekend/holiday as the rule says (or leave it)."""
    if rule is WeekendRule.NEXT_BUSINESS_DAY:
        return calendar.next_business_day(day)
    if rule is WeekendRule.PREVIOUS_BUSINESS_DAY:
        return calendar.previous_business_day(day)
    return day


@dataclass(frozen=True)
class Computation:
    """How a computed date was reached, step by step (what ``explain`` puts into words)."""

    rule: ComputedRule
    anchor_name: str  # "the effective date", "the closing date" or the anchor key date's label
    anchor_date: date
    anchor_time: time | None
    start: date  # day 0: the anchor date, or the next day after a late delivery
    counted: date  # after counting, before the weekend/holiday rule
    day: date  # the final date
    at: time | None  # the deadline's time of day in the property's zone, None = end of day
    counted_holiday: str | None  # the holiday name of ``counted`` if it is one

    @property
    def moved(self) -> bool:
        return self.day != self.counted

    @property
    def late_delivery(self) -> bool:
        return self.start != self.anchor_date


@dataclass(frozen=True)
class ScheduledDate:
    """One key date's value, where it came from and, for computed dates, how."""

    key: str
    label: str
    day: date
    at: time | None
    tz: ZoneInfo
    source: Source
    computation: Computation | None = None  # None for entered dates (and overrides of rules
    override: Override | None = None  # that cannot be computed yet)
    computation_error: str | None = None

    @property
    def is_overridden(self) -> bool:
        return self.source is Source.OVERRIDDEN

    @property
    def computed_day(self) -> date | None:
        """What the rule gives, whether or not a person has overridden it."""
        return self.computation.day if self.computation is not None else None

    @property
    def due_at(self) -> datetime:
        """The deadline as an aware datetime: the cutoff time, or 23:59:59 when there is none."""
        at = self.at if self.at is not None else time(23, 59, 59)
        return datetime.combine(self.day, at, tzinfo=self.tz)


@dataclass(frozen=True)
class Schedule:
    """Every key date of a transaction, in the order the rules were given.

    ``unresolved`` maps keys that could not be computed to the reason (only when
    ``compute_schedule(..., allow_missing=True)``).
    """

    dates: tuple[ScheduledDate, ...]
    unresolved: tuple[tuple[str, str, str], ...] = field(default=())  # (key, label, reason)

    def __iter__(self) -> Iterator[ScheduledDate]:
        return iter(self.dates)

    def __len__(self) -> int:
        return len(self.dates)

    def __contains__(self, key: object) -> bool:
        return any(item.key == key for item in self.dates)

    def __getitem__(self, key: str) -> ScheduledDate:
        for item in self.dates:
            if item.key == key:
                return item
        raise KeyError(key)

    def get(self, key: str) -> ScheduledDate | None:
        for item in self.dates:
            if item.key == key:
                return item
        return None

    def keys(self) -> list[str]:
        return [item.key for item in self.dates]

    def as_dict(self) -> dict[str, date]:
        return {item.key: item.day for item in self.dates}


def _validate(
    rules: Sequence[KeyDateRule], overrides: Mapping[str, Override]
) -> dict[str, KeyDateRule]:
    by_key: dict[str, KeyDateRule] = {}
    for rule in rules:
        if not isinstance(rule, EnteredDate | ComputedRule):
            raise DeadlineRuleError(f"Not a key-date rule: {rule!r}")
        if rule.key in by_key:
            raise DuplicateKeyError(rule.key)
        by_key[rule.key] = rule
    for rule in rules:
        if isinstance(rule, ComputedRule) and rule.anchor.kind is AnchorKind.KEY_DATE:
            assert rule.anchor.key is not None
            if rule.anchor.key not in by_key:
                raise UnknownAnchorError(rule.key, rule.label, rule.anchor.key)
    for key in overrides:
        target = by_key.get(key)
        if target is None:
            raise UnknownOverrideError(key, "there is no such key date")
        if isinstance(target, EnteredDate):
            raise UnknownOverrideError(key, f"{target.label} is entered; change the date itself")
    _check_cycles(rules, by_key)
    return by_key


def _parent(rule: KeyDateRule) -> str | None:
    if isinstance(rule, ComputedRule) and rule.anchor.kind is AnchorKind.KEY_DATE:
        return rule.anchor.key
    return None


def _check_cycles(rules: Sequence[KeyDateRule], by_key: Mapping[str, KeyDateRule]) -> None:
    """Each rule has at most one parent, so a cycle is found by following parents."""
    position = {rule.key: index for index, rule in enumerate(rules)}
    done: set[str] = set()
    for rule in rules:
        path: list[str] = []
        on_path: set[str] = set()
        key: str | None = rule.key
        while key is not None and key not in done:
            if key in on_path:
                loop = path[path.index(key) :]
                first = min(range(len(loop)), key=lambda i: position[loop[i]])
                loop = loop[first:] + loop[:first]
                keys = (*loop, loop[0])
                raise CycleError(keys, tuple(by_key[k].label for k in keys))
            path.append(key)
            on_path.add(key)
            key = _parent(by_key[key])
        done.update(path)


def _dependency_order(rules: Sequence[KeyDateRule]) -> list[KeyDateRule]:
    by_key = {rule.key: rule for rule in rules}
    ordered: list[KeyDateRule] = []
    placed: set[str] = set()
    for rule in rules:
        chain: list[KeyDateRule] = []
        current: KeyDateRule | None = rule
        while current is not None and current.key not in placed:
            chain.append(current)
            parent = _parent(current)
            current = by_key[parent] if parent is not None else None
        for item in reversed(chain):
            ordered.append(item)
            placed.add(item.key)
    return ordered


def compute_schedule(
    rules: Sequence[KeyDateRule],
    anchors: TransactionAnchors,
    calendar: HolidayCalendar,
    tz: ZoneInfo | str,
    *,
    overrides: Mapping[str, Override] | None = None,
    allow_missing: bool = False,
) -> Schedule:
    """Resolve every key date in dependency order.

    Raises a :class:`DeadlineRuleError` subclass for duplicate keys, unknown anchors, cycles and
    (unless ``allow_missing``) a missing anchor value. With ``allow_missing=True`` dates that cannot
    be computed yet are listed in ``Schedule.unresolved`` instead. A key date with an override keeps
    the override as its value; dates counted from it use the overridden value.
    """
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    overrides = dict(overrides or {})
    _validate(rules, overrides)

    labels = {rule.key: rule.label for rule in rules}
    resolved: dict[str, ScheduledDate] = {}
    unresolved: dict[str, str] = {}
    for rule in _dependency_order(rules):
        if isinstance(rule, EnteredDate):
            resolved[rule.key] = ScheduledDate(
                rule.key, rule.label, rule.on, rule.at, zone, Source.ENTERED
            )
            continue
        computation: Computation | None = None
        error: DeadlineRuleError | None = None
        try:
            computation = _compute(rule, anchors, calendar, resolved, labels)
        except MissingAnchorError as exc:
            error = exc
        override = overrides.get(rule.key)
        if override is not None:
            resolved[rule.key] = ScheduledDate(
                rule.key,
                rule.label,
                override.on,
                override.at if override.at is not None else rule.cutoff,
                zone,
                Source.OVERRIDDEN,
                computation=computation,
                override=override,
                computation_error=str(error) if error is not None else None,
            )
        elif computation is not None:
            resolved[rule.key] = ScheduledDate(
                rule.key,
                rule.label,
                computation.day,
                computation.at,
                zone,
                Source.COMPUTED,
                computation=computation,
            )
        else:
            assert error is not None
            if not allow_missing:
                raise error
            unresolved[rule.key] = str(error)

    return Schedule(
        dates=tuple(resolved[rule.key] for rule in rules if rule.key in resolved),
        unresolved=tuple(
            (rule.key, labels[rule.key], unresolved[rule.key])
            for rule in rules
            if rule.key in unresolved
        ),
    )


def _compute(
    rule: ComputedRule,
    anchors: TransactionAnchors,
    calendar: HolidayCalendar,
    resolved: Mapping[str, ScheduledDate],
    labels: Mapping[str, str],
) -> Computation:
    anchor_day: date | None
    anchor_time: time | None
    if rule.anchor.kind is AnchorKind.EFFECTIVE_DATE:
        anchor_name, anchor_day, anchor_time = (
            "the effective date",
            anchors.effective_date,
            anchors.effective_time,
        )
        missing_name = "Effective date"
    elif rule.anchor.kind is AnchorKind.CLOSING_DATE:
        anchor_name, anchor_day, anchor_time = (
            "the closing date",
            anchors.closing_date,
            anchors.closing_time,
        )
        missing_name = "Closing date"
    else:
        assert rule.anchor.key is not None
        parent = resolved.get(rule.anchor.key)
        if parent is None:
            raise MissingAnchorError(
                rule.key, rule.label, labels[rule.anchor.key], anchor_is_computed=True
            )
        anchor_name, anchor_day, anchor_time = parent.label, parent.day, parent.at
        missing_name = parent.label
    if anchor_day is None:
        raise MissingAnchorError(rule.key, rule.label, missing_name)

    start = anchor_day
    if rule.late_after is not None and anchor_time is not None and anchor_time > rule.late_after:
        start = anchor_day + _DAY
    counted = count_days(start, rule.offset_days, rule.direction, rule.day_type, calendar)
    day = apply_weekend_rule(counted, rule.weekend_rule, calendar)
    at = rule.cutoff
    if day != counted and rule.moved_cutoff is not None:
        at = rule.moved_cutoff
    return Computation(
        rule=rule,
        anchor_name=anchor_name,
        anchor_date=anchor_day,
        anchor_time=anchor_time,
        start=start,
        counted=counted,
        day=day,
        at=at,
        counted_holiday=calendar.holiday_name(counted),
    )
