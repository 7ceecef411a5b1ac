"""The portal's documents on a 390 px phone in Chromium: the demo client sees a document the
agent shared, opens its preview (the page image really loads), uploads a photo and sees the
outcome; the demo lender requests a loan condition and the client sees it (dark mode too)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import select

from chronos.db import make_engine, session_scope
from chronos.models import User
from chronos.services import documents, lender
from chronos.services.documents import Share
from chronos.settings import get_settings
from chronos.storage import get_storage
from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    RunningApp,
    demo_email,
    scalar,
    screenshot,
    sign_in,
)
from tests.support.pdfs import jpeg, make_pdf


def _clear_storage() -> None:
    """get_storage keys its backend by configuration; older versions cached one."""
    clear = getattr(get_storage, "cache_clear", None)
    if clear is not None:
        clear()


pytestmark = pytest.mark.browser
SHARED = "Seller disclosure (portal test)"
INTERNAL = "Commission split memo (portal test)"
CONDITION = "Two months of bank statements (portal test)"


@pytest.fixture
def app_settings(app_server: RunningApp) -> Iterator[None]:
    """Point this process's settings (storage dir, database) at the running app's."""
    saved = {k: os.environ.get(k) for k in ("CHRONOS_VAR_DIR", "DATABASE_URL")}
    os.environ["CHRONOS_VAR_DIR"] = str(app_server.var_dir)
    os.environ["DATABASE_URL"] = app_server.database_url
    get_settings.cache_clear()
    _clear_storage()
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_settings.cache_clear()
        _clear_storage()


def _the_clients_deal(app: RunningApp) -> int:
    txn_id = scalar(
        app,
        """SELECT t.id FROM transactions t
        JOIN participants p ON p.transaction_id = t.id
        JOIN users c ON c.id = p.user_id
        JOIN participants pl ON pl.transaction_id = t.id
        JOIN users l ON l.id = pl.user_id
        JOIN users a ON a.id = t.owner_id
        WHERE c.email = :client AND l.email = :lender AND a.email = :agent
          AND pl.role = 'lender' AND t.stage NOT IN ('closed', 'cancelled')
        ORDER BY t.id LIMIT 1""",
        client=demo_email("client"),
        lender=demo_email("lender"),
        agent=demo_email("agent"),
    )
    assert isinstance(txn_id, int), "the demo agent has an open deal with the client and lender"
    return txn_id


def _share_documents(app: RunningApp, txn_id: int) -> None:
    engine = make_engine(app.database_url)
    try:
        with session_scope(engine) as db:
            agent = db.exec(select(User).where(User.email == demo_email("agent"))).one()
            documents.upload(
                db,
                agent,
                txn_id,
                "disclosure.pdf",
                make_pdf(["SELLER DISCLOSURE\nRoof replaced 2019.", "Page two"]),
                title=SHARED,
                category="disclosure",
                share=Share(client=True),
            )
            documents.upload(
                db,
                agent,
                txn_id,
                "memo.pdf",
                make_pdf(["internal memo"]),
                title=INTERNAL,
                share=Share(),
            )
    finally:
        engine.dispose()


def _phone(browser: Browser, app: RunningApp, role: str, *, dark: bool = False) -> Page:
    ctx = browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, color_scheme="dark" if dark else "light"
    )
    ctx.set_default_timeout(20_000)
    page = ctx.new_page()
    sign_in(page, app, role)
    return page


def _documents_card(page: Page):  # type: ignore[no-untyped-def]
    heading = page.get_by_role("heading", name="Documents", exact=True)
    expect(heading).to_be_visible()
    return page.locator("div.rt-Card").filter(has=heading)


def test_client_previews_uploads_and_sees_the_lenders_condition(
    browser: Browser, app_server: RunningApp, app_settings: None
) -> None:
    app = app_server
    txn_id = _the_clients_deal(app)
    _share_documents(app, txn_id)

    client = _phone(browser, app, "client")
    client.goto(f"{app.base_url}/portal/{txn_id}")
    card = _documents_card(client)
    expect(card.get_by_text(SHARED)).to_be_visible()
    expect(client.get_by_text(INTERNAL)).to_have_count(0)
    screenshot(client, "portal-documents-phone")

    # The preview: PDF pages as images, loaded through signed links.
    card.get_by_role("button", name=f"View {SHARED}").click()
    dialog = client.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name=SHARED)).to_be_visible()
    first = dialog.locator("img[alt='Page 1']")
    expect(first).to_be_visible()
    client.wait_for_function(
        "() => { const i = document.querySelector(\"[role=dialog] img[alt='Page 1']\");"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    assert first.get_attribute("loading") == "lazy"
    expect(dialog.locator("img")).to_have_count(2)
    expect(dialog.get_by_role("link").filter(has_text="Download")).to_be_visible()
    width = client.evaluate(
        "() => document.querySelector(\"[role=dialog] img[alt='Page 1']\").getBoundingClientRect().width"
    )
    assert 300 <= width <= 390, width
    screenshot(client, "portal-documents-preview-phone")
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()

    # A photo from the phone: the native form posts and comes back with the outcome.
    card.get_by_text("Upload a document or photo").click()
    expect(card.get_by_text("Or take a photo")).to_be_visible()
    camera = card.locator("input[type=file][capture=environment]")
    assert camera.get_attribute("accept") == "image/*"
    card.locator("input[type=file][multiple]").set_input_files(
        files=[{"name": "kitchen.jpg", "mimeType": "image/jpeg", "buffer": jpeg(800, 600)}]
    )
    card.get_by_role("button", name="Upload", exact=True).click()
    client.wait_for_url(lambda url: "upload=" in url)
    expect(client.get_by_text("Uploaded:")).to_be_visible()
    expect(_documents_card(client).get_by_text("kitchen", exact=True)).to_be_visible()
    screenshot(client, "portal-documents-uploaded-phone")
    saved = scalar(
        app,
        "SELECT share_client FROM documents WHERE transaction_id = :t AND title = 'kitchen'",
        t=txn_id,
    )
    assert saved in (1, True)

    # The lender asks for something; the client sees it.
    lender = _phone(browser, app, "lender")
    lender.goto(f"{app.base_url}/portal/{txn_id}")
    expect(lender.get_by_role("heading", name="Loan conditions")).to_be_visible()
    expect(lender.get_by_text(INTERNAL)).to_have_count(0)
    lender.get_by_role("button", name="Request condition").click()
    form = lender.get_by_role("dialog")
    form.get_by_label("What is needed").fill(CONDITION)
    form.get_by_label("Due date").fill("2030-03-01")
    form.get_by_role("button", name="Save").click()
    expect(form).to_be_hidden()
    expect(lender.get_by_text(CONDITION, exact=True)).to_be_visible()
    screenshot(lender, "portal-conditions-lender-phone")

    dark = _phone(browser, app, "client", dark=True)
    dark.goto(f"{app.base_url}/portal/{txn_id}")
    expect(dark.get_by_role("heading", name="Loan conditions")).to_be_visible()
    expect(dark.get_by_text(CONDITION, exact=True)).to_be_visible()
    expect(dark.get_by_role("button", name="Upload", exact=True).first).to_be_visible()
    screenshot(dark, "portal-conditions-client-phone-dark")

    # The client answers it with an upload; the page comes back with it attached.
    conditions = dark.locator("div.rt-Card").filter(
        has=dark.get_by_role("heading", name="Loan conditions")
    )
    conditions.get_by_role("button", name="Upload", exact=True).click()
    attach = dark.get_by_role("dialog")
    expect(attach.get_by_text("Or upload it")).to_be_visible()
    attach.locator("input[type=file]:not([capture])").set_input_files(
        files=[
            {
                "name": "statements.pdf",
                "mimeType": "application/pdf",
                "buffer": make_pdf(["BANK STATEMENTS\nJanuary and February"]),
            }
        ]
    )
    attach.get_by_role("button", name="Upload and send").click()
    dark.wait_for_url(lambda url: "upload=" in url)
    expect(dark.get_by_text(f"Sent “statements” for “{CONDITION}”.")).to_be_visible()
    expect(conditions.get_by_text("Received", exact=True)).to_be_visible()
    screenshot(dark, "portal-conditions-client-sent-phone-dark")

    # The lender sees the document (now shared with them) and accepts it.
    lender.reload()
    row = lender.locator("div.rt-Card").filter(
        has=lender.get_by_role("heading", name="Loan conditions")
    )
    expect(row.get_by_text("statements", exact=True)).to_be_visible()
    expect(_documents_card(lender).get_by_text("statements", exact=True)).to_be_visible()
    row.get_by_role("button", name="Accept").click()
    expect(row.get_by_text("Accepted", exact=True)).to_be_visible()
    screenshot(lender, "portal-conditions-accepted-phone")


def test_staff_panel_and_desktop_portal(
    browser: Browser, app_server: RunningApp, app_settings: None
) -> None:
    app = app_server
    txn_id = _the_clients_deal(app)
    title = "Homeowner's insurance binder (staff test)"
    engine = make_engine(app.database_url)
    try:
        with session_scope(engine) as db:
            who = db.exec(select(User).where(User.email == demo_email("lender"))).one()
            lender.add_condition(db, who, txn_id, title=title, due_date="2030-04-01")
    finally:
        engine.dispose()

    ctx = browser.new_context(viewport=DESKTOP)
    ctx.set_default_timeout(20_000)
    agent = ctx.new_page()
    sign_in(agent, app, "agent")
    agent.goto(f"{app.base_url}/transactions/{txn_id}")
    panel = agent.locator("div.rt-Card").filter(
        has=agent.get_by_role("heading", name="Loan conditions")
    )
    expect(panel.get_by_text(title)).to_be_visible()
    panel.get_by_role("button", name="Waive").last.click()
    dialog = agent.get_by_role("dialog")
    dialog.get_by_role("button", name="Waive").click()
    expect(dialog.get_by_text("Say why the condition is waived.")).to_be_visible()
    dialog.get_by_label("Note").fill("Escrow holds the binder")
    dialog.get_by_role("button", name="Waive").click()
    expect(dialog).to_be_hidden()
    expect(panel.get_by_text("Why waived: Escrow holds the binder")).to_be_visible()
    panel.scroll_into_view_if_needed()
    screenshot(agent, "transaction-lender-panel-desktop")
    ctx.close()

    client_ctx = browser.new_context(viewport=DESKTOP)
    client_ctx.set_default_timeout(20_000)
    client = client_ctx.new_page()
    sign_in(client, app, "client")
    client.goto(f"{app.base_url}/portal/{txn_id}")
    expect(client.get_by_text(title)).to_be_visible()
    expect(_documents_card(client)).to_be_visible()
    screenshot(client, "portal-documents-desktop")
    client_ctx.close()
