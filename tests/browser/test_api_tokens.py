"""API tokens in Chromium: a user makes one on /account, sees the secret once, a script (plain
HTTP, no cookie) uses it, the user revokes it and the script is refused."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import DESKTOP, PHONE, RunningApp, screenshot, sign_in

pytestmark = pytest.mark.browser


def _me(app: RunningApp, secret: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{app.base_url}/api/v1/me", headers={"Authorization": f"Bearer {secret}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_a_token_made_on_the_account_page_works_until_revoked(
    page: Page, app_server: RunningApp
) -> None:
    page.set_viewport_size(PHONE)
    sign_in(page, app_server, "coordinator")
    page.goto(f"{app_server.base_url}/account")
    section = page.locator("div.rt-Card", has=page.get_by_role("heading", name="API tokens"))
    expect(section.get_by_text("You have no API tokens.")).to_be_visible()
    section.get_by_label("Name").fill("Closing board")
    section.get_by_label("Access").select_option("read")
    section.get_by_role("button", name="Create token").click()
    secret_box = page.locator("#new-api-token")
    expect(secret_box).to_contain_text("chr_")
    secret = secret_box.inner_text().strip()
    expect(section.get_by_text("Closing board", exact=True)).to_be_visible()
    section.scroll_into_view_if_needed()
    screenshot(page, "account-api-token-phone")
    assert page.evaluate("document.querySelector('main').scrollWidth") <= PHONE["width"]

    status, body = _me(app_server, secret)
    assert status == 200 and body["email"].startswith("coordinator@")

    section.get_by_role("button", name="I have copied it").click()
    expect(secret_box).to_have_count(0)
    page.set_viewport_size(DESKTOP)
    section.get_by_role("button", name="Revoke the token Closing board").click()
    expect(section.get_by_text("is revoked")).to_be_visible()
    expect(section.get_by_text("Revoked", exact=True)).to_be_visible()
    status, body = _me(app_server, secret)
    assert status == 401 and "not valid" in body["error"]
