"""Every page, as each persona who uses it, passes axe-core (4.12, bundled by
axe-playwright-python) with no critical and no serious violation, at phone and desktop widths,
in light and dark mode.

A failure lists each violation with its rule, impact, help text and the first offending
elements, so the fix can start from the message alone.
"""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page

from tests.browser.conftest import DESKTOP, PHONE, RunningApp, demo_email, scalar, sign_in

pytestmark = pytest.mark.browser
AXE = Axe()
BLOCKING = {"critical", "serious"}

PUBLIC = ["/sign-in", "/sign-up", "/forgot-password"]
STAFF = ["/pipeline", "/today", "/calendar", "/people", "/transactions/new", "/notifications"]
STAFF += ["/templates", "/account"]
ADMIN = [
    "/admin/users",
    "/admin/checklists",
    "/admin/compliance",
    "/admin/forms",
    "/admin/deadlines",
    "/admin/automations",
    "/admin/security",
    "/admin/email",
    "/admin/export",
    "/review",
]
OUTSIDE = ["/portal", "/notifications", "/account"]


def _violations(page: Page) -> list[dict[str, Any]]:
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)  # the websocket's first delta paints after networkidle
    results = AXE.run(page)
    return [v for v in results.response["violations"] if v.get("impact") in BLOCKING]


def _describe(path: str, found: list[dict[str, Any]]) -> str:
    lines = [f"{path}:"]
    for v in found:
        targets = [", ".join(n.get("target", [])) for n in v.get("nodes", [])[:3]]
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']} -> {targets}")
    return "\n".join(lines)


def _sweep(page: Page, app: RunningApp, paths: list[str]) -> list[str]:
    problems: list[str] = []
    for path in paths:
        page.goto(f"{app.base_url}{path}")
        found = _violations(page)
        if found:
            problems.append(_describe(path, found))
    return problems


def _first_id(app: RunningApp, sql: str, **params: object) -> int:
    value = scalar(app, sql, **params)
    assert isinstance(value, int), sql
    return value


def _deal_pages(app: RunningApp) -> tuple[str, str, str]:
    txn = _first_id(
        app,
        """SELECT t.id FROM transactions t JOIN participants p ON p.transaction_id = t.id
        JOIN users c ON c.id = p.user_id WHERE c.email = :e AND t.stage NOT IN
        ('closed', 'cancelled') ORDER BY t.id LIMIT 1""",
        e=demo_email("client"),
    )
    person = _first_id(app, "SELECT id FROM people ORDER BY id LIMIT 1")
    return f"/transactions/{txn}", f"/portal/{txn}", f"/people/{person}"


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_every_page_passes_axe(
    browser: Browser, app_server: RunningApp, width: str, scheme: str
) -> None:
    staff_deal, portal_deal, person = _deal_pages(app_server)
    problems: list[str] = []
    for role, paths in (
        (None, PUBLIC),
        ("admin", [*STAFF, *ADMIN, staff_deal, person]),
        ("agent", [staff_deal]),
        ("client", [*OUTSIDE, portal_deal]),
        ("attorney", ["/portal"]),
        ("lender", ["/portal"]),
    ):
        context = browser.new_context(
            viewport=PHONE if width == "phone" else DESKTOP, color_scheme=scheme
        )
        context.set_default_timeout(20_000)
        page = context.new_page()
        try:
            if role:
                sign_in(page, app_server, role)
            problems += [f"({role or 'signed out'}) {p}" for p in _sweep(page, app_server, paths)]
        finally:
            context.close()
    assert not problems, "axe found critical/serious violations:\n" + "\n".join(problems)
