"""E-signature end to end in Chromium: the agent (desktop) asks the demo client and the demo
lender to sign a PDF, in that order; the client, on a 390 px phone, opens the portal deal,
reviews the pages, consents and signs with a typed name; the lender, also on a phone, draws a
signature; the agent sees the request completed; the signed file's last page is the
certificate and its hashes verify against the stored original and the database."""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from pypdf import PdfReader
from sqlmodel import select

from chronos.db import make_engine, session_scope
from chronos.models import User
from chronos.services import documents
from chronos.settings import get_settings
from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    RunningApp,
    demo_email,
    scalar,
    screenshot,
    sign_in,
)
from tests.support.pdfs import make_pdf

pytestmark = pytest.mark.browser
DOC_TITLE = "Purchase and sale agreement (e-sign test)"
REQUEST_TITLE = "Please sign the P&S"


@pytest.fixture
def app_settings(app_server: RunningApp) -> Iterator[None]:
    """Point this process's settings (storage dir, database) at the running app's."""
    saved = {k: os.environ.get(k) for k in ("CHRONOS_VAR_DIR", "DATABASE_URL")}
    os.environ["CHRONOS_VAR_DIR"] = str(app_server.var_dir)
    os.environ["DATABASE_URL"] = app_server.database_url
    get_settings.cache_clear()
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_settings.cache_clear()


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
          AND t.stage NOT IN ('closed', 'cancelled')
        ORDER BY t.id LIMIT 1""",
        client=demo_email("client"),
        lender=demo_email("lender"),
        agent=demo_email("agent"),
    )
    assert isinstance(txn_id, int), "the demo agent has an open deal with the client and lender"
    return txn_id


def _upload(app: RunningApp, txn_id: int) -> bytes:
    pdf = make_pdf(
        [
            "PURCHASE AND SALE AGREEMENT\nThe buyer agrees to buy the property.",
            "Terms and conditions\nClosing in 30 days.",
        ],
        title=DOC_TITLE,
    )
    engine = make_engine(app.database_url)
    try:
        with session_scope(engine) as db:
            agent = db.exec(select(User).where(User.email == demo_email("agent"))).one()
            documents.upload(db, agent, txn_id, "p-and-s-esign.pdf", pdf, title=DOC_TITLE)
    finally:
        engine.dispose()
    return pdf


def _phone(browser: Browser, app: RunningApp, role: str) -> Page:
    ctx = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    ctx.set_default_timeout(20_000)
    page = ctx.new_page()
    sign_in(page, app, role)
    return page


def _open_signing_page(page: Page, app: RunningApp, txn_id: int) -> None:
    page.goto(f"{app.base_url}/portal/{txn_id}")
    section = page.locator("#to-sign")
    expect(section.get_by_role("heading", name="Documents to sign")).to_be_visible()
    expect(section.get_by_text("Waiting for your signature")).to_be_visible()
    section.get_by_role("link", name="Review and sign").click()
    page.wait_for_url(re.compile(r"/portal/\d+/sign/\d+"))
    expect(page.get_by_role("heading", name=REQUEST_TITLE)).to_be_visible()
    pages = page.locator("#sign-pages img")
    expect(pages).to_have_count(2)
    # the page images really load (signed links through the app's file route)
    first = pages.first
    first.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => { const i = document.querySelector('#sign-pages img');"
        " return i && i.complete && i.naturalWidth > 0; }"
    )


def _no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the signing page is {width}px wide on a phone"


def test_request_sign_on_a_phone_and_verify_the_certificate(
    browser: Browser, app_server: RunningApp, app_settings: None
) -> None:
    txn_id = _the_clients_deal(app_server)
    source = _upload(app_server, txn_id)
    client_name = scalar(
        app_server, "SELECT full_name FROM users WHERE email = :e", e=demo_email("client")
    )
    lender_name = scalar(
        app_server, "SELECT full_name FROM users WHERE email = :e", e=demo_email("lender")
    )
    assert isinstance(client_name, str) and isinstance(lender_name, str)

    # 1. The agent sends the request from the transaction page.
    staff = browser.new_context(viewport=DESKTOP)
    staff.set_default_timeout(20_000)
    agent = staff.new_page()
    sign_in(agent, app_server, "agent")
    agent.goto(f"{app_server.base_url}/transactions/{txn_id}")
    panel = agent.locator("#signatures")
    expect(panel.get_by_role("heading", name="Signatures")).to_be_visible()
    panel.get_by_role("button", name="Request signatures").click()
    dialog = agent.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="Request signatures")).to_be_visible()
    dialog.get_by_role("combobox", name="Document").click()
    agent.get_by_role("option", name=re.compile(re.escape(DOC_TITLE))).click()
    for name in (client_name, lender_name):
        dialog.get_by_role("combobox", name="Add a signer").click()
        agent.get_by_role("option", name=re.compile(re.escape(name))).click()
        expect(dialog.get_by_text(re.compile(re.escape(name))).first).to_be_visible()
    dialog.get_by_label("Title").fill(REQUEST_TITLE)
    dialog.get_by_label("Message to the signers").fill("Please sign by Friday.")
    screenshot(agent, "esign-request-dialog-desktop")
    dialog.get_by_role("button", name="Send for signature").click()
    expect(dialog).to_be_hidden()
    expect(panel.get_by_text(REQUEST_TITLE)).to_be_visible()
    expect(panel.get_by_text("Asked to sign", exact=True)).to_be_visible()
    request_id = scalar(
        app_server,
        "SELECT id FROM signature_requests WHERE title = :t ORDER BY id DESC LIMIT 1",
        t=REQUEST_TITLE,
    )
    assert isinstance(request_id, int)

    # 2. The client signs on a phone: consent, typed name.
    client = _phone(browser, app_server, "client")
    _open_signing_page(client, app_server, txn_id)
    _no_sideways_scroll(client)
    screenshot(client, "esign-client-signing-phone")
    sign_button = client.get_by_role("button", name="Sign the document")
    sign_button.scroll_into_view_if_needed()
    sign_button.click()
    expect(client.get_by_text("Tick the box to agree to sign electronically.")).to_be_visible()
    client.locator("#consent").click()
    expect(client.locator("#consent")).to_have_attribute("data-state", "checked")
    client.locator("#typed-name").fill(f"{client_name}")
    expect(client.get_by_label("Signature preview")).to_contain_text(client_name)
    screenshot(client, "esign-client-consent-phone")
    sign_button.click()
    expect(client.get_by_text(f"Signed. Now waiting for {lender_name} to sign.")).to_be_visible()
    _no_sideways_scroll(client)
    screenshot(client, "esign-client-signed-phone")
    client.context.close()

    # 3. The lender draws a signature on a phone.
    lender = _phone(browser, app_server, "lender")
    _open_signing_page(lender, app_server, txn_id)
    lender.locator("#consent").click()
    expect(lender.locator("#consent")).to_have_attribute("data-state", "checked")
    lender.get_by_role("radio", name="Draw").click()
    pad = lender.locator("#sigpad")
    expect(pad).to_be_visible()
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    assert box is not None and box["width"] <= PHONE["width"]
    # An empty pad is refused.
    lender.get_by_role("button", name="Sign the document").click()
    expect(lender.get_by_text(re.compile("The box is empty"))).to_be_visible()
    x0, y0, w, h = box["x"], box["y"], box["width"], box["height"]
    lender.mouse.move(x0 + w * 0.1, y0 + h * 0.7)
    lender.mouse.down()
    for i in range(1, 21):
        lender.mouse.move(x0 + w * (0.1 + 0.04 * i), y0 + h * (0.7 - 0.5 * ((i % 5) / 5)))
    lender.mouse.up()
    screenshot(lender, "esign-lender-drawn-phone")
    lender.get_by_role("button", name="Sign the document").click()
    expect(lender.get_by_text(re.compile(r"^Completed\. Everyone has signed"))).to_be_visible()
    expect(lender.get_by_role("button", name="Download signed PDF")).to_be_visible()
    _no_sideways_scroll(lender)
    screenshot(lender, "esign-lender-completed-phone")
    lender.context.close()

    # 4. The agent sees it completed, with both hashes.
    agent.reload()
    panel = agent.locator("#signatures")
    expect(panel.get_by_text("Completed", exact=True)).to_be_visible()
    signed_sha = scalar(
        app_server, "SELECT signed_sha256 FROM signature_requests WHERE id = :i", i=request_id
    )
    source_sha = scalar(
        app_server, "SELECT source_sha256 FROM signature_requests WHERE id = :i", i=request_id
    )
    assert isinstance(signed_sha, str) and len(signed_sha) == 64
    expect(panel.locator(".sig-hashes")).to_contain_text(signed_sha)
    expect(panel.locator(".sig-hashes")).to_contain_text(str(source_sha))
    screenshot(agent, "esign-agent-completed-desktop")
    staff.close()

    # 5. The signed file: last page is the certificate, hashes verify.
    key = scalar(
        app_server,
        """SELECT v.storage_key FROM document_versions v
        JOIN signature_requests r ON r.signed_version_id = v.id WHERE r.id = :i""",
        i=request_id,
    )
    assert isinstance(key, str)
    data = Path(app_server.var_dir, "documents", key).read_bytes()
    assert hashlib.sha256(data).hexdigest() == signed_sha
    assert hashlib.sha256(source).hexdigest() == source_sha
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 3
    cert = " ".join((reader.pages[-1].extract_text() or "").split())
    assert "Certificate of electronic signature" in cert
    assert client_name in cert and lender_name in cert
    assert demo_email("client") in cert and demo_email("lender") in cert
    assert "typed name" in cert and "drawn signature" in cert
    assert "Client address:" in cert and "unknown" not in cert.split("Client address:")[1][:12]
    assert source_sha in cert  # type: ignore[operator]
    m = re.search(r"first (\d+) bytes", cert)
    assert m is not None
    stamped = data[: int(m.group(1))]
    assert hashlib.sha256(stamped).hexdigest() in cert
    stamped_reader = PdfReader(io.BytesIO(stamped))
    assert len(stamped_reader.pages) == 2
    last = stamped_reader.pages[-1].extract_text() or ""
    assert client_name in last and "Signed electronically" in last
    # the original stays available as version 1, byte for byte
    original_key = scalar(
        app_server,
        """SELECT v.storage_key FROM document_versions v
        JOIN signature_requests r ON r.source_version_id = v.id WHERE r.id = :i""",
        i=request_id,
    )
    assert Path(app_server.var_dir, "documents", str(original_key)).read_bytes() == source
