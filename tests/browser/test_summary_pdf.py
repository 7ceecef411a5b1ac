"""The summary PDF in Chromium: an admin orders its sections on /admin/summary-pdf, an agent opens
a file's team and client versions from the transaction page, a client downloads theirs from the
portal; the PDFs are read back as text."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

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


def _text(data: bytes) -> str:
    return " ".join((p.extract_text() or "") for p in PdfReader(io.BytesIO(data)).pages)


def _pdf(page: Page, href: str) -> str:
    answer = page.request.get(href)  # the context's cookie, as the browser's own tab would send
    assert answer.status == 200 and answer.headers["content-type"] == "application/pdf"
    return _text(answer.body())


def test_sections_ordered_by_the_admin_print_in_that_order(
    page: Page, app_server: RunningApp
) -> None:
    sign_in(page, app_server, "admin")
    page.set_viewport_size(PHONE)
    page.goto(f"{app_server.base_url}/admin/summary-pdf")
    expect(page.get_by_role("heading", name="Summary PDF", level=1)).to_be_visible()
    save = page.get_by_role("button", name="Save sections")
    expect(save).to_be_disabled()
    page.get_by_role("button", name="Move Key dates up").click()
    page.get_by_role("checkbox", name="Include Open tasks").click()
    expect(save).to_be_enabled()
    screenshot(page, "admin-summary-pdf-phone")
    save.click()
    expect(page.get_by_text("Saved. Every summary PDF")).to_be_visible()
    assert page.evaluate("document.querySelector('main').scrollWidth") <= PHONE["width"]

    txn_id = scalar(
        app_server,
        "SELECT t.id FROM transactions t JOIN users u ON u.id = t.owner_id "
        "WHERE u.email = :agent AND t.stage = 'under_contract' ORDER BY t.id LIMIT 1",
        agent=demo_email("agent"),
    )
    agent = page.context.browser.new_page(viewport=DESKTOP)  # type: ignore[union-attr]
    try:
        sign_in(agent, app_server, "agent")
        agent.goto(f"{app_server.base_url}/transactions/{txn_id}")
        agent.get_by_role("button", name="Summary PDF").click()
        team = agent.get_by_role("menuitem", name=re.compile("^Team version"))
        client = agent.get_by_role("menuitem", name=re.compile("^Client version"))
        expect(team).to_be_visible()
        screenshot(agent, "transaction-summary-menu-desktop")
        team_text = _pdf(agent, str(team.get_attribute("href")))
        client_text = _pdf(agent, str(client.get_attribute("href")))
    finally:
        agent.close()
    assert team_text.index("Key dates") < team_text.index("Parties")
    assert "Open tasks" not in team_text and "Documents still needed" in team_text
    assert "client version" in client_text and "Documents still needed" not in client_text

    # Put the brokerage's choice back for the other tests on this app.
    page.reload()
    page.get_by_role("button", name="Move Parties up").click()
    page.get_by_role("checkbox", name="Include Open tasks").click()
    page.get_by_role("button", name="Move Open tasks up").click()
    page.get_by_role("button", name="Save sections").click()
    expect(page.get_by_text("Saved. Every summary PDF")).to_be_visible()
    kept = scalar(
        app_server,
        "SELECT o.cover_sheet_sections FROM organizations o JOIN users u ON u.org_id = o.id "
        "WHERE u.email = :admin",
        admin=demo_email("admin"),
    )
    assert kept == "parties,key_dates,open_tasks,missing_documents"


def test_a_client_downloads_their_summary_from_the_portal(
    page: Page, app_server: RunningApp
) -> None:
    page.set_viewport_size(PHONE)
    sign_in(page, app_server, "client")
    page.goto(f"{app_server.base_url}/portal")
    page.locator("main a[href^='/portal/']").first.click()
    link = page.get_by_role("link", name="Download a one-page summary of this transaction (PDF)")
    expect(link).to_be_visible()
    with page.expect_download() as got:
        link.click()
    assert got.value.suggested_filename.startswith("summary-")
    text = _text(Path(str(got.value.path())).read_bytes())
    assert "client version" in text and "Open tasks" not in text
    screenshot(page, "portal-summary-link-phone")
