"""Key-date (deadline) engine: pure functions over rules, anchors and a holiday calendar.

No I/O and no database: give it rules (entered dates and computed rules), the transaction's
anchors, a :class:`HolidayCalendar` and the property's IANA time zone, and it returns a
:class:`Schedule`. See ``../shared/DOMAIN.md`` ("Key dates and the deadline rules").
"""

from chronos.deadlines.calendar import US_FEDERAL, HolidayCalendar
from chronos.deadlines.diff import DateChange, diff_schedules
from chronos.deadlines.engine import (
    Computation,
    Schedule,
    ScheduledDate,
    Source,
    apply_weekend_rule,
    compute_schedule,
    count_days,
)
from chronos.deadlines.errors import (
    CycleError,
    DeadlineRuleError,
    DuplicateKeyError,
    InvalidRuleError,
    MissingAnchorError,
    NegativeOffsetError,
    UnknownAnchorError,
    UnknownOverrideError,
)
from chronos.deadlines.explain import (
    describe_computation,
    explain,
    explain_schedule,
    format_day,
    format_moment,
    format_time,
)
from chronos.deadlines.presets import (
    CALIFORNIA,
    COLORADO,
    FLORIDA,
    GENERIC_FINANCED,
    NEW_JERSEY,
    PRESETS,
    TEXAS,
    Preset,
)
from chronos.deadlines.rules import (
    CLOSING_DATE,
    EFFECTIVE_DATE,
    Anchor,
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

__all__ = [
    "CALIFORNIA",
    "CLOSING_DATE",
    "COLORADO",
    "EFFECTIVE_DATE",
    "FLORIDA",
    "GENERIC_FINANCED",
    "NEW_JERSEY",
    "PRESETS",
    "TEXAS",
    "US_FEDERAL",
    "Anchor",
    "AnchorKind",
    "Computation",
    "ComputedRule",
    "CycleError",
    "DateChange",
    "DayType",
    "DeadlineRuleError",
    "Direction",
    "DuplicateKeyError",
    "EnteredDate",
    "HolidayCalendar",
    "InvalidRuleError",
    "KeyDateRule",
    "MissingAnchorError",
    "NegativeOffsetError",
    "Override",
    "Preset",
    "Schedule",
    "ScheduledDate",
    "Source",
    "TransactionAnchors",
    "UnknownAnchorError",
    "UnknownOverrideError",
    "WeekendRule",
    "apply_weekend_rule",
    "compute_schedule",
    "count_days",
    "describe_computation",
    "diff_schedules",
    "explain",
    "explain_schedule",
    "format_day",
    "format_moment",
    "format_time",
]
