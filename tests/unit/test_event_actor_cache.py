"""One websocket event resolves its session once; the next event checks it again.

The transaction page's loader fans out to ten panel loaders, each asking for the actor and the
nav badges. These tests pin what the per-event cache may and may not do.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from reflex_base.event.context import EventContext
from sqlalchemy.engine import Engine

from chronos import db as chronos_db
from chronos.pages.pipeline import PipelineState
from chronos.pages.transaction import TransactionState
from chronos.services import auth, notifications
from chronos.state.session import STAFF
from tests.factories import World
from tests.unit.test_state_handlers import call, make_state, redirect_path


@contextmanager
def event() -> Iterator[str]:
    """What Reflex's event processor sets around one handler: an EventContext with a txid."""
    ctx = EventContext(token=str(uuid.uuid4()), state_manager=None, enqueue_impl=None)  # type: ignore[arg-type]
    reset = EventContext.set(ctx)
    try:
        yield ctx.txid
    finally:
        EventContext._context_var.reset(reset)


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    seen: list[str | None] = []
    real = auth.resolve_session

    def counting(db: Any, token: str | None) -> Any:
        seen.append(token)
        return real(db, token)

    monkeypatch.setattr(auth, "resolve_session", counting)
    return seen


@pytest.fixture
def badge_counts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    seen: list[int] = []
    real = notifications.unread_count

    def counting(db: Any, user: Any) -> int:
        seen.append(user.id)
        return real(db, user)

    monkeypatch.setattr(notifications, "unread_count", counting)
    return seen


def test_one_event_looks_the_session_up_once_across_every_panel(
    engine: Engine, ui: World, lookups: list[str | None], badge_counts: list[int]
) -> None:
    path = f"/transactions/{ui.deal.id}"
    state = make_state(TransactionState, engine, ui.agent, path, {"txn_id": str(ui.deal.id)})
    with event():
        state._actor()
        state._actor()
        assert state._gate(STAFF)[0] is not None
        assert state._gate(STAFF)[0] is not None
    assert len(lookups) == 1
    assert len(badge_counts) == 1


def test_the_next_event_checks_again_so_a_revoked_session_is_refused(
    engine: Engine, ui: World, lookups: list[str | None]
) -> None:
    state = make_state(PipelineState, engine, ui.agent, "/pipeline")
    with event():
        assert call(PipelineState.load, state) is None
        assert state.rows
    token = state.router.headers.cookie.split("=", 1)[1]
    with chronos_db.session_scope(engine) as db:
        auth.sign_out(db, token)
    with event():
        assert redirect_path(call(PipelineState.load, state)).startswith("/sign-in")
    assert state.rows == []
    assert state.signed_in is False
    assert len(lookups) == 2


def test_another_cookie_in_the_same_event_is_looked_up_not_reused(
    engine: Engine, ui: World, lookups: list[str | None]
) -> None:
    agent = make_state(PipelineState, engine, ui.agent, "/pipeline")
    client = make_state(PipelineState, engine, ui.user("client"), "/pipeline")
    with event():
        first = agent._actor()
        second = client._actor()
    assert first is not None and second is not None
    assert first.id == ui.agent.id and second.id == ui.user("client").id
    assert len(lookups) == 2


def test_outside_an_event_nothing_is_cached(
    engine: Engine, ui: World, lookups: list[str | None], badge_counts: list[int]
) -> None:
    state = make_state(PipelineState, engine, ui.agent, "/pipeline")
    call(PipelineState.load, state)
    call(PipelineState.load, state)
    assert len(lookups) == 2
    assert len(badge_counts) == 2


def test_forced_badges_are_counted_again_in_the_same_event(
    engine: Engine, ui: World, badge_counts: list[int]
) -> None:
    state = make_state(PipelineState, engine, ui.agent, "/pipeline")
    with event():
        user = state._actor()
        assert user is not None
        state._refresh_badges(user)
        state._refresh_badges(user)
        state._refresh_badges(user, force=True)
    assert len(badge_counts) == 2
