"""Plain-words explanations of key dates ("10 calendar days after the effective date ...")."""

from __future__ import annotations

from datetime import date, time

from chronos.deadlines.engine import Computation, Schedule, ScheduledDate, Source
from chronos.deadlines.rules import WeekendRule

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_day(day: date, *, year: bool = True) -> str:
    """``Mon 12 Jan 2026`` (or ``Mon 12 Jan``), independent of the machine's locale."""
    text = f"{_WEEKDAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]}"
    return f"{text} {day.year}" if year else text


def format_time(at: time) -> str:
    """``5:00 pm``, ``11:59 pm``, ``12:00 pm`` (noon), ``12:30 am``."""
    hour = at.hour % 12 or 12
    return f"{hour}:{at.minute:02d} {'am' if at.hour < 12 else 'pm'}"


def format_moment(day: date, at: time | None) -> str:
    return format_day(day) if at is None else f"{format_day(day)}, {format_time(at)}"


def _near(day: date, reference: date) -> str:
    """A date shown next to ``reference``: the year only when it differs."""
    return format_day(day, year=day.year != reference.year)


def describe_computation(computation: Computation) -> str:
    """The reason part: ``10 calendar days after the effective date (Fri 2 Jan), moved ...``."""
    rule = computation.rule
    ref = computation.day
    anchor_bits = [_near(computation.anchor_date, ref)]
    if computation.anchor_time is not None and rule.late_after is not None:
        anchor_bits.append(format_time(computation.anchor_time))
        if computation.late_delivery:
            anchor_bits.append(
                f"after {format_time(rule.late_after)} so counted from "
                f"{_near(computation.start, ref)}"
            )
    where = (
        "the next business day"
        if rule.weekend_rule is WeekendRule.NEXT_BUSINESS_DAY
        else "the previous business day"
    )
    name = computation.counted_holiday
    if rule.offset_days == 0:
        if computation.moved and not computation.late_delivery:
            # "the closing date (Fri 25 Dec, Christmas Day) moved to the next business day"
            if name:
                anchor_bits[0] += f", {name}"
            return f"{computation.anchor_name} ({', '.join(anchor_bits)}) moved to {where}"
        text = f"on {computation.anchor_name} ({', '.join(anchor_bits)})"
    else:
        unit = "day" if rule.offset_days == 1 else "days"
        text = (
            f"{rule.offset_days} {rule.day_type.value} {unit} {rule.direction.value} "
            f"{computation.anchor_name} ({', '.join(anchor_bits)})"
        )
    if computation.moved:
        counted = _near(computation.counted, ref) + (f" ({name})" if name else "")
        text += f", moved from {counted} to {where}"
    return text


def explain(item: ScheduledDate) -> str:
    """One key date in plain words.

    * computed: ``Inspection ends Mon 12 Jan 2026, 5:00 pm: 10 calendar days after the effective
      date (Fri 2 Jan)`` plus ``, moved from Sun 11 Jan to the next business day`` when moved;
    * entered: ``Closing Fri 12 Jun 2026: entered``;
    * overridden: ``... Wed 14 Jan 2026, 5:00 pm: overridden (note); computed Mon 12 Jan 2026,
      5:00 pm: 10 calendar days after ...``.
    """
    head = f"{item.label} {format_moment(item.day, item.at)}"
    if item.source is Source.ENTERED:
        return f"{head}: entered"
    if item.source is Source.COMPUTED:
        assert item.computation is not None
        return f"{head}: {describe_computation(item.computation)}"
    note = f" ({item.override.note})" if item.override is not None and item.override.note else ""
    if item.computation is not None:
        computed = format_moment(item.computation.day, item.computation.at)
        return (
            f"{head}: overridden{note}; computed {computed}: "
            f"{describe_computation(item.computation)}"
        )
    return f"{head}: overridden{note}; the rule cannot be computed yet: {item.computation_error}"


def explain_schedule(schedule: Schedule) -> dict[str, str]:
    """``explain`` for every key date of a schedule, keyed by key, in the schedule's order."""
    return {item.key: explain(item) for item in schedule}
