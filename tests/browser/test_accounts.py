"""Account journeys in Chromium: sign up → verify through the dev mailbox → sign in; forgot
password → reset; the account page with two-factor sign-in; the admins' security log."""

from __future__ import annotations

import re
import time
import uuid
from urllib.parse import quote

import pyotp
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import DESKTOP, PHONE, RunningApp, link_in, newest_email, screenshot

pytestmark = pytest.mark.browser
PASSWORD = "lantern-orchid-velvet"
NEW_PASSWORD = "copper-kettle-meadow"


def _new_email(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:8]}@bayside.example"


def _sign_up(page: Page, app: RunningApp, email: str, *, shots: str = "") -> None:
    page.goto(f"{app.base_url}/sign-up")
    expect(page.get_by_role("heading", name="Create a brokerage account")).to_be_visible()
    page.wait_for_load_state("networkidle")
    if shots:
        screenshot(page, f"{shots}-desktop")
        page.set_viewport_size(PHONE)
        screenshot(page, f"{shots}-phone")
        page.set_viewport_size(DESKTOP)
    page.locator("#signup-org_name").fill("Bayside Homes")
    page.locator("#signup-full_name").fill("Frances Founder")
    page.locator("#signup-email").fill(email)
    page.locator("#signup-password").fill(PASSWORD)
    page.locator("#signup-password2").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/pipeline/?\?welcome=1$"))


def _open_mail(page: Page, app: RunningApp, email: str, subject: str, link_part: str) -> str:
    """Follow the link containing ``link_part`` in the newest email ``subject`` to ``email``;
    returns that link."""
    href = link_in(newest_email(app, email, f"%{subject}%"), app, link_part)
    page.goto(href)
    return href


def _sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/sign-in/?\?signed_out=1"))


def _sign_in(page: Page, app: RunningApp, email: str, password: str) -> None:
    # The email in the URL: the field is refilled with it once the page has loaded, so a
    # value typed before then is never replaced by the previous attempt's.
    page.goto(f"{app.base_url}/sign-in?email={quote(email)}")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/sign-in" not in url or "error=" in url)


def test_sign_up_verify_through_the_mailbox_then_sign_in(
    page: Page, app_server: RunningApp
) -> None:
    email = _new_email("founder")
    _sign_up(page, app_server, email, shots="sign-up")
    banner = page.get_by_role("status").filter(has_text="Verify your email address")
    expect(banner).to_be_visible()
    screenshot(page, "pipeline-unverified-banner-desktop")

    href = _open_mail(
        page, app_server, email, "Verify your email address for Chronos", "/verify-email"
    )
    expect(page.get_by_text(f"{email} is verified")).to_be_visible()
    screenshot(page, "verify-email-done-desktop")
    page.get_by_role("button", name="Continue to Chronos").click()
    expect(page).to_have_url(re.compile(r"/pipeline/?$"))
    expect(page.get_by_role("heading", name="Pipeline")).to_be_visible()
    expect(page.get_by_text("Verify your email address.")).to_have_count(0)

    _sign_out(page)
    _sign_in(page, app_server, email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/pipeline/?$"))

    # the same link a second time: a clear, friendly answer
    page.goto(href)
    expect(page.get_by_text(f"{email} was already verified")).to_be_visible()


def test_a_bad_verification_link_says_so(page: Page, app_server: RunningApp) -> None:
    page.goto(f"{app_server.base_url}/verify-email?token=forged-token")
    expect(page.get_by_role("alert")).to_contain_text("This verification link is not valid")


def test_forgot_password_then_reset_through_the_mailbox(page: Page, app_server: RunningApp) -> None:
    email = _new_email("resetter")
    _sign_up(page, app_server, email)
    _sign_out(page)

    page.get_by_role("link", name="Forgot password?").click()
    expect(page).to_have_url(re.compile(r"/forgot-password/?$"))
    # The page's loader fills the field from the URL when it lands: typed before that, the
    # address can be replaced by an empty one (and the required field then blocks the POST).
    expect(page.get_by_role("button", name="Email me a reset link")).to_be_enabled()
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(500)
    page.locator("#email").fill(email)
    expect(page.locator("#email")).to_have_value(email)
    page.get_by_role("button", name="Email me a reset link").click()
    expect(page.get_by_text("If an account uses that address")).to_be_visible()
    screenshot(page, "forgot-password-sent-desktop")

    href = _open_mail(page, app_server, email, "Reset your Chronos password", "/reset-password")
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.locator("#password").fill("password123")
    page.locator("#password2").fill("password123")
    page.get_by_role("button", name="Set new password").click()
    expect(page.get_by_role("alert")).to_contain_text("one of the most common passwords")
    page.locator("#password").fill(NEW_PASSWORD)
    page.locator("#password2").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set new password").click()
    expect(page).to_have_url(re.compile(r"/pipeline/?\?reset=1$"))
    expect(page.get_by_role("heading", name="Pipeline")).to_be_visible()

    # the link works once
    page.goto(href)
    expect(page.get_by_role("alert")).to_contain_text("already used")
    expect(page.get_by_role("button", name="Ask for a new link")).to_be_visible()

    page.goto(f"{app_server.base_url}/account")
    _sign_out(page)
    _sign_in(page, app_server, email, PASSWORD)
    expect(page.get_by_role("alert")).to_contain_text("Email or password is incorrect")
    _sign_in(page, app_server, email, NEW_PASSWORD)
    expect(page).to_have_url(re.compile(r"/pipeline/?$"))


def test_account_page_two_factor_and_security_log(page: Page, app_server: RunningApp) -> None:
    email = _new_email("twofactor")
    _sign_up(page, app_server, email)
    page.goto(f"{app_server.base_url}/account")
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    expect(page.get_by_text("This device")).to_be_visible()
    page.wait_for_load_state("networkidle")
    screenshot(page, "account-desktop")
    page.set_viewport_size(PHONE)
    screenshot(page, "account-phone")
    page.emulate_media(color_scheme="dark")
    page.reload()
    expect(page.get_by_text("This device")).to_be_visible()
    page.wait_for_load_state("networkidle")
    screenshot(page, "account-phone-dark")
    page.emulate_media(color_scheme="light")
    page.set_viewport_size(DESKTOP)

    page.get_by_role("button", name="Set up two-factor sign-in").click()
    secret_box = page.locator("#totp-secret")
    expect(secret_box).to_be_visible()
    expect(page.get_by_alt_text("QR code for your authenticator app")).to_be_visible()
    screenshot(page, "account-two-factor-setup-desktop")
    totp = pyotp.TOTP(secret_box.inner_text().strip())
    page.locator("#totp-code").fill("000000")
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_text("That code is not correct")).to_be_visible()
    page.locator("#totp-code").fill(totp.now())
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_text("Two-factor sign-in is on: signing in")).to_be_visible()

    _sign_out(page)
    _sign_in(page, app_server, email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/two-factor"))
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    page.wait_for_load_state("networkidle")
    screenshot(page, "two-factor-desktop")
    page.set_viewport_size(PHONE)
    screenshot(page, "two-factor-phone")
    page.set_viewport_size(DESKTOP)
    page.locator("#code").fill("000000")
    page.get_by_role("button", name="Verify and sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("That code is not correct")
    # the enrolment code's step is used: the next step's code is within the window
    page.locator("#code").fill(totp.at(time.time() + 30))
    page.get_by_role("button", name="Verify and sign in").click()
    expect(page).to_have_url(re.compile(r"/pipeline/?$"))

    # Turning it off takes the password and a current code: the code just used is refused.
    page.goto(f"{app_server.base_url}/account")
    page.locator("#totp-off-password").fill(PASSWORD)
    page.locator("#totp-off-code").fill(totp.at(time.time() + 30))
    page.get_by_role("button", name="Turn off two-factor sign-in").click()
    expect(page.get_by_text("That code is not correct")).to_be_visible()
    expect(page.get_by_text("Two-factor sign-in is on: signing in")).to_be_visible()
    screenshot(page, "account-two-factor-off-refused-desktop")
    page.set_viewport_size(PHONE)
    screenshot(page, "account-two-factor-off-refused-phone")
    page.set_viewport_size(DESKTOP)

    page.goto(f"{app_server.base_url}/admin/security")
    expect(page.get_by_role("heading", name="Security log")).to_be_visible()
    expect(page.get_by_text("Two-factor sign-in on").first).to_be_visible()
    expect(page.get_by_text("Wrong two-factor code").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    screenshot(page, "admin-security-desktop")
    page.set_viewport_size(PHONE)
    screenshot(page, "admin-security-phone")


def test_sign_in_lockout_message(page: Page, app_server: RunningApp) -> None:
    email = "nobody-here@bayside.example"
    for _ in range(5):
        _sign_in(page, app_server, email, "wrong-password-1")
    expect(page.get_by_role("alert")).to_contain_text("Too many failed sign-ins for this account")
    screenshot(page, "sign-in-locked-desktop")
