"""The timeline: every change to transaction data records an Event in the same DB transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from chronos.models import Event, Transaction, User
from chronos.services import access
from chronos.services.errors import ValidationFailed
from chronos.services.pagination import Page, clamp_page
from chronos.services.validation import clean_text

# Kinds an outside party (client, attorney, lender) may see on their transaction's timeline.
SHARED_KINDS = frozenset({"transaction_created", "stage_changed", "dates_changed"})


def record(
    db: Session,
    *,
    actor: User | None,
    txn: Transaction,
    kind: str,
    summary: str,
    data: dict[str, Any] | None = None,
) -> Event:
    assert txn.id is not None
    event = Event(
        org_id=txn.org_id,
        transaction_id=txn.id,
        actor_id=actor.id if actor else None,
        kind=kind,
        summary=summary[:500],
        data=data or {},
    )
    db.add(event)
    # Subscribed webhooks hear of it in the same unit of work (nothing if it rolls back).
    from chronos.services import webhooks

    webhooks.on_timeline(db, txn, kind, summary, data or {})
    return event


@dataclass
class EventRow:
    id: int
    kind: str
    summary: str
    actor_name: str
    created_at: str  # ISO 8601 with offset, UTC


# The timeline's filter: what a person means by "show me the ..." (kinds by prefix or name).
FILTERS: dict[str, tuple[str, ...]] = {
    "stage": ("transaction_created", "stage_changed"),
    "dates": ("dates_changed", "key_date"),
    "tasks": ("task_", "tasks_", "checklist_applied"),
    "people": ("participant_", "invitation_"),
    "notes": ("note",),
    "emails": ("email_", "thread_started"),
    "documents": ("document_", "signature_", "packet_", "form_", "condition_"),
    "automations": ("automation_",),
}
FILTER_LABELS = {
    "all": "Everything",
    "stage": "Stage",
    "dates": "Dates",
    "tasks": "Tasks",
    "people": "People",
    "notes": "Notes and calls",
    "emails": "Emails and messages",
    "documents": "Documents and signatures",
    "automations": "Automations",
}
NOTE_KINDS = {"note": "Note", "call": "Call", "email": "Email", "meeting": "Meeting"}


def _filter_clause(name: str) -> Any:
    parts = FILTERS.get(name)
    if not parts:
        return None
    return or_(
        *[
            col(Event.kind).startswith(p)
            if p.endswith("_") or p == "key_date"
            else col(Event.kind) == p
            for p in parts
        ]
    )


def add_note(
    db: Session, actor: User, transaction_id: int, text: str, *, kind: str = "note"
) -> Event:
    """A manual entry ("called the lender: appraisal ordered"), staff only, staff-visible."""
    txn = access.get_editable_transaction(db, actor, transaction_id)
    body = clean_text(text, 500)
    if not body:
        raise ValidationFailed({"note": "Write what happened."})
    if kind not in NOTE_KINDS:
        raise ValidationFailed({"kind": "Choose note, call, email or meeting."})
    summary = body if kind == "note" else f"{NOTE_KINDS[kind]}: {body}"
    event = record(db, actor=actor, txn=txn, kind="note", summary=summary, data={"type": kind})
    db.flush()
    return event


def list_events(
    db: Session,
    actor: User,
    transaction_id: int,
    *,
    page: int = 1,
    page_size: int = 20,
    show: str = "all",
) -> Page[EventRow]:
    """Newest first, optionally one kind of entry (``FILTERS``). Outside parties see only the
    shared kinds."""
    txn = access.get_visible_transaction(db, actor, transaction_id)
    conditions: list[Any] = [col(Event.transaction_id) == txn.id]
    if not actor.is_staff:
        conditions.append(col(Event.kind).in_(SHARED_KINDS))
    clause = _filter_clause(show)
    if clause is not None:
        conditions.append(clause)
    total = db.exec(select(func.count()).select_from(Event).where(*conditions)).one()
    page, page_size = clamp_page(page, page_size)
    rows = db.exec(
        select(Event, User.full_name)
        .outerjoin(User, User.id == Event.actor_id)  # type: ignore[arg-type]
        .where(*conditions)
        .order_by(col(Event.created_at).desc(), col(Event.id).desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    items = [
        EventRow(
            id=e.id or 0,
            kind=e.kind,
            summary=e.summary,
            actor_name=name or "Chronos",
            created_at=e.created_at.isoformat(timespec="seconds"),
        )
        for e, name in rows
    ]
    return Page(items=items, total=total, page=page, page_size=page_size)
