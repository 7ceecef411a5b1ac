"""User administration: admins of a brokerage list, re-role, deactivate and reactivate users."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from chronos.models import SecurityEvent, UserSession
from chronos.services import access, auth, user_admin
from chronos.services.errors import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from chronos.services.security_log import Client, Kind
from tests.factories import DEFAULT_PASSWORD, World, make_user


def sessions_of(db: Session, user_id: int) -> list[UserSession]:
    return list(db.exec(select(UserSession).where(UserSession.user_id == user_id)).all())


def test_admin_lists_only_their_brokerage(db: Session, world: World) -> None:
    page = user_admin.list_users(db, world.admin, page_size=100)
    emails = {r.email for r in page.items}
    assert world.agent.email in emails and world.client.email in emails
    assert world.outsider_agent.email not in emails and world.outsider_admin.email not in emails
    assert page.total == 8
    me = next(r for r in page.items if r.email == world.admin.email)
    assert me.is_self and me.is_active and me.verified and not me.two_factor


def test_list_search_and_filters(db: Session, world: World) -> None:
    assert [r.name for r in user_admin.list_users(db, world.admin, q="alice").items] == [
        "Alice Agent"
    ]
    assert [r.name for r in user_admin.list_users(db, world.admin, q="BANK.example").items] == [
        "Leo Lender"
    ]
    agents = user_admin.list_users(db, world.admin, role="agent").items
    assert {r.name for r in agents} == {"Alice Agent", "Bob Agent"}
    user_admin.deactivate(db, world.admin, world.agent2.id)
    inactive = user_admin.list_users(db, world.admin, status="inactive").items
    assert [r.name for r in inactive] == ["Bob Agent"]
    assert user_admin.list_users(db, world.admin, status="active").total == 7
    assert user_admin.list_users(db, world.admin, q="100%_").total == 0
    with pytest.raises(ValidationFailed):
        user_admin.list_users(db, world.admin, role="wizard")
    with pytest.raises(ValidationFailed):
        user_admin.list_users(db, world.admin, status="sleeping")


def test_list_is_paginated(db: Session, world: World) -> None:
    page = user_admin.list_users(db, world.admin, page=2, page_size=3)
    assert (page.total, page.pages, len(page.items)) == (8, 3, 3)


@pytest.mark.parametrize("who", ["agent", "coordinator", "client", "attorney", "lender", "agent2"])
def test_non_admins_can_do_nothing(db: Session, world: World, who: str) -> None:
    actor = world.user(who)
    with pytest.raises(PermissionDenied):
        user_admin.list_users(db, actor)
    for action in (user_admin.deactivate, user_admin.reactivate):
        with pytest.raises(PermissionDenied):
            action(db, actor, world.agent2.id)
    with pytest.raises(PermissionDenied):
        user_admin.change_role(db, actor, world.agent2.id, "admin")
    db.refresh(world.agent2)
    assert world.agent2.is_active and world.agent2.role == "agent"


def test_another_brokerages_admin_gets_not_found(db: Session, world: World) -> None:
    for action in (user_admin.deactivate, user_admin.reactivate):
        with pytest.raises(NotFound):
            action(db, world.outsider_admin, world.agent.id)
    with pytest.raises(NotFound):
        user_admin.change_role(db, world.outsider_admin, world.agent.id, "coordinator")
    with pytest.raises(NotFound):
        user_admin.deactivate(db, world.admin, 999_999)


def test_change_role_between_staff_roles_is_logged(db: Session, world: World) -> None:
    user_admin.change_role(
        db, world.admin, world.agent2.id, "coordinator", client=Client("192.0.2.1", "ua")
    )
    db.commit()
    assert world.agent2.role == "coordinator"
    event = db.exec(select(SecurityEvent).where(SecurityEvent.kind == Kind.ROLE_CHANGED)).one()
    assert (event.user_id, event.actor_id, event.ip_address) == (
        world.agent2.id,
        world.admin.id,
        "192.0.2.1",
    )
    assert event.detail == {"from": "agent", "to": "coordinator"}
    # The new role takes effect for access at once: an admin sees every file.
    user_admin.change_role(db, world.admin, world.agent2.id, "admin")
    assert access.get_visible_transaction(db, world.agent2, world.deal.id)


@pytest.mark.parametrize(
    ("who", "role"), [("client", "agent"), ("agent", "client"), ("lender", "attorney")]
)
def test_outside_roles_and_staff_roles_do_not_cross(
    db: Session, world: World, who: str, role: str
) -> None:
    with pytest.raises(ValidationFailed) as exc:
        user_admin.change_role(db, world.admin, world.user(who).id, role)
    assert "Only staff roles" in exc.value.errors["role"]
    with pytest.raises(ValidationFailed):
        user_admin.change_role(db, world.admin, world.agent.id, "overlord")


def test_the_last_admin_stays_and_admins_do_not_act_on_themselves(
    db: Session, world: World
) -> None:
    with pytest.raises(Conflict) as exc:
        user_admin.change_role(db, world.admin, world.admin.id, "agent")
    assert exc.value.message == user_admin.LAST_ADMIN
    with pytest.raises(Conflict):
        user_admin.deactivate(db, world.admin, world.admin.id)
    second = make_user(db, world.harbor, "admin", email="second.admin@harbor.example.com")
    db.commit()
    with pytest.raises(PermissionDenied) as denied:
        user_admin.change_role(db, world.admin, world.admin.id, "agent")
    assert "your own role" in denied.value.message
    with pytest.raises(PermissionDenied):
        user_admin.deactivate(db, world.admin, world.admin.id)
    # Another admin may step the first one down; then the second is the last one.
    user_admin.change_role(db, second, world.admin.id, "agent")
    db.commit()
    with pytest.raises(PermissionDenied):  # Ada is no longer an admin
        user_admin.deactivate(db, world.admin, second.id)


def test_deactivate_revokes_every_session_at_once(db: Session, world: World) -> None:
    tokens = [
        auth.sign_in(db, email=world.agent2.email, password=DEFAULT_PASSWORD).token
        for _ in range(2)
    ]
    db.commit()
    assert auth.resolve_session(db, tokens[0]) is not None
    user_admin.deactivate(db, world.admin, world.agent2.id, client=Client("192.0.2.9", ""))
    db.commit()
    assert all(s.revoked_at is not None for s in sessions_of(db, world.agent2.id))
    assert all(auth.resolve_session(db, t) is None for t in tokens)
    event = db.exec(select(SecurityEvent).where(SecurityEvent.kind == Kind.DEACTIVATED)).one()
    assert event.detail == {"sessions_revoked": 2} and event.ip_address == "192.0.2.9"
    with pytest.raises(Conflict):
        user_admin.deactivate(db, world.admin, world.agent2.id)
    # A deactivated user cannot sign in again until reactivated.
    with pytest.raises(AuthenticationFailed):
        auth.sign_in(db, email=world.agent2.email, password=DEFAULT_PASSWORD)
    db.rollback()
    user_admin.reactivate(db, world.admin, world.agent2.id)
    db.commit()
    assert world.agent2.is_active
    assert auth.sign_in(db, email=world.agent2.email, password=DEFAULT_PASSWORD).token
    # Old sessions stay revoked after reactivation.
    assert all(auth.resolve_session(db, t) is None for t in tokens)
    kinds = list(db.exec(select(SecurityEvent.kind).order_by(SecurityEvent.id)).all())
    assert Kind.DEACTIVATED in kinds and Kind.REACTIVATED in kinds
    with pytest.raises(Conflict):
        user_admin.reactivate(db, world.admin, world.agent2.id)


def test_a_deactivated_admin_can_no_longer_administer(db: Session, world: World) -> None:
    second = make_user(db, world.harbor, "admin", email="second.admin@harbor.example.com")
    user_admin.deactivate(db, second, world.admin.id)
    db.commit()
    with pytest.raises(PermissionDenied):
        user_admin.list_users(db, world.admin)
