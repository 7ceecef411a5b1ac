"""Invitations: who may invite whom to what, the emailed link, and every way accepting fails."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from chronos.models import (
    EmailMessage,
    Invitation,
    Participant,
    Person,
    SecurityEvent,
    User,
    utcnow,
)
from chronos.services import access, auth, invitations, rate_limit, transactions
from chronos.services.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from chronos.services.invitations import InvitationRefused
from chronos.services.security_log import Client, Kind
from tests.factories import DEFAULT_PASSWORD, World, event_kinds, make_person

NEW_PASSWORD = "a-brand-new-passphrase"


def verify(db: Session, *users: User) -> None:
    for user in users:
        user.email_verified_at = utcnow()
        db.add(user)
    db.commit()


@pytest.fixture
def staff(db: Session, world: World) -> World:
    """The Harbor and Summit staff have verified their email addresses."""
    verify(db, world.admin, world.agent, world.coordinator, world.agent2)
    verify(db, world.outsider_admin, world.outsider_agent)
    return world


def token_in(db: Session, email: str) -> str:
    message = db.exec(
        select(EmailMessage)
        .where(EmailMessage.to_address == email)
        .order_by(EmailMessage.id.desc())  # type: ignore[union-attr]
    ).first()
    assert message is not None
    match = re.search(r"/invitation\?token=([A-Za-z0-9_\-]+)", message.text_body)
    assert match, message.text_body
    return match.group(1)


def invite_new_client(db: Session, w: World, email: str = "nina.new@example.com") -> str:
    invitations.invite_to_transaction(
        db, w.agent, w.deal.id, role="client", email=email, name="Nina New"
    )
    db.commit()
    return token_in(db, email)


def kinds(db: Session) -> list[str]:
    return list(db.exec(select(SecurityEvent.kind).order_by(SecurityEvent.id)).all())


# ---------------------------------------------------------------- inviting to a transaction


def test_agent_invites_a_new_person_who_becomes_a_participant_and_gets_an_email(
    db: Session, staff: World
) -> None:
    sent = invitations.invite_to_transaction(
        db,
        staff.agent,
        staff.deal.id,
        role="client",
        email="Nina.New@Example.com",
        name="Nina New",
        client=Client("203.0.113.5", "pytest"),
    )
    db.commit()
    inv = sent.invitation
    assert inv.email == "nina.new@example.com" and inv.role == "client"
    assert inv.token_hash == auth.hash_token(sent.token) and sent.token not in inv.token_hash
    assert inv.expires_at - utcnow() > timedelta(days=13)
    assert invitations.status_of(inv) == "pending"
    person = db.exec(select(Person).where(Person.email == "nina.new@example.com")).one()
    part = db.exec(
        select(Participant).where(
            Participant.transaction_id == staff.deal.id, Participant.person_id == person.id
        )
    ).one()
    assert part.role == "buyer" and part.user_id is None
    message = db.exec(select(EmailMessage).where(EmailMessage.to_address == inv.email)).one()
    assert "12 Harbor View Rd" in message.subject
    assert f"/invitation?token={sent.token}" in message.text_body
    assert f"/invitation?token={sent.token}" in message.html_body
    assert "invitation_sent" in event_kinds(db, staff.deal.id)
    event = db.exec(select(SecurityEvent).where(SecurityEvent.kind == Kind.INVITATION_SENT)).one()
    assert (event.actor_id, event.ip_address, event.email) == (
        staff.agent.id,
        "203.0.113.5",
        inv.email,
    )


def test_inviting_an_existing_contact_reuses_them(db: Session, staff: World) -> None:
    sent = invitations.invite_to_transaction(
        db, staff.agent, staff.deal.id, role="client", person_id=staff.seller_contact.id
    )
    db.commit()
    assert sent.invitation.person_id == staff.seller_contact.id
    assert sent.invitation.email == "sally.seller@example.com"
    # Sally is already on the deal as seller: no second participant row.
    rows = db.exec(
        select(Participant).where(Participant.person_id == staff.seller_contact.id)
    ).all()
    assert [r.role for r in rows] == ["seller"]


def test_a_contact_without_email_cannot_be_invited(db: Session, staff: World) -> None:
    with pytest.raises(ValidationFailed) as exc:
        invitations.invite_to_transaction(
            db, staff.agent, staff.deal.id, role="client", person_id=staff.loose_contact.id
        )
    assert "email" in exc.value.errors


@pytest.mark.parametrize("role", ["admin", "agent", "inspector", ""])
def test_transaction_invitations_are_for_outside_roles_only(
    db: Session, staff: World, role: str
) -> None:
    with pytest.raises(ValidationFailed) as exc:
        invitations.invite_to_transaction(
            db, staff.agent, staff.deal.id, role=role, email="x@example.com", name="X"
        )
    assert "role" in exc.value.errors


@pytest.mark.parametrize("who", ["client", "attorney", "lender"])
def test_outside_parties_cannot_invite(db: Session, staff: World, who: str) -> None:
    verify(db, staff.user(who))
    with pytest.raises(PermissionDenied):
        invitations.invite_to_transaction(
            db, staff.user(who), staff.deal.id, role="client", email="x@example.com", name="X"
        )
    assert db.exec(select(Invitation)).all() == []


def test_an_agent_not_on_the_deal_cannot_see_it_to_invite(db: Session, staff: World) -> None:
    with pytest.raises(NotFound):
        invitations.invite_to_transaction(
            db, staff.agent2, staff.deal.id, role="client", email="x@example.com", name="X"
        )


@pytest.mark.parametrize("who", ["outsider_admin", "outsider_agent"])
def test_another_brokerage_cannot_invite_onto_our_deal(db: Session, staff: World, who: str) -> None:
    with pytest.raises(NotFound):
        invitations.invite_to_transaction(
            db, staff.user(who), staff.deal.id, role="client", email="x@example.com", name="X"
        )


def test_admins_and_coordinators_on_the_deal_can_invite(db: Session, staff: World) -> None:
    invitations.invite_to_transaction(
        db, staff.admin, staff.deal.id, role="lender", email="l2@example.com", name="L Two"
    )
    invitations.invite_to_transaction(
        db, staff.coordinator, staff.deal.id, role="attorney", email="a2@example.com", name="A Two"
    )
    db.commit()
    assert len(invitations.list_for_transaction(db, staff.agent, staff.deal.id)) == 2


def test_an_unverified_agent_cannot_invite(db: Session, world: World) -> None:
    world.agent.email_verified_at = None
    db.add(world.agent)
    db.commit()
    with pytest.raises(PermissionDenied) as exc:
        invitations.invite_to_transaction(
            db, world.agent, world.deal.id, role="client", email="x@example.com", name="X"
        )
    assert "Verify your email" in exc.value.message
    assert db.exec(select(Invitation)).all() == []


def test_a_deactivated_agent_cannot_invite(db: Session, staff: World) -> None:
    staff.agent.is_active = False
    db.add(staff.agent)
    db.commit()
    with pytest.raises(PermissionDenied):
        invitations.invite_to_transaction(
            db, staff.agent, staff.deal.id, role="client", email="x@example.com", name="X"
        )


def test_an_email_with_an_account_at_another_brokerage_is_refused(
    db: Session, staff: World
) -> None:
    with pytest.raises(Conflict) as exc:
        invitations.invite_to_transaction(
            db,
            staff.agent,
            staff.deal.id,
            role="client",
            email=staff.outsider_agent.email,
            name="Oscar",
        )
    assert "another brokerage" in exc.value.message
    with pytest.raises(Conflict):
        invitations.invite_staff(
            db, staff.admin, email=staff.outsider_admin.email, name="Olga", role="agent"
        )


def test_a_staff_email_or_a_different_role_is_refused(db: Session, staff: World) -> None:
    with pytest.raises(ValidationFailed):
        invitations.invite_to_transaction(
            db, staff.agent, staff.deal.id, role="client", email=staff.agent2.email, name="Bob"
        )
    with pytest.raises(ValidationFailed) as exc:
        invitations.invite_to_transaction(
            db, staff.agent, staff.deal.id, role="lender", email=staff.client.email, name="Cora"
        )
    assert "client" in exc.value.errors["role"]


def test_inviting_the_same_email_again_resends_and_kills_the_old_link(
    db: Session, staff: World
) -> None:
    first = invite_new_client(db, staff)
    second = invite_new_client(db, staff)
    assert first != second
    invs = db.exec(select(Invitation)).all()
    assert len(invs) == 1 and invs[0].send_count == 2
    assert invitations.lookup(db, first).status == "invalid"
    assert invitations.lookup(db, second).status == "pending"


def test_the_send_rate_limit_is_per_inviter(db: Session, staff: World) -> None:
    for _ in range(50):
        rate_limit.hit(rate_limit.INVITE_SEND_ACCOUNT, f"user:{staff.agent.id}")
    with pytest.raises(PermissionDenied) as exc:
        invite_new_client(db, staff)
    assert "many invitations" in exc.value.message
    db.rollback()
    # Another inviter is not affected.
    invitations.invite_to_transaction(
        db, staff.coordinator, staff.deal.id, role="client", email="z@example.com", name="Z Z"
    )


# ---------------------------------------------------------------- re-send, revoke, list


def test_resend_issues_a_new_link_and_revoke_kills_it(db: Session, staff: World) -> None:
    old = invite_new_client(db, staff)
    inv = db.exec(select(Invitation)).one()
    invitations.resend(db, staff.coordinator, inv.id)
    db.commit()
    new = token_in(db, inv.email)
    assert new != old and inv.send_count == 2
    assert invitations.lookup(db, old).status == "invalid"
    invitations.revoke(db, staff.agent, inv.id)
    db.commit()
    view = invitations.lookup(db, new)
    assert view.status == "revoked" and view.email == "" and "withdrawn" in view.message
    with pytest.raises(InvitationRefused) as exc:
        invitations.accept(db, new, full_name="N", password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert exc.value.code == "revoked"
    with pytest.raises(Conflict):
        invitations.resend(db, staff.agent, inv.id)
    with pytest.raises(Conflict):
        invitations.revoke(db, staff.agent, inv.id)
    assert Kind.INVITATION_REVOKED in kinds(db)
    assert "invitation_revoked" in event_kinds(db, staff.deal.id)
    # A revoked invitation no longer blocks a fresh one for the same person.
    fresh = invite_new_client(db, staff)
    assert invitations.lookup(db, fresh).status == "pending"


@pytest.mark.parametrize("who", ["agent2", "client", "attorney", "lender", "outsider_admin"])
def test_wrong_personas_cannot_resend_revoke_or_list(db: Session, staff: World, who: str) -> None:
    invite_new_client(db, staff)
    inv = db.exec(select(Invitation)).one()
    actor = staff.user(who)
    for action in (invitations.resend, invitations.revoke):
        with pytest.raises((NotFound, PermissionDenied)):
            action(db, actor, inv.id)
    with pytest.raises((NotFound, PermissionDenied)):
        invitations.list_for_transaction(db, actor, staff.deal.id)
    db.refresh(inv)
    assert inv.revoked_at is None and inv.send_count == 1


def test_the_transaction_list_shows_status(db: Session, staff: World) -> None:
    invite_new_client(db, staff)
    inv = db.exec(select(Invitation)).one()
    inv.expires_at = utcnow() - timedelta(minutes=1)
    db.commit()
    [row] = invitations.list_for_transaction(db, staff.agent, staff.deal.id)
    assert (row.status, row.status_label, row.can_resend) == ("expired", "Expired", True)
    assert row.invited_by == "Alice Agent"


# ---------------------------------------------------------------- accepting


def test_lookup_tells_the_page_what_it_needs_and_nothing_for_forged_tokens(
    db: Session, staff: World
) -> None:
    token = invite_new_client(db, staff)
    view = invitations.lookup(db, token)
    assert view.status == "pending"
    assert view.org_name == "Harbor Realty" and view.inviter_name == "Alice Agent"
    assert view.transaction_address.startswith("12 Harbor View Rd")
    assert view.role_label == "Client" and view.account_exists is False
    for forged in ("", "x" * 43, token[:-1] + ("A" if token[-1] != "A" else "B"), "y" * 500):
        forged_view = invitations.lookup(db, forged)
        assert forged_view == invitations.InvitationView(
            status="invalid", message=invitations.NOT_VALID
        )


def test_a_new_client_accepts_and_sees_only_that_transaction(db: Session, staff: World) -> None:
    token = invite_new_client(db, staff)
    result = invitations.accept(
        db,
        token,
        full_name="Nina New",
        password=NEW_PASSWORD,
        confirm=NEW_PASSWORD,
        client=Client("198.51.100.7", "phone"),
    )
    db.commit()
    user = result.user
    assert (user.role, user.org_id, user.is_verified) == ("client", staff.harbor.id, True)
    assert result.new_account and not result.needs_sign_in
    assert result.landing == f"/portal/{staff.deal.id}"
    visible = db.exec(select(Participant.transaction_id).where(Participant.user_id == user.id))
    assert list(visible) == [staff.deal.id]
    assert access.get_visible_transaction(db, user, staff.deal.id).id == staff.deal.id
    with pytest.raises(NotFound):
        access.get_visible_transaction(db, user, staff.other_deal.id)
    detail = transactions.list_transactions(db, user)
    assert [r.id for r in detail.items] == [staff.deal.id]
    assert "invitation_accepted" in event_kinds(db, staff.deal.id)
    event = db.exec(
        select(SecurityEvent).where(SecurityEvent.kind == Kind.INVITATION_ACCEPTED)
    ).one()
    assert (event.user_id, event.ip_address) == (user.id, "198.51.100.7")
    # Single use.
    with pytest.raises(InvitationRefused) as exc:
        invitations.accept(db, token, full_name="X", password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert exc.value.code == "accepted"
    assert invitations.lookup(db, token).status == "accepted"


def test_expired_and_forged_tokens_are_refused(db: Session, staff: World) -> None:
    token = invite_new_client(db, staff)
    inv = db.exec(select(Invitation)).one()
    inv.expires_at = utcnow() - timedelta(seconds=1)
    db.commit()
    with pytest.raises(InvitationRefused) as exc:
        invitations.accept(db, token, full_name="N", password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert exc.value.code == "expired" and "expired" in exc.value.message
    with pytest.raises(InvitationRefused) as exc:
        invitations.accept(
            db, "forged-token", full_name="N", password=NEW_PASSWORD, confirm=NEW_PASSWORD
        )
    assert exc.value.code == "invalid"
    assert db.exec(select(User).where(User.email == inv.email)).first() is None


def test_accepting_checks_the_password_policy_and_confirmation(db: Session, staff: World) -> None:
    token = invite_new_client(db, staff)
    with pytest.raises(ValidationFailed) as exc:
        invitations.accept(db, token, full_name="N", password=NEW_PASSWORD, confirm="other")
    assert "confirm" in exc.value.errors
    with pytest.raises(ValidationFailed) as exc:
        invitations.accept(db, token, full_name="N", password="short", confirm="short")
    assert "password" in exc.value.errors
    db.rollback()
    assert invitations.lookup(db, token).status == "pending"


def test_an_existing_login_proves_itself_with_its_password(db: Session, staff: World) -> None:
    """Cora (a client login) is invited to a second deal: she must give her password."""
    other = staff.other_deal
    invitations.invite_to_transaction(
        db, staff.agent2, other.id, role="client", email=staff.client.email, name="Cora"
    )
    db.commit()
    token = token_in(db, staff.client.email)
    view = invitations.lookup(db, token)
    assert view.account_exists is True
    with pytest.raises(InvitationRefused) as exc:
        invitations.accept(db, token, password="wrong-password-123")
    assert exc.value.code == "password"
    db.rollback()
    result = invitations.accept(db, token, password=DEFAULT_PASSWORD)
    db.commit()
    assert result.user.id == staff.client.id and not result.new_account
    assert access.get_visible_transaction(db, staff.client, other.id).id == other.id


def test_an_existing_login_signed_in_needs_no_password(db: Session, staff: World) -> None:
    invitations.invite_to_transaction(
        db, staff.agent2, staff.other_deal.id, role="client", email=staff.client.email, name="C"
    )
    db.commit()
    token = token_in(db, staff.client.email)
    with pytest.raises(InvitationRefused):
        invitations.accept(db, token, signed_in_as=staff.client2)  # someone else's session
    db.rollback()
    result = invitations.accept(db, token, signed_in_as=staff.client)
    assert result.user.id == staff.client.id


def test_a_two_factor_account_is_linked_but_signs_in_itself(db: Session, staff: World) -> None:
    staff.client.totp_enabled_at = utcnow()
    db.add(staff.client)
    invitations.invite_to_transaction(
        db, staff.agent2, staff.other_deal.id, role="client", email=staff.client.email, name="C"
    )
    db.commit()
    result = invitations.accept(db, token_in(db, staff.client.email), password=DEFAULT_PASSWORD)
    assert result.needs_sign_in is True


def test_a_deactivated_existing_login_cannot_accept(db: Session, staff: World) -> None:
    invitations.invite_to_transaction(
        db, staff.agent2, staff.other_deal.id, role="client", email=staff.client.email, name="C"
    )
    staff.client.is_active = False
    db.add(staff.client)
    db.commit()
    with pytest.raises(InvitationRefused) as exc:
        invitations.accept(db, token_in(db, staff.client.email), password=DEFAULT_PASSWORD)
    assert exc.value.code == "invalid"


def test_a_contact_removed_from_the_deal_after_the_invite_sees_nothing(
    db: Session, staff: World
) -> None:
    token = invite_new_client(db, staff)
    part = db.exec(
        select(Participant)
        .join(Person, Person.id == Participant.person_id)  # type: ignore[arg-type]
        .where(Person.email == "nina.new@example.com")
    ).one()
    transactions.remove_participant(db, staff.agent, staff.deal.id, part.id)
    db.commit()
    result = invitations.accept(
        db, token, full_name="Nina", password=NEW_PASSWORD, confirm=NEW_PASSWORD
    )
    with pytest.raises(NotFound):
        access.get_visible_transaction(db, result.user, staff.deal.id)


# ---------------------------------------------------------------- staff invitations


def test_admin_invites_an_agent_who_accepts(db: Session, staff: World) -> None:
    sent = invitations.invite_staff(
        db, staff.admin, email="new.agent@harbor.example.com", name="Nell Agent", role="agent"
    )
    db.commit()
    assert sent.invitation.transaction_id is None
    token = token_in(db, "new.agent@harbor.example.com")
    message = db.exec(
        select(EmailMessage).where(EmailMessage.to_address == "new.agent@harbor.example.com")
    ).one()
    assert "Harbor Realty" in message.subject
    page = invitations.list_staff_invitations(db, staff.admin)
    assert page.total == 1 and page.items[0].status == "pending"
    result = invitations.accept(
        db, token, full_name="Nell Agent", password=NEW_PASSWORD, confirm=NEW_PASSWORD
    )
    db.commit()
    assert (result.user.role, result.landing, result.user.is_verified) == (
        "agent",
        "/pipeline",
        True,
    )
    assert invitations.list_staff_invitations(db, staff.admin).items[0].status == "accepted"


@pytest.mark.parametrize(
    "who", ["agent", "coordinator", "client", "attorney", "lender", "outsider_agent"]
)
def test_only_admins_invite_staff_or_list_staff_invitations(
    db: Session, staff: World, who: str
) -> None:
    actor = staff.user(who)
    verify(db, actor)
    with pytest.raises(PermissionDenied):
        invitations.invite_staff(db, actor, email="s@example.com", name="S", role="agent")
    with pytest.raises(PermissionDenied):
        invitations.list_staff_invitations(db, actor)


def test_staff_invitations_of_another_brokerage_are_invisible(db: Session, staff: World) -> None:
    invitations.invite_staff(db, staff.admin, email="s@example.com", name="S S", role="agent")
    db.commit()
    inv = db.exec(select(Invitation)).one()
    assert invitations.list_staff_invitations(db, staff.outsider_admin).total == 0
    with pytest.raises(NotFound):
        invitations.revoke(db, staff.outsider_admin, inv.id)
    with pytest.raises(NotFound):
        invitations.resend(db, staff.outsider_admin, inv.id)


def test_inviting_an_existing_colleague_is_a_conflict(db: Session, staff: World) -> None:
    with pytest.raises(Conflict) as exc:
        invitations.invite_staff(db, staff.admin, email=staff.agent.email, name="A", role="agent")
    assert "already has an account" in exc.value.message


def test_staff_invitation_validation(db: Session, staff: World) -> None:
    with pytest.raises(ValidationFailed) as exc:
        invitations.invite_staff(db, staff.admin, email="not-an-email", name="", role="agent")
    assert {"email", "name"} <= set(exc.value.errors)
    with pytest.raises(ValidationFailed) as exc:
        invitations.invite_staff(db, staff.admin, email="s@example.com", name="S", role="client")
    assert "role" in exc.value.errors


def test_new_contact_gets_added_once_even_with_an_existing_person_of_that_email(
    db: Session, staff: World
) -> None:
    make_person(db, staff.agent, first_name="Pat", last_name="Existing", email="pat@example.com")
    db.commit()
    invitations.invite_to_transaction(
        db, staff.agent, staff.deal.id, role="attorney", email="pat@example.com", name="Pat E"
    )
    db.commit()
    people_with_email = db.exec(select(Person).where(Person.email == "pat@example.com")).all()
    assert len(people_with_email) == 1
    part = db.exec(
        select(Participant).where(Participant.person_id == people_with_email[0].id)
    ).one()
    assert part.role == "attorney"


def test_inviting_a_pending_staff_email_again_resends_with_the_new_role(
    db: Session, staff: World
) -> None:
    invitations.invite_staff(db, staff.admin, email="s@example.com", name="S S", role="agent")
    db.commit()
    first = token_in(db, "s@example.com")
    invitations.invite_staff(db, staff.admin, email="s@example.com", name="S S", role="admin")
    db.commit()
    inv = db.exec(select(Invitation)).one()
    assert (inv.role, inv.send_count) == ("admin", 2)
    assert invitations.lookup(db, first).status == "invalid"
    result = invitations.accept(
        db,
        token_in(db, "s@example.com"),
        full_name="S S",
        password=NEW_PASSWORD,
        confirm=NEW_PASSWORD,
    )
    assert result.user.role == "admin"


def test_guessing_an_existing_logins_password_at_acceptance_locks_it(
    db: Session, staff: World
) -> None:
    other = staff.other_deal
    invitations.invite_to_transaction(
        db, staff.agent2, other.id, role="client", email=staff.client.email, name="Cora"
    )
    db.commit()
    token = token_in(db, staff.client.email)
    codes = []
    for _ in range(6):
        with pytest.raises(InvitationRefused) as exc:
            invitations.accept(db, token, password="wrong-password-123")
        codes.append(exc.value.code)
        assert exc.value.commit_unit_of_work or exc.value.code == "limited"
    assert codes == ["password"] * 4 + ["limited", "limited"]
    # Locked: the right password is refused too, and the invitation stays pending.
    with pytest.raises(InvitationRefused) as right:
        invitations.accept(db, token, password=DEFAULT_PASSWORD)
    assert right.value.code == "limited"
    assert invitations.lookup(db, token).status == "pending"
