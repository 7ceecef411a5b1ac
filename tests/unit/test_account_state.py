"""The account, security-log, verification and reset pages' handlers, driven like a browser's
websocket would (see test_state_handlers.py): each user only ever sees their own sessions."""

from __future__ import annotations

import time
from typing import Any

import pyotp
import pytest
from reflex.state import State
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from chronos import db as chronos_db
from chronos.models import EmailMessage, User, UserSession
from chronos.pages.account import AccountState
from chronos.pages.admin_security import AdminSecurityState
from chronos.pages.reset_password import ResetPasswordState
from chronos.pages.sign_in import SignInState
from chronos.pages.verify_email import VerifyEmailState
from chronos.services import accounts, auth
from tests.factories import DEFAULT_PASSWORD, World
from tests.unit.test_state_handlers import call, make_state, redirect_path

NEW_PASSWORD = "lantern-orchid-velvet"


def _cookie_token(state: Any) -> str:
    return str(state.router.headers.cookie).split("=", 1)[1]


def _session_id(engine: Engine, token: str) -> int:
    with Session(engine) as db:
        row = auth.session_for_token(db, token)
        assert row is not None and row.id is not None
        return row.id


def _other_session(engine: Engine, user: User) -> str:
    with chronos_db.session_scope(engine) as db:
        return auth.sign_in(db, email=user.email, password=DEFAULT_PASSWORD).token


def _anonymous_state(cls: Any, path: str) -> Any:
    """A signed-out visitor's state on ``path`` (which may carry a query string)."""
    root = State(_reflex_internal_init=True)
    state = root.get_substate(cls.get_full_name().split(".")[1:])
    router_data = {
        "headers": {"cookie": "", "origin": "http://localhost:3000"},
        "pathname": path.split("?")[0],
        "asPath": path,
        "query": {},
    }
    root.router_data = root._update_router_vars(router_data, {})
    return state


def test_the_account_page_lists_only_my_sessions_and_marks_this_one(
    engine: Engine, ui: World
) -> None:
    _other_session(engine, ui.agent)
    theirs = _other_session(engine, ui.agent2)
    state = make_state(AccountState, engine, ui.agent, "/account")
    assert call(AccountState.load, state) is None
    assert state.email == ui.agent.email and state.error == ""
    with Session(engine) as db:
        mine = {
            s.id for s in db.exec(select(UserSession).where(UserSession.user_id == ui.agent.id))
        }
    assert len(state.sessions) == 2
    assert {s.id for s in state.sessions} <= mine
    assert _session_id(engine, theirs) not in {s.id for s in state.sessions}
    [current] = [s for s in state.sessions if s.current]
    assert current.id == _session_id(engine, _cookie_token(state))


def test_a_forged_revoke_of_someone_elses_session_is_refused(engine: Engine, ui: World) -> None:
    theirs = _other_session(engine, ui.agent2)
    state = make_state(AccountState, engine, ui.agent, "/account")
    call(AccountState.load, state)
    call(AccountState.revoke_session, state, _session_id(engine, theirs))
    assert "does not exist" in state.sessions_error
    with Session(engine) as db:
        assert auth.resolve_session(db, theirs) is not None
    assert all(s.id != _session_id(engine, theirs) for s in state.sessions)


def test_revoking_my_other_device_from_the_page(engine: Engine, ui: World) -> None:
    laptop = _other_session(engine, ui.agent)
    state = make_state(AccountState, engine, ui.agent, "/account")
    call(AccountState.load, state)
    call(AccountState.revoke_session, state, _session_id(engine, laptop))
    assert state.sessions_error == ""
    assert [s.current for s in state.sessions] == [True]
    with Session(engine) as db:
        assert auth.resolve_session(db, laptop) is None


def test_a_signed_out_visitor_gets_no_account_data(engine: Engine, ui: World) -> None:
    state = make_state(AccountState, engine, None, "/account")
    assert redirect_path(call(AccountState.load, state)) == "/sign-in?next=/account"
    assert state.sessions == [] and state.email == ""


def test_a_revoked_session_on_an_open_account_page_is_refused(engine: Engine, ui: World) -> None:
    state = make_state(AccountState, engine, ui.agent, "/account")
    call(AccountState.load, state)
    with chronos_db.session_scope(engine) as db:
        auth.sign_out(db, _cookie_token(state))
    result = call(AccountState.start_totp, state)
    assert redirect_path(result).startswith("/sign-in")
    assert state.sessions == [] and state.totp_secret == ""


def test_changing_the_password_on_the_page_keeps_this_session_only(
    engine: Engine, ui: World
) -> None:
    laptop = _other_session(engine, ui.agent)
    state = make_state(AccountState, engine, ui.agent, "/account")
    call(AccountState.load, state)
    call(
        AccountState.change_password,
        state,
        {"current": "nope", "new": NEW_PASSWORD, "new2": NEW_PASSWORD},
    )
    assert state.pw_errors == {"current": accounts.WRONG_PASSWORD}
    call(
        AccountState.change_password,
        state,
        {"current": DEFAULT_PASSWORD, "new": NEW_PASSWORD, "new2": NEW_PASSWORD},
    )
    assert state.pw_errors == {}
    with Session(engine) as db:
        assert auth.resolve_session(db, laptop) is None
        assert auth.resolve_session(db, _cookie_token(state)) is not None
    assert [s.current for s in state.sessions] == [True]


def test_enrolling_two_factor_from_the_page(engine: Engine, ui: World) -> None:
    state = make_state(AccountState, engine, ui.agent, "/account")
    call(AccountState.load, state)
    call(AccountState.start_totp, state)
    assert state.totp_pending and state.totp_qr.startswith("data:image/svg+xml")
    call(AccountState.confirm_totp, state, {"code": "000000"})
    assert state.totp_error == accounts.WRONG_CODE and not state.totp_on
    totp = pyotp.TOTP(state.totp_secret)
    call(AccountState.confirm_totp, state, {"code": totp.now()})
    assert state.totp_on and state.totp_secret == "" and state.totp_qr == ""
    later = totp.at(time.time() + 30)  # the current code was just used
    call(AccountState.disable_totp, state, {"password": "wrong", "code": later})
    assert state.totp_disable_error == accounts.WRONG_PASSWORD and state.totp_on
    call(AccountState.disable_totp, state, {"password": DEFAULT_PASSWORD, "code": ""})
    assert state.totp_disable_error == accounts.WRONG_CODE and state.totp_on
    call(AccountState.disable_totp, state, {"password": DEFAULT_PASSWORD, "code": later})
    assert not state.totp_on


@pytest.mark.parametrize(
    ("who", "home"), [("agent", "/pipeline"), ("coordinator", "/pipeline"), ("client", "/portal")]
)
def test_only_admins_get_the_security_log(engine: Engine, ui: World, who: str, home: str) -> None:
    state = make_state(AdminSecurityState, engine, ui.user(who), "/admin/security")
    assert redirect_path(call(AdminSecurityState.load, state)) == home
    assert state.rows == [] and state.total == 0


def test_the_security_log_page_shows_the_admins_brokerage(engine: Engine, ui: World) -> None:
    with chronos_db.session_scope(engine) as db:
        accounts.attempt_sign_in(db, email=ui.agent.email, password="wrong-password-1")
        accounts.attempt_sign_in(db, email=ui.outsider_agent.email, password="wrong-password-1")
    state = make_state(AdminSecurityState, engine, ui.admin, "/admin/security")
    call(AdminSecurityState.load, state)
    assert [r.email for r in state.rows] == [ui.agent.email]
    call(AdminSecurityState.set_kind, state, "signed_in")
    call(AdminSecurityState.load, state)
    assert state.rows == [] and state.kind == "signed_in"
    call(AdminSecurityState.set_kind, state, "<script>")
    assert state.kind == "all"


def test_the_verification_link_page(engine: Engine, ui: World) -> None:
    with chronos_db.session_scope(engine) as db:
        user = accounts.sign_up(
            db,
            org_name="Bayside",
            full_name="Frances Founder",
            email="frances@bayside.example",
            password=NEW_PASSWORD,
            password2=NEW_PASSWORD,
        )
        mail = db.exec(select(EmailMessage).where(EmailMessage.user_id == user.id)).one()
    token = mail.text_body.split("token=", 1)[1].split()[0]
    state = _anonymous_state(VerifyEmailState, f"/verify-email?token={token}")
    call(VerifyEmailState.load, state)
    assert state.verified and "is verified" in state.message and state.continue_to == "/sign-in"
    forged = _anonymous_state(VerifyEmailState, "/verify-email?token=forged")
    call(VerifyEmailState.load, forged)
    assert not forged.verified and "not valid" in forged.error


def test_the_banner_resend_action(engine: Engine, ui: World) -> None:
    with chronos_db.session_scope(engine) as db:
        accounts.sign_up(
            db,
            org_name="Bayside",
            full_name="Frances Founder",
            email="frances@bayside.example",
            password=DEFAULT_PASSWORD,
            password2=DEFAULT_PASSWORD,
        )
    with Session(engine) as db:
        frances = db.exec(select(User).where(User.email == "frances@bayside.example")).one()
    state = make_state(AccountState, engine, frances, "/account")
    call(AccountState.load, state)
    assert state.email_verified is False
    call(AccountState.resend_verification, state)
    with Session(engine) as db:
        sent = db.exec(select(EmailMessage).where(EmailMessage.user_id == frances.id)).all()
    assert len(sent) == 2


def test_the_reset_page_says_up_front_when_a_link_is_bad(engine: Engine, ui: World) -> None:
    state = _anonymous_state(ResetPasswordState, "/reset-password?token=forged")
    call(ResetPasswordState.load, state)
    assert not state.usable and "not valid" in state.error
    used = _anonymous_state(ResetPasswordState, "/reset-password?error=token_used")
    call(ResetPasswordState.load, used)
    assert not used.usable and "already used" in used.error


def test_the_sign_in_page_explains_a_lockout(engine: Engine, ui: World) -> None:
    state = _anonymous_state(
        SignInState, "/sign-in?error=limited&limit=sign_in_account&retry=12&email=a%40b.example"
    )
    call(SignInState.load, state)
    assert state.error.startswith("Too many failed sign-ins for this account. Try again in 12")
    assert state.email == "a@b.example"
