"""A double click or a double Enter on a create form makes one record (issue 15), in Chromium.

The browser disables the control at the first click (components/once.py); what still gets
through carries the same per-form key and is answered with the first result by the server.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import RunningApp, demo_email, scalar, sign_in
from tests.support.pdfs import make_pdf

pytestmark = pytest.mark.browser


def _count(app: RunningApp, sql: str, **params: object) -> int:
    value = scalar(app, sql, **params)
    assert isinstance(value, int)
    return value


def _settled(app: RunningApp, sql: str, **params: object) -> int:
    """The count once it has stopped changing (a duplicate would land a moment later)."""
    last, since = -1, time.monotonic()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        now = _count(app, sql, **params)
        if now != last:
            last, since = now, time.monotonic()
        elif now > 0 and time.monotonic() - since > 1.5:
            return now
        time.sleep(0.25)
    return last


def _agents_deal(app: RunningApp) -> int:
    txn_id = scalar(
        app,
        """SELECT t.id FROM transactions t JOIN users u ON u.id = t.owner_id
        WHERE u.email = :email AND t.stage = 'under_contract' ORDER BY t.id LIMIT 1""",
        email=demo_email("agent"),
    )
    assert isinstance(txn_id, int)
    return txn_id


TXNS = "SELECT count(*) FROM transactions WHERE street = :street"


@pytest.mark.parametrize("how", ["double-click", "double-enter"])
def test_new_transaction_is_created_once(page: Page, app_server: RunningApp, how: str) -> None:
    street = f"{'18' if how == 'double-click' else '19'} Double Submit Way"
    sign_in(page, app_server, "agent")
    page.goto(f"{app_server.base_url}/transactions/new")
    page.get_by_label("Street address").fill(street)
    page.get_by_label("City").fill("Salem")
    if how == "double-click":
        page.get_by_role("button", name="Create transaction").dblclick()
    else:
        page.get_by_label("City").focus()
        page.keyboard.press("Enter")  # twice, as fast as a key repeat: no wait between
        page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/transactions/\d+$"))
    assert _settled(app_server, TXNS, street=street) == 1


PEOPLE = "SELECT count(*) FROM people WHERE last_name = :last"


@pytest.mark.parametrize("how", ["double-click", "double-enter"])
def test_new_contact_is_created_once(page: Page, app_server: RunningApp, how: str) -> None:
    last = "Dblclick" if how == "double-click" else "Dblenter"
    sign_in(page, app_server, "agent")
    page.goto(f"{app_server.base_url}/people")
    page.get_by_role("button", name="New contact").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("First name").fill("Twice")
    dialog.get_by_label("Last name").fill(last)
    if how == "double-click":
        dialog.get_by_role("button", name="Add contact").dblclick()
    else:
        dialog.get_by_label("Last name").focus()
        page.keyboard.press("Enter")
        page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/people/\d+$"))
    assert _settled(app_server, PEOPLE, last=last) == 1


def test_a_task_and_a_conversation_are_saved_once(page: Page, app_server: RunningApp) -> None:
    txn_id = _agents_deal(app_server)
    sign_in(page, app_server, "agent")
    page.goto(f"{app_server.base_url}/transactions/{txn_id}")
    tasks_card = page.locator("#tasks")
    tasks_card.get_by_role("button", name="Add", exact=True).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Task").fill("Order the survey twice")
    dialog.get_by_role("button", name="Save task").dblclick()
    expect(dialog).to_be_hidden()
    assert (
        _settled(
            app_server,
            "SELECT count(*) FROM tasks WHERE transaction_id = :t AND title = :title",
            t=txn_id,
            title="Order the survey twice",
        )
        == 1
    )

    page.get_by_role("button", name="New conversation").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Subject").fill("Survey double click")
    dialog.get_by_role("switch", name="Internal note (brokerage only)").click()
    dialog.get_by_label("Message").fill("Booked for Friday.")
    dialog.get_by_role("button", name="Start").dblclick()
    expect(dialog).to_be_hidden()
    assert (
        _settled(
            app_server,
            "SELECT count(*) FROM message_threads WHERE subject = :s",
            s="Survey double click",
        )
        == 1
    )
    page.get_by_label("Reply").fill("Friday 9 am confirmed.")
    page.get_by_role("button", name="Send", exact=True).dblclick()
    expect(page.get_by_text("Friday 9 am confirmed.").first).to_be_visible()
    assert (
        _settled(
            app_server,
            "SELECT count(*) FROM messages WHERE body = :b",
            b="Friday 9 am confirmed.",
        )
        == 1
    )


def test_an_upload_double_clicked_is_saved_once(
    page: Page, app_server: RunningApp, tmp_path
) -> None:
    txn_id = _agents_deal(app_server)
    pdf = tmp_path / "Appraisal twice.pdf"
    pdf.write_bytes(make_pdf(["Appraisal report, clicked twice"]))
    sign_in(page, app_server, "agent")
    page.goto(f"{app_server.base_url}/transactions/{txn_id}")
    panel = page.locator("#documents")
    panel.get_by_role("button", name="Upload").click()
    panel.locator("input[type=file][multiple]").set_input_files(str(pdf))
    panel.get_by_role("button", name="Upload", exact=True).last.dblclick()
    expect(panel.get_by_text("Saved:")).to_be_visible()
    expect(panel.get_by_text("already on this transaction")).to_have_count(0)
    assert (
        _settled(
            app_server,
            "SELECT count(*) FROM documents WHERE transaction_id = :t AND title = :title",
            t=txn_id,
            title="Appraisal twice",
        )
        == 1
    )


def test_the_script_lets_one_submit_through_until_the_key_changes(page: Page) -> None:
    """components/once.py on its own: the second submit never reaches the page's handler, the
    control is disabled at once, and a new key enables it again."""
    from chronos.components.once import ONCE_SCRIPT

    page.set_content(
        "<form data-once='k1'><input name='a' aria-label='a'><button>Go</button></form>"
        "<button data-once='b1' id='act'>Act</button>"
    )
    page.add_script_tag(content=ONCE_SCRIPT)
    page.evaluate(
        """() => { window.submits = 0; window.clicks = 0;
        document.querySelector('form').addEventListener('submit',
            e => { e.preventDefault(); window.submits++; });
        document.querySelector('#act').addEventListener('click', () => window.clicks++); }"""
    )
    go = page.get_by_role("button", name="Go")
    go.dblclick()
    page.get_by_label("a").focus()
    page.keyboard.press("Enter")
    expect(go).to_be_disabled()
    assert page.evaluate("window.submits") == 1
    page.evaluate("document.querySelector('form').setAttribute('data-once', 'k2')")
    expect(go).to_be_enabled()
    go.click()
    assert page.evaluate("window.submits") == 2

    act = page.locator("#act")
    act.dblclick()
    expect(act).to_be_disabled()
    assert page.evaluate("window.clicks") == 1
    page.evaluate("document.querySelector('#act').setAttribute('data-once', 'b2')")
    expect(act).to_be_enabled()
    act.click()
    assert page.evaluate("window.clicks") == 2
