"""Tasks and checklists: who does what on a file, by when.

A task is for a staff login (``assignee_user_id``) or for someone on the file
(``assignee_participant_id``: a client, the lender, ...). Its due date is fixed, or counted
from a key date and moved with it (``sync_due_dates`` runs wherever key dates change). Overdue,
due today and due soon are worked out when read, in the organization's time zone.

Checklist templates are per brokerage; the built-in ones (``DEFAULT_CHECKLISTS``) are copied
into a brokerage the first time it needs them, and are applied when a file is created or
reaches a stage. Each template item lands on a file at most once.

Access: staff who can see the file see and change all its tasks. Outside parties (client,
attorney, lender) see only the tasks assigned to them on their own files, and may mark those
done or open again: nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from chronos.models import (
    ChecklistTemplate,
    KeyDate,
    Organization,
    Participant,
    ParticipantRole,
    Person,
    Stage,
    Task,
    Transaction,
    User,
    utcnow,
)
from chronos.services import access, timeline
from chronos.services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from chronos.services.validation import Collector, clean_text, parse_date, required_text

OPEN, DONE, NOT_APPLICABLE = "open", "done", "not_applicable"
STATUSES = (OPEN, DONE, NOT_APPLICABLE)
STATUS_LABELS = {OPEN: "Open", DONE: "Done", NOT_APPLICABLE: "Not applicable"}
DUE_SOON_DAYS = 3
MAX_BULK = 500
MAX_OFFSET_DAYS = 365

# Who a checklist item is for, by role on the file. "owner" is the file's agent.
ASSIGNEE_ROLES = ("owner", "coordinator", "buyer", "seller", "lender", "attorney", "title")


def _item(
    key: str, title: str, assignee: str, due_key: str = "", offset: int = 0, notes: str = ""
) -> dict[str, Any]:
    return {
        "key": key,
        "title": title,
        "assignee": assignee,
        "due_key": due_key,
        "due_offset_days": offset,
        "notes": notes,
    }


# (name, side, stage, items). Offsets count from the named key date (negative = before it).
DEFAULT_CHECKLISTS: tuple[tuple[str, str, str, tuple[dict[str, Any], ...]], ...] = (
    (
        "Buyer: under contract",
        "buyer",
        Stage.UNDER_CONTRACT.value,
        (
            _item("send_contract_lender", "Send the executed contract to the lender", "owner"),
            _item("earnest_money", "Deliver the earnest money deposit", "buyer", "earnest_money"),
            _item("schedule_inspection", "Schedule the home inspection", "owner", "inspection", -7),
            _item(
                "review_inspection",
                "Review the inspection report with the buyer",
                "owner",
                "inspection",
                -2,
            ),
            _item("order_appraisal", "Order the appraisal", "lender", "appraisal", -10),
            _item(
                "insurance",
                "Choose homeowner's insurance and send the binder to the lender",
                "buyer",
                "loan_approval",
                -5,
            ),
            _item(
                "loan_documents",
                "Send every document the lender asked for",
                "buyer",
                "loan_approval",
                -10,
            ),
            _item("closing_disclosure", "Review the closing disclosure", "buyer", "closing", -3),
            _item(
                "wire_instructions",
                "Confirm wire instructions by phone with the title company",
                "buyer",
                "closing",
                -2,
                "Never trust wiring instructions that arrive by email alone.",
            ),
            _item(
                "schedule_walkthrough",
                "Schedule the final walkthrough",
                "owner",
                "final_walkthrough",
                -3,
            ),
        ),
    ),
    (
        "Seller: listing",
        "seller",
        Stage.ACTIVE_LISTING.value,
        (
            _item("listing_agreement", "Upload the signed listing agreement", "owner"),
            _item("seller_disclosures", "Collect the seller's disclosures", "seller"),
            _item("photos", "Book photos and the floor plan", "owner"),
            _item("mls", "Enter the listing in the MLS", "owner"),
        ),
    ),
    (
        "Seller: under contract",
        "seller",
        Stage.UNDER_CONTRACT.value,
        (
            _item("send_contract_title", "Send the executed contract to title", "owner"),
            _item(
                "confirm_earnest",
                "Confirm the earnest money was received",
                "owner",
                "earnest_money",
                1,
            ),
            _item(
                "inspection_access",
                "Arrange access for the buyer's inspection",
                "seller",
                "inspection",
                -8,
            ),
            _item("payoff", "Order the mortgage payoff statement", "title", "closing", -14),
            _item("utilities", "Schedule utility transfers and movers", "seller", "closing", -7),
        ),
    ),
    (
        "Clear to close",
        "any",
        Stage.CLEAR_TO_CLOSE.value,
        (
            _item(
                "confirm_closing",
                "Confirm closing time and place with every party",
                "owner",
                "closing",
                -2,
            ),
            _item(
                "closing_funds",
                "Arrange closing funds (certified or wired)",
                "buyer",
                "closing",
                -2,
            ),
            _item("keys", "Arrange keys, codes and remotes for the buyer", "seller", "closing", -1),
        ),
    ),
)


@dataclass
class TaskRow:
    id: int
    transaction_id: int
    address: str
    title: str
    notes: str
    status: str
    status_label: str
    assignee: str  # "u:<user id>" | "p:<participant id>" | ""
    assignee_label: str
    due_date: str  # ISO date or ""
    due_label: str
    due_rule: str  # "3 days before Closing" or ""
    state: str  # overdue | due_today | due_soon | upcoming | no_date | done | not_applicable
    state_label: str
    can_edit: bool
    can_complete: bool


@dataclass
class AssigneeOption:
    value: str
    label: str


@dataclass
class TodayView:
    overdue: list[TaskRow]
    due_today: list[TaskRow]
    next_days: list[TaskRow]
    overdue_total: int
    due_today_total: int
    next_days_total: int


# ---------------------------------------------------------------------------------------------
# Reading


def org_today(db: Session, org_id: int) -> date:
    org = db.get(Organization, org_id)
    zone = ZoneInfo(org.timezone if org and org.timezone else "America/New_York")
    return datetime.now(zone).date()


def task_state(task: Task, today: date) -> str:
    if task.status != OPEN:
        return task.status
    if task.due_date is None:
        return "no_date"
    days = (task.due_date - today).days
    if days < 0:
        return "overdue"
    if days == 0:
        return "due_today"
    if days <= DUE_SOON_DAYS:
        return "due_soon"
    return "upcoming"


STATE_LABELS = {
    "overdue": "Overdue",
    "due_today": "Due today",
    "due_soon": "Due soon",
    "upcoming": "Upcoming",
    "no_date": "No date",
    DONE: "Done",
    NOT_APPLICABLE: "Not applicable",
}


def _format_day(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"


def _due_rule(task: Task, key_labels: dict[str, str]) -> str:
    if not task.due_key:
        return ""
    label = (
        key_labels.get(task.due_key)
        or ANCHOR_KEYS.get(task.due_key)
        or task.due_key.replace("_", " ")
    )
    n = task.due_offset_days
    if n == 0:
        return f"on {label}"
    unit = "day" if abs(n) == 1 else "days"
    return f"{abs(n)} {unit} {'after' if n > 0 else 'before'} {label}"


def _names(db: Session, tasks: Sequence[Task]) -> tuple[dict[int, str], dict[int, str]]:
    user_ids = {t.assignee_user_id for t in tasks if t.assignee_user_id}
    part_ids = {t.assignee_participant_id for t in tasks if t.assignee_participant_id}
    users = (
        {u.id: u.full_name for u in db.exec(select(User).where(col(User.id).in_(user_ids))).all()}
        if user_ids
        else {}
    )
    parts: dict[int, str] = {}
    if part_ids:
        rows = db.exec(
            select(Participant, Person, User)
            .join(Person, col(Person.id) == Participant.person_id, isouter=True)
            .join(User, col(User.id) == Participant.user_id, isouter=True)
            .where(col(Participant.id).in_(part_ids))
        ).all()
        for part, person, user in rows:
            name = person.full_name if person else (user.full_name if user else "")
            parts[part.id or 0] = f"{name} ({ParticipantRole(part.role).label})"
    return {k: v for k, v in users.items() if k is not None}, parts


def _my_participant_ids(db: Session, actor: User, txn_ids: Iterable[int]) -> set[int]:
    ids = list(txn_ids)
    if not ids:
        return set()
    return {
        p
        for p in db.exec(
            select(Participant.id).where(
                Participant.user_id == actor.id, col(Participant.transaction_id).in_(ids)
            )
        ).all()
        if p is not None
    }


def _rows(
    db: Session,
    actor: User,
    tasks: Sequence[Task],
    today: date,
    addresses: dict[int, str],
    key_labels: dict[int, dict[str, str]],
) -> list[TaskRow]:
    users, parts = _names(db, tasks)
    mine = _my_participant_ids(db, actor, {t.transaction_id for t in tasks})
    staff = access.can_edit(actor)
    out = []
    for t in tasks:
        assert t.id is not None
        state = task_state(t, today)
        if t.assignee_user_id:
            value, label = f"u:{t.assignee_user_id}", users.get(t.assignee_user_id, "")
        elif t.assignee_participant_id:
            value, label = (
                f"p:{t.assignee_participant_id}",
                parts.get(t.assignee_participant_id, ""),
            )
        else:
            value, label = "", "Unassigned"
        is_mine = t.assignee_user_id == actor.id or t.assignee_participant_id in mine
        out.append(
            TaskRow(
                id=t.id,
                transaction_id=t.transaction_id,
                address=addresses.get(t.transaction_id, ""),
                title=t.title,
                notes=t.notes,
                status=t.status,
                status_label=STATUS_LABELS.get(t.status, t.status),
                assignee=value,
                assignee_label=label,
                due_date=t.due_date.isoformat() if t.due_date else "",
                due_label=_format_day(t.due_date) if t.due_date else "No date yet",
                due_rule=_due_rule(t, key_labels.get(t.transaction_id, {})),
                state=state,
                state_label=STATE_LABELS[state],
                can_edit=staff,
                can_complete=staff or is_mine,
            )
        )
    return out


def _key_labels(db: Session, txn_ids: Iterable[int]) -> dict[int, dict[str, str]]:
    ids = list(txn_ids)
    out: dict[int, dict[str, str]] = {}
    if not ids:
        return out
    for kd in db.exec(select(KeyDate).where(col(KeyDate.transaction_id).in_(ids))).all():
        out.setdefault(kd.transaction_id, {})[kd.key] = kd.label
    return out


def _outside_filter(db: Session, actor: User, txn_id: int) -> Any:
    """Outside parties see only the tasks assigned to their own participant rows."""
    mine = list(_my_participant_ids(db, actor, [txn_id]))
    return col(Task.assignee_participant_id).in_(mine) if mine else col(Task.id) < 0


def list_tasks(
    db: Session, actor: User, transaction_id: int, *, show: str = "open", today: date | None = None
) -> list[TaskRow]:
    """A file's tasks: open ones by due date (undated last), or all of them (``show="all"``)."""
    txn = access.get_visible_transaction(db, actor, transaction_id)
    conditions: list[Any] = [Task.transaction_id == txn.id]
    if show == "open":
        conditions.append(Task.status == OPEN)
    if not actor.is_staff:
        conditions.append(_outside_filter(db, actor, transaction_id))
    tasks = db.exec(
        select(Task)
        .where(*conditions)
        .order_by(
            col(Task.status) != OPEN,
            col(Task.due_date).is_(None),
            col(Task.due_date),
            col(Task.position),
            col(Task.id),
        )
        .limit(1000)
    ).all()
    today = today or org_today(db, txn.org_id)
    assert txn.id is not None
    return _rows(db, actor, tasks, today, {txn.id: txn.address}, _key_labels(db, [txn.id]))


def task_counts(
    db: Session, actor: User, transaction_id: int, today: date | None = None
) -> dict[str, int]:
    """Open, overdue and done counts for a file's header (what the actor may see)."""
    txn = access.get_visible_transaction(db, actor, transaction_id)
    today = today or org_today(db, txn.org_id)
    conditions: list[Any] = [Task.transaction_id == txn.id]
    if not actor.is_staff:
        conditions.append(_outside_filter(db, actor, transaction_id))
    rows = db.exec(
        select(Task.status, func.count()).where(*conditions).group_by(col(Task.status))
    ).all()
    counts = dict.fromkeys(STATUSES, 0) | {s: int(n) for s, n in rows}
    overdue = db.exec(
        select(func.count())
        .select_from(Task)
        .where(*conditions, Task.status == OPEN, col(Task.due_date) < today)
    ).one()
    return {**counts, "overdue": int(overdue)}


def assignee_options(db: Session, actor: User, transaction_id: int) -> list[AssigneeOption]:
    """Everyone a task on this file can be for: its agent, staff on it, and its participants."""
    txn = access.get_editable_transaction(db, actor, transaction_id)
    options: list[AssigneeOption] = []
    owner = db.get(User, txn.owner_id)
    if owner is not None:
        options.append(AssigneeOption(f"u:{owner.id}", f"{owner.full_name} (agent)"))
    seen_users = {txn.owner_id}
    rows = db.exec(
        select(Participant, Person, User)
        .join(Person, col(Person.id) == Participant.person_id, isouter=True)
        .join(User, col(User.id) == Participant.user_id, isouter=True)
        .where(Participant.transaction_id == txn.id)
        .order_by(col(Participant.id))
    ).all()
    for part, person, user in rows:
        role = ParticipantRole(part.role)
        if person is None and user is not None:
            if user.id in seen_users:
                continue
            seen_users.add(user.id)
            options.append(AssigneeOption(f"u:{user.id}", f"{user.full_name} ({role.label})"))
        elif person is not None:
            options.append(AssigneeOption(f"p:{part.id}", f"{person.full_name} ({role.label})"))
    return options


def today_view(
    db: Session, actor: User, *, days: int = 7, limit: int = 50, today: date | None = None
) -> TodayView:
    """Open tasks across every file the actor may see: overdue, due today, the next ``days``.

    Staff see all tasks of their files; outside parties only their own. Each list is capped
    at ``limit`` rows (the totals say how many there are).
    """
    actor = access.require_active(actor)
    today = today or org_today(db, actor.org_id)
    horizon = today + timedelta(days=days)
    # Drive from the actor's open files: an agent's few hundred files reach their tasks through
    # ix_tasks_txn_status instead of the brokerage's every open task (bench/TASKS.md).
    files = select(Transaction.id).where(
        access.visible_transactions(actor),
        col(Transaction.stage).not_in([Stage.CLOSED.value, Stage.CANCELLED.value]),
    )
    base: list[Any] = [
        Task.org_id == actor.org_id,
        col(Task.transaction_id).in_(files),
        Task.status == OPEN,
        col(Task.due_date).is_not(None),
        col(Task.due_date) <= horizon,
    ]
    if not actor.is_staff:
        mine = select(Participant.id).where(Participant.user_id == actor.id)
        base.append(col(Task.assignee_participant_id).in_(mine))
    buckets = {
        "overdue": col(Task.due_date) < today,
        "due_today": col(Task.due_date) == today,
        "next_days": col(Task.due_date) > today,
    }
    counted = db.exec(
        select(
            func.coalesce(func.sum(case((buckets["overdue"], 1), else_=0)), 0),
            func.coalesce(func.sum(case((buckets["due_today"], 1), else_=0)), 0),
            func.coalesce(func.sum(case((buckets["next_days"], 1), else_=0)), 0),
        ).where(*base)
    ).one()
    totals = dict(zip(buckets, (int(n) for n in counted), strict=True))
    lists: dict[str, list[Task]] = {
        name: list(
            db.exec(
                select(Task)
                .where(*base, clause)
                .order_by(col(Task.due_date), col(Task.transaction_id), col(Task.position))
                .limit(limit)
            ).all()
        )
        if totals[name]
        else []
        for name, clause in buckets.items()
    }
    listed = {t.transaction_id for rows in lists.values() for t in rows}
    addresses = {
        txn.id or 0: txn.address
        for txn in (
            db.exec(select(Transaction).where(col(Transaction.id).in_(listed))).all()
            if listed
            else []
        )
    }
    txn_ids = set(addresses)
    labels = _key_labels(db, txn_ids)

    def rows_of(name: str) -> list[TaskRow]:
        return _rows(db, actor, lists[name], today, addresses, labels)

    return TodayView(
        overdue=rows_of("overdue"),
        due_today=rows_of("due_today"),
        next_days=rows_of("next_days"),
        overdue_total=totals["overdue"],
        due_today_total=totals["due_today"],
        next_days_total=totals["next_days"],
    )


# ---------------------------------------------------------------------------------------------
# Changing


# A task may count from the file's own dates even when no key-date preset is applied; a key
# date with the same key (e.g. a "closing" key date that was overridden) takes precedence.
ANCHOR_KEYS = {"effective_date": "Effective date", "closing": "Closing"}


def anchor_days(
    effective: date | None, closing: date | None, key_days: dict[str, date | None]
) -> dict[str, date | None]:
    return {"effective_date": effective, "closing": closing, **key_days}


def _days(db: Session, txn: Transaction) -> dict[str, date | None]:
    rows = db.exec(select(KeyDate).where(KeyDate.transaction_id == txn.id)).all()
    return anchor_days(txn.effective_date, txn.closing_date, {kd.key: kd.day for kd in rows})


def due_from(days: dict[str, date | None], key: str, offset: int) -> date | None:
    day = days.get(key) if key else None
    return day + timedelta(days=offset) if day else None


def _resolve_due(db: Session, txn: Transaction, task: Task) -> None:
    if task.due_key:
        task.due_date = due_from(_days(db, txn), task.due_key, task.due_offset_days)


def _parse_assignee(db: Session, txn: Transaction, raw: str) -> tuple[int | None, int | None]:
    """``u:<id>`` (a staff login on the file) or ``p:<participant id>`` on this file, or ""."""
    raw = (raw or "").strip()
    if not raw:
        return None, None
    kind, _, ident = raw.partition(":")
    if kind not in {"u", "p"} or not ident.isdigit():
        raise ValidationFailed({"assignee": "Choose who the task is for from the list."})
    if kind == "u":
        user = db.get(User, int(ident))
        on_file = user is not None and (
            user.id == txn.owner_id
            or db.exec(
                select(Participant.id).where(
                    Participant.transaction_id == txn.id, Participant.user_id == user.id
                )
            ).first()
            is not None
        )
        if user is None or user.org_id != txn.org_id or not on_file:
            raise ValidationFailed({"assignee": "That person is not on this transaction."})
        return user.id, None
    part = db.get(Participant, int(ident))
    if part is None or part.transaction_id != txn.id:
        raise ValidationFailed({"assignee": "That person is not on this transaction."})
    return None, part.id


def _parse_offset(raw: Any, check: Collector) -> int:
    try:
        n = int(str(raw).strip() or "0")
    except ValueError:
        check.add("due_offset_days", "Enter a whole number of days (negative means before).")
        return 0
    if abs(n) > MAX_OFFSET_DAYS:
        check.add("due_offset_days", f"Use at most {MAX_OFFSET_DAYS} days either way.")
    return n


def _apply_fields(db: Session, txn: Transaction, task: Task, data: dict[str, Any]) -> None:
    check = Collector()
    if "title" in data:
        task.title = check.field("title", required_text, data["title"], 200, "Title") or task.title
    if "notes" in data:
        task.notes = check.field("notes", clean_text, data["notes"], 2000) or ""
    if "due_key" in data or "due_date" in data or "due_offset_days" in data:
        due_key = str(data.get("due_key", task.due_key) or "").strip()
        if due_key:
            known = (
                due_key in ANCHOR_KEYS
                or db.exec(
                    select(KeyDate.key).where(
                        KeyDate.transaction_id == txn.id, KeyDate.key == due_key
                    )
                ).first()
            )
            if not known:
                check.add("due_key", "Choose one of this transaction's key dates.")
            task.due_key = due_key
            task.due_offset_days = _parse_offset(data.get("due_offset_days", 0), check)
        else:
            task.due_key, task.due_offset_days = "", 0
            task.due_date = check.field("due_date", parse_date, data.get("due_date"))
    check.raise_if_any()
    if "assignee" in data:
        task.assignee_user_id, task.assignee_participant_id = _parse_assignee(
            db, txn, str(data["assignee"] or "")
        )
    _resolve_due(db, txn, task)


def create_task(db: Session, actor: User, transaction_id: int, data: dict[str, Any]) -> Task:
    txn = access.get_editable_transaction(db, actor, transaction_id)
    assert txn.id is not None
    last = db.exec(select(func.max(Task.position)).where(Task.transaction_id == txn.id)).one()
    task = Task(
        org_id=txn.org_id,
        transaction_id=txn.id,
        title="",
        position=int(last or 0) + 1,
        created_by_id=actor.id,
    )
    _apply_fields(db, txn, task, {"title": "", **data})
    db.add(task)
    db.flush()
    _notify_assignee(db, actor, task)
    timeline.record(
        db,
        actor=actor,
        txn=txn,
        kind="task_added",
        summary=f"Task added: {task.title}",
        data={"task_id": task.id},
    )
    return task


def _notify_assignee(db: Session, actor: User | None, task: Task) -> None:
    # Imported here: notifications reads tasks (today view, OPEN) at import time.
    from chronos.services import notifications

    notifications.notify_task_assigned(db, actor, task)


def _get_task(db: Session, actor: User, task_id: int) -> tuple[Task, Transaction]:
    task = db.get(Task, task_id)
    if task is None or task.org_id != actor.org_id:
        raise NotFound("Task not found.")
    try:
        txn = access.get_visible_transaction(db, actor, task.transaction_id)
    except NotFound:
        raise NotFound("Task not found.") from None
    if not actor.is_staff:
        mine = _my_participant_ids(db, actor, [txn.id or 0])
        if task.assignee_participant_id not in mine:
            raise NotFound("Task not found.")
    return task, txn


def due_rule(db: Session, actor: User, task_id: int) -> tuple[str, int] | None:
    """A task's due date as (key date, offset in days) when it is counted from one, else None
    (the edit dialog shows the rule, not just the date it gives)."""
    task, _ = _get_task(db, actor, task_id)
    return (task.due_key, task.due_offset_days) if task.due_key else None


def update_task(db: Session, actor: User, task_id: int, data: dict[str, Any]) -> Task:
    task, txn = _get_task(db, actor, task_id)
    access.require_staff(actor)
    before = (task.assignee_user_id, task.assignee_participant_id)
    _apply_fields(db, txn, task, data)
    task.updated_at = utcnow()
    db.add(task)
    db.flush()
    if (task.assignee_user_id, task.assignee_participant_id) != before:
        _notify_assignee(db, actor, task)
    return task


def set_status(
    db: Session, actor: User, task_id: int, status: str, *, expected: str | None = None
) -> Task:
    """Mark a task done, not applicable, or open again.

    ``expected`` is the status the person saw: a second click on a stale page is refused
    instead of toggling the task back.
    """
    if status not in STATUSES:
        raise ValidationFailed({"status": "Unknown task status."})
    task, txn = _get_task(db, actor, task_id)
    if not actor.is_staff and status == NOT_APPLICABLE:
        raise PermissionDenied("Only your agent can mark a task not applicable.")
    if expected is not None and task.status != expected:
        raise Conflict(
            f"This task is already {STATUS_LABELS[task.status].lower()}; the page was out of date."
        )
    if task.status == status:
        return task
    _set(db, actor, txn, task, status)
    db.flush()
    return task


def _set(db: Session, actor: User, txn: Transaction, task: Task, status: str) -> None:
    old = task.status
    task.status = status
    now = utcnow()
    task.updated_at = now
    if status == DONE:
        task.completed_at, task.completed_by_id = now, actor.id
    elif old == DONE:
        task.completed_at, task.completed_by_id = None, None
    db.add(task)
    if status == DONE:
        # Imported here: automations builds on this module.
        from chronos.services import automations

        automations.on_task_completed(db, txn, task.id or 0, task.title)
    verb = {DONE: "completed", OPEN: "reopened", NOT_APPLICABLE: "marked not applicable"}[status]
    timeline.record(
        db,
        actor=actor,
        txn=txn,
        kind=f"task_{'completed' if status == DONE else 'updated'}",
        summary=f"Task {verb}: {task.title}",
        data={"task_id": task.id, "status": [old, status]},
    )


def _bulk_tasks(
    db: Session, actor: User, transaction_id: int, ids: Sequence[int]
) -> tuple[Transaction, list[Task]]:
    txn = access.get_editable_transaction(db, actor, transaction_id)
    wanted = {int(i) for i in ids}
    if not wanted:
        raise ValidationFailed({"tasks": "Select at least one task."})
    if len(wanted) > MAX_BULK:
        raise ValidationFailed({"tasks": f"Select at most {MAX_BULK} tasks at once."})
    tasks = db.exec(
        select(Task).where(Task.transaction_id == txn.id, col(Task.id).in_(wanted))
    ).all()
    if len(tasks) != len(wanted):
        raise NotFound("Some of those tasks are not on this transaction.")
    return txn, list(tasks)


def bulk_set_status(
    db: Session, actor: User, transaction_id: int, ids: Sequence[int], status: str
) -> int:
    if status not in STATUSES:
        raise ValidationFailed({"status": "Unknown task status."})
    txn, tasks = _bulk_tasks(db, actor, transaction_id, ids)
    changed = 0
    for task in tasks:
        if task.status != status:
            _set(db, actor, txn, task, status)
            changed += 1
    db.flush()
    return changed


def bulk_reassign(
    db: Session, actor: User, transaction_id: int, ids: Sequence[int], assignee: str
) -> int:
    txn, tasks = _bulk_tasks(db, actor, transaction_id, ids)
    user_id, part_id = _parse_assignee(db, txn, assignee)
    for task in tasks:
        moved = (task.assignee_user_id, task.assignee_participant_id) != (user_id, part_id)
        task.assignee_user_id, task.assignee_participant_id = user_id, part_id
        task.updated_at = utcnow()
        db.add(task)
        if moved:
            db.flush()
            _notify_assignee(db, actor, task)
    timeline.record(
        db,
        actor=actor,
        txn=txn,
        kind="tasks_reassigned",
        summary=f"{len(tasks)} task{'s' if len(tasks) != 1 else ''} reassigned",
        data={"task_ids": [t.id for t in tasks], "assignee": assignee},
    )
    db.flush()
    return len(tasks)


def delete_task(db: Session, actor: User, task_id: int) -> None:
    task, txn = _get_task(db, actor, task_id)
    access.require_staff(actor)
    timeline.record(
        db,
        actor=actor,
        txn=txn,
        kind="task_deleted",
        summary=f"Task deleted: {task.title}",
        data={"task_id": task.id},
    )
    db.delete(task)
    db.flush()


def sync_due_dates(db: Session, txn: Transaction) -> int:
    """Move every task counted from a date to that date's current value; return how many moved.

    Runs in the same unit of work as the change: the key-date service calls it after every
    recompute or override, and the transaction service when the effective or closing date
    changes.
    """
    days = _days(db, txn)
    moved = 0
    for task in db.exec(
        select(Task).where(Task.transaction_id == txn.id, Task.due_key != "")
    ).all():
        new = due_from(days, task.due_key, task.due_offset_days)
        if new != task.due_date:
            task.due_date = new
            task.updated_at = utcnow()
            db.add(task)
            moved += 1
    if moved:
        db.flush()
    return moved


# ---------------------------------------------------------------------------------------------
# Checklist templates


def ensure_default_templates(db: Session, org_id: int) -> list[ChecklistTemplate]:
    """The brokerage's templates, copying the built-in ones in the first time."""
    existing = db.exec(
        select(ChecklistTemplate)
        .where(ChecklistTemplate.org_id == org_id)
        .order_by(col(ChecklistTemplate.id))
    ).all()
    if existing:
        return list(existing)
    made = []
    for name, side, stage, items in DEFAULT_CHECKLISTS:
        tpl = ChecklistTemplate(org_id=org_id, name=name, side=side, stage=stage, items=list(items))
        db.add(tpl)
        made.append(tpl)
    db.flush()
    return made


def matches(tpl: ChecklistTemplate, side: str, property_type: str, stage: str) -> bool:
    if not tpl.is_active or tpl.stage != stage:
        return False
    if tpl.side not in ("any", side) and side != "dual":
        return False
    return tpl.property_type in ("any", property_type)


@dataclass(frozen=True)
class OnFile:
    """Someone on the file, as the checklist planner sees them."""

    role: str
    participant_id: int | None  # None for a staff login (assigned by user id)
    user_id: int | None


@dataclass(frozen=True)
class PlannedTask:
    template_id: int
    item_key: str
    title: str
    notes: str
    assignee_user_id: int | None
    assignee_participant_id: int | None
    due_key: str
    due_offset_days: int
    due_date: date | None


def assignee_for(
    role: str, owner_id: int, on_file: Sequence[OnFile]
) -> tuple[int | None, int | None]:
    if role != "owner":
        for who in on_file:
            if who.role == role:
                return (
                    (who.user_id, None)
                    if who.participant_id is None
                    else (None, who.participant_id)
                )
    return owner_id, None  # the agent, or nobody in that role yet: the agent holds it


def plan_checklist(
    templates: Sequence[ChecklistTemplate],
    *,
    side: str,
    property_type: str,
    stage: str,
    owner_id: int,
    on_file: Sequence[OnFile],
    days: dict[str, date | None],
    have: set[tuple[int | None, str | None]],
    force: bool = False,
) -> tuple[list[PlannedTask], list[ChecklistTemplate]]:
    """The tasks ``stage`` adds to a file (pure: the service and the demo writer share it),
    and the templates they come from. Items already on the file (``have``) are skipped."""
    planned: list[PlannedTask] = []
    used: list[ChecklistTemplate] = []
    for tpl in templates:
        if tpl.id is None or not (force or matches(tpl, side, property_type, stage)):
            continue
        before = len(planned)
        for item in tpl.items:
            key = str(item.get("key", ""))[:60]
            if (tpl.id, key) in have:
                continue
            user_id, part_id = assignee_for(str(item.get("assignee", "owner")), owner_id, on_file)
            due_key = str(item.get("due_key", "") or "")[:60]
            offset = int(item.get("due_offset_days", 0) or 0)
            planned.append(
                PlannedTask(
                    template_id=tpl.id,
                    item_key=key,
                    title=str(item.get("title", ""))[:200] or key,
                    notes=str(item.get("notes", ""))[:2000],
                    assignee_user_id=user_id,
                    assignee_participant_id=part_id,
                    due_key=due_key,
                    due_offset_days=offset,
                    due_date=due_from(days, due_key, offset),
                )
            )
        if len(planned) > before:
            used.append(tpl)
    return planned, used


def checklist_event(count: int, used: Sequence[ChecklistTemplate]) -> tuple[str, dict[str, Any]]:
    summary = f"{count} task{'s' if count != 1 else ''} added from " + ", ".join(
        t.name for t in used
    )
    return summary, {"template_ids": [t.id for t in used], "count": count}


def on_file(db: Session, txn_id: int) -> list[OnFile]:
    parts = db.exec(
        select(Participant)
        .where(Participant.transaction_id == txn_id)
        .order_by(col(Participant.id))
    ).all()
    return [
        OnFile(
            p.role,
            None if p.person_id is None and p.user_id is not None else p.id,
            p.user_id,
        )
        for p in parts
    ]


def apply_checklists(db: Session, actor: User | None, txn: Transaction, stage: str) -> int:
    """Create the tasks of every template for ``stage`` that fits this file. Idempotent."""
    return _apply(db, actor, txn, ensure_default_templates(db, txn.org_id), stage, force=False)


def apply_template(
    db: Session, actor: User | None, txn: Transaction, template: ChecklistTemplate
) -> int:
    """Add one template's tasks to a file whatever its stage (automations). Idempotent."""
    return _apply(db, actor, txn, [template], template.stage, force=True)


def _apply(
    db: Session,
    actor: User | None,
    txn: Transaction,
    templates: Sequence[ChecklistTemplate],
    stage: str,
    *,
    force: bool,
) -> int:
    assert txn.id is not None
    have = set(
        db.exec(
            select(Task.template_id, Task.item_key).where(
                Task.transaction_id == txn.id, col(Task.template_id).is_not(None)
            )
        ).all()
    )
    planned, used = plan_checklist(
        templates,
        side=txn.side,
        property_type=txn.property_type,
        stage=stage,
        owner_id=txn.owner_id,
        on_file=on_file(db, txn.id),
        days=_days(db, txn),
        have=have,
        force=force,
    )
    if not planned:
        return 0
    last = db.exec(select(func.max(Task.position)).where(Task.transaction_id == txn.id)).one()
    position = int(last or 0)
    for i, item in enumerate(planned, start=1):
        db.add(
            Task(
                org_id=txn.org_id,
                transaction_id=txn.id,
                title=item.title,
                notes=item.notes,
                assignee_user_id=item.assignee_user_id,
                assignee_participant_id=item.assignee_participant_id,
                due_key=item.due_key,
                due_offset_days=item.due_offset_days,
                due_date=item.due_date,
                position=position + i,
                template_id=item.template_id,
                item_key=item.item_key,
                created_by_id=actor.id if actor else None,
            )
        )
    db.flush()
    summary, data = checklist_event(len(planned), used)
    timeline.record(db, actor=actor, txn=txn, kind="checklist_applied", summary=summary, data=data)
    return len(planned)


def any_tasks(db: Session, txn_id: int) -> bool:
    return (
        db.exec(select(Task.id).where(Task.transaction_id == txn_id).limit(1)).first() is not None
    )


def open_tasks_by_file(
    db: Session, actor: User, transaction_ids: Sequence[int], *, today: date | None = None
) -> dict[int, list[TaskRow]]:
    """Open tasks per file for a page of files, in one query: everything on staff's files,
    only the actor's own on an outside party's. Files the actor cannot see give nothing."""
    actor = access.require_active(actor)
    ids = list(transaction_ids)
    if not ids:
        return {}
    where: list[Any] = [
        col(Task.transaction_id).in_(ids),
        Task.status == OPEN,
        access.visible_transactions(actor),
    ]
    if not actor.is_staff:
        mine = select(Participant.id).where(Participant.user_id == actor.id)
        where.append(col(Task.assignee_participant_id).in_(mine))
    rows = db.exec(
        select(Task, Transaction)
        .join(Transaction, col(Transaction.id) == Task.transaction_id)
        .where(*where)
        .order_by(col(Task.due_date).is_(None), col(Task.due_date), col(Task.position))
    ).all()
    today = today or org_today(db, actor.org_id)
    addresses = {txn.id or 0: txn.address for _, txn in rows}
    labels = _key_labels(db, addresses)
    out: dict[int, list[TaskRow]] = {}
    for row in _rows(db, actor, [t for t, _ in rows], today, addresses, labels):
        out.setdefault(row.transaction_id, []).append(row)
    return out
