"""Start from the purchase agreement, in Chromium: the agent uploads a fillable agreement on
/transactions/new, sees each proposal with its page and source, checks the prefilled form,
creates the file, and finds the key dates from the contract and the agreement on the file's
purchase-agreement item. At 1280px (light) and 390px (dark), with no sideways scroll."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from chronos.services import documents
from tests.browser.conftest import PHONE, RunningApp, scalar, screenshot
from tests.browser.conftest import sign_in as sign_in_as
from tests.support import agreements

pytestmark = pytest.mark.browser
DESKTOP = {"width": 1280, "height": 900}


def _read(page: Page) -> None:
    """Back from POST /files/agreement with its token (or fail with the refusal's words)."""
    page.wait_for_url(lambda url: "agreement=" in url or "upload=" in url or "sign-in" in url)
    if "agreement=" not in page.url:
        notice = parse_qs(urlsplit(page.url).query).get("upload", [""])[0]
        pytest.fail(f"refused: {page.url} {documents.decode_notice(notice)}")


def _no_serious_axe_violations(page: Page) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("critical", "serious")
    ]
    assert bad == []


def test_an_agent_starts_a_file_from_the_purchase_agreement(
    browser: Browser, app_server: RunningApp, tmp_path: Path
) -> None:
    street = "77 Agreement Row"
    values = {**agreements.FORM_VALUES, "PropertyAddress": f"{street}, Austin, TX 78701"}
    contract = tmp_path / "signed-contract.pdf"
    contract.write_bytes(agreements.fillable_agreement(values))
    extra = tmp_path / "addendum.pdf"
    extra.write_bytes(agreements.addendum("Closing Date: 04/17/2026"))

    ctx = browser.new_context(viewport=DESKTOP)
    ctx.set_default_timeout(30_000)
    page = ctx.new_page()
    sign_in_as(page, app_server, "agent")
    page.goto(f"{app_server.base_url}/transactions/new")
    expect(page.get_by_role("heading", name="Start from the purchase agreement")).to_be_visible()
    page.locator("#agreement-file").set_input_files(str(contract))
    page.locator("#agreement-addenda").set_input_files(str(extra))
    page.get_by_role("button", name="Read the agreement").click()
    _read(page)
    proposals = page.locator("#agreement-proposals")
    expect(proposals.get_by_text("Purchase price")).to_be_visible()
    expect(proposals.get_by_text("450000.00")).to_be_visible()
    expect(
        proposals.get_by_text(re.compile(r"page 2 of the agreement \(form field\)")).first
    ).to_be_visible()
    # the addendum's closing date wins, and says where it came from
    expect(proposals.get_by_text("page 1 of the addendum 1")).to_be_visible()
    expect(page.get_by_label("Street address")).to_have_value(street)
    expect(page.get_by_label("City")).to_have_value("Austin")
    expect(page.get_by_label("State")).to_have_value("TX")
    expect(page.get_by_label("ZIP")).to_have_value("78701")
    expect(page.get_by_label("Effective (acceptance) date")).to_have_value("2026-03-02")
    expect(page.get_by_label("Closing date")).to_have_value("2026-04-17")
    expect(page.get_by_label("Option period (days)")).to_have_value("7")
    expect(page.get_by_role("combobox", name="Key-date preset")).to_contain_text("Texas")
    assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"] + 1
    screenshot(page, "new-transaction-agreement-desktop")
    _no_serious_axe_violations(page)
    # the agent corrects one field and confirms
    page.get_by_label("Option period (days)").fill("8")
    page.get_by_role("button", name="Create transaction").click()
    expect(page).to_have_url(re.compile(r"/transactions/new/?\?agreement="))  # not confirmed yet
    page.get_by_label("I have checked every field above against the agreement.").check()
    page.get_by_role("button", name="Create transaction").click()
    expect(page).to_have_url(re.compile(r"/transactions/\d+$"))
    txn_id = scalar(app_server, "SELECT id FROM transactions WHERE street = :s", s=street)
    assert isinstance(txn_id, int)
    option_day = scalar(
        app_server,
        "SELECT computed_date FROM key_dates WHERE transaction_id = :t AND key = 'option_period'",
        t=txn_id,
    )
    assert str(option_day) == "2026-03-10"  # 8 days from 2026-03-02, as corrected
    slot_key = scalar(
        app_server,
        """SELECT s.key FROM documents d JOIN document_slots s ON s.id = d.slot_id
        WHERE d.transaction_id = :t AND d.title = 'Purchase agreement'""",
        t=txn_id,
    )
    assert slot_key == "purchase_agreement"
    docs = scalar(app_server, "SELECT count(*) FROM documents WHERE transaction_id = :t", t=txn_id)
    assert docs == 2  # the agreement and its addendum
    ctx.close()

    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, color_scheme="dark")
    phone.set_default_timeout(30_000)
    page = phone.new_page()
    sign_in_as(page, app_server, "agent")
    page.goto(f"{app_server.base_url}/transactions/new")
    page.locator("#agreement-file").set_input_files(str(contract))
    page.get_by_role("button", name="Read the agreement").click()
    _read(page)
    expect(page.locator("#agreement-proposals").get_by_text("Purchase price")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    screenshot(page, "new-transaction-agreement-phone-dark")
    _no_serious_axe_violations(page)
    page.get_by_role("button", name="Start over").click()
    expect(page.get_by_role("button", name="Read the agreement")).to_be_visible()
    expect(page.get_by_label("Street address")).to_have_value("")
    phone.close()


def test_a_scanned_agreement_says_to_enter_the_details_by_hand(
    browser: Browser, app_server: RunningApp, tmp_path: Path
) -> None:
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(agreements.scanned_agreement())
    ctx = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    ctx.set_default_timeout(30_000)
    page = ctx.new_page()
    sign_in_as(page, app_server, "agent")
    page.goto(f"{app_server.base_url}/transactions/new")
    page.locator("#agreement-file").set_input_files(str(scan))
    page.get_by_role("button", name="Read the agreement").click()
    expect(page.locator("#agreement-no-text")).to_contain_text(
        "No text layer: enter the details by hand"
    )
    screenshot(page, "new-transaction-agreement-scan-phone")
    _no_serious_axe_violations(page)
    ctx.close()
