"""Email in the running app: no developer mailbox in a production build, and the admins' email log.

The test records an email in the app's database the way a service does (``queue_email`` in a
unit of work), with the job enqueued into the app's own queue (``<var>/jobs.db``); the app's
in-process consumer delivers it through the outbox backend.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from chronos.db import make_engine
from chronos.mail import queue_email
from tests.browser.conftest import DESKTOP, PHONE, RunningApp, demo_email, screenshot, sign_in
from tests.support.mail import install_test_templates, notice, use_jobs, wait_for

pytestmark = pytest.mark.browser


@pytest.fixture
def app_engine(app_server: RunningApp) -> Iterator[Engine]:
    engine = make_engine(app_server.database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def send(
    app_server: RunningApp, app_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> Iterator[object]:
    """Record an email for the demo brokerage in the app's database and queue."""
    install_test_templates(monkeypatch)
    jobs = use_jobs(monkeypatch, "", app_server.var_dir)
    with app_engine.connect() as conn:
        org_id = conn.execute(
            text("SELECT org_id FROM users WHERE email = :e"), {"e": demo_email("admin")}
        ).scalar_one()

    def _send(to: str, url: str) -> int:
        with Session(app_engine) as db:
            message_id = queue_email(db, to=to, org_id=org_id, **notice(name="Robin", url=url)).id
            db.commit()
        assert message_id is not None
        return message_id

    yield _send
    jobs.huey.storage.close()


def _status(engine: Engine, message_id: int) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(
                text("SELECT status FROM email_messages WHERE id = :id"), {"id": message_id}
            ).scalar_one()
        )


def test_a_production_build_serves_no_developer_mailbox(
    page: Page, app_server: RunningApp, app_engine: Engine, send
) -> None:
    """The probe's account takeover: with no cookie, ask for a reset of anyone's password and
    read the link at /dev/mailbox. A production build has no such page, and its handlers
    answer nothing over the websocket either (tests/browser/test_websocket_security.py)."""
    to = f"robin-{uuid.uuid4().hex[:8]}@example.com"
    link = f"{app_server.base_url}/sign-in?from=mail"
    message_id = send(to, link)
    # Delivered through the outbox by the app's own consumer: there is something to steal.
    wait_for(lambda: _status(app_engine, message_id) == "sent", timeout=30)

    page.set_viewport_size(PHONE)
    for path in (f"/dev/mailbox?to={to}", f"/dev/mailbox/{message_id}"):
        answer = page.goto(f"{app_server.base_url}{path}")
        assert answer is not None and answer.status == 404
        expect(page.get_by_text(to)).to_have_count(0)
        expect(page.get_by_text("Notice for Robin")).to_have_count(0)
    screenshot(page, "dev-mailbox-absent-in-production-phone")


def test_an_admin_sees_the_email_log_and_retries_a_failed_email(
    page: Page, app_server: RunningApp, app_engine: Engine, send
) -> None:
    to = f"bounce-{uuid.uuid4().hex[:8]}@example.com"
    message_id = send(to, f"{app_server.base_url}/pipeline")
    wait_for(lambda: _status(app_engine, message_id) == "sent", timeout=30)
    with app_engine.begin() as conn:  # as if the provider had refused it for good
        conn.execute(
            text(
                "UPDATE email_messages SET status = 'failed', attempts = 1, "
                "last_error = 'Resend 422 validation_error: Invalid to field.' WHERE id = :id"
            ),
            {"id": message_id},
        )

    page.set_viewport_size(DESKTOP)
    sign_in(page, app_server, "admin")
    page.goto(f"{app_server.base_url}/admin/email?status=failed")
    expect(page.get_by_role("heading", name="Email log")).to_be_visible()
    # Typing before the page's load handler has answered would be reset by it: wait for the list.
    expect(page.get_by_text(to).filter(visible=True).first).to_be_visible()
    page.locator("#email-search").fill(to)
    expect(page.get_by_text("1 total")).to_be_visible()
    row = page.locator("table tbody tr", has_text=to)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Resend 422 validation_error")
    expect(row).to_contain_text("Failed")
    screenshot(page, "admin-email-log-desktop")

    row.get_by_role("button", name=f"Retry the email to {to}").click()
    expect(page.get_by_text(f"The email to {to} is queued again.")).to_be_visible()
    wait_for(lambda: _status(app_engine, message_id) == "sent", timeout=30)
    with app_engine.connect() as conn:
        kinds = conn.execute(
            text("SELECT kind FROM security_events WHERE email = :e"), {"e": to}
        ).scalars()
        assert list(kinds) == ["email_retried"]

    page.set_viewport_size(PHONE)
    page.goto(f"{app_server.base_url}/admin/email")
    expect(page.get_by_text(to).filter(visible=True).first).to_be_visible()  # loaded: no reset
    page.locator("#email-search").fill(to)
    expect(page.get_by_text("1 total")).to_be_visible()  # the search has applied
    card = page.locator(".rt-Card", has_text=to)  # phones get cards instead of the table
    expect(card).to_be_visible()
    expect(card).to_contain_text("Sent")
    # The page's own content fits the phone (the shared top bar is laid out elsewhere).
    assert page.evaluate("document.querySelector('main').scrollWidth") <= PHONE["width"]
    screenshot(page, "admin-email-log-phone")


def test_the_email_log_is_for_admins_only(page: Page, app_server: RunningApp) -> None:
    sign_in(page, app_server, "agent")
    page.goto(f"{app_server.base_url}/admin/email")
    expect(page).to_have_url(re.compile(r"/pipeline/?$"))
