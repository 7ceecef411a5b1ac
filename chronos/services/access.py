"""The one access policy. Every service that touches transaction data asks it.

Rules:
- Nobody ever sees another organization's rows.
- An admin sees every transaction of their organization.
- An agent or coordinator sees the transactions they own or are assigned to (a participant row
  with their ``user_id``).
- A client, attorney or lender sees only transactions they participate in, read-only.
- An inactive user can do nothing.

Invisible objects raise ``NotFound`` (never revealing that they exist); visible objects the
actor may not change raise ``PermissionDenied``.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, and_, event, false, or_
from sqlmodel import Session, col, select

from chronos.models import Participant, Person, Role, Transaction, User
from chronos.services.errors import NotFound, PermissionDenied

STAFF_ONLY = "Only brokerage staff can do this."


def require_active(actor: User | None) -> User:
    if actor is None or not actor.is_active or actor.id is None:
        raise PermissionDenied("Your account cannot act. Sign in again.")
    return actor


def require_role(actor: User | None, roles: Iterable[Role], message: str = STAFF_ONLY) -> User:
    actor = require_active(actor)
    if actor.role_enum not in set(roles):
        raise PermissionDenied(message)
    return actor


def require_staff(actor: User | None) -> User:
    return require_role(actor, (Role.ADMIN, Role.AGENT, Role.COORDINATOR))


def _is_participant(actor: User) -> ColumnElement[bool]:
    # An uncorrelated IN lets the database start from the actor's few participant rows instead
    # of probing participants once per transaction (bench/RESULTS.md: 20 ms -> 0.2 ms on SQLite
    # for a client at 10,000 files). Being uncorrelated, it is also safe inside outer queries
    # that themselves select from participants (people.get_person).
    return col(Transaction.id).in_(
        select(Participant.transaction_id).where(Participant.user_id == actor.id)
    )


def visible_transactions(actor: User) -> ColumnElement[bool]:
    """WHERE clause over ``Transaction`` selecting exactly what ``actor`` may see."""
    if not actor.is_active or actor.id is None:
        return false()
    same_org = col(Transaction.org_id) == actor.org_id
    role = actor.role_enum
    if role is Role.ADMIN:
        return same_org
    if role in (Role.AGENT, Role.COORDINATOR):
        return and_(same_org, or_(col(Transaction.owner_id) == actor.id, _is_participant(actor)))
    return and_(same_org, _is_participant(actor))


_VISIBLE_MEMO = "chronos_visible_transactions"


@event.listens_for(Session, "after_flush")
def _forget_visibility(session: Session, _flush_context: object) -> None:
    # Any write may change who sees what (a participant added or removed, a new owner).
    session.info.pop(_VISIBLE_MEMO, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_visibility_on_rollback(session: Session, _previous: object) -> None:
    session.info.pop(_VISIBLE_MEMO, None)


def get_visible_transaction(db: Session, actor: User | None, transaction_id: int) -> Transaction:
    """The transaction if ``actor`` may see it, else NotFound.

    Memoized per session until its next flush: a page's services ask for the same file
    several times in one unit of work (the task panel alone asked four times)."""
    actor = require_active(actor)
    memo: dict[tuple[int, str, int], Transaction] = db.info.setdefault(_VISIBLE_MEMO, {})
    key = (actor.id or 0, actor.role, transaction_id)
    txn = memo.get(key)
    if txn is not None:
        return txn
    txn = db.exec(
        select(Transaction).where(Transaction.id == transaction_id, visible_transactions(actor))
    ).first()
    if txn is None:
        raise NotFound("Transaction not found.")
    memo[key] = txn
    return txn


def get_editable_transaction(db: Session, actor: User | None, transaction_id: int) -> Transaction:
    """A transaction the actor may change: visible to them, and they are staff."""
    txn = get_visible_transaction(db, actor, transaction_id)
    require_staff(actor)
    return txn


def can_edit(actor: User) -> bool:
    return actor.is_active and actor.is_staff


def get_org_person(db: Session, actor: User, person_id: int) -> Person:
    """A contact of the actor's organization; only staff browse contacts."""
    require_staff(actor)
    person = db.get(Person, person_id)
    if person is None or person.org_id != actor.org_id:
        raise NotFound("Contact not found.")
    return person


def get_org_user(db: Session, actor: User, user_id: int) -> User:
    require_active(actor)
    user = db.get(User, user_id)
    if user is None or user.org_id != actor.org_id:
        raise NotFound("User not found.")
    return user
