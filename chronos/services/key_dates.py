"""Key dates: a transaction's deadlines, computed by the pure engine in ``chronos.deadlines``.

Each ``KeyDate`` row stores the engine's rule as JSON, the value the rule gave the last time the
schedule was worked out (``computed_date``, ``due_at``) and a person's override. Whenever an
input changes (a preset is applied, the effective or closing date moves, a date is overridden)
the whole schedule is recomputed, persisted, and an Event lists what moved (old → new).

Holidays are the US federal ones; cutoff times are in the organization's time zone. Overdue and
due-soon are worked out when read, never stored. Staff-only timeline kinds: every key-date event
(a moved date may be one outside parties are not shown).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from chronos.deadlines import (
    PRESETS,
    US_FEDERAL,
    Anchor,
    AnchorKind,
    ComputedRule,
    DateChange,
    DeadlineRuleError,
    EnteredDate,
    KeyDateRule,
    MissingAnchorError,
    Override,
    Schedule,
    ScheduledDate,
    Source,
    TransactionAnchors,
    compute_schedule,
    diff_schedules,
    explain,
    format_moment,
)
from chronos.models import KeyDate, Organization, Stage, Transaction, User, utcnow
from chronos.services import access, deadline_templates, tasks, timeline
from chronos.services.errors import NotFound, ValidationFailed
from chronos.services.validation import clean_text, parse_date

DUE_SOON_DAYS = 3  # a date this many days away or closer (and not past) is "due soon"


# ---------------------------------------------------------------- views


@dataclass
class KeyDateRow:
    key: str
    label: str
    date: str  # ISO date that counts (override or computed); "" when it cannot be computed
    date_label: str  # "Mon 12 Jan 2026, 5:00 pm"
    explanation: str  # the engine's plain-words explanation
    is_overridden: bool
    computed_label: str  # what the rule gives (differs from date_label when overridden)
    override_reason: str  # "" for outside parties
    shared_with_parties: bool
    days_left: int  # days from ``today`` to the date (negative: past)
    days_label: str  # "today", "in 3 days", "2 days ago"
    overdue: bool  # past, on a transaction still open
    due_soon: bool  # within DUE_SOON_DAYS, not past, on a transaction still open


@dataclass
class KeyDateMove:
    key: str
    label: str
    old: str  # ISO or ""
    new: str  # ISO or ""
    text: str  # "Closing: Tue 20 Feb 2024 → Mon 26 Feb 2024"


@dataclass
class PresetOption:
    key: str
    name: str


def preset_options(db: Session | None = None, actor: User | None = None) -> list[PresetOption]:
    """The built-in presets, then the actor's brokerage's own templates (``tpl:<id>``)."""
    options = [PresetOption(p.key, p.name) for p in PRESETS.values()]
    if db is not None and actor is not None:
        options += [
            PresetOption(f"{deadline_templates.PREFIX}{t.id}", t.name)
            for t in deadline_templates.org_templates(db, actor.org_id)
        ]
    return options


# ---------------------------------------------------------------- rules as JSON


def _time_json(at: time | None) -> str | None:
    return at.strftime("%H:%M") if at is not None else None


def _time_value(raw: Any) -> time | None:
    return time.fromisoformat(raw) if raw else None


def rule_to_json(rule: KeyDateRule) -> dict[str, Any]:
    """The engine's rule as plain JSON: enough to rebuild it with :func:`rule_from_json`."""
    if isinstance(rule, EnteredDate):
        return {"kind": "entered", "on": rule.on.isoformat(), "at": _time_json(rule.at)}
    return {
        "kind": "computed",
        "anchor": rule.anchor.kind.value,
        "anchor_key": rule.anchor.key,
        "offset_days": rule.offset_days,
        "direction": rule.direction.value,
        "day_type": rule.day_type.value,
        "weekend_rule": rule.weekend_rule.value,
        "cutoff": _time_json(rule.cutoff),
        "moved_cutoff": _time_json(rule.moved_cutoff),
        "late_after": _time_json(rule.late_after),
    }


def rule_from_json(key: str, label: str, data: Mapping[str, Any]) -> KeyDateRule:
    if data.get("kind") == "entered":
        return EnteredDate(key, label, date.fromisoformat(data["on"]), _time_value(data.get("at")))
    return ComputedRule(
        key,
        label,
        Anchor(AnchorKind(data["anchor"]), data.get("anchor_key")),
        int(data["offset_days"]),
        direction=data.get("direction", "after"),
        day_type=data.get("day_type", "calendar"),
        weekend_rule=data.get("weekend_rule", "none"),
        cutoff=_time_value(data.get("cutoff")),
        moved_cutoff=_time_value(data.get("moved_cutoff")),
        late_after=_time_value(data.get("late_after")),
    )


# ---------------------------------------------------------------- computing


def _zone(db: Session, txn: Transaction) -> ZoneInfo:
    org = db.get(Organization, txn.org_id)
    return ZoneInfo(org.timezone if org is not None else "America/New_York")


def _rows(db: Session, txn: Transaction) -> list[KeyDate]:
    return list(
        db.exec(
            select(KeyDate)
            .where(KeyDate.transaction_id == txn.id)
            .order_by(col(KeyDate.position), col(KeyDate.id))
        ).all()
    )


def _anchors(effective: date | None, closing: date | None) -> TransactionAnchors:
    return TransactionAnchors(effective_date=effective, closing_date=closing)


def _field_for(exc: DeadlineRuleError, default: str) -> str:
    if isinstance(exc, MissingAnchorError):
        if exc.anchor_name == "Effective date":
            return "effective_date"
        if exc.anchor_name == "Closing date":
            return "closing_date"
    return default


def _compute(
    rules: Sequence[KeyDateRule],
    anchors: TransactionAnchors,
    zone: ZoneInfo,
    overrides: Mapping[str, Override],
    *,
    error_field: str,
    allow_missing: bool = False,
) -> Schedule:
    """The engine's schedule; its refusals (cycles, missing anchors...) become ValidationFailed."""
    try:
        return compute_schedule(
            rules, anchors, US_FEDERAL, zone, overrides=overrides, allow_missing=allow_missing
        )
    except DeadlineRuleError as exc:
        raise ValidationFailed({_field_for(exc, error_field): str(exc)}) from None


def _overrides(rows: Sequence[KeyDate], *, with_notes: bool = True) -> dict[str, Override]:
    return {
        r.key: Override(r.override_date, note=(r.override_reason or None) if with_notes else None)
        for r in rows
        if r.override_date is not None
    }


def _stored_schedule(rows: Sequence[KeyDate], zone: ZoneInfo) -> Schedule:
    """What was saved last time, as a Schedule, so the engine's diff can say what moved."""
    dates = []
    unresolved = []
    for r in rows:
        if r.day is None:
            unresolved.append((r.key, r.label, "not set"))
        else:
            source = Source.OVERRIDDEN if r.override_date is not None else Source.COMPUTED
            dates.append(ScheduledDate(r.key, r.label, r.day, None, zone, source))
    return Schedule(dates=tuple(dates), unresolved=tuple(unresolved))


def _store(row: KeyDate, item: ScheduledDate | None) -> None:
    """Copy the engine's values onto the row (``due_at`` in UTC)."""
    if item is None:
        row.computed_date, row.due_at = None, None
    else:
        row.computed_date = item.day if item.source is Source.ENTERED else item.computed_day
        row.due_at = item.due_at.astimezone(UTC)
    row.updated_at = utcnow()


def _moves(changes: Sequence[DateChange]) -> list[KeyDateMove]:
    return [
        KeyDateMove(
            key=c.key,
            label=c.label,
            old=c.old.isoformat() if c.old else "",
            new=c.new.isoformat() if c.new else "",
            text=c.describe(),
        )
        for c in changes
    ]


def _moves_data(changes: Sequence[DateChange]) -> dict[str, list[str | None]]:
    return {
        c.key: [c.old.isoformat() if c.old else None, c.new.isoformat() if c.new else None]
        for c in changes
    }


def _recompute_rows(
    db: Session,
    txn: Transaction,
    rows: Sequence[KeyDate],
    *,
    error_field: str,
    before: Schedule | None = None,
) -> list[DateChange]:
    """Recompute every row from the transaction's anchors and the rows' overrides; persist.

    Returns what moved compared with ``before`` (default: the rows as stored now).
    """
    zone = _zone(db, txn)
    if before is None:
        before = _stored_schedule(rows, zone)
    schedule = _compute(
        [rule_from_json(r.key, r.label, r.rule) for r in rows],
        _anchors(txn.effective_date, txn.closing_date),
        zone,
        _overrides(rows),
        error_field=error_field,
    )
    for r in rows:
        _store(r, schedule.get(r.key))
        db.add(r)
    return diff_schedules(before, schedule)


# ---------------------------------------------------------------- commands


def apply_preset(
    db: Session,
    actor: User,
    transaction_id: int,
    preset_key: str,
    *,
    error_field: str = "preset",
    offsets: Mapping[str, int] | None = None,
) -> list[KeyDate]:
    """Replace the transaction's key dates with a preset's, computed from its anchors;
    ``offsets`` (rule key -> days, a built-in preset's computed rules only) puts a contract's
    own periods in place of the typical ones."""
    txn = access.get_editable_transaction(db, actor, transaction_id)
    key = str(preset_key or "")
    preset = PRESETS.get(key)
    template = None if preset is not None else deadline_templates.find_for_apply(db, actor, key)
    rules: list[KeyDateRule]
    if preset is not None:
        if offsets:
            from chronos.services.agreement_reader import fill_preset

            known = {
                r.key for r in preset.rules if isinstance(getattr(r, "offset_days", None), int)
            }
            clean = {
                k: int(v)
                for k, v in offsets.items()
                if k in known and isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 365
            }
            preset = fill_preset(preset, clean)
        name, rules = preset.name, list(preset.rules)
    elif template is not None:
        name, rules = template.name, deadline_templates.template_rules(template)
    else:
        raise ValidationFailed({error_field: "Choose one of the listed presets."})
    zone = _zone(db, txn)
    schedule = _compute(
        rules,
        _anchors(txn.effective_date, txn.closing_date),
        zone,
        {},
        error_field=error_field,
    )
    old = _rows(db, txn)
    for r in old:
        db.delete(r)
    db.flush()  # deletes first: the new rows reuse the (transaction_id, key) pairs
    now = utcnow()
    rows: list[KeyDate] = []
    for position, rule in enumerate(rules):
        row = KeyDate(
            org_id=txn.org_id,
            transaction_id=txn.id,  # type: ignore[arg-type]
            key=rule.key,
            label=rule.label,
            position=position,
            rule=rule_to_json(rule),
            created_at=now,
        )
        _store(row, schedule[rule.key])
        db.add(row)
        rows.append(row)
    summary = f"Key dates set from {name}: {len(rows)} dates"
    if old:
        summary += f" (replaced {len(old)})"
    timeline.record(
        db,
        actor=actor,
        txn=txn,
        kind="key_dates_applied",
        summary=summary,
        data={
            "preset": key,
            "replaced": len(old),
            "dates": {item.key: item.day.isoformat() for item in schedule},
        },
    )
    db.flush()
    tasks.sync_due_dates(db, txn)
    return rows


def recompute(db: Session, actor: User, txn: Transaction) -> list[KeyDateMove]:
    """After the effective/closing date changed on ``txn``: recompute, persist, record what moved.

    Called by ``transactions.update_transaction`` (which has already checked access and set the
    new anchors on ``txn``). Raises ValidationFailed, keyed by the anchor field, when a date can
    no longer be computed (e.g. the closing date was cleared while dates count from it).
    """
    access.require_staff(actor)
    rows = _rows(db, txn)
    if not rows:
        return []
    changes = _recompute_rows(db, txn, rows, error_field="key_dates")
    if changes:
        timeline.record(
            db,
            actor=actor,
            txn=txn,
            kind="key_dates_moved",
            summary="Key dates moved: " + "; ".join(c.describe() for c in changes),
            data={"moved": _moves_data(changes)},
        )
    db.flush()
    tasks.sync_due_dates(db, txn)  # tasks counted from a date move with it
    return _moves(changes)


def preview_anchor_change(
    db: Session,
    actor: User,
    transaction_id: int,
    effective_date: date | str | None,
    closing_date: date | str | None,
) -> list[KeyDateMove]:
    """What would move if the transaction had these anchors; nothing is saved."""
    txn = access.get_editable_transaction(db, actor, transaction_id)
    errors: dict[str, str] = {}
    parsed: dict[str, date | None] = {}
    for name, raw in (("effective_date", effective_date), ("closing_date", closing_date)):
        try:
            parsed[name] = parse_date(raw)
        except ValueError as exc:
            errors[name] = str(exc)
    if errors:
        raise ValidationFailed(errors)
    effective, closing = parsed["effective_date"], parsed["closing_date"]
    if effective and closing and closing < effective:
        raise ValidationFailed(
            {"closing_date": "Closing date cannot be before the effective (acceptance) date."}
        )
    rows = _rows(db, txn)
    if not rows:
        return []
    zone = _zone(db, txn)
    schedule = _compute(
        [rule_from_json(r.key, r.label, r.rule) for r in rows],
        _anchors(effective, closing),
        zone,
        _overrides(rows),
        error_field="key_dates",
    )
    return _moves(diff_schedules(_stored_schedule(rows, zone), schedule))


def _row(db: Session, txn: Transaction, key: str) -> KeyDate:
    row = db.exec(
        select(KeyDate).where(KeyDate.transaction_id == txn.id, KeyDate.key == str(key))
    ).first()
    if row is None:
        raise NotFound("Key date not found.")
    return row


def override_key_date(
    db: Session,
    actor: User,
    transaction_id: int,
    key: str,
    new_date: date | str | None,
    reason: str,
) -> list[KeyDateMove]:
    """Set (or, with a blank ``new_date``, remove) a person's date for a computed key date.

    The computed value is kept; dates counted from this one follow the override. Returns every
    date that moved (this one first).
    """
    txn = access.get_editable_transaction(db, actor, transaction_id)
    row = _row(db, txn, key)
    if row.rule.get("kind") == "entered":
        raise ValidationFailed({"date": f"{row.label} is entered; change the date itself."})
    try:
        day = parse_date(new_date)
    except ValueError as exc:
        raise ValidationFailed({"date": str(exc)}) from None
    try:
        reason = clean_text(reason, 500)
    except ValueError as exc:
        raise ValidationFailed({"reason": str(exc)}) from None
    if day is not None and not reason:
        raise ValidationFailed({"reason": "Say why this date differs from the rule."})
    if day is None and row.override_date is None:
        raise ValidationFailed({"date": "Choose the date to use instead."})
    rows = _rows(db, txn)
    before = _stored_schedule(rows, _zone(db, txn))
    row.override_date = day
    row.override_reason = reason if day is not None else ""
    changes = _recompute_rows(db, txn, rows, error_field="date", before=before)
    moved = "; ".join(c.describe() for c in changes) or "no date moved"
    if day is not None:
        kind, summary = "key_date_overridden", f"{row.label} overridden ({reason}): {moved}"
    else:
        kind, summary = "key_date_override_removed", f"{row.label} back to its rule: {moved}"
    timeline.record(
        db,
        actor=actor,
        txn=txn,
        kind=kind,
        summary=summary,
        data={
            "key": row.key,
            "override": day.isoformat() if day else None,
            "reason": reason,
            "moved": _moves_data(changes),
        },
    )
    db.flush()
    tasks.sync_due_dates(db, txn)  # tasks counted from a date move with it
    return _moves(changes)


def set_shared(db: Session, actor: User, transaction_id: int, key: str, shared: bool) -> KeyDate:
    """Show a key date to the transaction's outside parties (clients, attorneys, lenders) or not."""
    txn = access.get_editable_transaction(db, actor, transaction_id)
    row = _row(db, txn, key)
    if row.shared_with_parties == bool(shared):
        return row
    row.shared_with_parties = bool(shared)
    row.updated_at = utcnow()
    db.add(row)
    timeline.record(
        db,
        actor=actor,
        txn=txn,
        kind="key_date_sharing_changed",
        summary=f"{row.label} {'shown to' if shared else 'hidden from'} outside parties",
        data={"key": row.key, "shared": bool(shared)},
    )
    db.flush()
    return row


# ---------------------------------------------------------------- queries


def _days_label(days: int) -> str:
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    if days > 1:
        return f"in {days} days"
    return "1 day ago" if days == -1 else f"{-days} days ago"


def list_key_dates(
    db: Session, actor: User, transaction_id: int, *, today: date | None = None
) -> list[KeyDateRow]:
    """The transaction's key dates in order; outside parties see only the shared ones.

    ``today`` defaults to today in the organization's time zone.
    """
    txn = access.get_visible_transaction(db, actor, transaction_id)
    staff_view = actor.is_staff
    rows = _rows(db, txn)
    if not staff_view:
        rows = [r for r in rows if r.shared_with_parties]
    if not rows:
        return []
    zone = _zone(db, txn)
    today = today or datetime.now(zone).date()
    # Explanations come from the engine; tolerate a missing anchor here so a read never fails.
    all_rows = _rows(db, txn)
    schedule = _compute(
        [rule_from_json(r.key, r.label, r.rule) for r in all_rows],
        _anchors(txn.effective_date, txn.closing_date),
        zone,
        _overrides(all_rows, with_notes=staff_view),
        error_field="key_dates",
        allow_missing=True,
    )
    reasons = {key: reason for key, _, reason in schedule.unresolved}
    is_open = Stage(txn.stage).is_open
    out: list[KeyDateRow] = []
    for r in rows:
        item = schedule.get(r.key)
        if item is None:
            out.append(
                KeyDateRow(
                    key=r.key,
                    label=r.label,
                    date="",
                    date_label="Not set yet",
                    explanation=reasons.get(r.key, ""),
                    is_overridden=False,
                    computed_label="",
                    override_reason="",
                    shared_with_parties=r.shared_with_parties,
                    days_left=0,
                    days_label="",
                    overdue=False,
                    due_soon=False,
                )
            )
            continue
        days = (item.day - today).days
        computation = item.computation
        out.append(
            KeyDateRow(
                key=r.key,
                label=r.label,
                date=item.day.isoformat(),
                date_label=format_moment(item.day, item.at),
                explanation=explain(item),
                is_overridden=item.is_overridden,
                computed_label=format_moment(computation.day, computation.at)
                if computation is not None
                else "",
                override_reason=r.override_reason if staff_view else "",
                shared_with_parties=r.shared_with_parties,
                days_left=days,
                days_label=_days_label(days),
                overdue=is_open and days < 0,
                due_soon=is_open and 0 <= days <= DUE_SOON_DAYS,
            )
        )
    return out


@dataclass
class DeadlineRow:
    transaction_id: int
    address: str
    key: str
    label: str
    date: str  # ISO
    date_label: str
    days_label: str
    passed: bool
    due_soon: bool


def _org_today(db: Session, actor: User) -> date:
    org = db.get(Organization, actor.org_id)
    return datetime.now(ZoneInfo(org.timezone if org else "America/New_York")).date()


def deadlines_between(
    db: Session,
    actor: User,
    start: date,
    end: date,
    *,
    today: date | None = None,
    limit: int = 500,
) -> tuple[list[DeadlineRow], int]:
    """Key dates from ``start`` to ``end`` (inclusive) on the actor's open files, soonest
    first, and how many there are in all. Outside parties see only the shared ones.

    A file without a "closing" key date still shows its closing date: agents enter that date
    on every file, presets or not.
    """
    actor = access.require_active(actor)
    today = today or _org_today(db, actor)
    if end < start:
        raise ValidationFailed({"end": "The end date is before the start date."})
    if (end - start).days > 400:
        raise ValidationFailed({"end": "Ask for at most about a year at a time."})
    day = func.coalesce(col(KeyDate.override_date), col(KeyDate.computed_date))
    open_files = [
        access.visible_transactions(actor),
        col(Transaction.stage).not_in([Stage.CLOSED.value, Stage.CANCELLED.value]),
    ]
    kd_where: list[Any] = [KeyDate.org_id == actor.org_id, *open_files, day >= start, day <= end]
    if not actor.is_staff:
        kd_where.append(col(KeyDate.shared_with_parties).is_(True))
    has_closing_row = (
        select(KeyDate.id)
        .where(KeyDate.transaction_id == Transaction.id, KeyDate.key == "closing")
        .exists()
    )
    txn_where: list[Any] = [
        Transaction.org_id == actor.org_id,
        *open_files,
        col(Transaction.closing_date) >= start,
        col(Transaction.closing_date) <= end,
        ~has_closing_row,
    ]
    kd_total = db.exec(
        select(func.count())
        .select_from(KeyDate)
        .join(Transaction, col(Transaction.id) == KeyDate.transaction_id)
        .where(*kd_where)
    ).one()
    txn_total = db.exec(select(func.count()).select_from(Transaction).where(*txn_where)).one()
    kd_rows = db.exec(
        select(KeyDate, Transaction)
        .join(Transaction, col(Transaction.id) == KeyDate.transaction_id)
        .where(*kd_where)
        .order_by(day, col(KeyDate.transaction_id))
        .limit(limit)
    ).all()
    closings = db.exec(
        select(Transaction)
        .where(*txn_where)
        .order_by(col(Transaction.closing_date), col(Transaction.id))
        .limit(limit)
    ).all()
    items: list[tuple[date, int, str, str, str]] = []
    for kd, txn in kd_rows:
        assert kd.day is not None and txn.id is not None
        items.append((kd.day, txn.id, txn.address, kd.key, kd.label))
    for txn in closings:
        assert txn.closing_date is not None and txn.id is not None
        items.append((txn.closing_date, txn.id, txn.address, "closing", "Closing"))
    items.sort(key=lambda i: (i[0], i[1], i[3]))
    out = []
    for d, txn_id, address, key, label in items[:limit]:
        days = (d - today).days
        out.append(
            DeadlineRow(
                transaction_id=txn_id,
                address=address,
                key=key,
                label=label,
                date=d.isoformat(),
                date_label=format_moment(d, None),
                days_label=_days_label(days),
                passed=days < 0,
                due_soon=0 <= days <= DUE_SOON_DAYS,
            )
        )
    return out, int(kd_total) + int(txn_total)


def upcoming_deadlines(
    db: Session,
    actor: User,
    *,
    today: date | None = None,
    back_days: int = 3,
    ahead_days: int = 7,
    limit: int = 100,
) -> tuple[list[DeadlineRow], int]:
    """Key dates of the actor's open files from ``back_days`` ago to ``ahead_days`` ahead."""
    actor = access.require_active(actor)
    today = today or _org_today(db, actor)
    return deadlines_between(
        db,
        actor,
        today - timedelta(days=back_days),
        today + timedelta(days=ahead_days),
        today=today,
        limit=limit,
    )


def next_dates_by_file(
    db: Session,
    actor: User,
    transaction_ids: Sequence[int],
    *,
    today: date | None = None,
    per_file: int = 3,
) -> dict[int, list[DeadlineRow]]:
    """The next key dates (today or later) of each file in a page, in one query; outside
    parties see the shared ones of their own files only."""
    actor = access.require_active(actor)
    ids = list(transaction_ids)
    if not ids:
        return {}
    today = today or _org_today(db, actor)
    day = func.coalesce(col(KeyDate.override_date), col(KeyDate.computed_date))
    where: list[Any] = [
        col(KeyDate.transaction_id).in_(ids),
        access.visible_transactions(actor),
        day >= today,
    ]
    if not actor.is_staff:
        where.append(col(KeyDate.shared_with_parties).is_(True))
    rows = db.exec(
        select(KeyDate, Transaction)
        .join(Transaction, col(Transaction.id) == KeyDate.transaction_id)
        .where(*where)
        .order_by(col(KeyDate.transaction_id), day)
    ).all()
    out: dict[int, list[DeadlineRow]] = {}
    for kd, txn in rows:
        items = out.setdefault(txn.id or 0, [])
        if len(items) >= per_file or kd.day is None:
            continue
        days = (kd.day - today).days
        items.append(
            DeadlineRow(
                transaction_id=txn.id or 0,
                address=txn.address,
                key=kd.key,
                label=kd.label,
                date=kd.day.isoformat(),
                date_label=format_moment(kd.day, None),
                days_label=_days_label(days),
                passed=False,
                due_soon=days <= DUE_SOON_DAYS,
            )
        )
    return out
