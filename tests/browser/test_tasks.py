"""Tasks, the Today page, the calendar, the client's next step and notifications, in Chromium.

The admin gives the demo client a task on one of their deals from the transaction page; the
client gets a notification, sees it as their next step in the portal on a phone and ticks it
off; the admin sees it done. Then the agent's Today page and the calendar at both widths, and
the admin's checklist and automation pages.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import select

from chronos.db import make_engine, session_scope
from chronos.models import Transaction, User
from chronos.services import key_dates, tasks
from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    RunningApp,
    demo_email,
    scalar,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.browser
TASK = "Bring photo ID to the closing"


def _clients_open_deal(app: RunningApp) -> int:
    txn_id = scalar(
        app,
        """SELECT t.id FROM transactions t
        JOIN participants p ON p.transaction_id = t.id
        JOIN users c ON c.id = p.user_id
        WHERE c.email = :email AND t.stage NOT IN ('closed', 'cancelled')
        ORDER BY t.id LIMIT 1""",
        email=demo_email("client"),
    )
    assert isinstance(txn_id, int), "the demo client has an open deal"
    return txn_id


def test_a_task_for_the_client_is_their_next_step_and_they_tick_it_off_on_a_phone(
    browser: Browser, app_server: RunningApp
) -> None:
    txn_id = _clients_open_deal(app_server)
    staff = browser.new_context(viewport=DESKTOP)
    staff.set_default_timeout(20_000)
    page = staff.new_page()
    sign_in(page, app_server, "admin")
    page.goto(f"{app_server.base_url}/transactions/{txn_id}")
    panel = page.locator("#tasks")
    expect(panel.get_by_role("heading", name="Tasks")).to_be_visible()
    panel.get_by_role("button", name="Add").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Save task").click()
    expect(dialog.get_by_text("Title is required.")).to_be_visible()
    dialog.get_by_placeholder("e.g. Order the survey").fill(TASK)
    dialog.get_by_role("combobox").first.click()
    page.get_by_role("option", name=re.compile(r"\((Buyer|Seller)\)")).first.click()
    dialog.get_by_role("button", name="Save task").click()
    expect(dialog).to_be_hidden()
    expect(panel.get_by_text(TASK)).to_be_visible()
    screenshot(page, "transaction-tasks-desktop")

    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    phone.set_default_timeout(20_000)
    client = phone.new_page()
    sign_in(client, app_server, "client")
    # The bell counts the new task.
    expect(
        client.get_by_role("link", name=re.compile(r"Notifications: \d+ unread"))
    ).to_be_visible()
    client.goto(f"{app_server.base_url}/portal/{txn_id}")
    expect(client.get_by_text(f"Your next step: {TASK}.")).to_be_visible()
    screenshot(client, "portal-next-step-phone")
    client.get_by_role("button", name=f"Mark done: {TASK}").click()
    expect(client.get_by_role("button", name=f"Reopen: {TASK}")).to_be_visible()
    expect(client.get_by_text(f"Your next step: {TASK}.")).to_be_hidden()
    client.goto(f"{app_server.base_url}/notifications")
    expect(client.get_by_text(f"New task for you: {TASK}")).to_be_visible()
    screenshot(client, "notifications-phone")
    phone.close()

    page.reload()
    panel = page.locator("#tasks")
    panel.get_by_role("radio", name="All").click()
    expect(panel.get_by_role("button", name=f"Reopen: {TASK}")).to_be_visible()
    staff.close()


def test_the_agents_day_and_calendar_at_both_widths(
    browser: Browser, app_server: RunningApp
) -> None:
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        ctx = browser.new_context(viewport=viewport)
        ctx.set_default_timeout(20_000)
        page = ctx.new_page()
        sign_in(page, app_server, "agent")
        page.goto(f"{app_server.base_url}/today")
        expect(page.get_by_role("heading", name="Today", exact=True)).to_be_visible()
        expect(page.get_by_role("heading", name="Overdue")).to_be_visible()
        expect(page.get_by_role("heading", name="Key dates")).to_be_visible()
        screenshot(page, f"today-{name}")
        page.goto(f"{app_server.base_url}/calendar")
        expect(page.get_by_role("button", name="Next month")).to_be_visible()
        title = page.locator("h2").first.inner_text()
        page.get_by_role("button", name="Next month").click()
        expect(page.locator("h2").first).not_to_have_text(title)
        screenshot(page, f"calendar-{name}")
        # Nothing runs off the side of a phone.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{name}: page is {width}px wide"
        ctx.close()


def test_ticking_off_a_task_on_the_today_page(page: Page, app_server: RunningApp) -> None:
    title = "Call the appraiser back"
    engine = make_engine(app_server.database_url)
    try:
        with session_scope(engine) as db:
            agent = db.exec(select(User).where(User.email == demo_email("agent"))).one()
            txn = db.exec(
                select(Transaction)
                .where(Transaction.owner_id == agent.id, Transaction.stage == "under_contract")
                .order_by(Transaction.id)  # type: ignore[arg-type]
            ).first()
            assert txn is not None
            today = tasks.org_today(db, agent.org_id)
            tasks.create_task(
                db, agent, txn.id or 0, {"title": title, "due_date": today.isoformat()}
            )
    finally:
        engine.dispose()
    sign_in(page, app_server, "agent")
    page.goto(f"{app_server.base_url}/today")
    section = page.get_by_role("heading", name="Due today")
    expect(section).to_be_visible()
    page.get_by_role("button", name=f"Mark done: {title}").click()
    expect(page.get_by_text(f"Done: {title}")).to_be_visible()
    expect(page.get_by_role("button", name=f"Mark done: {title}")).to_be_hidden()


def test_admin_pages_for_checklists_and_automations(page: Page, app_server: RunningApp) -> None:
    sign_in(page, app_server, "admin")
    page.goto(f"{app_server.base_url}/admin/checklists")
    expect(page.get_by_text("Buyer: under contract")).to_be_visible()
    page.get_by_role("button", name="Edit Buyer: under contract").click()
    expect(page.locator("#checklist-editor")).to_be_visible()
    screenshot(page, "admin-checklists-desktop")
    page.get_by_role("navigation", name="Admin").get_by_role("link", name="Automations").click()
    expect(page.get_by_role("heading", name="Automations", exact=True)).to_be_visible()
    page.get_by_role("button", name="New automation").first.click()
    page.get_by_role("button", name="Save automation").click()
    expect(page.get_by_text("Name is required.")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("Clear to close: tell the agent")
    page.get_by_placeholder("Message. Merge fields like {address} or {closing_date}.").fill(
        "{address} is clear to close"
    )
    page.get_by_role("button", name="Save automation").click()
    expect(page.get_by_text("Saved “Clear to close: tell the agent”.")).to_be_visible()
    screenshot(page, "admin-automations-desktop")
    page.get_by_role("navigation", name="Admin").get_by_role("link", name="Deadlines").click()
    page.get_by_role("button", name="Copy Texas (TREC one-to-four family resale)").click()
    editor = page.locator("#deadline-editor")
    expect(editor).to_be_visible()
    editor.get_by_label("Key date 2 name").fill("")
    editor.get_by_role("button", name="Save template").click()
    expect(editor.get_by_text("Name the key date.")).to_be_visible()
    editor.get_by_label("Key date 2 name").fill("Option period ends (5 pm)")
    editor.get_by_role("button", name="Save template").click()
    expect(page.get_by_text(re.compile("Saved “Texas"))).to_be_visible()
    screenshot(page, "admin-deadlines-desktop")


def test_moving_the_effective_date_moves_the_dependent_dates_and_tasks(
    page: Page, app_server: RunningApp
) -> None:
    engine = make_engine(app_server.database_url)
    try:
        with session_scope(engine) as db:
            agent = db.exec(select(User).where(User.email == demo_email("agent"))).one()
            txn = db.exec(
                select(Transaction)
                .where(
                    Transaction.owner_id == agent.id,
                    Transaction.stage == "under_contract",
                    Transaction.effective_date.is_not(None),  # type: ignore[union-attr]
                    Transaction.closing_date.is_not(None),  # type: ignore[union-attr]
                )
                .order_by(Transaction.id.desc())  # type: ignore[union-attr]
            ).first()
            assert txn is not None and txn.effective_date is not None
            key_dates.apply_preset(db, agent, txn.id or 0, "generic_financed")
            tasks.create_task(
                db,
                agent,
                txn.id or 0,
                {"title": "Book the inspector", "due_key": "inspection", "due_offset_days": "-5"},
            )
            txn_id, effective = txn.id, txn.effective_date
    finally:
        engine.dispose()
    new_effective = effective - timedelta(days=3)
    sign_in(page, app_server, "agent")
    page.goto(f"{app_server.base_url}/transactions/{txn_id}")
    before = page.locator("#tasks").get_by_text("Book the inspector").locator("..").inner_text()
    page.get_by_role("button", name="Edit details").click()
    page.locator("#edit-effective_date").fill(new_effective.isoformat())
    page.get_by_role("dialog").get_by_role("button", name="Save").click()
    # What moved is said (old → new) and every dependent date explains itself anew.
    expect(page.get_by_text(re.compile(r"Inspection period ends: .+ → .+")).first).to_be_visible()
    day = f"{new_effective:%a} {new_effective.day} {new_effective:%b}"
    expect(
        page.get_by_text(re.compile(rf"10 calendar days after the effective date \({day}")).first
    ).to_be_visible()
    expect(page.locator("#tasks").get_by_text("Book the inspector").locator("..")).not_to_have_text(
        before
    )
    # A call logged on the timeline, and the timeline filtered to notes.
    note = page.get_by_label("Add to the timeline")
    note.fill("Called the inspector: booked for Tuesday")
    note.press("Enter")
    timeline_list = page.get_by_role("list", name="Timeline")
    expect(timeline_list).to_contain_text("Call: Called the inspector: booked for Tuesday")
    page.get_by_role("combobox", name="Show on the timeline").click()
    page.get_by_role("option", name="Notes and calls").click()
    expect(timeline_list.locator("li")).to_have_count(1)
    screenshot(page, "transaction-dates-moved-desktop")


@pytest.mark.parametrize("path", ["/admin/users", "/admin/checklists", "/notifications", "/today"])
def test_an_admins_pages_fit_a_phone(browser: Browser, app_server: RunningApp, path: str) -> None:
    ctx = browser.new_context(viewport=PHONE)
    ctx.set_default_timeout(20_000)
    try:
        page = ctx.new_page()
        sign_in(page, app_server, "admin")
        page.goto(f"{app_server.base_url}{path}")
        page.wait_for_load_state("networkidle")
        expect(page.get_by_role("link", name="Your account")).to_be_visible()
        expect(page.get_by_role("button", name="Sign out")).to_be_in_viewport()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width}px wide on a phone"
        screenshot(page, f"admin-phone{path.replace('/', '-')}")
    finally:
        ctx.close()
