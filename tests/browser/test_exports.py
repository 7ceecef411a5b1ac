"""CSV downloads from the pipeline, people and Today pages, in Chromium: the file holds what the
page shows (filters included) and opens as text in a spreadsheet."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from urllib.parse import quote_plus

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import RunningApp, sign_in

pytestmark = pytest.mark.browser


def _rows(path: str) -> list[dict[str, str]]:
    text = Path(path).read_text(encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_the_pipeline_csv_follows_the_filters(page: Page, app_server: RunningApp) -> None:
    sign_in(page, app_server, "agent")
    page.goto(f"{app_server.base_url}/pipeline")
    expect(page.get_by_role("heading", name="Pipeline")).to_be_visible()
    page.wait_for_load_state("networkidle")
    link = page.get_by_role("link", name="Download these files as a spreadsheet (CSV)")
    with page.expect_download() as got:
        link.click()
    everything = _rows(str(got.value.path()))
    assert everything and {"ID", "Address", "Stage", "Closing date"} <= set(everything[0])
    assert got.value.suggested_filename.startswith("chronos-pipeline-")
    stages = {r["Stage"] for r in everything}
    assert "Closed" not in stages and "Cancelled" not in stages  # the page opens on open files

    street = everything[0]["Street"]
    page.get_by_label("Search transactions").fill(street)
    expect(link).to_have_attribute("href", re.compile(r"q=" + re.escape(quote_plus(street))))
    with page.expect_download() as got:
        link.click()
    found = _rows(str(got.value.path()))
    assert everything[0]["ID"] in {r["ID"] for r in found}
    assert len(found) < len(everything)


def test_contacts_and_tasks_csv(page: Page, app_server: RunningApp) -> None:
    sign_in(page, app_server, "agent")
    page.goto(f"{app_server.base_url}/people")
    page.wait_for_load_state("networkidle")
    with page.expect_download() as got:
        page.get_by_role("link", name="Download these contacts as a spreadsheet (CSV)").click()
    contacts = _rows(str(got.value.path()))
    assert contacts and {"First name", "Last name", "Email"} <= set(contacts[0])

    page.goto(f"{app_server.base_url}/today")
    page.wait_for_load_state("networkidle")
    with page.expect_download() as got:
        page.get_by_role("link", name="Download the open tasks of your files").click()
    open_tasks = _rows(str(got.value.path()))
    assert open_tasks and {r["Status"] for r in open_tasks} == {"Open"}


def test_the_admin_builds_and_downloads_the_brokerage_export(
    page: Page, app_server: RunningApp
) -> None:
    import zipfile

    sign_in(page, app_server, "admin")
    page.goto(f"{app_server.base_url}/admin/export")
    expect(page.get_by_role("heading", name="Data export")).to_be_visible()
    page.get_by_role("button", name="Build an export").click()
    expect(page.get_by_text("Building your export")).to_be_visible()
    link = page.get_by_role("link", name="Download this export (ZIP)").first
    expect(link).to_be_visible(timeout=120_000)  # the job builds it; the page watches
    with page.expect_download() as got:
        link.click()
    with zipfile.ZipFile(str(got.value.path())) as zf:
        names = set(zf.namelist())
        assert {"README.md", "transactions.csv", "people.csv"} <= names
        assert any(n.startswith("documents/") for n in names)
