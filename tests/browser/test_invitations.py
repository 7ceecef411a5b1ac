"""Invitations and user administration in Chromium against the running app: an agent invites a
client from a demo transaction, the client reads the email in the dev mailbox and accepts at
phone width; an admin invites an agent and deactivates a user."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    RunningApp,
    demo_email,
    link_in,
    newest_email,
    scalar,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.browser
NEW_PASSWORD = "harbor-lights-2026-new"


def _agents_deal(app: RunningApp) -> int:
    txn_id = scalar(
        app,
        """SELECT t.id FROM transactions t JOIN users u ON u.id = t.owner_id
        WHERE u.email = :email ORDER BY t.id LIMIT 1""",
        email=demo_email("agent"),
    )
    assert isinstance(txn_id, int)
    return txn_id


def _invitation_link(page: Page, app: RunningApp, email: str) -> str:
    """The invitation link of the newest email to ``email``."""
    return link_in(newest_email(app, email, "%invited you%"), app, "/invitation?token=")


def test_agent_invites_a_client_who_accepts_on_a_phone_and_sees_only_that_deal(
    page: Page, browser: Browser, app_server: RunningApp
) -> None:
    txn_id = _agents_deal(app_server)
    sign_in(page, app_server, "agent")
    page.goto(f"{app_server.base_url}/transactions/{txn_id}")
    page.get_by_role("button", name="Invite someone to the portal").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("radio", name="New person").click()
    dialog.locator("#invite-name").fill("Nadia Newcomer")
    dialog.locator("#invite-email").fill("nadia.newcomer@example.com")
    dialog.get_by_role("button", name="Send invitation").click()
    expect(dialog).to_be_hidden()
    panel = page.locator("#invitations-panel")
    expect(panel).to_contain_text("nadia.newcomer@example.com")
    expect(panel).to_contain_text("Pending")
    # On the participant row, "Invite to portal" has become an "Invited" badge.
    expect(page.get_by_text("Invited", exact=True)).to_be_visible()
    panel.scroll_into_view_if_needed()
    screenshot(page, "transaction-invitations-desktop")
    page.set_viewport_size(PHONE)
    panel.scroll_into_view_if_needed()
    screenshot(page, "transaction-invitations-phone")

    # The invitee, on a phone, with a fresh browser.
    phone = browser.new_context(viewport=PHONE)
    phone.set_default_timeout(20_000)
    try:
        client = phone.new_page()
        link = _invitation_link(client, app_server, "nadia.newcomer@example.com")
        client.goto(link)
        expect(client.get_by_role("heading", name="Follow your transaction")).to_be_visible()
        expect(client.locator("#invite-full_name")).to_have_value("Nadia Newcomer")
        expect(client.get_by_text("nadia.newcomer@example.com")).to_be_visible()
        screenshot(client, "accept-invitation-phone")
        client.locator("#invite-password").fill(NEW_PASSWORD)
        client.locator("#invite-confirm").fill(NEW_PASSWORD + "x")
        client.get_by_role("button", name="Create account and accept").click()
        expect(client.get_by_text("The two passwords do not match.")).to_be_visible()
        client.locator("#invite-password").fill(NEW_PASSWORD)
        client.locator("#invite-confirm").fill(NEW_PASSWORD)
        client.get_by_role("button", name="Create account and accept").click()
        expect(client).to_have_url(re.compile(rf"/portal/{txn_id}/?$"))
        client.goto(f"{app_server.base_url}/portal")
        links = client.locator("a[href^='/portal/']")
        expect(links.first).to_be_visible()
        hrefs = {links.nth(i).get_attribute("href") for i in range(links.count())}
        assert {h.rstrip("/") for h in hrefs if h} == {f"/portal/{txn_id}"}
        # Another deal of the brokerage stays invisible.
        other = scalar(
            app_server,
            "SELECT id FROM transactions WHERE id != :id ORDER BY id LIMIT 1",
            id=txn_id,
        )
        client.goto(f"{app_server.base_url}/portal/{other}")
        expect(client.get_by_text("not found", exact=False).first).to_be_visible()
        # The link is single use.
        client.goto(link)
        expect(client.get_by_role("heading", name="Invitation accepted")).to_be_visible()
    finally:
        phone.close()
    page.set_viewport_size(DESKTOP)
    page.reload()
    expect(page.locator("#invitations-panel")).to_contain_text("Accepted")


def test_admin_invites_an_agent_and_deactivates_a_user(
    page: Page, browser: Browser, app_server: RunningApp
) -> None:
    sign_in(page, app_server, "admin")
    page.goto(f"{app_server.base_url}/admin/users")
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    page.get_by_role("button", name="Invite a team member").click()
    dialog = page.get_by_role("dialog")
    dialog.locator("#invite-name").fill("Arlo Apprentice")
    dialog.locator("#invite-email").fill("arlo.apprentice@harbormain.example")
    dialog.get_by_role("button", name="Send invitation").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_text("arlo.apprentice@harbormain.example").first).to_be_visible()

    other = browser.new_context(viewport=DESKTOP)
    other.set_default_timeout(20_000)
    try:
        arlo = other.new_page()
        link = _invitation_link(arlo, app_server, "arlo.apprentice@harbormain.example")
        arlo.goto(link)
        expect(arlo.get_by_role("heading", name=re.compile("^Join"))).to_be_visible()
        screenshot(arlo, "accept-invitation-desktop")
        arlo.locator("#invite-password").fill(NEW_PASSWORD)
        arlo.locator("#invite-confirm").fill(NEW_PASSWORD)
        arlo.get_by_role("button", name="Create account and accept").click()
        expect(arlo).to_have_url(re.compile(r"/pipeline/?$"))

        # The admin deactivates Arlo; his open page can no longer act.
        page.reload()
        page.locator("#users-search").fill("Arlo")
        expect(page.locator("table tbody tr")).to_have_count(1)
        expect(page.locator("table tbody")).to_contain_text("Arlo Apprentice")
        screenshot(page, "admin-users-desktop")
        page.get_by_role("button", name="Deactivate Arlo Apprentice").first.click()
        page.get_by_role("alertdialog").get_by_role("button", name="Deactivate").click()
        expect(page.locator("table tbody")).to_contain_text("Deactivated")
        arlo.goto(f"{app_server.base_url}/people")
        expect(arlo).to_have_url(re.compile(r"/sign-in"))
    finally:
        other.close()
    page.locator("#users-search").fill("")
    page.set_viewport_size(PHONE)
    page.reload()
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    screenshot(page, "admin-users-phone")
