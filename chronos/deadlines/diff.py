"""What moved between two schedules (old → new), for "what moved" before and after saving."""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

from chronos.deadlines.engine import Schedule
from chronos.deadlines.explain import format_day


class DateChange(NamedTuple):
    key: str
    label: str
    old: date | None  # None: the date did not exist (or could not be computed) before
    new: date | None  # None: the date no longer exists (or cannot be computed) now

    def describe(self) -> str:
        """``Inspection ends: Mon 12 Jan 2026 → Wed 14 Jan 2026`` (``not set`` for None)."""
        old = format_day(self.old) if self.old is not None else "not set"
        new = format_day(self.new) if self.new is not None else "not set"
        return f"{self.label}: {old} → {new}"


def diff_schedules(old: Schedule, new: Schedule) -> list[DateChange]:
    """Every key date whose day differs, in the new schedule's order, then dates that went away.

    Compares the effective day (an override's value when there is one); a date present in only
    one schedule (or unresolved in one) counts as moved from/to None.
    """
    changes: list[DateChange] = []
    old_days = old.as_dict()
    old_labels = {item.key: item.label for item in old}
    old_labels.update((key, label) for key, label, _ in old.unresolved)
    seen: set[str] = set()
    new_entries: list[tuple[str, str, date | None]] = [
        (item.key, item.label, item.day) for item in new
    ]
    new_entries += [(key, label, None) for key, label, _ in new.unresolved]
    for key, label, day in new_entries:
        seen.add(key)
        before = old_days.get(key)
        if before != day:
            changes.append(DateChange(key, label, before, day))
    for key, label in old_labels.items():
        if key not in seen and old_days.get(key) is not None:
            changes.append(DateChange(key, label, old_days[key], None))
    return changes
