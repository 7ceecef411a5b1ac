"""The lender's loan-condition tracker: what the lender needs before the loan closes.

A condition is *requested* (title, notes, due date) → *received* once a document is attached
→ *accepted* or *waived* (with a note); a received one can be sent back to *requested* with a
note (the lender rejects that document). Each step keeps its date.

Who (on top of ``access``; other files and brokerages are ``NotFound``):
- the file's lender participants (role lender, with a login, on that transaction) and the
  staff who may edit the file manage the conditions: add, edit, delete, accept, waive, return;
- a client of the file sees the list (title, status, dates) read-only and may attach a
  document to a requested condition (typically "upload two months of bank statements");
- an attorney does not see loan conditions (``PermissionDenied``).

Attaching a document shares it with the lender (``share_lender``), said in the event. Every
change records a ``condition_*`` event and notifies in the app: a new condition → the file's
owner agent and clients; received → the lender(s); accepted or returned → whoever attached
the document. Outside parties change nothing on a closed or cancelled file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from chronos import routes
from chronos.models import (
    Document,
    LenderCondition,
    Participant,
    Role,
    Stage,
    Transaction,
    User,
    utcnow,
)
from chronos.services import access, documents, notifications, timeline
from chronos.services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from chronos.services.validation import clean_text, format_date, parse_date

REQUESTED, RECEIVED, ACCEPTED, WAIVED = "requested", "received", "accepted", "waived"
STATUS_LABELS = {
    REQUESTED: "Requested",
    RECEIVED: "Received",
    ACCEPTED: "Accepted",
    WAIVED: "Waived",
}
OPEN_STATUSES = (REQUESTED, RECEIVED)
MAX_NOTES = 2000
ATTORNEY_REFUSAL = "Loan conditions are shared between the lender and the brokerage."


# --- who may do what -------------------------------------------------------------------------


def is_file_lender(db: Session, actor: User, txn_id: int) -> bool:
    """The actor takes part in this file as its lender (a lender login on a lender row)."""
    if actor.role_enum is not Role.LENDER or actor.id is None:
        return False
    row = db.exec(
        select(Participant.id).where(
            Participant.transaction_id == txn_id,
            Participant.user_id == actor.id,
            Participant.role == "lender",
        )
    ).first()
    return row is not None


@dataclass
class _Access:
    txn: Transaction
    manage: bool  # add, edit, accept, waive, return
    attach: bool  # attach a document to a requested condition


def _access(db: Session, actor: User | None, txn_id: int) -> tuple[User, _Access]:
    actor = access.require_active(actor)
    txn = access.get_visible_transaction(db, actor, int(txn_id))
    assert txn.id is not None
    if actor.is_staff:
        return actor, _Access(txn, manage=True, attach=True)
    role = actor.role_enum
    if role is Role.LENDER:
        if not is_file_lender(db, actor, txn.id):
            raise PermissionDenied("Only this file's lender works on its loan conditions.")
        open_file = Stage(txn.stage).is_open
        return actor, _Access(txn, manage=open_file, attach=open_file)
    if role is Role.CLIENT:
        return actor, _Access(txn, manage=False, attach=Stage(txn.stage).is_open)
    raise PermissionDenied(ATTORNEY_REFUSAL)


def _managed(
    db: Session, actor: User | None, condition_id: int
) -> tuple[User, LenderCondition, Transaction]:
    cond, actor, acc = _condition(db, actor, condition_id)
    if not acc.manage:
        if not Stage(acc.txn.stage).is_open and not actor.is_staff:
            raise PermissionDenied("This transaction is closed; its loan conditions are final.")
        raise PermissionDenied("Only the lender and the brokerage change loan conditions.")
    return actor, cond, acc.txn


def _condition(
    db: Session, actor: User | None, condition_id: int
) -> tuple[LenderCondition, User, _Access]:
    actor = access.require_active(actor)
    cond = db.get(LenderCondition, int(condition_id))
    if cond is None or cond.org_id != actor.org_id:
        raise NotFound("Condition not found.")
    try:
        actor, acc = _access(db, actor, cond.transaction_id)
    except NotFound:
        raise NotFound("Condition not found.") from None
    return cond, actor, acc


# --- input -----------------------------------------------------------------------------------


def _title(value: Any) -> str:
    try:
        text = clean_text(value, 200)
    except ValueError as exc:
        raise ValidationFailed({"title": str(exc)}) from None
    if not text:
        raise ValidationFailed({"title": "Say what the lender needs."})
    return text


def _notes(value: Any, *, name: str = "notes", required: str = "") -> str:
    text = str(value or "").strip()
    if len(text) > MAX_NOTES:
        raise ValidationFailed({name: f"Must be at most {MAX_NOTES} characters."})
    if required and not text:
        raise ValidationFailed({name: required})
    return text


def _due(value: Any) -> date | None:
    try:
        return parse_date(value)
    except ValueError as exc:
        raise ValidationFailed({"due_date": str(exc)}) from None


def _fields(title: Any, notes: Any, due_date: Any) -> dict[str, Any]:
    """Every field checked, every problem reported at once."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name, parse, raw in (
        ("title", _title, title),
        ("notes", _notes, notes),
        ("due_date", _due, due_date),
    ):
        try:
            values[name] = parse(raw)
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    return values


# --- notifications ---------------------------------------------------------------------------


def _users_in_role(db: Session, txn: Transaction, role: Role) -> list[User]:
    return list(
        db.exec(
            select(User)
            .join(Participant, col(Participant.user_id) == User.id)
            .where(
                Participant.transaction_id == txn.id,
                User.role == role.value,
                User.is_active == True,  # noqa: E712
                User.org_id == txn.org_id,
            )
            .distinct()
        ).all()
    )


def _lenders(db: Session, txn: Transaction) -> list[User]:
    return [u for u in _users_in_role(db, txn, Role.LENDER) if is_file_lender(db, u, txn.id or 0)]


def _tell(
    db: Session,
    actor: User,
    txn: Transaction,
    users: list[User],
    *,
    kind: str,
    title: str,
    body: str,
    key: str,
) -> None:
    seen: set[int] = set()
    for user in users:
        if user.id is None or user.id == actor.id or user.id in seen or not user.is_active:
            continue
        seen.add(user.id)
        notifications.notify(
            db,
            user_id=user.id,
            org_id=txn.org_id,
            kind=kind,
            title=title,
            body=body,
            link=routes.transaction(txn.id or 0)
            if user.is_staff
            else routes.portal_transaction(txn.id or 0),
            dedupe_key=key,
            transaction_id=txn.id,
        )


def _stamp() -> str:
    return utcnow().strftime("%Y%m%d%H%M%S%f")


# --- changes ---------------------------------------------------------------------------------


def add_condition(
    db: Session,
    actor: User | None,
    transaction_id: int,
    *,
    title: Any,
    notes: Any = "",
    due_date: Any = None,
) -> LenderCondition:
    actor, acc = _access(db, actor, transaction_id)
    if not acc.manage:
        raise PermissionDenied("Only the lender and the brokerage add loan conditions.")
    values = _fields(title, notes, due_date)
    txn = acc.txn
    cond = LenderCondition(
        org_id=txn.org_id,
        transaction_id=txn.id or 0,
        title=values["title"],
        notes=values["notes"],
        due_date=values["due_date"],
        status=REQUESTED,
        requested_by_id=actor.id,
    )
    db.add(cond)
    db.flush()
    due = f", due {format_date(cond.due_date)}" if cond.due_date else ""
    timeline.record(
        db,
        actor=actor,
        txn=txn,
        kind="condition_added",
        summary=f"Loan condition requested: “{cond.title}”{due}",
        data={"condition_id": cond.id},
    )
    owner = db.get(User, txn.owner_id) if txn.owner_id else None
    _tell(
        db,
        actor,
        txn,
        ([owner] if owner else []) + _users_in_role(db, txn, Role.CLIENT),
        kind="condition_added",
        title=f"The lender needs: {cond.title}",
        body=f"{txn.address}{due}.",
        key=f"condition:{cond.id}:added",
    )
    return cond


def update_condition(
    db: Session,
    actor: User | None,
    condition_id: int,
    *,
    title: Any,
    notes: Any = "",
    due_date: Any = None,
) -> LenderCondition:
    actor, cond, txn = _managed(db, actor, condition_id)
    new = _fields(title, notes, due_date)
    changes: list[str] = []
    if new["title"] != cond.title:
        changes.append(f"renamed to “{new['title']}”")
    if new["notes"] != cond.notes:
        changes.append("notes changed")
    if new["due_date"] != cond.due_date:
        changes.append(f"due {format_date(new['due_date'])}" if new["due_date"] else "no due date")
    if not changes:
        return cond
    before = cond.title
    cond.title, cond.notes, cond.due_date = new["title"], new["notes"], new["due_date"]
    cond.updated_at = utcnow()
    db.add(cond)
    timeline.record(
        db,
        actor=actor,
        txn=txn,
        kind="condition_updated",
        summary=f"Loan condition “{before}”: " + "; ".join(changes),
        data={"condition_id": cond.id},
    )
    db.flush()
    return cond


def delete_condition(db: Session, actor: User | None, condition_id: int) -> None:
    actor, cond, txn = _managed(db, actor, condition_id)
    timeline.record(
        db,
        actor=actor,
        txn=txn,
        kind="condition_deleted",
        summary=f"Loan condition removed: “{cond.title}”",
        data={"condition_id": cond.id},
    )
    db.delete(cond)
    db.flush()


def attach_document(
    db: Session, actor: User | None, condition_id: int, document_id: int
) -> LenderCondition:
    """The document that answers a condition (one the actor can see, on the same file): the
    condition becomes received and the document is shared with the lender."""
    cond, actor, acc = _condition(db, actor, condition_id)
    txn = acc.txn
    if not acc.attach:
        if not Stage(txn.stage).is_open:
            raise PermissionDenied("This transaction is closed; ask your agent to add documents.")
        raise PermissionDenied("Only people on this file send documents for its conditions.")
    if cond.status in (ACCEPTED, WAIVED):
        raise Conflict(f"This condition is already {STATUS_LABELS[cond.status].lower()}.")
    if cond.status == RECEIVED and not acc.manage:
        raise Conflict(
            "A document was already sent for this condition; the lender is reviewing it."
        )
    doc = documents.get_document(db, actor, int(document_id))
    if doc.transaction_id != cond.transaction_id:
        raise NotFound("Document not found.")
    shared_now = not doc.share_lender
    if shared_now:
        doc.share_lender = True
        documents.touch(doc)
        db.add(doc)
    cond.status = RECEIVED
    cond.document_id = doc.id
    cond.received_at = utcnow()
    cond.received_by_id = actor.id
    cond.accepted_at = None
    cond.updated_at = utcnow()
    db.add(cond)
    db.flush()
    timeline.record(
        db,
        actor=actor,
        txn=txn,
        kind="condition_received",
        summary=f"“{doc.title}” sent for loan condition “{cond.title}”"
        + (" (now shared with the lender)" if shared_now else ""),
        data={"condition_id": cond.id, "document_id": doc.id, "shared_with_lender": shared_now},
    )
    _tell(
        db,
        actor,
        txn,
        _lenders(db, txn),
        kind="condition_received",
        title=f"Received for “{cond.title}”",
        body=f"{txn.address}: {actor.full_name} sent “{doc.title}”.",
        key=f"condition:{cond.id}:received:{_stamp()}",
    )
    return cond


def _uploader(db: Session, cond: LenderCondition) -> list[User]:
    user = db.get(User, cond.received_by_id) if cond.received_by_id else None
    return [user] if user is not None else []


def accept_condition(db: Session, actor: User | None, condition_id: int) -> LenderCondition:
    actor, cond, txn = _managed(db, actor, condition_id)
    if cond.status != RECEIVED:
        raise Conflict("Only a condition with a document received can be accepted.")
    cond.status, cond.accepted_at, cond.updated_at = ACCEPTED, utcnow(), utcnow()
    cond.status_note = ""
    db.add(cond)
    timeline.record(
        db,
        actor=actor,
        txn=txn,
        kind="condition_accepted",
        summary=f"Loan condition accepted: “{cond.title}”",
        data={"condition_id": cond.id, "document_id": cond.document_id},
    )
    _tell(
        db,
        actor,
        txn,
        _uploader(db, cond),
        kind="condition_accepted",
        title=f"Accepted: {cond.title}",
        body=f"{txn.address}: the lender accepted what you sent.",
        key=f"condition:{cond.id}:accepted",
    )
    db.flush()
    return cond


def return_condition(
    db: Session, actor: User | None, condition_id: int, note: Any
) -> LenderCondition:
    """Send a received condition back to requested: the document does not do."""
    actor, cond, txn = _managed(db, actor, condition_id)
    text = _notes(note, name="note", required="Say what is wrong with the document.")
    if cond.status != RECEIVED:
        raise Conflict("Only a condition with a document received can be sent back.")
    uploader = _uploader(db, cond)
    cond.status, cond.status_note = REQUESTED, text
    cond.document_id, cond.received_at, cond.received_by_id = None, None, None
    cond.updated_at = utcnow()
    db.add(cond)
    timeline.record(
        db,
        actor=actor,
        txn=txn,
        kind="condition_returned",
        summary=f"Loan condition “{cond.title}” sent back: {text}",
        data={"condition_id": cond.id},
    )
    _tell(
        db,
        actor,
        txn,
        uploader,
        kind="condition_returned",
        title=f"Needs another document: {cond.title}",
        body=f"{txn.address}: {text}",
        key=f"condition:{cond.id}:returned:{_stamp()}",
    )
    db.flush()
    return cond


def waive_condition(
    db: Session, actor: User | None, condition_id: int, note: Any
) -> LenderCondition:
    actor, cond, txn = _managed(db, actor, condition_id)
    text = _notes(note, name="note", required="Say why the condition is waived.")
    if cond.status not in OPEN_STATUSES:
        raise Conflict(f"This condition is already {STATUS_LABELS[cond.status].lower()}.")
    cond.status, cond.status_note = WAIVED, text
    cond.accepted_at = cond.updated_at = utcnow()
    db.add(cond)
    timeline.record(
        db,
        actor=actor,
        txn=txn,
        kind="condition_waived",
        summary=f"Loan condition waived: “{cond.title}” ({text})",
        data={"condition_id": cond.id},
    )
    db.flush()
    return cond


# --- reading ---------------------------------------------------------------------------------


def _day(value: datetime | None) -> str:
    return format_date(value.date()) if value else ""


@dataclass
class ConditionRow:
    id: int
    title: str
    notes: str
    status: str
    status_label: str
    status_note: str
    due_date: str  # ISO
    due_label: str  # "Dec 5, 2026"
    overdue: bool
    requested_on: str
    received_on: str
    closed_on: str  # accepted or waived
    document_id: int  # 0 when none, or when the viewer may not see the document
    document_title: str
    received_by: str
    can_attach: bool


@dataclass
class ConditionBoard:
    rows: list[ConditionRow] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    can_manage: bool = False
    can_attach: bool = False
    has_lender: bool = False


def _rows(
    db: Session, actor: User, conds: list[LenderCondition], acc: _Access | None, today: date
) -> list[ConditionRow]:
    doc_ids = {c.document_id for c in conds if c.document_id}
    visible: dict[int | None, str] = (
        dict(
            db.exec(
                select(Document.id, Document.title).where(
                    col(Document.id).in_(doc_ids), documents.visible_documents(actor)
                )
            ).all()
        )
        if doc_ids
        else {}
    )
    user_ids = {c.received_by_id for c in conds if c.received_by_id}
    names: dict[int | None, str] = (
        dict(db.exec(select(User.id, User.full_name).where(col(User.id).in_(user_ids))).all())
        if user_ids
        else {}
    )
    return [
        ConditionRow(
            id=c.id or 0,
            title=c.title,
            notes=c.notes,
            status=c.status,
            status_label=STATUS_LABELS.get(c.status, c.status),
            status_note=c.status_note,
            due_date=c.due_date.isoformat() if c.due_date else "",
            due_label=format_date(c.due_date),
            overdue=bool(c.due_date and c.due_date < today and c.status in OPEN_STATUSES),
            requested_on=_day(c.requested_at),
            received_on=_day(c.received_at),
            closed_on=_day(c.accepted_at),
            document_id=(c.document_id or 0) if c.document_id in visible else 0,
            document_title=visible.get(c.document_id or 0, ""),
            received_by=names.get(c.received_by_id or 0, ""),
            can_attach=bool(
                acc
                and acc.attach
                and (c.status == REQUESTED or (c.status == RECEIVED and acc.manage))
            ),
        )
        for c in conds
    ]


def counts_of(conds: list[LenderCondition]) -> dict[str, int]:
    out = dict.fromkeys(STATUS_LABELS, 0)
    for c in conds:
        out[c.status] = out.get(c.status, 0) + 1
    out["open"] = out[REQUESTED] + out[RECEIVED]
    out["total"] = len(conds)
    return out


def conditions(
    db: Session, actor: User | None, transaction_id: int, *, today: date | None = None
) -> ConditionBoard:
    """A file's conditions, open ones first (by due date, then age), with counts."""
    actor, acc = _access(db, actor, transaction_id)
    conds = list(
        db.exec(
            select(LenderCondition)
            .where(LenderCondition.transaction_id == acc.txn.id)
            .order_by(col(LenderCondition.requested_at), col(LenderCondition.id))
        ).all()
    )
    rank = {REQUESTED: 0, RECEIVED: 0, ACCEPTED: 1, WAIVED: 1}
    conds.sort(key=lambda c: (rank.get(c.status, 2), c.due_date or date.max))
    return ConditionBoard(
        rows=_rows(db, actor, conds, acc, today or date.today()),
        counts=counts_of(conds),
        can_manage=acc.manage,
        can_attach=acc.attach,
        has_lender=bool(_lenders(db, acc.txn)),
    )


@dataclass
class FileConditions:
    transaction_id: int
    address: str
    open_count: int
    oldest_on: str
    rows: list[ConditionRow] = field(default_factory=list)


def lender_overview(
    db: Session, actor: User | None, *, today: date | None = None, limit: int = 100
) -> list[FileConditions]:
    """Open conditions across every file the actor may see (the lender's own files), grouped
    by file, the file with the oldest open request first."""
    actor = access.require_active(actor)
    if actor.role_enum not in (Role.ADMIN, Role.AGENT, Role.COORDINATOR, Role.LENDER):
        raise PermissionDenied(ATTORNEY_REFUSAL)
    query = (
        select(LenderCondition, Transaction)
        .join(Transaction, col(Transaction.id) == LenderCondition.transaction_id)
        .where(
            access.visible_transactions(actor),
            col(LenderCondition.status).in_(OPEN_STATUSES),
        )
        .order_by(col(LenderCondition.requested_at), col(LenderCondition.id))
        .limit(limit)
    )
    if actor.role_enum is Role.LENDER:
        query = query.where(
            col(Transaction.id).in_(
                select(Participant.transaction_id).where(
                    Participant.user_id == actor.id, Participant.role == "lender"
                )
            )
        )
    pairs = db.exec(query).all()
    files: dict[int, FileConditions] = {}
    for cond, txn in pairs:
        group = files.get(txn.id or 0)
        if group is None:
            group = files[txn.id or 0] = FileConditions(
                txn.id or 0, txn.address, 0, _day(cond.requested_at)
            )
        group.rows.extend(_rows(db, actor, [cond], None, today or date.today()))
        group.open_count += 1
    return list(files.values())


def open_counts_by_file(db: Session, actor: User | None, txn_ids: list[int]) -> dict[int, int]:
    """Open conditions per file for a card list (lenders and staff; others get nothing)."""
    actor = access.require_active(actor)
    if not txn_ids or actor.role_enum not in (
        Role.ADMIN,
        Role.AGENT,
        Role.COORDINATOR,
        Role.LENDER,
    ):
        return {}
    rows = db.exec(
        select(LenderCondition.transaction_id, func.count())
        .join(Transaction, col(Transaction.id) == LenderCondition.transaction_id)
        .where(
            col(LenderCondition.transaction_id).in_(txn_ids),
            access.visible_transactions(actor),
            col(LenderCondition.status).in_(OPEN_STATUSES),
        )
        .group_by(col(LenderCondition.transaction_id))
    ).all()
    return {int(t): int(n) for t, n in rows}
