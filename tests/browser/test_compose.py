"""An agent sends a templated email from a demo deal: a flagged field blocks it until fixed,
the message reaches the developer mailbox (outbox backend: nothing leaves the machine) and the
send is on the file's timeline. Plus the templates page at both widths.

Needs the transaction page to show ``compose_panel()`` (``chronos/pages/transaction_compose.py``)
and run ``ComposeState.load`` on load.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    RunningApp,
    demo_email,
    newest_email,
    scalar,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.browser


def _demo_deal(app: RunningApp) -> tuple[int, str, str]:
    """An open file of the demo agent with a client who has an email: (id, client email, first name)."""
    row = scalar(
        app,
        """
        SELECT t.id || '|' || lower(p.email) || '|' || p.first_name
        FROM transactions t
        JOIN users u ON u.id = t.owner_id
        JOIN participants pa ON pa.transaction_id = t.id
            AND pa.role = CASE t.side WHEN 'buyer' THEN 'buyer' ELSE 'seller' END
        JOIN people p ON p.id = pa.person_id
        WHERE u.email = :agent AND t.stage = 'under_contract' AND t.closing_date IS NOT NULL
            AND p.email IS NOT NULL AND p.email != ''
        ORDER BY t.id LIMIT 1
        """,
        agent=demo_email("agent"),
    )
    assert row, "the demo data has an agent's file under contract with a client"
    txn_id, email, first = str(row).split("|")
    return int(txn_id), email, first


def test_an_agent_sends_a_templated_update(page: Page, app_server: RunningApp) -> None:
    txn_id, client_email, first_name = _demo_deal(app_server)
    sign_in(page, app_server, "agent")
    page.goto(f"{app_server.base_url}/transactions/{txn_id}")
    panel = page.locator("#compose")
    expect(panel.get_by_role("heading", name="Email")).to_be_visible()

    # The client, from the template picker's "Closing reminder".
    # The box is controlled by the server-side state: click, then wait for the round trip
    # (Locator.check() insists on an immediate change and flakes on a busy machine).
    page.wait_for_load_state("networkidle")
    client_box = panel.get_by_role(
        "checkbox", name=re.compile(rf"^Email {re.escape(first_name)} ")
    ).first
    client_box.click()
    expect(client_box).to_be_checked()
    panel.get_by_role("combobox", name="Template").click()
    page.get_by_role("option", name="Closing reminder").click()
    body = panel.locator("textarea[name=body]")
    expect(body).to_have_value(re.compile(r"closing_date"))

    # A typo in a field: flagged, and Send stays disabled.
    body.fill(body.input_value() + "\nSee you there, {{ client.frist_name }}!")
    panel.locator("input[name=subject]").click()  # blur: the fields are checked
    flags = panel.locator("#compose-flags")
    expect(flags).to_contain_text("client.frist_name")
    send = panel.get_by_role("button", name="Send now")
    expect(send).to_be_disabled()
    screenshot(page, "compose-flagged-desktop")

    body.fill(body.input_value().replace("frist_name", "first_name"))
    panel.locator("input[name=subject]").click()
    expect(flags).to_have_count(0)
    expect(send).to_be_enabled()
    send.click()
    expect(panel.get_by_text("Sent to 1 person.")).to_be_visible()

    # The timeline shows the send.
    expect(page.get_by_text("Email “Closing on").first).to_be_visible()
    screenshot(page, "compose-sent-desktop")

    # The outbox recorded it, merged and without placeholders.
    body = newest_email(app_server, client_email, "Closing on%")
    assert f"See you there, {first_name}!" in body
    assert "{{" not in body
    assert (
        scalar(
            app_server,
            "SELECT count(*) FROM email_messages WHERE transaction_id = :t AND template = 'composed'"
            " AND sent_by_id = (SELECT id FROM users WHERE email = :a)",
            t=txn_id,
            a=demo_email("agent"),
        )
        == 1
    )


def test_status_update_and_templates_at_phone_width(
    browser: Browser, app_server: RunningApp
) -> None:
    txn_id, _, first_name = _demo_deal(app_server)
    for name, viewport, scheme in (("phone", PHONE, "light"), ("desktop-dark", DESKTOP, "dark")):
        ctx = browser.new_context(viewport=viewport, color_scheme=scheme)  # type: ignore[arg-type]
        ctx.set_default_timeout(20_000)
        page = ctx.new_page()
        sign_in(page, app_server, "agent")
        page.goto(f"{app_server.base_url}/transactions/{txn_id}")
        panel = page.locator("#compose")
        panel.get_by_role("button", name="Send status update").click()
        expect(panel.locator("textarea[name=body]")).to_have_value(
            re.compile(rf"^Hi {re.escape(first_name)}")
        )
        panel.scroll_into_view_if_needed()
        screenshot(page, f"compose-status-update-{name}")

        page.goto(f"{app_server.base_url}/templates")
        expect(page.get_by_text("Closing reminder")).to_be_visible()
        page.get_by_role("button", name="Copy Closing reminder").click()
        expect(page.locator("#template-preview")).not_to_contain_text("Write something")
        screenshot(page, f"templates-{name}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{name}: page is {width}px wide"
        ctx.close()
