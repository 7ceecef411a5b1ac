"""Delivery status in the running app: a bounced email's badge on the admins' email log.

The rows are written to the app's database and the bounce is applied through the service the
webhook route calls (``apply_delivery_event``); the signed HTTP route itself is covered by
tests/integration/test_webhooks.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from chronos.db import make_engine
from chronos.models import EmailMessage
from chronos.services.email_log import apply_delivery_event
from tests.browser.conftest import DESKTOP, PHONE, RunningApp, demo_email, screenshot, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def app_engine(app_server: RunningApp) -> Iterator[Engine]:
    engine = make_engine(app_server.database_url)
    yield engine
    engine.dispose()


def _reported(engine: Engine, tag: str) -> None:
    with engine.connect() as conn:
        org_id = conn.execute(
            text("SELECT org_id FROM users WHERE email = :e"), {"e": demo_email("admin")}
        ).scalar_one()
    with Session(engine) as db:
        for kind in ("bounced", "delivered"):
            db.add(
                EmailMessage(
                    org_id=org_id,
                    to_address=f"{kind}-{tag}@example.com",
                    template="compose",
                    subject=f"Inspection report ({kind})",
                    text_body="Hello",
                    html_body="<p>Hello</p>",
                    status="sent",
                    backend="resend",
                    provider_id=f"re-{kind}-{tag}",
                    attempts=1,
                )
            )
        db.flush()
        for kind in ("bounced", "delivered"):
            event = {"type": f"email.{kind}", "data": {"email_id": f"re-{kind}-{tag}"}}
            assert apply_delivery_event(db, event) is not None
        db.commit()


def test_an_admin_sees_and_filters_bounced_emails(
    page: Page, app_server: RunningApp, app_engine: Engine
) -> None:
    tag = uuid.uuid4().hex[:8]
    _reported(app_engine, tag)
    page.set_viewport_size(DESKTOP)
    sign_in(page, app_server, "admin")
    page.goto(f"{app_server.base_url}/admin/email?delivery=bounced")
    expect(page.get_by_role("heading", name="Email log")).to_be_visible()
    page.locator("#email-search").fill(tag)
    row = page.locator("table tbody tr", has_text=f"bounced-{tag}@example.com")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Bounced")
    expect(page.locator("table tbody tr", has_text=f"delivered-{tag}")).to_have_count(0)
    screenshot(page, "admin-email-bounced-desktop")

    page.set_viewport_size(PHONE)
    page.goto(f"{app_server.base_url}/admin/email")
    page.locator("#email-search").fill(tag)
    expect(page.get_by_text("2 total")).to_be_visible()
    card = page.locator(".rt-Card", has_text=f"bounced-{tag}@example.com")
    expect(card).to_contain_text("Bounced")
    expect(page.locator(".rt-Card", has_text=f"delivered-{tag}")).to_contain_text("Delivered")
    assert page.evaluate("document.querySelector('main').scrollWidth") <= PHONE["width"]
    screenshot(page, "admin-email-bounced-phone")
    page.emulate_media(color_scheme="dark")
    screenshot(page, "admin-email-bounced-phone-dark")
