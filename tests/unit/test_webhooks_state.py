"""/account/webhooks driven as the websocket would: a staff user adds a webhook (errors per field,
nothing saved on error), sees its secret on request, sends a test event, reads the log; another
user's webhook id gets "no such webhook"; outside parties are sent home with nothing loaded."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from chronos import settings
from chronos.models import User, WebhookDelivery, WebhookSubscription
from chronos.pages.webhooks import WebhooksState
from chronos.services import webhooks
from tests.factories import World
from tests.unit.test_state_handlers import call, count, make_state, redirect_path

URL = "http://127.0.0.1:9/hooks"


@pytest.fixture(autouse=True)
def _loopback_allowed(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("CHRONOS_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1:9")
    settings.get_settings.cache_clear()
    monkeypatch.setattr(webhooks, "_enqueue_after_commit", lambda session: None)
    yield
    settings.get_settings.cache_clear()


def hooks_state(engine: Engine, user: User | None) -> Any:
    state = make_state(WebhooksState, engine, user, "/account/webhooks")
    call(WebhooksState.load, state)
    return state


def test_a_coordinator_adds_tests_and_reads_the_log(engine: Engine, ui: World) -> None:
    state = hooks_state(engine, ui.coordinator)
    assert state.subs == [] and not state.loading
    call(
        WebhooksState.create,
        state,
        {"url": URL, "description": "Board", "type:task.created": "on", "type:nonsense": "on"},
    )
    # An unknown type from a crafted form is refused with the field named; nothing saved.
    assert "types" in state.form_errors and count(engine, WebhookSubscription) == 0
    call(WebhooksState.create, state, {"url": URL, "type:task.created": "on"})
    assert state.form_errors == {} and [s.url for s in state.subs] == [URL]
    assert state.secret.startswith("whsec_") and state.secret_for == state.subs[0].id
    call(WebhooksState.hide_secret, state)
    assert state.secret == ""
    sub_id = state.subs[0].id
    call(WebhooksState.send_test, state, sub_id)
    assert state.log_for == sub_id and [d.type for d in state.log] == ["webhook.test"]
    call(WebhooksState.show_secret, state, sub_id)
    assert state.secret.startswith("whsec_")


@pytest.mark.parametrize(
    "form, field",
    [
        ({"url": "", "type:task.created": "on"}, "url"),
        ({"url": "http://10.0.0.1/x", "type:task.created": "on"}, "url"),
        ({"url": URL}, "types"),
        ({"url": ["x"], "type:task.created": "on"}, "url"),
    ],
)
def test_bad_forms_name_the_field(engine: Engine, ui: World, form: dict, field: str) -> None:
    state = hooks_state(engine, ui.agent)
    call(WebhooksState.create, state, form)
    assert field in state.form_errors and state.subs == [] and state.secret == ""


def test_another_users_webhook_is_no_such_webhook(engine: Engine, ui: World) -> None:
    owner = hooks_state(engine, ui.agent)
    call(WebhooksState.create, owner, {"url": URL, "type:task.created": "on"})
    sub_id = owner.subs[0].id
    call(WebhooksState.send_test, owner, sub_id)
    delivery_id = owner.log[0].id
    for who in ("agent2", "coordinator", "outsider_admin"):
        other = hooks_state(engine, ui.user(who))
        assert other.subs == []
        for handler in (
            WebhooksState.show_secret,
            WebhooksState.send_test,
            WebhooksState.show_log,
            WebhooksState.resume,
            WebhooksState.remove,
        ):
            call(handler, other, sub_id)
            assert other.error == "There is no such webhook.", handler
            assert other.secret == "" and other.log == []
        call(WebhooksState.redeliver, other, delivery_id)
        assert other.error
    with Session(engine) as db:
        assert db.exec(select(WebhookSubscription)).one().id == sub_id
        assert len(db.exec(select(WebhookDelivery)).all()) == 1
    # The brokerage's admin sees and may manage it.
    admin = hooks_state(engine, ui.admin)
    assert [s.id for s in admin.subs] == [sub_id]


@pytest.mark.parametrize(
    ("who", "home"), [("client", "/portal"), ("attorney", "/portal"), ("lender", "/portal")]
)
def test_outside_parties_are_sent_home(engine: Engine, ui: World, who: str, home: str) -> None:
    state = make_state(WebhooksState, engine, ui.user(who), "/account/webhooks")
    assert redirect_path(call(WebhooksState.load, state)) == home
    assert state.subs == []
    result = call(WebhooksState.create, state, {"url": URL, "type:task.created": "on"})
    assert redirect_path(result) == home
    assert count(engine, WebhookSubscription) == 0
