"""User administration for a brokerage's admins: list, change role, deactivate, reactivate.

Rules (each refusal is a typed error the page shows as is):
- admins only, and only users of their own brokerage (others are NotFound);
- the brokerage always keeps at least one active admin;
- an admin cannot deactivate or demote themselves (another admin must do it);
- roles change within staff (admin, agent, coordinator) only. An outside party's role follows
  from how they take part in transactions, so client, attorney and lender accounts keep theirs
  and are never turned into staff (nor staff into outside parties): invite the person again
  with the right role instead.
- deactivating revokes every session at once; since every page event re-validates the
  session, the user can no longer act, even on a page left open.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from chronos.models import STAFF_ROLES, Role, User
from chronos.services import access, api_tokens, auth, calendar_feeds, security_log
from chronos.services.errors import Conflict, PermissionDenied, ValidationFailed
from chronos.services.pagination import Page, clamp_page
from chronos.services.security_log import Client, Kind
from chronos.services.validation import contains_folded

ADMINS_ONLY = "Only admins can manage users."
LAST_ADMIN = "The brokerage needs at least one active admin."


@dataclass
class UserRow:
    id: int
    name: str
    email: str
    role: str
    role_label: str
    is_staff: bool
    is_active: bool
    verified: bool
    two_factor: bool
    last_login_at: str  # ISO 8601 UTC, "" when never
    is_self: bool


def _admin(actor: User | None) -> User:
    return access.require_role(actor, (Role.ADMIN,), ADMINS_ONLY)


def _row(user: User, actor: User) -> UserRow:
    return UserRow(
        id=user.id or 0,
        name=user.full_name,
        email=user.email,
        role=user.role,
        role_label=user.role_enum.label,
        is_staff=user.is_staff,
        is_active=user.is_active,
        verified=user.is_verified,
        two_factor=user.totp_enabled_at is not None,
        last_login_at=user.last_login_at.isoformat(timespec="seconds")
        if user.last_login_at
        else "",
        is_self=user.id == actor.id,
    )


def list_users(
    db: Session,
    actor: User,
    *,
    q: str = "",
    role: str = "",
    status: str = "",
    page: int = 1,
    page_size: int = 25,
) -> Page[UserRow]:
    """The brokerage's logins: search by name or email, filter by role and active/inactive."""
    actor = _admin(actor)
    where: list[Any] = [User.org_id == actor.org_id]
    words = q.strip()[:100]
    if words:
        where.append(
            or_(contains_folded(User.full_name, words), contains_folded(User.email, words))
        )
    if role:
        try:
            where.append(User.role == Role(role).value)
        except ValueError:
            raise ValidationFailed({"role": "Unknown role."}) from None
    if status == "active":
        where.append(col(User.is_active).is_(True))
    elif status == "inactive":
        where.append(col(User.is_active).is_(False))
    elif status:
        raise ValidationFailed({"status": "Unknown status."})
    total = db.exec(select(func.count()).select_from(User).where(*where)).one()
    page, page_size = clamp_page(page, page_size)
    users = db.exec(
        select(User)
        .where(*where)
        .order_by(col(User.full_name), col(User.id))
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return Page(items=[_row(u, actor) for u in users], total=total, page=page, page_size=page_size)


def _active_admins(db: Session, org_id: int) -> int:
    return int(
        db.exec(
            select(func.count())
            .select_from(User)
            .where(
                User.org_id == org_id,
                User.role == Role.ADMIN.value,
                col(User.is_active).is_(True),
            )
        ).one()
    )


def _keeps_an_admin(db: Session, target: User) -> None:
    """Refuse when ``target`` is the last active admin and is about to stop being one."""
    if (
        target.role_enum is Role.ADMIN
        and target.is_active
        and _active_admins(db, target.org_id) <= 1
    ):
        raise Conflict(LAST_ADMIN)


def change_role(
    db: Session, actor: User, user_id: int, role: str, *, client: Client | None = None
) -> User:
    actor = _admin(actor)
    target = access.get_org_user(db, actor, user_id)
    try:
        new_role = Role(role)
    except ValueError:
        raise ValidationFailed({"role": "Unknown role."}) from None
    if new_role.value == target.role:
        return target
    if not target.is_staff or new_role not in STAFF_ROLES:
        raise ValidationFailed(
            {
                "role": "Only staff roles (admin, agent, coordinator) can be changed. Clients, "
                "attorneys and lenders keep their role; invite them again with the right one."
            }
        )
    if new_role is not Role.ADMIN:
        _keeps_an_admin(db, target)
    if target.id == actor.id:
        raise PermissionDenied("You cannot change your own role; ask another admin.")
    old = target.role
    target.role = new_role.value
    db.add(target)
    security_log.record(
        db,
        Kind.ROLE_CHANGED,
        org_id=target.org_id,
        user_id=target.id,
        actor_id=actor.id,
        email=target.email,
        client=client,
        detail={"from": old, "to": new_role.value},
    )
    db.flush()
    return target


def deactivate(db: Session, actor: User, user_id: int, *, client: Client | None = None) -> User:
    actor = _admin(actor)
    target = access.get_org_user(db, actor, user_id)
    if not target.is_active:
        raise Conflict(f"{target.full_name} is already deactivated.")
    _keeps_an_admin(db, target)
    if target.id == actor.id:
        raise PermissionDenied("You cannot deactivate yourself; ask another admin.")
    target.is_active = False
    db.add(target)
    assert target.id is not None
    revoked = auth.revoke_all_sessions(db, target.id)
    # Their calendar link dies too: reactivating them later must not revive an old link.
    detail: dict[str, object] = {"sessions_revoked": revoked}
    if calendar_feeds.revoke_for(db, target.id):
        detail["calendar_link_revoked"] = True
    # And their API tokens, for the same reason.
    if tokens := api_tokens.revoke_all_for(db, target.id):
        detail["api_tokens_revoked"] = tokens
    security_log.record(
        db,
        Kind.DEACTIVATED,
        org_id=target.org_id,
        user_id=target.id,
        actor_id=actor.id,
        email=target.email,
        client=client,
        detail=detail,
    )
    db.flush()
    return target


def reactivate(db: Session, actor: User, user_id: int, *, client: Client | None = None) -> User:
    actor = _admin(actor)
    target = access.get_org_user(db, actor, user_id)
    if target.is_active:
        raise Conflict(f"{target.full_name} is already active.")
    target.is_active = True
    db.add(target)
    security_log.record(
        db,
        Kind.REACTIVATED,
        org_id=target.org_id,
        user_id=target.id,
        actor_id=actor.id,
        email=target.email,
        client=client,
    )
    db.flush()
    return target
