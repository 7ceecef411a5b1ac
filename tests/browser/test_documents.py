"""Documents in Chromium: the agent uploads two files from the transaction page through the
real multipart form (one good PDF shared with the client, one password-protected), sees what
was saved and the specific refusal, opens the in-app preview (page images rendered by the
server) on desktop and on a phone, and downloads the file through its signed link."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
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
from tests.support import pdfs

pytestmark = pytest.mark.browser


def _agents_open_deal(app: RunningApp) -> int:
    txn_id = scalar(
        app,
        """SELECT t.id FROM transactions t JOIN users a ON a.id = t.owner_id
        WHERE a.email = :agent AND t.stage NOT IN ('closed', 'cancelled')
        ORDER BY t.id LIMIT 1""",
        agent=demo_email("agent"),
    )
    assert isinstance(txn_id, int)
    return txn_id


def test_agent_uploads_previews_and_downloads(
    browser: Browser, app_server: RunningApp, tmp_path: Path
) -> None:
    txn_id = _agents_open_deal(app_server)
    good = tmp_path / "Home inspection report.pdf"
    good.write_bytes(pdfs.make_pdf(["Home inspection report", "Roof: fair", "Plumbing: good"]))
    locked = tmp_path / "locked.pdf"
    locked.write_bytes(pdfs.encrypted_pdf())
    scripted = tmp_path / "Seller disclosure.pdf"
    scripted.write_bytes(pdfs.hostile_pdf("open_action"))

    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(20_000)
    page = context.new_page()
    sign_in(page, app_server, "agent")
    page.goto(f"{app_server.base_url}/transactions/{txn_id}")
    panel = page.locator("#documents")
    expect(panel.get_by_role("heading", name="Documents")).to_be_visible()
    panel.get_by_role("button", name="Upload").click()
    expect(
        panel.get_by_text("Each file is saved on its own; you'll see which were saved.")
    ).to_be_visible()
    panel.locator("input[type=file][multiple]").set_input_files(
        [str(good), str(locked), str(scripted)]
    )
    panel.locator("select[name=category]").select_option("inspection")
    panel.get_by_label("Client").check()
    panel.get_by_role("button", name="Upload", exact=True).last.click()

    # Back on the page: what was saved, and exactly why the other file was refused.
    expect(panel.get_by_text("Saved:")).to_be_visible()
    expect(panel.get_by_text("“Home inspection report”", exact=True)).to_be_visible()
    expect(panel.get_by_text("locked.pdf is password-protected")).to_be_visible()
    # The PDF with a script was saved without it, and the user is told in plain words.
    expect(
        panel.get_by_text(
            re.compile(r"“Seller disclosure”: active content \(JavaScript\) was removed")
        )
    ).to_be_visible()
    expect(panel.get_by_text("Active content removed")).to_be_visible()
    expect(panel.get_by_text("Shared with client").first).to_be_visible()
    assert scalar(app_server, "SELECT count(*) FROM documents WHERE title = 'locked'") == 0
    assert (
        scalar(
            app_server,
            "SELECT v.active_content_removed FROM document_versions v JOIN documents d"
            " ON d.id = v.document_id WHERE d.title = 'Seller disclosure'",
        )
        == "JavaScript"
    )

    panel.get_by_role("button", name="Preview Home inspection report").click()
    dialog = page.get_by_role("dialog")
    pages = dialog.locator("img[alt^='Page']")
    expect(pages).to_have_count(3)
    pages.first.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => { const i = document.querySelector(\"[role=dialog] img[alt='Page 1']\");"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    screenshot(page, "documents-preview-desktop")

    # The page image's URL is signed for this user; without the session cookie it is refused.
    src = pages.first.get_attribute("src")
    assert src and "/files/" in src
    assert httpx.get(src.replace("localhost", "127.0.0.1")).status_code == 403
    with page.expect_download() as download:
        dialog.get_by_role("button", name="Download").click()
    assert Path(download.value.path()).read_bytes() == good.read_bytes()
    dialog.get_by_role("button", name="Close").click()

    page.set_viewport_size(PHONE)
    page.reload()
    expect(panel.get_by_role("heading", name="Documents")).to_be_visible()
    panel.get_by_role("button", name="Preview Home inspection report").click()
    page.wait_for_function(
        "() => { const i = document.querySelector(\"[role=dialog] img[alt='Page 1']\");"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    screenshot(page, "documents-preview-phone")
    context.close()
