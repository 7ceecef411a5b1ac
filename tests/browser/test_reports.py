"""The Reports page in Chromium: charts paint with their tables beneath, a filter narrows the
numbers and the CSV link, the CSV downloads, and the page holds at 390 px in dark mode."""

from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, RunningApp, screenshot, sign_in

pytestmark = pytest.mark.browser


def _rows(path: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(Path(path).read_text(encoding="utf-8-sig"))))


def test_the_reports_page_paints_charts_filters_and_downloads(
    page: Page, app_server: RunningApp
) -> None:
    sign_in(page, app_server, "admin")
    started = time.monotonic()
    page.goto(f"{app_server.base_url}/reports")
    expect(page.get_by_role("heading", name="Reports", exact=True)).to_be_visible()
    charts = page.locator(".recharts-surface")
    expect(charts.first).to_be_visible()
    painted = time.monotonic() - started
    assert charts.count() >= 6
    assert painted < 5, f"charts painted after {painted:.2f} s"  # the page budget is 1 s warm
    expect(page.locator("#table-stages tbody tr").first).to_be_visible()
    expect(page.locator("#table-months tbody tr")).to_have_count(12)

    link = page.get_by_role("link", name="Download the Pipeline report (CSV)")
    with page.expect_download() as got:
        link.click()
    everything = _rows(str(got.value.path()))
    assert everything[0] == ["Table", "Group", "Files", "Volume"]
    assert got.value.suggested_filename.startswith("chronos-report-pipeline-")
    total = sum(int(r[2]) for r in everything[1:] if r[0] == "Open files by stage")

    page.get_by_role("combobox", name="Side").click()
    page.get_by_role("option", name="Seller (listing)").click()
    expect(link).to_have_attribute("href", re.compile(r"side=seller"))
    with page.expect_download() as got:
        link.click()
    sellers = _rows(str(got.value.path()))
    seller_total = sum(int(r[2]) for r in sellers[1:] if r[0] == "Open files by stage")
    assert seller_total < total

    page.set_viewport_size(PHONE)
    page.emulate_media(color_scheme="dark")
    page.reload()  # as a phone opens it (charts size themselves on first paint)
    expect(charts.first).to_be_visible()
    page.wait_for_load_state("networkidle")
    chart_width = page.locator(".recharts-surface").first.bounding_box()
    assert chart_width and chart_width["width"] <= PHONE["width"]
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, f"the page scrolls sideways at 390 px ({width} px)"
    screenshot(page, "reports-phone-dark")
