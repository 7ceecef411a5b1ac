"""Every page, as each persona who uses it, passes axe-core (4.12, bundled by
axe-playwright-python) with no critical and no serious violation, at phone and desktop widths,
in light and dark mode.

One table (``PAGES``) lists (path, persona); add a row when a page is added. Each persona signs
in once per width; each page is loaded once and checked in light, then switched to dark with
``emulate_media`` (the app follows the system scheme until someone presses the toggle) and
checked again, after asserting that Radix really painted it dark.

A failure lists each violation with its rule, impact, help text and the first offending
elements, so the fix can start from the message alone.
"""

from __future__ import annotations

from typing import Any, Literal

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import PHONE, RunningApp, demo_email, scalar, screenshot, sign_in

pytestmark = pytest.mark.browser
AXE = Axe()
BLOCKING = {"critical", "serious"}

# (path, persona). None is signed out. {braces} are filled from the demo data (see _ids).
PAGES: list[tuple[str, str | None]] = [
    ("/sign-in", None),
    ("/sign-up", None),
    ("/forgot-password", None),
    ("/reset-password", None),
    ("/verify-email", None),
    ("/invitation", None),
    ("/pipeline", "admin"),
    ("/today", "admin"),
    ("/reports", "admin"),
    ("/calendar", "admin"),
    ("/people", "admin"),
    ("/people/{person}", "admin"),
    ("/transactions/new", "admin"),
    ("/transactions/{agent_deal}", "admin"),
    ("/notifications", "admin"),
    ("/templates", "admin"),
    ("/account", "admin"),
    ("/account/webhooks", "admin"),
    ("/review", "admin"),
    ("/admin/users", "admin"),
    ("/admin/security", "admin"),
    ("/admin/email", "admin"),
    ("/admin/checklists", "admin"),
    ("/admin/deadlines", "admin"),
    ("/admin/automations", "admin"),
    ("/admin/compliance", "admin"),
    ("/admin/forms", "admin"),
    ("/admin/export", "admin"),
    ("/admin/summary-pdf", "admin"),
    ("/pipeline", "agent"),
    ("/today", "agent"),
    ("/transactions/{agent_deal}", "agent"),
    ("/transactions/new", "agent"),
    ("/reports", "agent"),
    ("/pipeline", "coordinator"),
    ("/portal", "client"),
    ("/portal/{client_deal}", "client"),
    ("/calendar", "client"),
    ("/notifications", "client"),
    ("/account", "client"),
    ("/portal", "attorney"),
    ("/portal/{attorney_deal}", "attorney"),
    ("/calendar", "attorney"),
    ("/portal", "lender"),
    ("/portal/{lender_deal}", "lender"),
    ("/calendar", "lender"),
]

# Pages photographed (test-artifacts/screenshots/a11y-*) in each width and scheme, for a person
# to look at: contrast fixes must still look like the app.
SCREENSHOTS = {
    ("/pipeline", "admin"),
    ("/transactions/{agent_deal}", "admin"),
    ("/portal", "client"),
    ("/portal/{client_deal}", "client"),
}

NO_BRACES = str.maketrans("", "", "{}")

WIDTHS = {"phone": PHONE, "desktop": {"width": 1280, "height": 800}}

# The colour mode puts "dark" on <html> and Radix's root paints --color-background; both must
# agree, so a test that thinks it checks dark mode really looks at dark pixels.
BACKGROUND = """() => {
  const root = document.querySelector('.radix-themes');
  const [r, g, b] = getComputedStyle(root).backgroundColor.match(/\\d+/g).map(Number);
  return {dark: document.documentElement.classList.contains('dark'), luma: (r + g + b) / 3};
}"""


def _violations(page: Page) -> list[dict[str, Any]]:
    results = AXE.run(page)
    return [v for v in results.response["violations"] if v.get("impact") in BLOCKING]


def _describe(where: str, found: list[dict[str, Any]]) -> str:
    lines = [f"{where}:"]
    for v in found:
        nodes = v.get("nodes", [])
        targets = [", ".join(n.get("target", [])) for n in nodes[:3]]
        detail = (nodes[0].get("failureSummary") or "").splitlines()[1:2] if nodes else []
        lines.append(
            f"  [{v['impact']}] {v['id']}: {v['help']} ({len(nodes)}x) -> {targets} {detail}"
        )
    return "\n".join(lines)


def _deal_of(app: RunningApp, role: str) -> int:
    value = scalar(
        app,
        """SELECT t.id FROM transactions t JOIN participants p ON p.transaction_id = t.id
        JOIN users u ON u.id = p.user_id WHERE u.email = :e AND t.stage NOT IN
        ('closed', 'cancelled') ORDER BY t.id LIMIT 1""",
        e=demo_email(role),
    )
    assert isinstance(value, int), f"the demo {role} has no open transaction"
    return value


def _ids(app: RunningApp) -> dict[str, int]:
    person = scalar(app, "SELECT id FROM people ORDER BY id LIMIT 1")
    assert isinstance(person, int)
    return {
        "person": person,
        "agent_deal": _deal_of(app, "client"),  # the demo client's file is the demo agent's
        "client_deal": _deal_of(app, "client"),
        "attorney_deal": _deal_of(app, "attorney"),
        "lender_deal": _deal_of(app, "lender"),
    }


def _settle(page: Page) -> None:
    page.wait_for_load_state("networkidle")
    # The websocket's first delta paints after networkidle; wait for the loaders' spinners.
    page.wait_for_function(
        "() => !document.querySelector('[role=status] .rt-Spinner')", timeout=15_000
    )
    page.wait_for_timeout(300)


def _check(page: Page, where: str, scheme: Literal["light", "dark"]) -> list[str]:
    page.emulate_media(color_scheme=scheme)
    # The colour mode follows the media query in a React effect: wait for it, then for paint.
    page.wait_for_function(
        f"() => document.documentElement.classList.contains('{scheme}')", timeout=5_000
    )
    page.wait_for_timeout(100)
    painted = page.evaluate(BACKGROUND)
    if scheme == "dark":
        assert painted["dark"] and painted["luma"] < 64, f"{where} did not render dark: {painted}"
    else:
        assert not painted["dark"] and painted["luma"] > 192, f"{where} is not light: {painted}"
    found = _violations(page)
    return [_describe(f"{where} {scheme}", found)] if found else []


# The first visible trigger of each kind of dialog or menu ("Remove …", "Deactivate …", "More
# actions for …"), marked so it can be clicked: what a page hides behind buttons is checked too.
MARK_POPUP_TRIGGERS = """() => {
  const seen = new Set();
  let n = 0;
  for (const el of document.querySelectorAll('[aria-haspopup=dialog], [aria-haspopup=menu]')) {
    if (!el.offsetParent || el.disabled) continue;
    const label = (el.getAttribute('aria-label') || el.textContent || '').trim();
    const kind = el.getAttribute('aria-haspopup') + ':' + label.split(/\\s+/)[0];
    if (seen.has(kind)) continue;
    seen.add(kind);
    el.setAttribute('data-a11y-popup', String(n++));
  }
  return n;
}"""
POPUP = "[role=dialog]:visible, [role=alertdialog]:visible, [role=menu]:visible"


def _check_popups(page: Page, where: str) -> list[str]:
    problems: list[str] = []
    for n in range(page.evaluate(MARK_POPUP_TRIGGERS)):
        trigger = page.locator(f"[data-a11y-popup='{n}']")
        if not trigger.is_visible():
            continue  # an earlier dialog's action re-rendered the page
        label = trigger.get_attribute("aria-label") or trigger.inner_text().strip()
        trigger.click()
        page.locator(POPUP).first.wait_for()
        page.wait_for_timeout(250)  # Radix's open animation
        for scheme in ("light", "dark"):
            problems += _check(page, f"{where} [{label[:40]}]", scheme)
        page.keyboard.press("Escape")
        page.locator(POPUP).first.wait_for(state="detached")
        page.emulate_media(color_scheme="light")
    return problems


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_every_page_passes_axe_light_and_dark(
    browser: Browser, app_server: RunningApp, width: str
) -> None:
    ids = _ids(app_server)
    personas: dict[str | None, list[str]] = {}
    for template, persona in PAGES:
        personas.setdefault(persona, []).append(template)
    problems: list[str] = []
    for persona, paths in personas.items():
        context = browser.new_context(viewport=WIDTHS[width], color_scheme="light")
        context.set_default_timeout(20_000)
        page = context.new_page()
        try:
            if persona:
                sign_in(page, app_server, persona)
            for template in paths:
                path = template.format(**ids)
                page.emulate_media(color_scheme="light")
                page.goto(f"{app_server.base_url}{path}")
                where = f"({persona or 'signed out'}, {width}) {path}"
                try:
                    _settle(page)
                except PlaywrightTimeout:
                    problems.append(f"{where}: still loading after 15 s")
                    continue
                if persona and "/sign-in" in page.url:
                    problems.append(f"{where}: redirected to sign-in")
                    continue
                for scheme in ("light", "dark"):
                    problems += _check(page, where, scheme)
                    if (template, persona) in SCREENSHOTS:
                        slug = "-".join(template.strip("/").split("/")).translate(NO_BRACES)
                        screenshot(page, f"a11y-{slug}-{persona}-{width}-{scheme}")
                page.emulate_media(color_scheme="light")
                problems += _check_popups(page, where)
        finally:
            context.close()
    assert not problems, "axe found critical/serious violations:\n" + "\n".join(problems)


# The focused element's outline and the page background, as WCAG relative luminances.
FOCUS_RING = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const lum = (css) => {
    const [r, g, b] = css.match(/[\\d.]+/g).slice(0, 3).map((c) => {
      const v = Number(c) / 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const bg = getComputedStyle(document.querySelector('.radix-themes')).backgroundColor;
  const [hi, lo] = [lum(style.outlineColor), lum(bg)].sort((a, b) => b - a);
  return {
    label: el.getAttribute('aria-label') || el.textContent,
    inNav: !!el.closest('nav[aria-label=Main]'),
    style: style.outlineStyle,
    width: parseFloat(style.outlineWidth),
    contrast: (hi + 0.05) / (lo + 0.05),
  };
}"""


@pytest.mark.parametrize(
    ("width", "scheme"), [("desktop", "light"), ("desktop", "dark"), ("phone", "light")]
)
def test_main_navigation_shows_where_the_keyboard_focus_is(
    browser: Browser, app_server: RunningApp, width: str, scheme: Literal["light", "dark"]
) -> None:
    context = browser.new_context(viewport=WIDTHS[width], color_scheme=scheme)
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        sign_in(page, app_server, "agent")
        page.goto(f"{app_server.base_url}/today")
        _settle(page)
        seen: list[dict[str, Any]] = []
        for _ in range(8):  # brand link, then the navigation's links
            page.keyboard.press("Tab")
            ring = page.evaluate(FOCUS_RING)
            if ring["inNav"]:
                seen.append(ring)
        assert [r["label"] for r in seen[:3]] == ["Today", "Pipeline", "Calendar"], seen
        for ring in seen:
            assert ring["style"] != "none" and ring["width"] >= 2, ring
            assert ring["contrast"] >= 3, ring  # WCAG 1.4.11: a focus ring is 3:1 or more
    finally:
        context.close()
