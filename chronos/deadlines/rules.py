"""The rule model: a key date is ENTERED (given) or COMPUTED from an anchor by a rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum

from chronos.deadlines.errors import InvalidRuleError, NegativeOffsetError


class AnchorKind(StrEnum):
    EFFECTIVE_DATE = "effective_date"
    CLOSING_DATE = "closing_date"
    KEY_DATE = "key_date"


class Direction(StrEnum):
    AFTER = "after"
    BEFORE = "before"


class DayType(StrEnum):
    CALENDAR = "calendar"
    BUSINESS = "business"


class WeekendRule(StrEnum):
    """What happens when the counted date is a weekend day or holiday."""

    NEXT_BUSINESS_DAY = "next_business_day"
    PREVIOUS_BUSINESS_DAY = "previous_business_day"
    NONE = "none"


@dataclass(frozen=True)
class Anchor:
    """What a rule counts from: the effective date, the closing date, or another key date."""

    kind: AnchorKind
    key: str | None = None

    def __post_init__(self) -> None:
        if self.kind is AnchorKind.KEY_DATE:
            if not self.key:
                raise InvalidRuleError("An anchor on another key date needs that key date's key")
        elif self.key is not None:
            raise InvalidRuleError(f"A {self.kind.value} anchor takes no key (got {self.key!r})")

    @classmethod
    def key_date(cls, key: str) -> Anchor:
        return cls(AnchorKind.KEY_DATE, key)


EFFECTIVE_DATE = Anchor(AnchorKind.EFFECTIVE_DATE)
CLOSING_DATE = Anchor(AnchorKind.CLOSING_DATE)


def _check_key(key: str, label: str) -> None:
    if not isinstance(key, str) or not key.strip():
        raise InvalidRuleError("A key date needs a non-empty key")
    if not isinstance(label, str) or not label.strip():
        raise InvalidRuleError(f'Key date "{key}" needs a label')


@dataclass(frozen=True)
class EnteredDate:
    """A key date typed in by a person (optionally with a time in the property's zone)."""

    key: str
    label: str
    on: date
    at: time | None = None

    def __post_init__(self) -> None:
        _check_key(self.key, self.label)
        if not isinstance(self.on, date) or isinstance(self.on, datetime):
            raise InvalidRuleError(f"{self.label}: the entered value must be a date")
        if self.at is not None and self.at.tzinfo is not None:
            raise InvalidRuleError(
                f"{self.label}: give the time without a zone; the property's zone applies"
            )


@dataclass(frozen=True)
class ComputedRule:
    """A key date counted from an anchor.

    Day 0 is the anchor; counting starts the next day (or the day before, counting backward).
    ``day_type`` BUSINESS skips weekends and holidays while counting. ``weekend_rule`` is then
    applied to the counted date. ``cutoff`` is the time of day the deadline ends, in the property's
    zone (None: the end of the day). ``moved_cutoff`` replaces ``cutoff`` when the weekend rule
    moved the date (Florida: a deadline on a weekend/holiday ends at 5:00 pm of the next business
    day). ``late_after`` shifts day 0 to the next day when the anchor carries a time later than it
    (New Jersey: delivery after 5:00 pm counts as delivered the next day).
    """

    key: str
    label: str
    anchor: Anchor
    offset_days: int
    direction: Direction = Direction.AFTER
    day_type: DayType = DayType.CALENDAR
    weekend_rule: WeekendRule = WeekendRule.NONE
    cutoff: time | None = None
    moved_cutoff: time | None = None
    late_after: time | None = None

    def __post_init__(self) -> None:
        _check_key(self.key, self.label)
        if isinstance(self.offset_days, bool) or not isinstance(self.offset_days, int):
            raise InvalidRuleError(f"{self.label}: the offset must be a whole number of days")
        if self.offset_days < 0:
            raise NegativeOffsetError(self.key, self.offset_days)
        for name in ("cutoff", "moved_cutoff", "late_after"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, time) or value.tzinfo is not None):
                raise InvalidRuleError(
                    f"{self.label}: {name} must be a time without a zone; the property's zone applies"
                )
        # Accept plain strings for the enums ("after", "business"...) but store the enum members.
        for name, enum in (
            ("direction", Direction),
            ("day_type", DayType),
            ("weekend_rule", WeekendRule),
        ):
            try:
                object.__setattr__(self, name, enum(getattr(self, name)))
            except ValueError as exc:
                raise InvalidRuleError(f"{self.label}: {exc}") from None


KeyDateRule = EnteredDate | ComputedRule


@dataclass(frozen=True)
class Override:
    """A person's manual value for a computed key date; the computed value stays available.

    Without ``at`` the rule's cutoff time still applies to the overridden date.
    """

    on: date
    at: time | None = None
    note: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.on, date) or isinstance(self.on, datetime):
            raise InvalidRuleError("An override must be a date")


@dataclass(frozen=True)
class TransactionAnchors:
    """The transaction's own dates that rules count from; either may still be unknown."""

    effective_date: date | None = None
    closing_date: date | None = None
    effective_time: time | None = None
    closing_time: time | None = None
