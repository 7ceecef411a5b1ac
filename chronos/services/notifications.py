"""Notifications: the in-app centre, reminders for tasks and key dates, the daily digest.

Every notification has a ``dedupe_key`` unique per user, so a reminder for one occurrence
(this task, due on this date, in this state) lands once however many scans or workers run.
The scans take ``now`` and are plain functions: the job queue calls them on a schedule
(``chronos.jobs.tasks``), tests call them directly.

Email follows each user's preferences: which reminders, by email or not, quiet hours (in the
brokerage's zone; an email that falls in them waits for the next scan after they end) and the
digest hour.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from chronos import mail, routes
from chronos.db import insert_ignoring_duplicates
from chronos.models import (
    KeyDate,
    Notification,
    NotificationPreference,
    Organization,
    Participant,
    Stage,
    Task,
    Transaction,
    User,
    utcnow,
)
from chronos.models.transaction import format_address
from chronos.services import access, key_dates, reports, tasks
from chronos.services.errors import ValidationFailed
from chronos.services.pagination import Page, clamp_page

REMINDER_KINDS = frozenset({"task_due_soon", "task_due_today", "task_overdue", "date_due_soon"})
KIND_ICONS = {
    "task_assigned": "user_round_plus",
    "task_due_soon": "clock",
    "task_due_today": "sun",
    "task_overdue": "circle_alert",
    "date_due_soon": "calendar_clock",
    "digest": "newspaper",
    "message": "message_circle",
    "automation": "workflow",
}
OVERDUE_LOOKBACK_DAYS = 7  # a task overdue longer than this was reminded already
DATE_REMINDER_DAYS = 2  # key dates this close (or today) remind the file's staff
EMAIL_CATCH_UP = timedelta(hours=24)  # reminders held by quiet hours are emailed this late


# ---------------------------------------------------------------------------------------------
# Preferences


@dataclass
class Preferences:
    task_reminders: bool
    date_reminders: bool
    assignments: bool
    email_reminders: bool
    daily_digest: bool
    digest_hour: int
    quiet_start: int | None
    quiet_end: int | None


DEFAULT_QUIET = (20, 7)  # 8 pm to 7 am in the brokerage's zone


def _defaults(user_id: int) -> NotificationPreference:
    return NotificationPreference(
        user_id=user_id, quiet_start=DEFAULT_QUIET[0], quiet_end=DEFAULT_QUIET[1]
    )


def _prefs_row(db: Session, user_id: int) -> NotificationPreference:
    return db.get(NotificationPreference, user_id) or _defaults(user_id)


def get_preferences(db: Session, actor: User) -> Preferences:
    actor = access.require_active(actor)
    row = _prefs_row(db, actor.id or 0)
    return Preferences(
        task_reminders=row.task_reminders,
        date_reminders=row.date_reminders,
        assignments=row.assignments,
        email_reminders=row.email_reminders,
        daily_digest=row.daily_digest,
        digest_hour=row.digest_hour,
        quiet_start=row.quiet_start,
        quiet_end=row.quiet_end,
    )


def _hour(value: Any, name: str, errors: dict[str, str], *, optional: bool) -> int | None:
    text = str(value if value is not None else "").strip()
    if text in ("", "none") and optional:
        return None
    try:
        hour = int(text)
    except ValueError:
        errors[name] = "Choose an hour."
        return None
    if not 0 <= hour <= 23:
        errors[name] = "Choose an hour between 0 and 23."
        return None
    return hour


def update_preferences(db: Session, actor: User, data: dict[str, Any]) -> Preferences:
    actor = access.require_active(actor)
    row = db.get(NotificationPreference, actor.id) or _defaults(actor.id or 0)
    errors: dict[str, str] = {}
    for name in (
        "task_reminders",
        "date_reminders",
        "assignments",
        "email_reminders",
        "daily_digest",
    ):
        if name in data:
            setattr(row, name, bool(data[name]))
    if "digest_hour" in data:
        hour = _hour(data["digest_hour"], "digest_hour", errors, optional=False)
        if hour is not None:
            row.digest_hour = hour
    if "quiet_start" in data or "quiet_end" in data:
        start = _hour(data.get("quiet_start"), "quiet_start", errors, optional=True)
        end = _hour(data.get("quiet_end"), "quiet_end", errors, optional=True)
        if (start is None) != (end is None) and not errors:
            errors["quiet_end"] = "Set both ends of the quiet hours, or neither."
        elif start is not None and start == end:
            errors["quiet_end"] = "Quiet hours must end at a different hour than they start."
        row.quiet_start, row.quiet_end = start, end
    if errors:
        raise ValidationFailed(errors)
    row.updated_at = utcnow()
    db.add(row)
    db.flush()
    return get_preferences(db, actor)


def in_quiet_hours(prefs: NotificationPreference, local_hour: int) -> bool:
    start, end = prefs.quiet_start, prefs.quiet_end
    if start is None or end is None:
        return False
    if start < end:
        return start <= local_hour < end
    return local_hour >= start or local_hour < end  # spans midnight, e.g. 20 → 7


# ---------------------------------------------------------------------------------------------
# The centre


@dataclass
class NotificationRow:
    id: int
    kind: str
    icon: str
    title: str
    body: str
    link: str
    created_at: str  # ISO 8601, UTC
    unread: bool


def notify(
    db: Session,
    *,
    user_id: int,
    org_id: int,
    kind: str,
    title: str,
    dedupe_key: str,
    body: str = "",
    link: str = "",
    transaction_id: int | None = None,
) -> Notification | None:
    """Add a notification unless this user already has one with ``dedupe_key``."""
    exists = db.exec(
        select(Notification.id).where(
            Notification.user_id == user_id, Notification.dedupe_key == dedupe_key
        )
    ).first()
    if exists is not None:
        return None
    table = Notification.__table__  # type: ignore[attr-defined]
    row = {
        "org_id": org_id,
        "user_id": user_id,
        "transaction_id": transaction_id,
        "kind": kind,
        "title": title[:200],
        "body": body[:1000],
        "link": link[:300],
        "dedupe_key": dedupe_key[:120],
        "created_at": utcnow(),
        "read_at": None,
        "emailed_at": None,
    }
    # Another worker may insert the same key between the check and here: DO NOTHING then.
    if not insert_ignoring_duplicates(db, table, [row], ["user_id", "dedupe_key"]):
        return None
    return db.exec(
        select(Notification).where(
            Notification.user_id == user_id, Notification.dedupe_key == row["dedupe_key"]
        )
    ).one()


def list_notifications(
    db: Session, actor: User, *, page: int = 1, page_size: int = 20, unread_only: bool = False
) -> Page[NotificationRow]:
    actor = access.require_active(actor)
    where: list[Any] = [Notification.user_id == actor.id]
    if unread_only:
        where.append(col(Notification.read_at).is_(None))
    total = db.exec(select(func.count()).select_from(Notification).where(*where)).one()
    page, page_size = clamp_page(page, page_size)
    rows = db.exec(
        select(Notification)
        .where(*where)
        .order_by(col(Notification.created_at).desc(), col(Notification.id).desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    items = [
        NotificationRow(
            id=n.id or 0,
            kind=n.kind,
            icon=KIND_ICONS.get(n.kind, "bell"),
            title=n.title,
            body=n.body,
            link=n.link,
            created_at=n.created_at.isoformat(),
            unread=n.read_at is None,
        )
        for n in rows
    ]
    return Page(items=items, total=int(total), page=page, page_size=page_size)


def unread_count(db: Session, actor: User) -> int:
    return int(
        db.exec(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == actor.id, col(Notification.read_at).is_(None))
        ).one()
    )


def mark_read(db: Session, actor: User, ids: Iterable[int] | None = None) -> int:
    """Mark the actor's own notifications read (``ids=None``: all of them)."""
    actor = access.require_active(actor)
    stmt = update(Notification).where(
        col(Notification.user_id) == actor.id, col(Notification.read_at).is_(None)
    )
    if ids is not None:
        wanted = [int(i) for i in ids]
        if not wanted:
            return 0
        stmt = stmt.where(col(Notification.id).in_(wanted))
    result: Any = db.execute(stmt.values(read_at=utcnow()))  # type: ignore[call-overload]
    return int(result.rowcount or 0)


# ---------------------------------------------------------------------------------------------
# Producers


def _assignee_user(db: Session, task: Task) -> User | None:
    user_id = task.assignee_user_id
    if user_id is None and task.assignee_participant_id is not None:
        part = db.get(Participant, task.assignee_participant_id)
        user_id = part.user_id if part else None
    user = db.get(User, user_id) if user_id else None
    return user if user is not None and user.is_active else None


def task_link(user: User, task: Task) -> str:
    return (
        routes.transaction(task.transaction_id)
        if user.is_staff
        else routes.portal_transaction(task.transaction_id)
    )


def notify_task_assigned(db: Session, actor: User | None, task: Task) -> Notification | None:
    """Tell the person a task is for, unless they gave it to themselves or opted out."""
    user = _assignee_user(db, task)
    if user is None or (actor is not None and user.id == actor.id):
        return None
    if not _prefs_row(db, user.id or 0).assignments:
        return None
    txn = db.get(Transaction, task.transaction_id)
    by = f" by {actor.full_name}" if actor is not None else ""
    return notify(
        db,
        user_id=user.id or 0,
        org_id=task.org_id,
        kind="task_assigned",
        title=f"New task for you: {task.title}",
        body=f"{txn.address if txn else ''}: assigned to you{by}.",
        link=task_link(user, task),
        transaction_id=task.transaction_id,
        dedupe_key=f"task_assigned:{task.id}:{user.id}:{task.updated_at.timestamp():.0f}",
    )


@dataclass
class ScanResult:
    notified: int
    emailed: int


def _local_now(org: Organization | None, now: datetime) -> datetime:
    return now.astimezone(ZoneInfo(org.timezone if org else "America/New_York"))


def _orgs(db: Session) -> dict[int, Organization]:
    return {o.id or 0: o for o in db.exec(select(Organization)).all()}


def scan_reminders(db: Session, now: datetime | None = None) -> ScanResult:
    """Remind assignees of tasks due tomorrow, today or just overdue, and a file's staff of key
    dates within ``DATE_REMINDER_DAYS``; email those who asked, outside their quiet hours."""
    now = now or utcnow()
    orgs = _orgs(db)
    notified = 0
    for org_id, org in orgs.items():
        today = _local_now(org, now).date()
        notified += _task_reminders(db, org_id, today)
        notified += _date_reminders(db, org_id, today)
    emailed = _email_pending(db, orgs, now)
    return ScanResult(notified=notified, emailed=emailed)


@dataclass(frozen=True)
class _Candidate:
    user_id: int
    kind: str
    title: str
    body: str
    link: str
    transaction_id: int | None
    dedupe_key: str


def _prefs_for(db: Session, user_ids: Iterable[int]) -> dict[int, NotificationPreference]:
    ids = list(set(user_ids))
    found: dict[int, NotificationPreference] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for row in db.exec(
            select(NotificationPreference).where(col(NotificationPreference.user_id).in_(chunk))
        ).all():
            found[row.user_id] = row
    return {uid: found.get(uid) or _defaults(uid) for uid in ids}


def _active_users(db: Session, user_ids: Iterable[int]) -> dict[int, User]:
    ids = list(set(user_ids))
    out: dict[int, User] = {}
    for start in range(0, len(ids), 500):
        for user in db.exec(
            select(User).where(
                col(User.id).in_(ids[start : start + 500]), col(User.is_active).is_(True)
            )
        ).all():
            out[user.id or 0] = user
    return out


def _insert_new(db: Session, org_id: int, candidates: list[_Candidate]) -> int:
    """Insert the candidates no user has yet; ON CONFLICT DO NOTHING keeps concurrent scans
    from doubling anything. Returns how many were new."""
    if not candidates:
        return 0
    existing: set[tuple[int, str]] = set()
    keys = list({c.dedupe_key for c in candidates})
    for start in range(0, len(keys), 500):
        existing.update(
            (uid, key)
            for uid, key in db.exec(
                select(Notification.user_id, Notification.dedupe_key).where(
                    col(Notification.dedupe_key).in_(keys[start : start + 500])
                )
            ).all()
        )
    fresh = [c for c in candidates if (c.user_id, c.dedupe_key) not in existing]
    if not fresh:
        return 0
    now = utcnow()
    rows = [
        {
            "org_id": org_id,
            "user_id": c.user_id,
            "transaction_id": c.transaction_id,
            "kind": c.kind,
            "title": c.title[:200],
            "body": c.body[:1000],
            "link": c.link[:300],
            "dedupe_key": c.dedupe_key[:120],
            "created_at": now,
            "read_at": None,
            "emailed_at": None,
        }
        for c in fresh
    ]
    table = Notification.__table__  # type: ignore[attr-defined]
    insert_ignoring_duplicates(db, table, rows, ["user_id", "dedupe_key"])
    return len(fresh)


def _task_reminders(db: Session, org_id: int, today: date) -> int:
    rows = db.execute(  # more columns than sqlmodel's select() types
        sa_select(
            col(Task.id),
            col(Task.title),
            col(Task.due_date),
            col(Task.assignee_user_id),
            col(Task.assignee_participant_id),
            col(Task.transaction_id),
            col(Transaction.street),
            col(Transaction.unit),
            col(Transaction.city),
            col(Transaction.state),
            col(Transaction.postal_code),
        )
        .join(Transaction, col(Transaction.id) == Task.transaction_id)
        .where(
            col(Task.org_id) == org_id,
            col(Task.status) == tasks.OPEN,
            col(Task.due_date) >= today - timedelta(days=OVERDUE_LOOKBACK_DAYS),
            col(Task.due_date) <= today + timedelta(days=1),
            col(Transaction.stage).not_in([Stage.CLOSED.value, Stage.CANCELLED.value]),
        )
    ).all()
    part_ids = {r[4] for r in rows if r[3] is None and r[4] is not None}
    part_user: dict[int, int] = {}
    ids = list(part_ids)
    for start in range(0, len(ids), 500):
        for pid, uid in db.exec(
            select(Participant.id, Participant.user_id).where(
                col(Participant.id).in_(ids[start : start + 500]),
                col(Participant.user_id).is_not(None),
            )
        ).all():
            part_user[pid or 0] = uid or 0
    wanted = {r[3] or part_user.get(r[4] or 0, 0) for r in rows} - {0}
    users = _active_users(db, wanted)
    prefs = _prefs_for(db, users)
    candidates = []
    for task_id, title, due, user_id, part_id, txn_id, street, unit, city, state, postal in rows:
        uid = user_id or part_user.get(part_id or 0, 0)
        user = users.get(uid)
        if user is None or not prefs[uid].task_reminders:
            continue
        days = (due - today).days
        kind, when = (
            ("task_overdue", f"was due {_day(due)}")
            if days < 0
            else ("task_due_today", "is due today")
            if days == 0
            else ("task_due_soon", "is due tomorrow")
        )
        address = format_address(street, unit, city, state, postal)
        link = routes.transaction(txn_id) if user.is_staff else routes.portal_transaction(txn_id)
        candidates.append(
            _Candidate(
                uid,
                kind,
                f"{title} {when}",
                address,
                link,
                txn_id,
                f"{kind}:{task_id}:{due.isoformat()}",
            )
        )
    return _insert_new(db, org_id, candidates)


def _day(d: date) -> str:
    return f"{d:%a} {d.day} {d:%b}"


def _date_reminders(db: Session, org_id: int, today: date) -> int:
    day = func.coalesce(col(KeyDate.override_date), col(KeyDate.computed_date))
    rows = db.exec(
        select(KeyDate, Transaction)
        .join(Transaction, col(Transaction.id) == KeyDate.transaction_id)
        .where(
            KeyDate.org_id == org_id,
            day >= today,
            day <= today + timedelta(days=DATE_REMINDER_DAYS),
            col(Transaction.stage).not_in([Stage.CLOSED.value, Stage.CANCELLED.value]),
        )
    ).all()
    txn_ids = list({txn.id for _, txn in rows})
    staff: dict[int, set[int]] = {txn.id or 0: {txn.owner_id} for _, txn in rows}
    for start in range(0, len(txn_ids), 500):
        for txn_id, uid in db.exec(
            select(Participant.transaction_id, Participant.user_id).where(
                col(Participant.transaction_id).in_(txn_ids[start : start + 500]),
                col(Participant.user_id).is_not(None),
                col(Participant.person_id).is_(None),
            )
        ).all():
            staff[txn_id].add(uid or 0)
    users = _active_users(db, {u for group in staff.values() for u in group})
    prefs = _prefs_for(db, users)
    candidates = []
    for kd, txn in rows:
        assert kd.day is not None
        days = (kd.day - today).days
        when = "today" if days == 0 else "tomorrow" if days == 1 else f"in {days} days"
        for uid in staff.get(txn.id or 0, set()):
            if uid not in users or not prefs[uid].date_reminders:
                continue
            candidates.append(
                _Candidate(
                    uid,
                    "date_due_soon",
                    f"{kd.label} {when} ({_day(kd.day)})",
                    txn.address,
                    routes.transaction(txn.id or 0),
                    txn.id,
                    f"date_due_soon:{kd.id}:{kd.day.isoformat()}",
                )
            )
    return _insert_new(db, org_id, candidates)


def _email_pending(db: Session, orgs: dict[int, Organization], now: datetime) -> int:
    """Email the reminders not emailed yet, for users who want email and are not in quiet
    hours. Claimed with an UPDATE, so two workers never email the same reminder."""
    pending = db.exec(
        select(Notification, User)
        .join(User, col(User.id) == Notification.user_id)
        .where(
            col(Notification.kind).in_(REMINDER_KINDS),
            col(Notification.emailed_at).is_(None),
            col(Notification.created_at) >= now - EMAIL_CATCH_UP,
            col(User.is_active).is_(True),
        )
        .order_by(col(Notification.user_id), col(Notification.id))
    ).all()
    by_user: dict[int, list[Notification]] = {}
    users: dict[int, User] = {}
    for note, user in pending:
        by_user.setdefault(user.id or 0, []).append(note)
        users[user.id or 0] = user
    sent = 0
    all_prefs = _prefs_for(db, by_user)  # one query per 500 users, not one per user
    for user_id, notes in by_user.items():
        user = users[user_id]
        prefs = all_prefs[user_id]
        if not prefs.email_reminders:
            continue
        if in_quiet_hours(prefs, _local_now(orgs.get(user.org_id), now).hour):
            continue
        claimed: Any = db.execute(
            update(Notification)  # type: ignore[call-overload]
            .where(
                col(Notification.id).in_([n.id for n in notes]),
                col(Notification.emailed_at).is_(None),
            )
            .values(emailed_at=now)
        )
        if not claimed.rowcount:
            continue
        mail.queue_email(
            db,
            to=user.email,
            template="reminders",
            context={
                "name": user.full_name.split(" ")[0],
                "items": [
                    {"title": n.title, "body": n.body, "url": routes.public_url(n.link or "/")}
                    for n in notes
                ],
                "settings_url": routes.public_url(routes.NOTIFICATIONS),
            },
            org_id=user.org_id,
            user_id=user.id,
        )
        sent += 1
    return sent


def send_digests(db: Session, now: datetime | None = None) -> int:
    """The daily digest for every active user whose digest hour it is (in their brokerage's
    zone) and who has something due today or this week. Once per user per day."""
    now = now or utcnow()
    orgs = _orgs(db)
    sent = 0
    users = db.exec(select(User).where(col(User.is_active).is_(True))).all()
    all_prefs = _prefs_for(db, (u.id or 0 for u in users))  # one query per 500 users
    for user in users:
        org = orgs.get(user.org_id)
        local = _local_now(org, now)
        prefs = all_prefs[user.id or 0]
        if not prefs.daily_digest or local.hour != prefs.digest_hour:
            continue
        today = local.date()
        view = tasks.today_view(db, user, today=today, limit=20)
        deadlines, deadline_total = key_dates.upcoming_deadlines(
            db, user, today=today, back_days=0, ahead_days=7, limit=20
        )
        if not (
            view.overdue_total or view.due_today_total or view.next_days_total or deadline_total
        ):
            continue
        note = notify(
            db,
            user_id=user.id or 0,
            org_id=user.org_id,
            kind="digest",
            title=f"Your day: {view.due_today_total} due today, {view.overdue_total} overdue",
            body=f"{view.next_days_total} more tasks and {deadline_total} key dates this week.",
            link=routes.TODAY if user.is_staff else routes.PORTAL,
            dedupe_key=f"digest:{today.isoformat()}",
        )
        if note is None:
            continue  # already sent today
        note.emailed_at = now
        db.add(note)
        sections = [
            {"title": "Overdue", "total": view.overdue_total, "rows": _digest_rows(view.overdue)},
            {
                "title": "Due today",
                "total": view.due_today_total,
                "rows": _digest_rows(view.due_today),
            },
            {
                "title": "Later this week",
                "total": view.next_days_total,
                "rows": _digest_rows(view.next_days),
            },
        ]
        if user.is_staff:  # the Reports page's at-risk list, its top files (as on Today)
            risky = reports.at_risk(db, user, reports.Filters(), today=today, now=now, limit=5)
            if risky:
                sections.append(
                    {
                        "title": "At-risk files",
                        "total": len(risky),
                        "rows": [
                            {"title": r.summary, "address": r.address, "due": f"score {r.score}"}
                            for r in risky
                        ],
                    }
                )
        mail.queue_email(
            db,
            to=user.email,
            template="daily_digest",
            context={
                "name": user.full_name.split(" ")[0],
                "date": f"{today:%A} {today.day} {today:%B}",
                "sections": sections,
                "deadlines": [
                    {
                        "label": d.label,
                        "address": d.address,
                        "when": f"{d.date_label} ({d.days_label})",
                    }
                    for d in deadlines
                ],
                "url": routes.public_url(routes.TODAY if user.is_staff else routes.PORTAL),
                "settings_url": routes.public_url(routes.NOTIFICATIONS),
            },
            org_id=user.org_id,
            user_id=user.id,
        )
        sent += 1
    return sent


def _digest_rows(rows: Sequence[tasks.TaskRow]) -> list[dict[str, str]]:
    return [{"title": r.title, "address": r.address, "due": r.due_label} for r in rows]
