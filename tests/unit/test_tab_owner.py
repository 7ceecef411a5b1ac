"""TabOwnerGuard: a tab's state is reset before any event of someone else is handled.

The real protocol is played in tests/browser/test_websocket_security.py; these drive the
middleware on a real state tree, so every case runs in milliseconds.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.engine import Engine

from chronos.pages.transaction import TransactionState
from chronos.settings import get_settings
from chronos.state.session import SessionState, TabOwnerGuard, event_user
from tests.factories import World
from tests.unit.test_state_handlers import _token, call, make_state


def _as(root: Any, cookie: str, origin: str = "http://localhost:3000") -> None:
    data = {"headers": {"cookie": cookie, "origin": origin}}
    root.router_data = root._update_router_vars(data, root.router_data)


def _guard(root: Any) -> None:
    assert asyncio.run(TabOwnerGuard().preprocess(app=None, state=root, event=None)) is None  # type: ignore[arg-type]


def _filled(engine: Engine, ui: World) -> tuple[Any, Any]:
    state = make_state(
        TransactionState,
        engine,
        ui.admin,
        f"/transactions/{ui.deal.id}",
        {"txn_id": str(ui.deal.id)},
    )
    root = state._get_root_state()
    _guard(root)  # the admin's first event: the tab is theirs
    call(TransactionState.load, state)
    assert state.detail is not None and state.detail.street == ui.deal.street
    return root, state


def test_another_persons_cookie_finds_the_tab_empty(engine: Engine, ui: World) -> None:
    root, state = _filled(engine, ui)
    _as(root, f"{get_settings().cookie_name}={_token(engine, ui.outsider_agent)}")
    _guard(root)
    assert state.detail is None and state.events == []
    session = root.get_substate(SessionState.get_full_name().split(".")[1:])
    assert session._tab_owner == ui.outsider_agent.id and session._user_id is None


def test_no_cookie_finds_the_tab_empty(engine: Engine, ui: World) -> None:
    root, state = _filled(engine, ui)
    _as(root, "")
    _guard(root)
    assert state.detail is None


def test_a_foreign_origin_finds_the_tab_empty_even_with_the_right_cookie(
    engine: Engine, ui: World
) -> None:
    root, state = _filled(engine, ui)
    cookie = root.router.headers.cookie
    _as(root, cookie, origin="http://localhost:3001")
    assert event_user(root.router.headers) is None
    _guard(root)
    assert state.detail is None


def test_the_same_person_keeps_the_tab(engine: Engine, ui: World) -> None:
    root, state = _filled(engine, ui)
    _as(root, f"{get_settings().cookie_name}={_token(engine, ui.admin)}")  # a new session
    _guard(root)
    assert state.detail is not None
