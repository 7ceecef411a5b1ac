"""Users of a brokerage as others see them (pickers, owner choices)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from chronos.models import STAFF_ROLES, Role, User
from chronos.services import access


@dataclass
class StaffMember:
    id: int
    name: str
    role: str
    role_label: str


def list_staff(db: Session, actor: User) -> list[StaffMember]:
    """Active admins, agents and coordinators of the actor's brokerage (staff only)."""
    actor = access.require_staff(actor)
    users = db.exec(
        select(User)
        .where(
            User.org_id == actor.org_id,
            col(User.is_active).is_(True),
            col(User.role).in_([r.value for r in STAFF_ROLES]),
        )
        .order_by(col(User.full_name))
        .limit(500)
    ).all()
    return [StaffMember(u.id or 0, u.full_name, u.role, Role(u.role).label) for u in users]
