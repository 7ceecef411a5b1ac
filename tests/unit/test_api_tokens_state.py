"""/account's API token section driven as the websocket would: a user makes a token and sees its
secret once, revokes it; nobody revokes another user's token through the handler; an admin sees
and revokes the brokerage's other tokens; signed-out callers are sent to sign in."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from chronos.models import ApiToken, User
from chronos.pages.account_tokens import ApiTokensState
from chronos.services import api_tokens
from tests.factories import World
from tests.unit.test_state_handlers import call, make_state, redirect_path


def tokens_state(engine: Engine, user: User | None) -> Any:
    state = make_state(ApiTokensState, engine, user, "/account")
    call(ApiTokensState.load, state)
    return state


def test_a_user_makes_a_token_sees_it_once_and_revokes_it(engine: Engine, ui: World) -> None:
    state = tokens_state(engine, ui.agent)
    assert state.tokens == [] and not state.is_admin
    call(ApiTokensState.create, state, {"name": "Sheet sync", "scopes": "read", "expires": "30"})
    assert state.error == "" and state.new_secret.startswith("chr_")
    assert [t.name for t in state.tokens] == ["Sheet sync"]
    with Session(engine) as db:
        stored = db.exec(select(ApiToken)).one()
        assert stored.token_hash != state.new_secret and stored.scopes == "read"
        assert api_tokens.resolve(db, state.new_secret) is not None
    secret = state.new_secret
    call(ApiTokensState.dismiss_secret, state)
    assert state.new_secret == ""
    # A reload never brings it back.
    call(ApiTokensState.load, state)
    assert state.new_secret == "" and secret not in repr(state.tokens)
    call(ApiTokensState.revoke, state, state.tokens[0].id)
    assert state.tokens[0].state == "revoked" and "revoked" in state.notice
    with Session(engine) as db:
        assert api_tokens.resolve(db, secret) is None


@pytest.mark.parametrize(
    "form",
    [
        {"name": "", "scopes": "read", "expires": "30"},
        {"name": "x", "scopes": "everything", "expires": "30"},
        {"name": "x", "scopes": "read", "expires": "-1"},
        {"name": "x", "scopes": "read", "expires": "forever"},
        {"name": ["x"], "scopes": "read", "expires": "30"},
        {"name": "x" * 81, "scopes": "read", "expires": "30"},
    ],
)
def test_bad_forms_say_why_and_make_nothing(engine: Engine, ui: World, form: dict) -> None:
    state = tokens_state(engine, ui.agent)
    call(ApiTokensState.create, state, form)
    assert state.error and state.new_secret == "" and state.tokens == []
    call(ApiTokensState.create, state, "not a form")
    assert state.new_secret == ""


def test_nobody_revokes_another_users_token_by_its_id(engine: Engine, ui: World) -> None:
    owner = tokens_state(engine, ui.agent)
    call(ApiTokensState.create, owner, {"name": "Mine", "scopes": "read", "expires": "7"})
    token_id = owner.tokens[0].id
    for who in ("agent2", "coordinator", "client", "outsider_admin"):
        other = tokens_state(engine, ui.user(who))
        call(ApiTokensState.revoke, other, token_id)
        assert other.error == "There is no such token."
        assert other.tokens == [] and other.org_tokens == []
    with Session(engine) as db:
        assert db.exec(select(ApiToken)).one().revoked_at is None


def test_an_admin_sees_and_revokes_the_brokerages_tokens(engine: Engine, ui: World) -> None:
    owner = tokens_state(engine, ui.agent)
    call(ApiTokensState.create, owner, {"name": "Agent's", "scopes": "read,write", "expires": "0"})
    outsider = tokens_state(engine, ui.outsider_admin)
    assert outsider.org_tokens == []  # another brokerage's tokens never enter this state
    admin = tokens_state(engine, ui.admin)
    assert admin.is_admin and [t.owner_email for t in admin.org_tokens] == [ui.agent.email]
    assert admin.org_tokens[0].name == "Agent's" and admin.org_tokens[0].expires == ""
    call(ApiTokensState.revoke, admin, admin.org_tokens[0].id)
    assert admin.org_tokens[0].state == "revoked"


def test_signed_out_callers_go_to_sign_in(engine: Engine, ui: World) -> None:
    state = make_state(ApiTokensState, engine, None, "/account")
    assert redirect_path(call(ApiTokensState.load, state)).startswith("/sign-in")
    result = call(ApiTokensState.create, state, {"name": "x", "scopes": "read", "expires": "7"})
    assert redirect_path(result).startswith("/sign-in")
    assert redirect_path(call(ApiTokensState.revoke, state, 1)).startswith("/sign-in")
