"""The admin users page, the transaction page's invitation handlers and the accept page, driven
as the browser's websocket would: wrong personas refused, nothing of others loaded into state,
and a deactivated user refused on a page they still have open."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from chronos import db as chronos_db
from chronos.models import EmailMessage, Invitation, SecurityEvent, User
from chronos.pages.accept_invitation import AcceptInvitationState
from chronos.pages.admin_users import AdminUsersState
from chronos.pages.pipeline import PipelineState
from chronos.pages.transaction import TransactionState
from chronos.services import invitations
from chronos.services.security_log import Kind
from tests.factories import World
from tests.unit.test_state_handlers import call, count, make_state, redirect_path


def admin_state(engine: Engine, user: User | None) -> Any:
    return make_state(AdminUsersState, engine, user, "/admin/users")


def deal_state(engine: Engine, world: World, user: User) -> Any:
    state = make_state(
        TransactionState, engine, user, "/transactions/[txn_id]", {"txn_id": str(world.deal.id)}
    )
    call(TransactionState.load, state)
    return state


# ---------------------------------------------------------------- /admin/users


@pytest.mark.parametrize(
    ("who", "home"),
    [
        ("agent", "/pipeline"),
        ("coordinator", "/pipeline"),
        ("client", "/portal"),
        ("attorney", "/portal"),
        ("lender", "/portal"),
    ],
)
def test_the_admin_page_sends_non_admins_home_with_nothing_loaded(
    engine: Engine, ui: World, who: str, home: str
) -> None:
    state = admin_state(engine, ui.user(who))
    assert redirect_path(call(AdminUsersState.load, state)) == home
    assert state.rows == [] and state.invites == [] and state.total == 0


def test_signed_out_visitors_go_to_sign_in(engine: Engine, ui: World) -> None:
    state = admin_state(engine, None)
    assert redirect_path(call(AdminUsersState.load, state)) == "/sign-in?next=/admin/users"
    assert state.rows == []


def test_the_admin_page_holds_only_the_admins_brokerage(engine: Engine, ui: World) -> None:
    state = admin_state(engine, ui.admin)
    assert call(AdminUsersState.load, state) is None
    emails = {r.email for r in state.rows}
    assert ui.agent.email in emails and len(emails) == 8
    assert not any("summit" in e for e in emails)
    other = admin_state(engine, ui.outsider_admin)
    call(AdminUsersState.load, other)
    assert {r.email for r in other.rows} == {ui.outsider_admin.email, ui.outsider_agent.email}


@pytest.mark.parametrize("who", ["agent", "client", "outsider_admin"])
def test_action_handlers_refuse_everyone_but_the_brokerages_admin(
    engine: Engine, ui: World, who: str
) -> None:
    state = admin_state(engine, ui.user(who))
    call(AdminUsersState.deactivate, state, ui.agent2.id, "Bob")
    state.role_user_id, state.role_choice = ui.agent2.id, "admin"
    call(AdminUsersState.save_role, state)
    call(AdminUsersState.send_invite, state, {"email": "x@example.com", "name": "X"})
    with Session(engine) as db:
        bob = db.get(User, ui.agent2.id)
        assert bob is not None and bob.is_active and bob.role == "agent"
    with Session(engine) as db:
        harbor_invites = db.exec(select(Invitation).where(Invitation.org_id == ui.harbor.id))
        assert harbor_invites.all() == []
    if who != "outsider_admin":  # Summit's admin may invite to Summit, nothing else
        assert count(engine, Invitation) == 0
        assert state.rows == []
    else:
        assert ui.agent.email not in {r.email for r in state.rows}


def test_admin_deactivates_and_the_user_is_refused_on_their_open_page(
    engine: Engine, ui: World
) -> None:
    """Bob has his pipeline open; the admin deactivates him; his next event is refused."""
    bob_page = make_state(PipelineState, engine, ui.agent2, "/pipeline")
    call(PipelineState.load, bob_page)
    assert bob_page.rows and bob_page.signed_in
    admin = admin_state(engine, ui.admin)
    call(AdminUsersState.load, admin)
    call(AdminUsersState.deactivate, admin, ui.agent2.id, "Bob Agent")
    bob_row = next(r for r in admin.rows if r.id == ui.agent2.id)
    assert bob_row.is_active is False
    result = call(PipelineState.load, bob_page)
    assert redirect_path(result).startswith("/sign-in")
    assert bob_page.rows == [] and bob_page.signed_in is False
    with Session(engine) as db:
        kinds = db.exec(select(SecurityEvent.kind)).all()
    assert Kind.DEACTIVATED in kinds
    # Reactivated, his old session stays dead: he signs in again.
    call(AdminUsersState.reactivate, admin, ui.agent2.id, "Bob Agent")
    assert redirect_path(call(PipelineState.load, bob_page)).startswith("/sign-in")


def test_role_dialog_reports_the_refusal(engine: Engine, ui: World) -> None:
    state = admin_state(engine, ui.admin)
    call(AdminUsersState.load, state)
    call(AdminUsersState.open_role, state, ui.admin.id, "Ada", "admin")
    state.role_choice = "agent"
    call(AdminUsersState.save_role, state)
    assert state.role_open and "at least one active admin" in state.role_error
    call(AdminUsersState.open_role, state, ui.agent2.id, "Bob", "agent")
    state.role_choice = "coordinator"
    call(AdminUsersState.save_role, state)
    assert not state.role_open
    assert next(r for r in state.rows if r.id == ui.agent2.id).role == "coordinator"


def test_admin_invites_a_team_member_from_the_page(engine: Engine, ui: World) -> None:
    state = admin_state(engine, ui.admin)
    call(AdminUsersState.load, state)
    state.invite_role = "coordinator"
    call(AdminUsersState.send_invite, state, {"email": "new@harbor.example.com", "name": "New C"})
    assert state.invite_error == "" and not state.invite_open
    assert [(i.email, i.role, i.status) for i in state.invites] == [
        ("new@harbor.example.com", "coordinator", "pending")
    ]
    call(AdminUsersState.revoke_invite, state, state.invites[0].id)
    assert state.invites[0].status == "revoked"
    call(AdminUsersState.send_invite, state, {"email": "bad", "name": ""})
    assert "email" in state.invite_errors and "name" in state.invite_errors


# ---------------------------------------------------------------- transaction invitations


@pytest.mark.parametrize("who", ["client", "attorney", "lender", "agent2", "outsider_agent"])
def test_transaction_invite_handlers_refuse_outside_parties_and_strangers(
    engine: Engine, ui: World, who: str
) -> None:
    with chronos_db.session_scope(engine) as db:
        invitations.invite_to_transaction(
            db, ui.agent, ui.deal.id, role="lender", email="l2@example.com", name="L Two"
        )
    with Session(engine) as db:
        inv_id = db.exec(select(Invitation.id)).one()
    state = deal_state(engine, ui, ui.user(who))
    assert state.invitations == []
    state.invite_mode, state.invite_role = "new", "client"
    call(TransactionState.send_invite, state, {"email": "x@example.com", "name": "X"})
    call(
        TransactionState.invite_participant,
        state,
        ui.seller_contact.id,
        "seller",
        "Sally",
    )
    call(TransactionState.revoke_invitation, state, inv_id)
    call(TransactionState.resend_invitation, state, inv_id)
    with Session(engine) as db:
        invs = db.exec(select(Invitation)).all()
    assert [(i.email, i.send_count, i.revoked_at) for i in invs] == [("l2@example.com", 1, None)]
    assert state.invitations == [] and state.invited_emails == []


def test_agent_invites_a_contact_on_the_deal_with_one_click(engine: Engine, ui: World) -> None:
    state = deal_state(engine, ui, ui.agent)
    sally = next(p for p in state.detail.participants if p.name == "Sally Seller")
    assert sally.has_login is False
    call(TransactionState.invite_participant, state, sally.person_id, sally.role, sally.name)
    assert [(i.email, i.role, i.status) for i in state.invitations] == [
        ("sally.seller@example.com", "client", "pending")
    ]
    assert state.events[0].kind == "invitation_sent"
    assert state.invited_emails == ["sally.seller@example.com"]  # the button becomes a badge
    call(TransactionState.resend_invitation, state, state.invitations[0].id)
    assert state.invitations[0].send_count == 2


def test_invite_dialog_new_person_and_errors(engine: Engine, ui: World) -> None:
    state = deal_state(engine, ui, ui.coordinator)
    call(TransactionState.open_invite, state)
    call(TransactionState.send_invite, state, {})
    assert "contact" in state.invite_errors and state.invite_open
    call(TransactionState.set_invite_mode, state, "new")
    state.invite_role = "attorney"
    call(TransactionState.send_invite, state, {"email": "amy@law.example.com", "name": "Amy Law"})
    assert state.invite_error == "" and not state.invite_open
    assert state.invitations[0].email == "amy@law.example.com"
    assert any(p.name == "Amy Law" and p.role == "attorney" for p in state.detail.participants)


# ---------------------------------------------------------------- accept page


def accept_page(engine: Engine, query: dict[str, str]) -> Any:
    return make_state(AcceptInvitationState, engine, None, "/invitation?" + urlencode(query))


def test_the_accept_page_shows_the_invitation_or_nothing(engine: Engine, ui: World) -> None:
    with chronos_db.session_scope(engine) as db:
        invitations.invite_to_transaction(
            db, ui.agent, ui.deal.id, role="client", email="nina@example.com", name="Nina"
        )
    with Session(engine) as db:
        body = db.exec(select(EmailMessage.text_body)).one()
    token = re.search(r"token=([\w\-]+)", body).group(1)  # type: ignore[union-attr]
    state = accept_page(engine, {"token": token})
    call(AcceptInvitationState.load, state)
    assert (state.status, state.email, state.org_name) == (
        "pending",
        "nina@example.com",
        "Harbor Realty",
    )
    assert state.transaction_address.startswith("12 Harbor View Rd")
    assert state.account_exists is False
    forged = accept_page(engine, {"token": token[:-2] + "xx"})
    call(AcceptInvitationState.load, forged)
    assert forged.status == "invalid" and forged.email == "" and forged.org_name == ""
    assert "not valid" in forged.message
    # An error code from the URL maps to a fixed message, never to text from the URL.
    coded = accept_page(engine, {"token": token, "error": "<b>phish</b>"})
    call(AcceptInvitationState.load, coded)
    assert "phish" not in coded.error and coded.error
