"""Delivery status on the admins' email log and the developer mailbox (page handlers).

Admins see and filter their own brokerage's delivery statuses; other personas are sent away
with nothing loaded; the mailbox shows the status without signing in (while it is on).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from chronos.models import EmailMessage
from chronos.pages.admin_email import AdminEmailState
from chronos.pages.dev_mailbox import DevMailboxMessageState, DevMailboxState
from chronos.services.email_log import apply_delivery_event
from tests.factories import World
from tests.unit.test_state_handlers import call, make_state, redirect_path


@pytest.fixture
def reported(engine: Engine, ui: World) -> dict[str, int]:
    """Harbor: one bounced, one delivered, one not reported. Summit: one bounced."""
    ids: dict[str, int] = {}
    with Session(engine) as db:
        for key, org, delivery in (
            ("harbor_bounced", ui.harbor, "bounced"),
            ("harbor_delivered", ui.harbor, "delivered"),
            ("harbor_plain", ui.harbor, ""),
            ("summit_bounced", ui.summit, "bounced"),
        ):
            m = EmailMessage(
                org_id=org.id,
                to_address=f"{key}@example.com",
                template="compose",
                subject=key,
                text_body="Hello",
                html_body="<p>Hello</p>",
                status="sent",
                backend="resend",
                provider_id=f"re_{key}",
                attempts=1,
            )
            db.add(m)
            db.flush()
            ids[key] = m.id or 0
            if delivery:
                event = {
                    "type": f"email.{delivery}",
                    "created_at": "2026-11-21T12:00:00Z",
                    "data": {"email_id": f"re_{key}"},
                }
                assert apply_delivery_event(db, event) is not None
        db.commit()
    return ids


def _log(engine: Engine, user: Any, query: str = "") -> Any:
    return make_state(AdminEmailState, engine, user, "/admin/email" + query)


def test_the_admin_filters_by_delivery_status(
    engine: Engine, ui: World, reported: dict[str, int]
) -> None:
    state = _log(engine, ui.admin, "?delivery=bounced")
    assert call(AdminEmailState.load, state) is None
    assert state.delivery == "bounced"
    assert [(r.id, r.delivery_label) for r in state.rows] == [
        (reported["harbor_bounced"], "Bounced")
    ]
    assert state.delivery_counts == {"delivered": 1, "bounced": 1, "complained": 0}
    call(AdminEmailState.set_delivery, state, "delivered")
    assert [r.id for r in state.rows] == [reported["harbor_delivered"]]
    call(AdminEmailState.set_delivery, state, "any")  # the select's "all" entry
    assert state.delivery == "" and state.total == 3
    call(AdminEmailState.set_delivery, state, "nonsense")
    assert state.delivery == "" and state.error == ""


def test_an_unknown_delivery_filter_in_the_url_is_ignored(
    engine: Engine, ui: World, reported: dict[str, int]
) -> None:
    state = _log(engine, ui.admin, "?delivery=sent")
    call(AdminEmailState.load, state)
    assert state.delivery == "" and state.total == 3 and state.error == ""


def test_another_brokerages_admin_sees_only_their_own_bounce(
    engine: Engine, ui: World, reported: dict[str, int]
) -> None:
    state = _log(engine, ui.outsider_admin, "?delivery=bounced")
    call(AdminEmailState.load, state)
    assert [r.id for r in state.rows] == [reported["summit_bounced"]]
    assert state.delivery_counts["bounced"] == 1 and state.delivery_counts["delivered"] == 0


@pytest.mark.parametrize(
    ("who", "home"), [("agent", "/pipeline"), ("coordinator", "/pipeline"), ("client", "/portal")]
)
def test_non_admins_get_no_delivery_data(
    engine: Engine, ui: World, reported: dict[str, int], who: str, home: str
) -> None:
    state = _log(engine, ui.user(who), "?delivery=bounced")
    assert redirect_path(call(AdminEmailState.load, state)) == home
    assert state.rows == [] and state.delivery_counts == {}
    assert redirect_path(call(AdminEmailState.set_delivery, state, "bounced")) == home
    assert state.rows == [] and state.delivery_counts == {}


def test_visitors_are_sent_to_sign_in(engine: Engine, ui: World, reported: dict[str, int]) -> None:
    state = _log(engine, None, "?delivery=bounced")
    assert redirect_path(call(AdminEmailState.set_delivery, state, "bounced")).startswith(
        "/sign-in"
    )
    assert state.rows == [] and state.delivery_counts == {}


def test_the_mailbox_shows_delivery_status(
    engine: Engine, ui: World, reported: dict[str, int]
) -> None:
    state = make_state(DevMailboxState, engine, None, "/dev/mailbox")
    call(DevMailboxState.load, state)
    labels = {r.id: r.delivery_label for r in state.rows}
    assert labels[reported["harbor_bounced"]] == "Bounced"
    assert labels[reported["harbor_plain"]] == ""
    detail = make_state(
        DevMailboxMessageState,
        engine,
        None,
        f"/dev/mailbox/{reported['harbor_delivered']}",
        {"message_id": str(reported["harbor_delivered"])},
    )
    call(DevMailboxMessageState.load, detail)
    assert detail.message.delivery_label == "Delivered"
    assert detail.message.delivery_updated_at.startswith("2026-11-21T12:00:00")
