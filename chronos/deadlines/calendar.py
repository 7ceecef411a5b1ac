"""Business-day calendar: weekends plus US federal holidays (observed dates) plus brokerage extras."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

import holidays

BROKERAGE_HOLIDAY = "brokerage holiday"
_DAY = timedelta(days=1)


@lru_cache(maxsize=512)
def _country_holidays(country: str, subdiv: str | None, year: int) -> Mapping[date, str]:
    """Holidays of one year, actual and observed dates, names in US English (locale-independent)."""
    table = holidays.country_holidays(
        country, subdiv=subdiv, years=year, observed=True, language="en_US"
    )
    return {day: str(name) for day, name in sorted(table.items()) if day.year == year}


@dataclass(frozen=True)
class HolidayCalendar:
    """Which days are not business days.

    A value object: two calendars with the same settings are equal. Build one with
    :meth:`us_federal` (the default for Chronos) or :meth:`weekends_only`, and add a brokerage's
    own closed days with ``extra_dates`` (a set of dates, or a mapping of date to a name).

    Both the actual date of a federal holiday and its observed date count as holidays (e.g.
    Independence Day on Sat 4 Jul 2026 is observed on Fri 3 Jul 2026; both are non-business days).
    """

    country: str | None = "US"
    subdiv: str | None = None
    extra: tuple[tuple[date, str], ...] = ()
    weekend_days: frozenset[int] = frozenset({5, 6})  # date.weekday(): Saturday, Sunday

    @classmethod
    def us_federal(
        cls, extra_dates: Iterable[date] | Mapping[date, str] = (), *, subdiv: str | None = None
    ) -> HolidayCalendar:
        """US federal holidays (observed dates), optionally a state's too, plus brokerage extras."""
        return cls(country="US", subdiv=subdiv, extra=_normalise(extra_dates))

    @classmethod
    def weekends_only(
        cls, extra_dates: Iterable[date] | Mapping[date, str] = ()
    ) -> HolidayCalendar:
        """Saturdays and Sundays (and any extras) only; no public holidays."""
        return cls(country=None, subdiv=None, extra=_normalise(extra_dates))

    def with_extra_dates(self, extra_dates: Iterable[date] | Mapping[date, str]) -> HolidayCalendar:
        """A copy with more brokerage closed days added."""
        merged = dict(self.extra)
        merged.update(_normalise(extra_dates))
        return HolidayCalendar(
            country=self.country,
            subdiv=self.subdiv,
            extra=tuple(sorted(merged.items())),
            weekend_days=self.weekend_days,
        )

    @property
    def extra_dates(self) -> frozenset[date]:
        return frozenset(day for day, _ in self.extra)

    def holiday_name(self, day: date) -> str | None:
        """The holiday's name, or None if ``day`` is not a holiday (weekends are not holidays)."""
        for extra_day, name in self.extra:
            if extra_day == day:
                return name
        if self.country is None:
            return None
        return _country_holidays(self.country, self.subdiv, day.year).get(day)

    def holidays_in(self, year: int) -> dict[date, str]:
        """Every holiday of ``year`` (public and extra), sorted by date."""
        found: dict[date, str] = {}
        if self.country is not None:
            found.update(_country_holidays(self.country, self.subdiv, year))
        found.update((day, name) for day, name in self.extra if day.year == year)
        return dict(sorted(found.items()))

    def is_holiday(self, day: date) -> bool:
        return self.holiday_name(day) is not None

    def is_weekend(self, day: date) -> bool:
        return day.weekday() in self.weekend_days

    def is_business_day(self, day: date) -> bool:
        return not self.is_weekend(day) and not self.is_holiday(day)

    def next_business_day(self, day: date) -> date:
        """``day`` itself if it is a business day, otherwise the first business day after it."""
        while not self.is_business_day(day):
            day += _DAY
        return day

    def previous_business_day(self, day: date) -> date:
        """``day`` itself if it is a business day, otherwise the last business day before it."""
        while not self.is_business_day(day):
            day -= _DAY
        return day

    def add_business_days(self, day: date, count: int) -> date:
        """Count ``count`` business days after ``day`` (day 0); negative counts go backward."""
        step = _DAY if count >= 0 else -_DAY
        remaining = abs(count)
        while remaining:
            day += step
            if self.is_business_day(day):
                remaining -= 1
        return day

    def __post_init__(self) -> None:
        if len(self.weekend_days) >= 7:
            raise ValueError("A calendar needs at least one working weekday")


def _normalise(extra_dates: Iterable[date] | Mapping[date, str]) -> tuple[tuple[date, str], ...]:
    if isinstance(extra_dates, Mapping):
        pairs = {day: str(name) for day, name in extra_dates.items()}
    else:
        pairs = dict.fromkeys(extra_dates, BROKERAGE_HOLIDAY)
    for day in pairs:
        if not isinstance(day, date) or isinstance(day, datetime):
            raise TypeError(f"Extra holidays must be dates, got {day!r}")
    return tuple(sorted(pairs.items()))


US_FEDERAL = HolidayCalendar.us_federal()
