"""End-to-end journeys in Chromium against the running app (see conftest.py)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, RunningApp, demo_email, scalar, screenshot, sign_in

pytestmark = pytest.mark.browser
STAFF = ["admin", "agent", "coordinator"]
OUTSIDE = ["client", "attorney", "lender"]


def _txn_not_visible_to(app: RunningApp, role: str) -> int:
    """A transaction of the demo brokerage that this outside party is not on."""
    txn_id = scalar(
        app,
        """
        SELECT t.id FROM transactions t JOIN users u ON u.email = :email
        WHERE t.org_id = u.org_id AND NOT EXISTS (
            SELECT 1 FROM participants p WHERE p.transaction_id = t.id AND p.user_id = u.id)
        ORDER BY t.id LIMIT 1
        """,
        email=demo_email(role),
    )
    assert isinstance(txn_id, int)
    return txn_id


@pytest.mark.parametrize("role", STAFF)
def test_staff_land_on_their_pipeline(page: Page, app_server: RunningApp, role: str) -> None:
    sign_in(page, app_server, role)
    expect(page).to_have_url(re.compile(r"/pipeline/?$"))
    expect(page.get_by_role("heading", name="Pipeline")).to_be_visible()
    expect(page.locator("table tbody tr").first).to_be_visible()
    screenshot(page, f"pipeline-{role}-desktop")


@pytest.mark.parametrize("role", OUTSIDE)
def test_outside_parties_land_on_their_portal(
    page: Page, app_server: RunningApp, role: str
) -> None:
    sign_in(page, app_server, role)
    expect(page).to_have_url(re.compile(r"/portal/?$"))
    expect(page.get_by_role("link", name=re.compile(r"\d")).first).to_be_visible()
    # The staff pipeline is not theirs: opening it sends them back to the portal.
    page.goto(f"{app_server.base_url}/pipeline")
    expect(page).to_have_url(re.compile(r"/portal/?$"))


def test_wrong_password_is_refused_with_a_clear_message(page: Page, app_server: RunningApp) -> None:
    sign_in(page, app_server, "agent", password="not-the-password")
    expect(page).to_have_url(re.compile(r"/sign-in"))
    expect(page.get_by_role("alert")).to_contain_text("Email or password is incorrect")
    expect(page.locator("#email")).to_have_value(demo_email("agent"))


def test_signed_out_visitor_is_sent_to_sign_in_and_back(page: Page, app_server: RunningApp) -> None:
    page.goto(f"{app_server.base_url}/people")
    expect(page).to_have_url(re.compile(r"/sign-in/?\?next=/people"))
    page.locator("#email").fill(demo_email("agent"))
    page.locator("#password").fill(app_server.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/people/?$"))


def test_session_cookie_is_httponly_and_sign_out_revokes_it(
    page: Page, app_server: RunningApp
) -> None:
    sign_in(page, app_server, "agent")
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["chronos_session"]
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Lax"
    assert page.evaluate("document.cookie").find("chronos_session") == -1
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/sign-in"))
    # Replaying the old cookie after sign-out gets nothing.
    page.context.add_cookies([{**session}])  # type: ignore[list-item]
    response = page.request.get(f"{app_server.base_url}/api/v1/me")
    assert response.status == 401


def test_agent_creates_a_transaction_moves_its_stage_and_sees_it_on_the_timeline(
    page: Page, app_server: RunningApp
) -> None:
    sign_in(page, app_server, "agent")
    page.get_by_role("link", name="New").first.click()
    expect(page.get_by_role("heading", name="New transaction")).to_be_visible()
    closing = (date.today() + timedelta(days=35)).isoformat()
    page.locator("#new-street").fill("742 Evergreen Terrace")
    page.locator("#new-city").fill("Springfield")
    page.locator("#new-state").fill("IL")
    page.locator("#new-postal_code").fill("62704")
    page.locator("#new-price").fill("$385,000")
    page.locator("#new-closing_date").fill(closing)
    page.locator("#new-client_name").fill("Marge Bouvier")
    page.locator("#new-client_email").fill("marge@example.com")
    page.get_by_role("button", name="Create transaction").click()
    expect(page).to_have_url(re.compile(r"/transactions/\d+/?$"))
    expect(page.get_by_role("heading", name=re.compile("742 Evergreen Terrace"))).to_be_visible()
    expect(page.get_by_text("Marge Bouvier").first).to_be_visible()
    expect(page.get_by_text("$385,000")).to_be_visible()

    page.get_by_role("combobox", name="Move to stage").click()
    page.get_by_role("option", name="Clear to close").click()
    page.locator("#apply-stage").click()
    timeline = page.get_by_role("list", name="Timeline")
    expect(timeline).to_contain_text("Stage changed: Under contract → Clear to close")
    expect(page.get_by_text("Clear to close").first).to_be_visible()
    screenshot(page, "transaction-after-stage-change-desktop")

    # It is on the pipeline, findable by the client's name.
    page.goto(f"{app_server.base_url}/pipeline")
    page.get_by_label("Search transactions").fill("Bouvier")
    expect(page.locator("table tbody tr")).to_have_count(1)
    expect(page.locator("table tbody")).to_contain_text("742 Evergreen Terrace")


def test_new_transaction_form_shows_specific_errors_and_keeps_input(
    page: Page, app_server: RunningApp
) -> None:
    sign_in(page, app_server, "agent")
    page.goto(f"{app_server.base_url}/transactions/new")
    page.locator("#new-street").fill("9 Elm St")
    page.locator("#new-price").fill("-5")
    page.locator("#new-postal_code").fill("ABCDE")
    page.get_by_role("button", name="Create transaction").click()
    expect(page.get_by_text("Price cannot be negative.")).to_be_visible()
    expect(page.get_by_text("Use a 5-digit ZIP code")).to_be_visible()
    expect(page.locator("#new-street")).to_have_value("9 Elm St")
    expect(page).to_have_url(re.compile(r"/transactions/new/?$"))


@pytest.mark.parametrize("role", OUTSIDE)
def test_outside_party_cannot_open_someone_elses_transaction_by_url(
    page: Page, app_server: RunningApp, role: str
) -> None:
    other = _txn_not_visible_to(app_server, role)
    street = scalar(app_server, "SELECT street FROM transactions WHERE id = :id", id=other)
    sign_in(page, app_server, role)
    for path in (f"/portal/{other}", f"/transactions/{other}"):
        page.goto(f"{app_server.base_url}{path}")
        expect(page.get_by_text(re.compile("not found", re.I)).first).to_be_visible()
        assert str(street) not in page.content()
    response = page.request.get(f"{app_server.base_url}/api/v1/transactions/{other}")
    assert response.status == 404


def test_client_follows_their_deal_on_a_phone(browser, app_server: RunningApp) -> None:  # type: ignore[no-untyped-def]
    ctx = browser.new_context(viewport=PHONE, color_scheme="dark")
    page = ctx.new_page()
    try:
        sign_in(page, app_server, "client")
        screenshot(page, "portal-client-phone-dark")
        # A deal's card (the address has a number); not the bell, whose name counts unread.
        page.get_by_role("main").get_by_role("link", name=re.compile(r"\d")).first.click()
        expect(page).to_have_url(re.compile(r"/portal/\d+/?$"))
        expect(page.get_by_role("list", name="Timeline")).to_be_visible()
        screenshot(page, "portal-transaction-client-phone-dark")
        overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"page scrolls sideways by {overflow}px on a phone"
    finally:
        ctx.close()


@pytest.mark.parametrize("path", ["/pipeline", "/transactions/new", "/people"])
def test_staff_pages_fit_a_phone_screen(browser, app_server: RunningApp, path: str) -> None:  # type: ignore[no-untyped-def]
    ctx = browser.new_context(viewport=PHONE)
    page = ctx.new_page()
    try:
        sign_in(page, app_server, "agent")
        page.goto(f"{app_server.base_url}{path}")
        page.wait_for_load_state("networkidle")
        screenshot(page, f"{path.strip('/').replace('/', '_')}-agent-phone")
        overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{path} scrolls sideways by {overflow}px on a phone"
    finally:
        ctx.close()


def test_agent_applies_a_deadline_preset_and_the_client_sees_the_dates(
    browser,
    app_server: RunningApp,  # type: ignore[no-untyped-def]
) -> None:
    txn_id = scalar(
        app_server,
        """
        SELECT t.id FROM transactions t
        JOIN participants p ON p.transaction_id = t.id
        JOIN users u ON u.id = p.user_id AND u.email = :email
        WHERE t.stage = 'under_contract' AND t.effective_date IS NOT NULL
          AND t.closing_date IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM key_dates k WHERE k.transaction_id = t.id)
        ORDER BY t.id LIMIT 1
        """,
        email=demo_email("client"),
    )
    assert isinstance(txn_id, int)
    agent_ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    client_ctx = browser.new_context(viewport=PHONE)
    try:
        page = agent_ctx.new_page()
        sign_in(page, app_server, "agent")
        page.goto(f"{app_server.base_url}/transactions/{txn_id}")
        page.get_by_role("combobox", name="Key-date preset").click()
        page.get_by_role("option", name="Financed purchase (generic)").click()
        page.locator("#apply-preset").click()
        expect(page.get_by_text("Inspection period ends").first).to_be_visible()
        expect(
            page.get_by_text(re.compile(r"10 calendar days after the effective date")).first
        ).to_be_visible()
        expect(page.get_by_role("list", name="Timeline")).to_contain_text("Key dates set from")
        screenshot(page, "transaction-key-dates-desktop")

        portal = client_ctx.new_page()
        sign_in(portal, app_server, "client")
        portal.goto(f"{app_server.base_url}/portal/{txn_id}")
        expect(portal.get_by_text("Inspection period ends").first).to_be_visible()
        screenshot(portal, "portal-key-dates-client-phone")
    finally:
        agent_ctx.close()
        client_ctx.close()
