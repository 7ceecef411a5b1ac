"""Staff reports (pipeline, closings, days to close, deadlines, at-risk files), aggregated in SQL.

Every report starts from ``access.visible_transactions(actor)``, so a user counts exactly the
files their pipeline shows; clients and outside parties are refused. Grouping, counting, sums
and percentiles run in the database (GROUP BY, window functions) on SQLite and PostgreSQL
alike; Python only folds already-grouped rows (at most one per day of the period) into weeks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, cast, extract, func, literal, or_, union_all
from sqlalchemy import Integer as SAInteger
from sqlalchemy import select as _sa_select
from sqlmodel import Session, col, select

from chronos.deadlines.calendar import US_FEDERAL
from chronos.models import KeyDate, Role, Task, Transaction, User
from chronos.models.base import PropertyType, Side, Stage
from chronos.services import access
from chronos.services.errors import ValidationFailed
from chronos.services.validation import format_price

REPORTS = ("pipeline", "closings", "days_to_close", "deadlines", "at_risk")
PERIODS = {"30": 30, "90": 90, "180": 180, "365": 365}
DEFAULT_PERIOD = "90"
OPEN_STAGE_VALUES = [s.value for s in Stage if s.is_open]
STALE_DAYS = 14
AT_RISK_LIMIT = 50
LATE_FILES_LIMIT = 10

# The at-risk factors, in the order they are shown: key, label, weight, the page that fixes it.
FACTORS: tuple[tuple[str, str, int, str], ...] = (
    ("deadline_soon", "A deadline within 2 days with its task still open", 30, "tasks"),
    ("overdue_tasks", "Overdue tasks", 20, "tasks"),
    ("no_key_dates", "No effective or closing date", 15, ""),
    ("closing_off_day", "Closing falls on a weekend or holiday", 10, ""),
    ("stale", f"No activity for {STALE_DAYS} days", 10, ""),
)
FACTOR_WEIGHTS = {key: weight for key, _, weight, _ in FACTORS}


@dataclass(frozen=True)
class Filters:
    """What every report is narrowed by; built from untrusted input by ``parse_filters``."""

    period_days: int = PERIODS[DEFAULT_PERIOD]
    agent_id: int | None = None
    side: str = ""
    property_type: str = ""
    stage: str = ""


def parse_filters(
    *,
    period: Any = DEFAULT_PERIOD,
    agent: Any = "",
    side: Any = "",
    property_type: Any = "",
    stage: Any = "",
) -> Filters:
    """Validate filter input from a handler or a query string; a clear error per bad field."""
    errors: dict[str, str] = {}
    period = str(period or DEFAULT_PERIOD)
    if period not in PERIODS:
        errors["period"] = f"Period is one of {', '.join(PERIODS)} days."
    agent_id: int | None = None
    agent = str(agent or "").strip()
    if agent and agent != "all":
        if not agent.isdigit() or not 0 < int(agent) < 2**31:
            errors["agent"] = "Unknown agent."
        else:
            agent_id = int(agent)
    side = "" if str(side or "") in ("", "all") else str(side)
    if side and side not in {s.value for s in Side}:
        errors["side"] = "Unknown side."
    property_type = "" if str(property_type or "") in ("", "all") else str(property_type)
    if property_type and property_type not in {p.value for p in PropertyType}:
        errors["property_type"] = "Unknown property type."
    stage = "" if str(stage or "") in ("", "all") else str(stage)
    if stage and stage not in {s.value for s in Stage}:
        errors["stage"] = "Unknown stage."
    if errors:
        raise ValidationFailed(errors)
    return Filters(PERIODS.get(period, 90), agent_id, side, property_type, stage)


def _conditions(actor: User, filters: Filters, *, with_stage: bool = True) -> list[Any]:
    conditions: list[Any] = [access.visible_transactions(actor)]
    if filters.agent_id is not None:
        conditions.append(col(Transaction.owner_id) == filters.agent_id)
    if filters.side:
        conditions.append(col(Transaction.side) == filters.side)
    if filters.property_type:
        conditions.append(col(Transaction.property_type) == filters.property_type)
    if with_stage and filters.stage:
        conditions.append(col(Transaction.stage) == filters.stage)
    return conditions


def select_(*columns: Any) -> Any:
    """SQLAlchemy's select, untyped: report queries mix labels, aggregates and windows that
    the stubs' overloads cannot follow."""
    return _sa_select(*columns)


def _require(actor: User | None) -> User:
    return access.require_staff(actor)


def _days_between(db: Session, start: Any, end: Any) -> ColumnElement[Any]:
    """Whole days from ``start`` to ``end`` (two DATE columns) on either database."""
    if db.get_bind().dialect.name == "sqlite":
        return cast(func.julianday(end) - func.julianday(start), SAInteger)
    return cast(end - start, SAInteger)


def _money(cents: int | None) -> str:
    return format_price(int(cents or 0)) or "$0"


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


# --- people to filter by ---------------------------------------------------------------------


@dataclass
class Choice:
    value: str
    label: str


def agent_choices(db: Session, actor: User | None) -> list[Choice]:
    """The staff of the actor's brokerage who own files (an agent sees only themself)."""
    actor = _require(actor)
    query = select_(User.id, User.full_name).where(
        User.org_id == actor.org_id,
        col(User.role).in_([Role.ADMIN.value, Role.AGENT.value, Role.COORDINATOR.value]),
    )
    if actor.role_enum is not Role.ADMIN:
        query = query.where(User.id == actor.id)
    return [Choice(str(uid), name) for uid, name in db.exec(query.order_by(User.full_name)).all()]


# --- pipeline --------------------------------------------------------------------------------


@dataclass
class StageRow:
    stage: str
    label: str
    files: int
    volume_cents: int
    volume: str


@dataclass
class WeekRow:
    week: str
    label: str
    files: int
    volume_cents: int = 0
    volume: str = "$0"


@dataclass
class PipelineReport:
    stages: list[StageRow] = field(default_factory=list)
    new_contracts: list[WeekRow] = field(default_factory=list)


def pipeline(
    db: Session, actor: User | None, filters: Filters, *, today: date | None = None
) -> PipelineReport:
    """Open files and their volume by stage; new contracts (effective date) per week."""
    actor = _require(actor)
    today = today or date.today()
    rows = db.exec(
        select_(
            Transaction.stage,
            func.count(),
            func.coalesce(func.sum(Transaction.price_cents), 0),
        )
        .where(
            *_conditions(actor, filters),
            col(Transaction.stage).in_(OPEN_STAGE_VALUES),
        )
        .group_by(Transaction.stage)
    ).all()
    by_stage = {stage: (int(n), int(v)) for stage, n, v in rows}
    stages = [
        StageRow(
            s.value,
            s.label,
            *by_stage.get(s.value, (0, 0)),
            _money(by_stage.get(s.value, (0, 0))[1]),
        )
        for s in Stage
        if s.is_open and (not filters.stage or filters.stage == s.value)
    ]
    start = today - timedelta(days=filters.period_days)
    return PipelineReport(
        stages, _weekly(db, actor, filters, Transaction.effective_date, start, today)
    )


def _weekly(
    db: Session,
    actor: User,
    filters: Filters,
    column: Any,
    start: date,
    end: date,
    *,
    open_only: bool = False,
) -> list[WeekRow]:
    conditions = _conditions(actor, filters)
    if open_only:
        conditions.append(col(Transaction.stage).in_(OPEN_STAGE_VALUES))
    rows = db.exec(
        select_(column, func.count(), func.coalesce(func.sum(Transaction.price_cents), 0))
        .where(*conditions, column >= start, column <= end)
        .group_by(column)
    ).all()
    weeks: dict[date, list[int]] = {}
    week = _week_start(start)
    while week <= end:
        weeks[week] = [0, 0]
        week += timedelta(days=7)
    for day, n, volume in rows:  # one row per day at most: already grouped in SQL
        bucket = weeks.setdefault(_week_start(day), [0, 0])
        bucket[0] += int(n)
        bucket[1] += int(volume)
    return [
        WeekRow(w.isoformat(), w.strftime("%b %-d"), n, v, _money(v)) for w, (n, v) in weeks.items()
    ]


# --- closings --------------------------------------------------------------------------------


@dataclass
class MonthRow:
    month: str
    this_year: int
    last_year: int
    this_year_volume_cents: int
    last_year_volume_cents: int
    this_year_volume: str
    last_year_volume: str


@dataclass
class ClosingsReport:
    year: int
    months: list[MonthRow] = field(default_factory=list)
    upcoming: list[WeekRow] = field(default_factory=list)


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def closings(
    db: Session, actor: User | None, filters: Filters, *, today: date | None = None
) -> ClosingsReport:
    """Closed files per month, this year against last (count and volume); open files closing
    in each of the next 8 weeks."""
    actor = _require(actor)
    today = today or date.today()
    year = today.year
    year_col = extract("year", col(Transaction.closing_date))
    month_col = extract("month", col(Transaction.closing_date))
    rows = db.exec(
        select_(
            year_col, month_col, func.count(), func.coalesce(func.sum(Transaction.price_cents), 0)
        )
        .where(
            *_conditions(actor, filters, with_stage=False),
            Transaction.stage == Stage.CLOSED.value,
            col(Transaction.closing_date) >= date(year - 1, 1, 1),
            col(Transaction.closing_date) <= date(year, 12, 31),
        )
        .group_by(year_col, month_col)
    ).all()
    found = {(int(y), int(m)): (int(n), int(v)) for y, m, n, v in rows}
    months = []
    for number, name in enumerate(MONTHS, start=1):
        now_n, now_v = found.get((year, number), (0, 0))
        then_n, then_v = found.get((year - 1, number), (0, 0))
        months.append(MonthRow(name, now_n, then_n, now_v, then_v, _money(now_v), _money(then_v)))
    upcoming = _weekly(
        db,
        actor,
        filters,
        Transaction.closing_date,
        today,
        today + timedelta(days=55),
        open_only=True,
    )[:8]
    return ClosingsReport(year, months, upcoming)


# --- days to close ---------------------------------------------------------------------------


@dataclass
class DurationRow:
    group: str
    label: str
    files: int
    median_days: int
    p90_days: int
    average_days: float


@dataclass
class ReasonRow:
    reason: str
    files: int


@dataclass
class DaysToCloseReport:
    by_side: list[DurationRow] = field(default_factory=list)
    by_agent: list[DurationRow] = field(default_factory=list)
    by_property_type: list[DurationRow] = field(default_factory=list)
    closed: int = 0
    cancelled: int = 0
    fall_through_rate: float = 0.0
    fall_through_label: str = "0%"
    reasons: list[ReasonRow] = field(default_factory=list)


def _percentiles(
    db: Session, actor: User, filters: Filters, group: Any, start: date, end: date
) -> list[tuple[Any, int, int, int, float]]:
    """(group, files, median, p90, average) of days from effective date to closing, by nearest
    rank: ROW_NUMBER and COUNT over each group, then the first day count at or past the rank."""
    days = _days_between(db, Transaction.effective_date, Transaction.closing_date).label("days")
    ranked = (
        select_(
            group.label("grp"),
            days,
            func.row_number().over(partition_by=group, order_by=days).label("rn"),
            func.count().over(partition_by=group).label("cnt"),
        )
        .where(
            *_conditions(actor, filters, with_stage=False),
            Transaction.stage == Stage.CLOSED.value,
            col(Transaction.effective_date).is_not(None),
            col(Transaction.closing_date) >= start,
            col(Transaction.closing_date) <= end,
            col(Transaction.closing_date) >= col(Transaction.effective_date),
        )
        .subquery()
    )
    rows = db.exec(
        select_(
            ranked.c.grp,
            func.max(ranked.c.cnt),
            func.min(case((ranked.c.rn * 2 >= ranked.c.cnt, ranked.c.days))),
            func.min(case((ranked.c.rn * 10 >= ranked.c.cnt * 9, ranked.c.days))),
            func.avg(ranked.c.days),
        )
        .group_by(ranked.c.grp)
        .order_by(ranked.c.grp)
    ).all()
    return [(g, int(n), int(m), int(p), round(float(a), 1)) for g, n, m, p, a in rows]


def days_to_close(
    db: Session, actor: User | None, filters: Filters, *, today: date | None = None
) -> DaysToCloseReport:
    """Median and 90th percentile of effective date → closing for files closed in the period,
    by side, agent and property type; the fall-through rate and the cancellation reasons."""
    actor = _require(actor)
    today = today or date.today()
    start = today - timedelta(days=filters.period_days)
    side_labels = {s.value: s.label for s in Side}
    type_labels = {p.value: p.label for p in PropertyType}
    names = dict(db.exec(select_(User.id, User.full_name).where(User.org_id == actor.org_id)).all())

    def rows(group: Any, labels: dict[Any, str]) -> list[DurationRow]:
        return [
            DurationRow(str(g), labels.get(g, str(g)), n, m, p, a)
            for g, n, m, p, a in _percentiles(db, actor, filters, group, start, today)
        ]

    outcomes = dict(
        db.exec(
            select_(Transaction.stage, func.count())
            .where(
                *_conditions(actor, filters, with_stage=False),
                col(Transaction.stage).in_([Stage.CLOSED.value, Stage.CANCELLED.value]),
                col(Transaction.stage_changed_at)
                >= datetime.combine(start, datetime.min.time(), UTC),
            )
            .group_by(Transaction.stage)
        ).all()
    )
    closed = int(outcomes.get(Stage.CLOSED.value, 0))
    cancelled = int(outcomes.get(Stage.CANCELLED.value, 0))
    rate = cancelled / (closed + cancelled) if closed + cancelled else 0.0
    reason = func.coalesce(func.nullif(func.trim(Transaction.cancel_reason), ""), "No reason given")
    reasons = db.exec(
        select_(reason, func.count())
        .where(
            *_conditions(actor, filters, with_stage=False),
            Transaction.stage == Stage.CANCELLED.value,
            col(Transaction.stage_changed_at) >= datetime.combine(start, datetime.min.time(), UTC),
        )
        .group_by(reason)
        .order_by(func.count().desc(), reason)
        .limit(20)
    ).all()
    return DaysToCloseReport(
        by_side=rows(Transaction.side, side_labels),
        by_agent=rows(Transaction.owner_id, names),
        by_property_type=rows(Transaction.property_type, type_labels),
        closed=closed,
        cancelled=cancelled,
        fall_through_rate=rate,
        fall_through_label=f"{rate:.0%}",
        reasons=[ReasonRow(str(r), int(n)) for r, n in reasons],
    )


# --- deadlines -------------------------------------------------------------------------------


@dataclass
class DeadlineRow:
    group: str
    label: str
    met: int
    late: int
    missed: int


@dataclass
class LateFileRow:
    transaction_id: int
    address: str
    late: int
    missed: int


@dataclass
class DeadlinesReport:
    by_kind: list[DeadlineRow] = field(default_factory=list)
    by_agent: list[DeadlineRow] = field(default_factory=list)
    late_files: list[LateFileRow] = field(default_factory=list)


def deadlines(
    db: Session, actor: User | None, filters: Filters, *, now: datetime | None = None
) -> DeadlinesReport:
    """Each key date due in the period with a task counted from it (``Task.due_key``): met
    (task done by the due moment), met late (done after it) or missed (still not done and
    the moment has passed). Tasks marked not applicable count as neither."""
    actor = _require(actor)
    now = now or datetime.now(UTC)
    start = now - timedelta(days=filters.period_days)
    due = col(KeyDate.due_at)
    done = col(Task.status) == "done"
    met = case((and_(done, col(Task.completed_at) <= due), 1), else_=0)
    late = case((and_(done, col(Task.completed_at) > due), 1), else_=0)
    missed = case((and_(col(Task.status) == "open", due < now), 1), else_=0)
    base = (
        select_()
        .select_from(KeyDate)
        .join(Transaction, col(Transaction.id) == KeyDate.transaction_id)
        .join(
            Task,
            and_(
                col(Task.transaction_id) == KeyDate.transaction_id, col(Task.due_key) == KeyDate.key
            ),
        )
        .where(
            *_conditions(actor, filters),
            col(due).is_not(None),
            due >= start,
            due <= now,
            Task.status != "not_applicable",
        )
    )

    def grouped(*columns: Any) -> list[Any]:
        return list(
            db.exec(
                base.add_columns(*columns, func.sum(met), func.sum(late), func.sum(missed))
                .group_by(*columns)
                .order_by(*columns)
            ).all()
        )

    by_kind = [
        DeadlineRow(key, str(label), int(m), int(lt), int(ms))
        for key, label, m, lt, ms in db.exec(
            base.add_columns(
                KeyDate.key,
                func.min(KeyDate.label),
                func.sum(met),
                func.sum(late),
                func.sum(missed),
            )
            .group_by(KeyDate.key)
            .order_by(KeyDate.key)
        ).all()
    ]
    names = dict(db.exec(select_(User.id, User.full_name).where(User.org_id == actor.org_id)).all())
    by_agent = [
        DeadlineRow(str(owner), names.get(owner, f"User {owner}"), int(m), int(lt), int(ms))
        for owner, m, lt, ms in grouped(Transaction.owner_id)
    ]
    worst = func.sum(late) + func.sum(missed)
    late_rows = db.exec(
        base.add_columns(
            Transaction.id, Transaction.street, Transaction.unit, func.sum(late), func.sum(missed)
        )
        .group_by(Transaction.id, Transaction.street, Transaction.unit)
        .having(worst > 0)
        .order_by(worst.desc(), Transaction.id)
        .limit(LATE_FILES_LIMIT)
    ).all()
    late_files = [
        LateFileRow(int(tid), f"{street} {unit}".strip(), int(lt), int(ms))
        for tid, street, unit, lt, ms in late_rows
    ]
    return DeadlinesReport(by_kind, by_agent, late_files)


# --- at-risk files ---------------------------------------------------------------------------


@dataclass
class Factor:
    key: str
    label: str
    weight: int
    detail: str
    href: str


@dataclass
class AtRiskRow:
    transaction_id: int
    address: str
    stage_label: str
    closing_label: str
    score: int
    factors: list[Factor] = field(default_factory=list)
    summary: str = ""


def _off_days(today: date, horizon_days: int = 400) -> list[date]:
    """Weekends and US federal holidays from today on: the closing dates that cannot happen."""
    days = []
    for offset in range(horizon_days):
        day = today + timedelta(days=offset)
        if day.weekday() >= 5 or US_FEDERAL.is_holiday(day):
            days.append(day)
    return days


def _factor_queries(
    actor: User, filters: Filters, today: date, now: datetime
) -> list[tuple[str, Any]]:
    """One SELECT (transaction_id, detail count) per factor, over visible open files."""
    scope = [*_conditions(actor, filters), col(Transaction.stage).in_(OPEN_STAGE_VALUES)]
    soon = today + timedelta(days=2)
    deadline_soon = (
        select_(KeyDate.transaction_id.label("tid"), func.count().label("n"))  # type: ignore[attr-defined]
        .join(Transaction, col(Transaction.id) == KeyDate.transaction_id)
        .join(
            Task,
            and_(
                col(Task.transaction_id) == KeyDate.transaction_id, col(Task.due_key) == KeyDate.key
            ),
        )
        .where(
            *scope,
            Task.status == "open",
            func.coalesce(KeyDate.override_date, KeyDate.computed_date) >= today,
            func.coalesce(KeyDate.override_date, KeyDate.computed_date) <= soon,
        )
        .group_by(col(KeyDate.transaction_id))
    )
    # Start from the covering (org_id, status, due_date, transaction_id) index's range of open,
    # overdue tasks and keep those of in-scope files; "+ 0" stops the planner from probing
    # tasks once per open file instead (10,000 files, SQLite: 168 -> 34 ms for an admin).
    in_scope = select_(Transaction.id).where(*scope)
    overdue = (
        select_(col(Task.transaction_id).label("tid"), func.count().label("n"))
        .where(
            Task.org_id == actor.org_id,
            col(Task.status) == "open",
            col(Task.due_date) < today,
            (col(Task.transaction_id) + 0).in_(in_scope),
        )
        .group_by(col(Task.transaction_id))
    )
    no_dates = select_(col(Transaction.id).label("tid"), literal(1).label("n")).where(
        *scope,
        col(Transaction.stage).in_([Stage.UNDER_CONTRACT.value, Stage.CLEAR_TO_CLOSE.value]),
        or_(col(Transaction.effective_date).is_(None), col(Transaction.closing_date).is_(None)),
    )
    off_day = select_(col(Transaction.id).label("tid"), literal(1).label("n")).where(
        *scope, col(Transaction.closing_date).in_(_off_days(today))
    )
    stale = select_(col(Transaction.id).label("tid"), literal(1).label("n")).where(
        *scope, col(Transaction.updated_at) < now - timedelta(days=STALE_DAYS)
    )
    return [
        ("deadline_soon", deadline_soon),
        ("overdue_tasks", overdue),
        ("no_key_dates", no_dates),
        ("closing_off_day", off_day),
        ("stale", stale),
    ]


def at_risk(
    db: Session,
    actor: User | None,
    filters: Filters,
    *,
    today: date | None = None,
    now: datetime | None = None,
    limit: int = AT_RISK_LIMIT,
) -> list[AtRiskRow]:
    """Open files scored by plain, listed factors (weights in ``FACTORS``), riskiest first.

    The score (and each factor's count) is summed in SQL over a UNION ALL of one query per
    factor, in one pass, so only the top ``limit`` files are ever read back."""
    actor = _require(actor)
    today = today or date.today()
    now = now or datetime.now(UTC)
    limit = max(1, min(int(limit), 200))
    scored = _scored(_factor_queries(actor, filters, today, now))
    # One pass: the score and each factor's count per file, only the top files read back.
    per_factor = [func.max(case((scored.c.k == key, scored.c.n))).label(key) for key, *_ in FACTORS]
    top = db.exec(
        select_(scored.c.tid, func.sum(scored.c.w).label("score"), *per_factor)
        .group_by(scored.c.tid)
        .order_by(func.sum(scored.c.w).desc(), scored.c.tid)
        .limit(limit)
    ).all()
    if not top:
        return []
    ids = [int(row[0]) for row in top]
    found: dict[int, dict[str, int]] = {
        int(row[0]): {
            key: int(n) for (key, *_), n in zip(FACTORS, row[2:], strict=True) if n is not None
        }
        for row in top
    }
    txns = {t.id: t for t in db.exec(select(Transaction).where(col(Transaction.id).in_(ids))).all()}
    result = []
    for tid, score, *_counts in top:
        txn = txns[int(tid)]
        factors = [
            Factor(
                key,
                label,
                weight,
                _detail(key, found[int(tid)][key], txn),
                _fix_href(int(tid), page),
            )
            for key, label, weight, page in FACTORS
            if key in found.get(int(tid), {})
        ]
        result.append(
            AtRiskRow(
                int(tid),
                txn.address,
                Stage(txn.stage).label,
                txn.closing_date.strftime("%b %-d, %Y") if txn.closing_date else "No closing date",
                int(score),
                factors,
                ", ".join(f"{f.label} (+{f.weight})" for f in factors),
            )
        )
    return result


def _scored(parts: list[tuple[str, Any]]) -> Any:
    """UNION ALL of the factor queries as (tid, n, weight, key) rows."""
    selects = []
    for key, query in parts:
        sub = query.subquery()
        selects.append(
            select_(
                sub.c.tid,
                sub.c.n,
                literal(FACTOR_WEIGHTS[key]).label("w"),
                literal(key).label("k"),
            )
        )
    return union_all(*selects).subquery()


def _detail(key: str, n: int, txn: Transaction) -> str:
    if key == "deadline_soon":
        return f"{n} open task{'s' if n != 1 else ''} on a deadline due within 2 days"
    if key == "overdue_tasks":
        return f"{n} overdue task{'s' if n != 1 else ''}"
    if key == "closing_off_day" and txn.closing_date:
        name = US_FEDERAL.holiday_name(txn.closing_date)
        return f"Closing {txn.closing_date:%a %b %-d}" + (f" ({name})" if name else "")
    if key == "no_key_dates":
        return "Add the effective and closing dates"
    return f"Nothing has changed on this file for over {STALE_DAYS} days"


def _fix_href(transaction_id: int, page: str) -> str:
    return f"/transactions/{transaction_id}" + (f"/{page}" if page else "")


# --- CSV -------------------------------------------------------------------------------------


def csv_rows(
    db: Session, actor: User | None, name: str, filters: Filters
) -> tuple[Sequence[str], list[list[Any]]]:
    """The header and rows of one report's CSV: the same numbers as the page's tables."""
    if name not in REPORTS:
        raise ValidationFailed({"report": f"Report is one of: {', '.join(REPORTS)}."})
    if name == "pipeline":
        p = pipeline(db, actor, filters)
        rows: list[list[Any]] = [
            ["Open files by stage", s.label, s.files, s.volume] for s in p.stages
        ]
        rows += [["New contracts, week of", w.week, w.files, w.volume] for w in p.new_contracts]
        return ("Table", "Group", "Files", "Volume"), rows
    if name == "closings":
        c = closings(db, actor, filters)
        rows = [
            [m.month, m.this_year, m.this_year_volume, m.last_year, m.last_year_volume]
            for m in c.months
        ]
        rows += [[f"Upcoming, week of {w.week}", w.files, w.volume, "", ""] for w in c.upcoming]
        return (
            "Month",
            f"Closed {c.year}",
            f"Volume {c.year}",
            f"Closed {c.year - 1}",
            f"Volume {c.year - 1}",
        ), rows
    if name == "days_to_close":
        d = days_to_close(db, actor, filters)
        rows = []
        for table, items in (
            ("Side", d.by_side),
            ("Agent", d.by_agent),
            ("Property type", d.by_property_type),
        ):
            rows += [
                [table, r.label, r.files, r.median_days, r.p90_days, r.average_days] for r in items
            ]
        rows.append(
            [
                "Fall-through",
                f"{d.cancelled} cancelled of {d.closed + d.cancelled}",
                d.cancelled,
                d.fall_through_label,
                "",
                "",
            ]
        )
        rows += [["Cancellation reason", r.reason, r.files, "", "", ""] for r in d.reasons]
        return ("By", "Group", "Files", "Median days", "90th percentile days", "Average days"), rows
    if name == "deadlines":
        dl = deadlines(db, actor, filters)
        rows = [["Deadline", r.label, r.met, r.late, r.missed] for r in dl.by_kind]
        rows += [["Agent", r.label, r.met, r.late, r.missed] for r in dl.by_agent]
        rows += [["File most often late", f.address, "", f.late, f.missed] for f in dl.late_files]
        return ("By", "Group", "Met", "Met late", "Missed"), rows
    risky = at_risk(db, actor, filters)
    return (
        ("File ID", "Address", "Stage", "Closing", "Score", "Factors"),
        [
            [r.transaction_id, r.address, r.stage_label, r.closing_label, r.score, r.summary]
            for r in risky
        ],
    )
