"""CSV exports of the lists a user works from: the pipeline (with its filters), contacts, tasks.

Each export holds exactly what the same user's list shows (the same access clause, the same
filters), is streamed in chunks of 500 rows so a brokerage of 10,000 files never sits in
memory, and is safe to open in a spreadsheet: a cell that starts with ``= + - @`` (or a tab or
carriage return) is prefixed with ``'`` so Excel, Numbers and Sheets show it as text instead of
running it as a formula (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from chronos.models import Participant, Person, Task, Transaction, User
from chronos.models.base import PropertyType
from chronos.services import access, people, transactions
from chronos.services.validation import format_phone, format_price

CHUNK = 500
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

PIPELINE_COLUMNS = (
    "ID",
    "Address",
    "Street",
    "Unit",
    "City",
    "State",
    "ZIP",
    "Side",
    "Stage",
    "Property type",
    "Price",
    "Effective date",
    "Closing date",
    "MLS number",
    "Agent",
    "Clients",
    "Created",
)
PEOPLE_COLUMNS = ("ID", "First name", "Last name", "Email", "Phone", "Company", "Has a login")
TASK_COLUMNS = ("ID", "Task", "Status", "Due date", "For", "File", "File ID", "Notes")


def safe_cell(value: Any) -> str:
    """The text of one cell, never a formula when a spreadsheet opens it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime):
        text = value.isoformat(timespec="seconds")
    elif isinstance(value, date):
        text = value.isoformat()
    else:
        text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """CSV text in chunks: a BOM (Excel then reads UTF-8), the header, then the rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(header)
    for count, row in enumerate(rows, start=1):
        writer.writerow([safe_cell(v) for v in row])
        if count % CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _chunks(db: Session, stmt: Any) -> Iterator[list[Any]]:
    """The rows of ``stmt`` in chunks, by keyset on id (no OFFSET scans, stable while edited)."""
    last = 0
    while True:
        batch = list(db.exec(stmt(last).limit(CHUNK)).all())
        if not batch:
            return
        yield batch
        last = batch[-1].id or 0
        if len(batch) < CHUNK:
            return


def pipeline_csv(
    db: Session,
    actor: User,
    *,
    stage: str = "",
    side: str = "",
    q: str = "",
    open_only: bool = False,
) -> Iterator[str]:
    """The pipeline as CSV, with the same filters as the page (ordered by id)."""
    actor = access.require_staff(actor)
    conditions, _ = transactions.pipeline_filter(
        actor, stage=stage, side=side, q=q, open_only=open_only
    )

    def rows() -> Iterator[list[Any]]:
        def page(after: int) -> Any:
            return (
                select(Transaction)
                .where(*conditions, col(Transaction.id) > after)
                .order_by(col(Transaction.id))
            )

        for batch in _chunks(db, page):
            summaries = {r.id: r for r in transactions.rows_for(db, batch)}
            for t in batch:
                r = summaries[t.id or 0]
                yield [
                    t.id,
                    t.address,
                    t.street,
                    t.unit,
                    t.city,
                    t.state,
                    t.postal_code,
                    r.side_label,
                    r.stage_label,
                    _property_label(t.property_type),
                    format_price(t.price_cents),
                    t.effective_date,
                    t.closing_date,
                    t.mls_number,
                    r.owner_name,
                    r.clients,
                    t.created_at,
                ]

    return to_csv(PIPELINE_COLUMNS, rows())


def people_csv(db: Session, actor: User, *, q: str = "") -> Iterator[str]:
    """Contacts as CSV, with the same search as the page."""
    actor = access.require_staff(actor)
    conditions = people.people_filter(actor, q)

    def rows() -> Iterator[list[Any]]:
        def page(after: int) -> Any:
            return (
                select(Person).where(*conditions, col(Person.id) > after).order_by(col(Person.id))
            )

        for batch in _chunks(db, page):
            for p in batch:
                yield [
                    p.id,
                    p.first_name,
                    p.last_name,
                    p.email or "",
                    format_phone(p.phone),
                    p.company,
                    p.user_id is not None,
                ]

    return to_csv(PEOPLE_COLUMNS, rows())


def tasks_csv(db: Session, actor: User, *, open_only: bool = True) -> Iterator[str]:
    """Tasks of every file this user may see (open ones by default), as CSV."""
    actor = access.require_staff(actor)
    visible = select(Transaction.id).where(access.visible_transactions(actor))
    conditions: list[Any] = [
        Task.org_id == actor.org_id,
        col(Task.transaction_id).in_(visible),
    ]
    if open_only:
        conditions.append(Task.status == "open")

    def rows() -> Iterator[list[Any]]:
        def page(after: int) -> Any:
            return select(Task).where(*conditions, col(Task.id) > after).order_by(col(Task.id))

        for batch in _chunks(db, page):
            names = _assignee_names(db, batch)
            files = dict(
                db.exec(
                    select(Transaction.id, Transaction.street).where(
                        col(Transaction.id).in_({t.transaction_id for t in batch})
                    )
                ).all()
            )
            for t in batch:
                yield [
                    t.id,
                    t.title,
                    {"open": "Open", "done": "Done"}.get(t.status, "Not applicable"),
                    t.due_date,
                    names.get(t.id or 0, ""),
                    files.get(t.transaction_id, ""),
                    t.transaction_id,
                    t.notes,
                ]

    return to_csv(TASK_COLUMNS, rows())


def _assignee_names(db: Session, batch: Sequence[Task]) -> dict[int, str]:
    user_ids = {t.assignee_user_id for t in batch if t.assignee_user_id}
    users = dict(db.exec(select(User.id, User.full_name).where(col(User.id).in_(user_ids))).all())
    part_ids = {t.assignee_participant_id for t in batch if t.assignee_participant_id}
    parts = {
        pid: f"{first} {last}".strip()
        for pid, first, last in db.exec(
            select(Participant.id, Person.first_name, Person.last_name)
            .join(Person, Person.id == Participant.person_id)  # type: ignore[arg-type]
            .where(col(Participant.id).in_(part_ids))
        ).all()
    }
    out: dict[int, str] = {}
    for t in batch:
        if t.assignee_user_id:
            out[t.id or 0] = users.get(t.assignee_user_id, "")
        elif t.assignee_participant_id:
            out[t.id or 0] = parts.get(t.assignee_participant_id, "")
    return out


def _property_label(value: str) -> str:
    try:
        return PropertyType(value).label
    except ValueError:
        return value
