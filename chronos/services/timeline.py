"""The timeline: every change to transaction data records an Event in the same DB transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from chronos.models import Event, Transaction, User
from chronos.services import access
from chronos.services.pagination import Page, clamp_page

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
    return event


@dataclass
class EventRow:
    id: int
    kind: str
    summary: str
    actor_name: str
    created_at: str  # ISO 8601 with offset, UTC


def list_events(
    db: Session, actor: User, transaction_id: int, *, page: int = 1, page_size: int = 20
) -> Page[EventRow]:
    """Newest first. Outside parties see only the shared kinds."""
    txn = access.get_visible_transaction(db, actor, transaction_id)
    conditions: list[Any] = [col(Event.transaction_id) == txn.id]
    if not actor.is_staff:
        conditions.append(col(Event.kind).in_(SHARED_KINDS))
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
