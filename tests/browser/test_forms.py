"""Fillable forms and packet splitting in Chromium.

The admin uploads a fillable PDF at /admin/forms, checks the suggested mapping and changes one
field; an agent fills it on one of their demo transactions (the new document exists, the
fields left empty are listed), then splits a signed packet from the suggested parts. Both
pages at desktop and phone width.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import (
    ARTIFACTS,
    DESKTOP,
    PHONE,
    RunningApp,
    demo_email,
    scalar,
    screenshot,
)
from tests.browser.conftest import sign_in as sign_in_as
from tests.support.pdfs import make_form_pdf, make_pdf

pytestmark = pytest.mark.browser
FORM_NAME = "Harbor purchase agreement (browser)"
PACKET = [
    "RESIDENTIAL PURCHASE AND SALE AGREEMENT\nPage 1 of 2\n1. PARTIES",
    "12. SIGNATURES\nPage 2 of 2",
    "SELLER'S PROPERTY DISCLOSURE STATEMENT\nSection A. Roof",
    "Section B. Plumbing",
]


def _agents_open_deal(app: RunningApp) -> int:
    txn_id = scalar(
        app,
        """SELECT t.id FROM transactions t JOIN users u ON u.id = t.owner_id
        WHERE u.email = :email AND t.stage NOT IN ('closed', 'cancelled')
        ORDER BY t.id LIMIT 1""",
        email=demo_email("agent"),
    )
    assert isinstance(txn_id, int), "the demo agent owns an open deal"
    return txn_id


def test_admin_uploads_and_maps_a_form_then_an_agent_fills_it_and_splits_a_packet(
    browser: Browser, app_server: RunningApp, tmp_path: Path
) -> None:
    form_file = tmp_path / "purchase-agreement.pdf"
    form_file.write_bytes(
        make_form_pdf(["Buyer Name", "Property Address", "Purchase Price", "Closing Date", "Notes"])
    )
    admin_ctx = browser.new_context(viewport=DESKTOP)
    admin_ctx.set_default_timeout(20_000)
    page = admin_ctx.new_page()
    sign_in_as(page, app_server, "admin")
    page.goto(f"{app_server.base_url}/admin/forms")
    expect(page.get_by_role("heading", name="Upload a fillable PDF")).to_be_visible()
    page.locator("input[name=name]").fill(FORM_NAME)
    page.locator("input[type=file][name=file]").set_input_files(str(form_file))
    page.get_by_role("button", name="Upload form").click()
    page.wait_for_url(lambda url: "upload=" in url)
    editor = page.locator("#form-mapping")
    expect(editor.get_by_role("heading", name="Fields and what fills them")).to_be_visible()
    expect(page.get_by_text("with 5 fillable fields")).to_be_visible()
    expect(editor.get_by_role("combobox", name="Fill Buyer Name with")).to_have_text("Buyer names")
    expect(editor.get_by_role("combobox", name="Fill Notes with")).to_have_text("Leave empty")
    editor.get_by_role("combobox", name="Fill Notes with").click()
    page.get_by_role("option", name="Brokerage name").click()
    expect(editor.get_by_role("img", name=f"Page 1 of {FORM_NAME}")).to_be_visible()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#form-mapping img')].every(i => i.naturalWidth > 0)"
    )
    screenshot(page, "admin-forms-desktop")
    editor.get_by_role("button", name="Save mapping").click()
    expect(page.get_by_text(f"Saved “{FORM_NAME}”: 5 of its fields")).to_be_visible()
    mapping = scalar(app_server, "SELECT mapping FROM form_templates WHERE name = :n", n=FORM_NAME)
    assert '"Notes": "brokerage"' in str(mapping)
    admin_ctx.close()

    phone_admin = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    phone_admin.set_default_timeout(20_000)
    page = phone_admin.new_page()
    sign_in_as(page, app_server, "admin")
    page.goto(f"{app_server.base_url}/admin/forms")
    expect(page.get_by_text(FORM_NAME)).to_be_visible()
    page.get_by_role("button", name=f"Edit mapping of {FORM_NAME}").click()
    expect(page.locator("#form-mapping")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    screenshot(page, "admin-forms-phone")
    phone_admin.close()

    txn_id = _agents_open_deal(app_server)
    agent_ctx = browser.new_context(viewport=DESKTOP)
    agent_ctx.set_default_timeout(30_000)
    page = agent_ctx.new_page()
    sign_in_as(page, app_server, "agent")
    page.goto(f"{app_server.base_url}/transactions/{txn_id}")
    panel = page.locator("#forms-panel")
    expect(panel.get_by_role("heading", name="Forms and packets")).to_be_visible()
    panel.get_by_role("combobox", name="Form to fill").click()
    page.get_by_role("option", name=FORM_NAME).click()
    panel.get_by_role("button", name="Fill in").click()
    expect(panel.get_by_text("to the documents.")).to_be_visible()
    # Nothing is invented: the agent is told which fields stayed empty and why.
    expect(panel.get_by_role("status")).to_contain_text("left empty")
    panel.screenshot(path=str(ARTIFACTS / "screenshots" / "transaction-forms-filled.png"))
    count = scalar(
        app_server,
        """SELECT count(*) FROM documents WHERE transaction_id = :t AND source = 'form'
        AND title LIKE :title""",
        t=txn_id,
        title=f"{FORM_NAME}%",
    )
    assert count == 1

    # A signed packet arrives as one PDF (uploaded through the app's own upload route).
    answer = page.request.post(
        f"{app_server.base_url}/files/upload?next=/transactions/{txn_id}",
        multipart={
            "transaction_id": str(txn_id),
            "title": "Signed packet (browser)",
            "file": {
                "name": "signed-packet.pdf",
                "mimeType": "application/pdf",
                "buffer": make_pdf(PACKET),
            },
        },
        headers={"Origin": app_server.base_url},
        max_redirects=0,
    )
    assert answer.status == 303
    page.reload()
    panel = page.locator("#forms-panel")
    panel.get_by_role("combobox", name="Packet to split").click()
    page.get_by_role("option", name="Signed packet (browser) (4 pages)").click()
    expect(panel.get_by_text("Part 2", exact=True)).to_be_visible()
    # Named after the demo checklist's item when the deal has one, else after the form title.
    expect(panel.get_by_role("textbox", name="Part 2 name")).to_have_value(
        re.compile(r"^Seller's (disclosure|Property Disclosure Statement)$", re.IGNORECASE)
    )
    expect(panel.get_by_text(re.compile(r"on page 3"))).to_be_visible()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#forms-panel img')].length >= 2 && "
        "[...document.querySelectorAll('#forms-panel img')].every(i => i.naturalWidth > 0)"
    )
    screenshot(page, "transaction-forms-desktop")
    agent_ctx.close()

    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    phone.set_default_timeout(30_000)
    page = phone.new_page()
    sign_in_as(page, app_server, "agent")
    page.goto(f"{app_server.base_url}/transactions/{txn_id}")
    panel = page.locator("#forms-panel")
    panel.get_by_role("combobox", name="Packet to split").click()
    page.get_by_role("option", name="Signed packet (browser) (4 pages)").click()
    expect(panel.get_by_text("Part 2", exact=True)).to_be_visible()
    panel.scroll_into_view_if_needed()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    screenshot(page, "transaction-forms-phone")
    panel.get_by_role("button", name="Split into 2 documents").click()
    expect(panel.get_by_text("Split into 2 documents: ")).to_be_visible()
    split = scalar(
        app_server,
        "SELECT count(*) FROM documents WHERE transaction_id = :t AND source = 'split'",
        t=txn_id,
    )
    assert split == 2
    phone.close()
