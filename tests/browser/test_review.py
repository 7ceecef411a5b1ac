"""Required documents and the broker's review, in Chromium.

The demo agent files an inspection report on a checklist item of one of their deals (a real
multipart upload from the transaction page); the admin finds it in /review (desktop and
phone), looks at its page image and returns it with a note; the agent sees "Returned" and the
note on the transaction page, and what still blocks closing.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from sqlmodel import select

from chronos.db import make_engine, session_scope
from chronos.models import ComplianceTemplate, DocumentSlot, Transaction, User
from chronos.services import compliance
from tests.browser.conftest import DESKTOP, PHONE, RunningApp, demo_email, screenshot, sign_in
from tests.support.pdfs import make_pdf

pytestmark = pytest.mark.browser
NOTE = "Initials missing on page 3"


def _deal_with_a_checklist(app: RunningApp) -> tuple[int, str]:
    """One of the agent's open deals with a one-item checklist. The template is switched off,
    so files other tests create get no required documents (they close freely)."""
    engine = make_engine(app.database_url)
    try:
        with session_scope(engine) as db:
            agent = db.exec(select(User).where(User.email == demo_email("agent"))).one()
            txn = db.exec(
                select(Transaction)
                .where(Transaction.owner_id == agent.id, Transaction.stage == "under_contract")
                .order_by(Transaction.id.desc())  # type: ignore[union-attr]
            ).first()
            assert txn is not None, "the demo agent has a deal under contract"
            # The demo's own checklist may already have this item on the file: start it
            # missing (a document filed on it keeps existing, just unfiled).
            for slot in db.exec(
                select(DocumentSlot).where(
                    DocumentSlot.transaction_id == txn.id, DocumentSlot.key == "inspection_report"
                )
            ).all():
                db.delete(slot)
            db.flush()
            tpl = ComplianceTemplate(
                org_id=agent.org_id,
                name="Browser test checklist",
                side="any",
                is_active=False,
                items=[
                    {
                        "key": "inspection_report",
                        "name": "Inspection report",
                        "category": "inspection",
                        "required": True,
                        "hint": "inspection report",
                    }
                ],
            )
            db.add(tpl)
            db.flush()
            compliance.apply_template(db, agent, txn.id or 0, tpl.id or 0)
            return txn.id or 0, txn.street
    finally:
        engine.dispose()


def test_the_agent_files_the_admin_returns_the_agent_sees_the_note(
    browser: Browser, app_server: RunningApp, tmp_path: Path
) -> None:
    txn_id, street = _deal_with_a_checklist(app_server)
    pdf = tmp_path / "inspection-report.pdf"
    pdf.write_bytes(
        make_pdf(
            ["Home inspection report\nRoof, plumbing, electrical", "Page 2", "Buyer initials: __"],
            signature_fields=["Buyer Initials p3"],
        )
    )

    agent_ctx = browser.new_context(viewport=DESKTOP)
    agent_ctx.set_default_timeout(20_000)
    agent = agent_ctx.new_page()
    sign_in(agent, app_server, "agent")
    agent.goto(f"{app_server.base_url}/transactions/{txn_id}")
    card = agent.locator("#required-documents")
    expect(card.get_by_role("heading", name="Required documents")).to_be_visible()
    expect(card.locator("#closing-blockers")).to_contain_text("Inspection report: missing")
    row = card.locator("[data-slot='inspection_report']")
    expect(row.get_by_text("Missing", exact=True)).to_be_visible()
    row.get_by_label("File for Inspection report").set_input_files(str(pdf))
    row.get_by_role("button", name="Upload").click()
    agent.wait_for_url(re.compile(r"\?upload="))
    row = agent.locator("#required-documents [data-slot='inspection_report']")
    expect(row.get_by_text("Awaiting review")).to_be_visible()
    expect(row.get_by_text("Empty signature fields: Buyer Initials p3")).to_be_visible()
    expect(agent.locator("#closing-blockers")).to_contain_text("Inspection report: awaiting review")

    admin_ctx = browser.new_context(viewport=DESKTOP)
    admin_ctx.set_default_timeout(20_000)
    admin = admin_ctx.new_page()
    sign_in(admin, app_server, "admin")
    expect(admin.get_by_role("link", name="Review").first).to_be_visible()
    admin.goto(f"{app_server.base_url}/review")
    # The demo brokerage has other documents waiting too: this file's one.
    item = (
        admin.locator("[data-document]")
        .filter(has_text="Inspection report")
        .filter(has_text=street)
        .first
    )
    expect(item).to_be_visible()
    expect(item.get_by_text("Empty signature fields: Buyer Initials p3")).to_be_visible()
    expect(item.get_by_text(re.compile("Uploaded by"))).to_be_visible()
    # Its pages, as images, in a dialog.
    item.get_by_role("link", name=re.compile(r"Inspection report \(v1\)")).click()
    dialog = admin.get_by_role("dialog")
    first_page = dialog.get_by_role("img", name="Page 1")
    expect(first_page).to_be_visible()
    admin.wait_for_function(
        "() => { const i = document.querySelector('[role=dialog] img[alt=\"Page 1\"]');"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    screenshot(admin, "review-preview-desktop")
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()
    screenshot(admin, "review-queue-desktop")
    admin.set_viewport_size(PHONE)
    screenshot(admin, "review-queue-phone")
    admin.set_viewport_size(DESKTOP)

    item.get_by_role("button", name=re.compile("^Return")).click()
    dialog = admin.get_by_role("dialog")
    dialog.get_by_role("button", name="Return document").click()
    expect(dialog.get_by_text("Say what needs fixing.")).to_be_visible()
    dialog.get_by_label("What needs fixing").fill(NOTE)
    dialog.get_by_role("button", name="Return document").click()
    expect(dialog).to_be_hidden()
    expect(admin.get_by_text(re.compile("Returned “Inspection report”"))).to_be_visible()
    admin.get_by_role("radio", name="Returned").click()
    expect(admin.get_by_text(NOTE)).to_be_visible()

    agent.goto(f"{app_server.base_url}/transactions/{txn_id}")
    row = agent.locator("#required-documents [data-slot='inspection_report']")
    expect(row.get_by_text("Returned", exact=True)).to_be_visible()
    expect(row.get_by_text(NOTE)).to_be_visible()
    expect(row.get_by_role("button", name="Upload corrected file")).to_be_visible()
    expect(agent.locator("#closing-blockers")).to_contain_text(
        f"Inspection report: returned — {NOTE}"
    )
    row.scroll_into_view_if_needed()
    screenshot(agent, "transaction-required-documents-desktop")
    agent.set_viewport_size(PHONE)
    agent.locator("#required-documents").scroll_into_view_if_needed()
    screenshot(agent, "transaction-required-documents-phone")

    # The admin's editor for the checklists (this brokerage has only the test's one).
    admin.goto(f"{app_server.base_url}/admin/compliance")
    admin.get_by_role("button", name="Edit Browser test checklist").click()
    editor = admin.locator("#compliance-editor")
    expect(editor.get_by_label("Document 1 name")).to_have_value("Inspection report")
    screenshot(admin, "admin-compliance-desktop")
    agent_ctx.close()
    admin_ctx.close()
