"""The calendar feed end to end, in Chromium: the demo agent makes their link on /calendar with
the keyboard, copies it, a calendar app (plain HTTP, no cookie) fetches and parses it, then the
agent resets it and the old link is a 404. The section fits a 390 px phone."""

from __future__ import annotations

import re

import httpx
import icalendar
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import DESKTOP, PHONE, RunningApp, screenshot, sign_in

pytestmark = pytest.mark.browser


def _link(page: Page) -> str:
    field = page.get_by_label("Your private calendar link")
    expect(field).not_to_have_value("")
    return field.input_value()


def _fetch(url: str, **headers: str) -> httpx.Response:
    # A calendar app: no cookie, no Origin.
    return httpx.get(url, headers=headers, timeout=20)


def test_the_agent_subscribes_resets_and_the_old_link_stops(
    browser: Browser, app_server: RunningApp
) -> None:
    ctx = browser.new_context(viewport=DESKTOP)
    ctx.set_default_timeout(20_000)
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=app_server.base_url)
    page = ctx.new_page()
    sign_in(page, app_server, "agent")
    page.goto(f"{app_server.base_url}/calendar")
    section = page.get_by_role("heading", name="Subscribe in your calendar app")
    expect(section).to_be_visible()
    create = page.get_by_role("button", name="Create my calendar link")
    expect(create).to_be_enabled()
    create.focus()
    page.keyboard.press("Enter")  # keyboard only
    first = _link(page)
    assert first.startswith(f"{app_server.base_url}/feeds/calendar.ics?token=")
    page.get_by_role("button", name="Copy link").click()
    assert page.evaluate("navigator.clipboard.readText()") == first
    screenshot(page, "calendar-feed-desktop")

    r = _fetch(first)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/calendar")
    cal = icalendar.Calendar.from_ical(r.content)
    events = cal.walk("VEVENT")
    assert events, "the demo agent's files have key dates around today"
    assert all("@" in str(e["UID"]) and e.get("DTSTART") is not None for e in events)
    assert all(f"{app_server.base_url}/transactions/" in str(e["URL"]) for e in events)
    again = _fetch(first, **{"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304

    page.get_by_role("button", name="Reset link").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Reset link").click()
    expect(page.get_by_label("Your private calendar link")).not_to_have_value(first)
    second = _link(page)
    assert second != first
    old = _fetch(first)
    assert old.status_code == 404 and old.text == "Not found."
    assert _fetch(second).status_code == 200

    # Another tab never shows the link again; it says the link is on.
    other = ctx.new_page()
    other.goto(f"{app_server.base_url}/calendar")
    expect(other.get_by_text("Your calendar link is on")).to_be_visible()
    expect(other.get_by_label("Your private calendar link")).to_have_count(0)
    ctx.close()


def test_the_feed_section_fits_a_phone(browser: Browser, app_server: RunningApp) -> None:
    ctx = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    ctx.set_default_timeout(20_000)
    page = ctx.new_page()
    sign_in(page, app_server, "client")
    page.goto(f"{app_server.base_url}/calendar")
    page.get_by_role("button", name="Create my calendar link").click()
    link = _link(page)
    expect(page.get_by_role("button", name="Copy link")).to_be_visible()
    page.get_by_text("Google Calendar", exact=True).click()  # the steps open on tap
    expect(page.get_by_text("From URL", exact=False)).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways: {width}px"
    screenshot(page, "calendar-feed-phone")
    # "Add to calendar" on an agenda date: an .ics of that one date, with this session.
    adds = page.get_by_role("link", name=re.compile(r"^Add .* to my calendar$"))
    if adds.count():
        one = page.request.get(adds.first.get_attribute("href") or "")
        assert one.status == 200 and one.headers["content-type"].startswith("text/calendar")
        assert len(icalendar.Calendar.from_ical(one.body()).walk("VEVENT")) == 1
    # The client's feed holds only their own deal's shared dates, linked to the portal.
    body = _fetch(link)
    assert body.status_code == 200
    for event in icalendar.Calendar.from_ical(body.content).walk("VEVENT"):
        assert f"{app_server.base_url}/portal/" in str(event["URL"])
    ctx.close()
