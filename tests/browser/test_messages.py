"""Messaging in Chromium: the agent leaves an internal note and starts a conversation with the
client from the transaction page; the client, on a phone, sees the unread badge in the portal,
reads the message and answers (and never sees the note); the agent sees the answer."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    RunningApp,
    demo_email,
    scalar,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.browser
SUBJECT = "Inspection on Tuesday"
BODY = "The inspector can come Tuesday at 10. Does that work for you?"
NOTE = "Internal: seller may accept 5k less"
ANSWER = "Tuesday at 10 works, thank you!"


def _agents_deal_with_the_client(app: RunningApp) -> tuple[int, str]:
    txn_id = scalar(
        app,
        """SELECT t.id FROM transactions t
        JOIN participants p ON p.transaction_id = t.id
        JOIN users c ON c.id = p.user_id
        JOIN users a ON a.id = t.owner_id
        WHERE c.email = :client AND a.email = :agent
          AND t.stage NOT IN ('closed', 'cancelled')
        ORDER BY t.id LIMIT 1""",
        client=demo_email("client"),
        agent=demo_email("agent"),
    )
    assert isinstance(txn_id, int), "the demo agent has an open deal with the demo client"
    name = scalar(app, "SELECT full_name FROM users WHERE email = :e", e=demo_email("client"))
    assert isinstance(name, str)
    return txn_id, name


def _start(page, panel, subject: str, body: str, *, internal: bool = False, member: str = ""):  # type: ignore[no-untyped-def]
    panel.get_by_role("button", name="New conversation").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Subject").fill(subject)
    if internal:
        dialog.get_by_role("switch").click()
        expect(dialog.get_by_text("Only brokerage staff will see this.")).to_be_visible()
    else:
        dialog.get_by_role("checkbox", name=re.compile(re.escape(member))).click()
    dialog.get_by_label("Message").fill(body)
    dialog.get_by_role("button", name="Start").click()
    expect(dialog).to_be_hidden()


def test_a_client_reads_and_answers_a_message_on_a_phone(
    browser: Browser, app_server: RunningApp
) -> None:
    txn_id, client_name = _agents_deal_with_the_client(app_server)
    staff = browser.new_context(viewport=DESKTOP)
    staff.set_default_timeout(20_000)
    page = staff.new_page()
    sign_in(page, app_server, "agent")
    page.goto(f"{app_server.base_url}/transactions/{txn_id}")
    panel = page.locator("#messages")
    expect(panel.get_by_role("heading", name="Conversations")).to_be_visible()

    _start(page, panel, "Pricing", NOTE, internal=True)
    expect(panel.get_by_text(NOTE)).to_be_visible()
    panel.get_by_role("button", name="Back to conversations").click()
    # An empty conversation is refused with a reason.
    panel.get_by_role("button", name="New conversation").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Start").click()
    expect(dialog.get_by_text("Give the conversation a subject.")).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    _start(page, panel, SUBJECT, BODY, member=client_name)
    expect(panel.get_by_text(BODY)).to_be_visible()
    screenshot(page, "messages-agent-desktop")

    # The client's phone is in dark mode (the agent's desktop is light).
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, color_scheme="dark")
    phone.set_default_timeout(20_000)
    client = phone.new_page()
    sign_in(client, app_server, "client")
    client.goto(f"{app_server.base_url}/portal/{txn_id}")
    messages = client.locator("#messages")
    expect(messages.get_by_role("heading", name="Messages")).to_be_visible()
    thread = messages.get_by_role("button", name=f"Open conversation {SUBJECT}")
    expect(thread.get_by_text("1 new")).to_be_visible()
    expect(messages.get_by_text("Pricing")).to_have_count(0)
    screenshot(client, "messages-client-unread-phone")
    thread.click()
    expect(messages.get_by_text(BODY)).to_be_visible()
    messages.get_by_label("Reply").fill(ANSWER)
    messages.get_by_role("button", name="Send").click()
    expect(messages.get_by_text(ANSWER)).to_be_visible()
    expect(messages.get_by_label("Reply")).to_have_value("")
    assert NOTE not in client.content()
    screenshot(client, "messages-client-thread-phone")
    width = client.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the portal is {width}px wide on a phone"
    phone.close()

    page.reload()
    panel = page.locator("#messages")
    thread = panel.get_by_role("button", name=f"Open conversation {SUBJECT}")
    expect(thread.get_by_text("1 new")).to_be_visible()
    thread.click()
    expect(panel.get_by_text(ANSWER)).to_be_visible()
    expect(panel.get_by_text(client_name).first).to_be_visible()
    screenshot(page, "messages-agent-answer-desktop")

    # The client's contact page lists the conversation and the email it sent them.
    person_id = scalar(
        app_server,
        "SELECT p.id FROM people p JOIN users u ON u.id = p.user_id WHERE u.email = :e",
        e=demo_email("client"),
    )
    page.goto(f"{app_server.base_url}/people/{person_id}")
    history = page.locator("#communication")
    expect(history.get_by_role("heading", name="Communication")).to_be_visible()
    expect(history.get_by_text(ANSWER)).to_be_visible()
    expect(history.get_by_text(NOTE)).to_have_count(0)
    history.get_by_role("radio", name="Emails").click()
    expect(history.get_by_text(ANSWER)).to_have_count(0)
    agent_name = scalar(
        app_server, "SELECT full_name FROM users WHERE email = :e", e=demo_email("agent")
    )
    expect(history.get_by_text(f"{agent_name}: {SUBJECT}").first).to_be_visible()
    screenshot(page, "person-communication-desktop")
    staff.close()
