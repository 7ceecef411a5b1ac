"""/account: everyone's own profile, password, sessions and two-factor sign-in."""

from __future__ import annotations

from typing import Any

import reflex as rx

from chronos import routes
from chronos.components.layout import app_shell
from chronos.components.timeline import local_time
from chronos.components.ui import error_callout, field, loading_block, page_header
from chronos.db import session_scope
from chronos.models import Role
from chronos.pages.account_tokens import ApiTokensState, api_tokens_section
from chronos.pages.registry import page
from chronos.pages.sign_up import PASSWORD_HINT
from chronos.services import accounts
from chronos.services.accounts import SessionRow
from chronos.services.errors import ChronosError, NotFound, ValidationFailed
from chronos.state.session import SessionState

EVERYONE = frozenset(Role)


class AccountState(SessionState):
    loading: bool = True
    error: str = ""
    email: str = ""
    full_name: str = ""
    # Profile
    profile_errors: dict[str, str] = {}
    profile_saving: bool = False
    # Password
    pw_errors: dict[str, str] = {}
    pw_saving: bool = False
    # Sessions
    sessions: list[SessionRow] = []
    sessions_error: str = ""
    # Two-factor sign-in
    totp_on: bool = False
    totp_pending: bool = False
    totp_qr: str = ""
    totp_secret: str = ""
    totp_error: str = ""
    totp_disable_error: str = ""

    def _forget_account(self) -> None:
        self.email = self.full_name = ""
        self.sessions = []
        self.totp_on = self.totp_pending = False
        self.totp_qr = self.totp_secret = ""

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        self.loading = True
        user, redirect = self._gate(EVERYONE)
        if user is None:
            self._forget_account()
            return redirect
        self.profile_errors, self.pw_errors = {}, {}
        self.totp_error = self.totp_disable_error = self.sessions_error = ""
        try:
            with session_scope() as db:
                self.sessions = accounts.list_my_sessions(db, user, self._cookie_token())
                pending = accounts.pending_totp(db, user)
            self.email, self.full_name = user.email, user.full_name
            self.totp_on = user.totp_enabled_at is not None
            self.totp_pending = pending is not None
            self.totp_qr = pending.qr_svg if pending else ""
            self.totp_secret = pending.secret if pending else ""
            self.error = ""
        except ChronosError as exc:
            self._forget_account()
            self.error = exc.message
        self.loading = False
        return None

    def _refresh_sessions(self, user: Any) -> None:
        with session_scope() as db:
            self.sessions = accounts.list_my_sessions(db, user, self._cookie_token())

    @rx.event
    def save_profile(self, form: dict[str, Any]):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(EVERYONE)
        if user is None:
            self._forget_account()
            return redirect
        self.profile_saving = True
        try:
            with session_scope() as db:
                updated = accounts.update_profile(
                    db, user, full_name=str(form.get("full_name", ""))
                )
                self.full_name = self.user_name = updated.full_name
        except ValidationFailed as exc:
            self.profile_errors, self.profile_saving = exc.errors, False
            return None
        except ChronosError as exc:
            self.profile_errors, self.profile_saving = {"full_name": exc.message}, False
            return None
        self.profile_errors, self.profile_saving = {}, False
        return rx.toast.success("Profile saved.")

    @rx.event
    def change_password(self, form: dict[str, Any]):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(EVERYONE)
        if user is None:
            self._forget_account()
            return redirect
        self.pw_saving = True
        try:
            with session_scope() as db:
                revoked = accounts.change_password(
                    db,
                    user,
                    current=str(form.get("current", "")),
                    new=str(form.get("new", "")),
                    new2=str(form.get("new2", "")),
                    current_token=self._cookie_token(),
                    client=self._client(),
                )
        except ValidationFailed as exc:
            self.pw_errors, self.pw_saving = exc.errors, False
            return None
        except ChronosError as exc:
            self.pw_errors, self.pw_saving = {"current": exc.message}, False
            return None
        self.pw_errors, self.pw_saving = {}, False
        self._refresh_sessions(user)
        others = f" {revoked} other session(s) were signed out." if revoked else ""
        return [
            rx.set_value("pw-current", ""),
            rx.set_value("pw-new", ""),
            rx.set_value("pw-new2", ""),
            rx.toast.success(f"Password changed.{others}"),
        ]

    @rx.event
    def revoke_session(self, session_id: int):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(EVERYONE)
        if user is None:
            self._forget_account()
            return redirect
        try:
            with session_scope() as db:
                accounts.revoke_my_session(
                    db, user, int(session_id), self._cookie_token(), self._client()
                )
        except (NotFound, ChronosError, ValueError) as exc:
            self.sessions_error = getattr(exc, "message", "That session could not be ended.")
            self._refresh_sessions(user)
            return None
        self.sessions_error = ""
        self._refresh_sessions(user)
        return rx.toast.success("That device is signed out.")

    @rx.event
    def revoke_others(self):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(EVERYONE)
        if user is None:
            self._forget_account()
            return redirect
        with session_scope() as db:
            n = accounts.revoke_my_other_sessions(db, user, self._cookie_token(), self._client())
        self.sessions_error = ""
        self._refresh_sessions(user)
        return rx.toast.success(f"Signed out {n} other session(s).")

    @rx.event
    def start_totp(self):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(EVERYONE)
        if user is None:
            self._forget_account()
            return redirect
        try:
            with session_scope() as db:
                setup = accounts.begin_totp(db, user)
        except ChronosError as exc:
            self.totp_error = exc.message
            return None
        self.totp_pending, self.totp_error = True, ""
        self.totp_qr, self.totp_secret = setup.qr_svg, setup.secret
        return None

    @rx.event
    def cancel_totp(self):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(EVERYONE)
        if user is None:
            self._forget_account()
            return redirect
        with session_scope() as db:
            accounts.cancel_totp_setup(db, user)
        self.totp_pending, self.totp_qr, self.totp_secret, self.totp_error = False, "", "", ""
        return None

    @rx.event
    def confirm_totp(self, form: dict[str, Any]):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(EVERYONE)
        if user is None:
            self._forget_account()
            return redirect
        try:
            with session_scope() as db:
                accounts.confirm_totp(db, user, str(form.get("code", "")), self._client())
        except ValidationFailed as exc:
            self.totp_error = exc.errors.get("code", exc.message)
            return None
        except ChronosError as exc:
            self.totp_error = exc.message
            return None
        self.totp_on, self.totp_pending = True, False
        self.totp_qr = self.totp_secret = self.totp_error = ""
        return rx.toast.success("Two-factor sign-in is on.")

    @rx.event
    def disable_totp(self, form: dict[str, Any]):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(EVERYONE)
        if user is None:
            self._forget_account()
            return redirect
        try:
            with session_scope() as db:
                accounts.disable_totp(
                    db,
                    user,
                    str(form.get("password", ""))[:1024],
                    str(form.get("code", ""))[:20],
                    self._client(),
                )
        except ValidationFailed as exc:
            self.totp_disable_error = (
                exc.errors.get("password") or exc.errors.get("code") or exc.message
            )
            return None
        except ChronosError as exc:
            self.totp_disable_error = exc.message
            return None
        self.totp_on, self.totp_disable_error = False, ""
        return [
            rx.set_value("totp-off-password", ""),
            rx.set_value("totp-off-code", ""),
            rx.toast.success("Two-factor sign-in is off."),
        ]


# ---------------------------------------------------------------- sections


def _section(title: str, description: str, *children: rx.Component) -> rx.Component:
    return rx.card(
        rx.flex(
            rx.heading(title, size="4", as_="h2"),
            rx.text(description, size="2", color_scheme="gray"),
            *children,
            direction="column",
            spacing="3",
        ),
        width="100%",
    )


def _submit(label: str, busy: Any = False) -> rx.Component:
    return rx.flex(
        rx.button(
            rx.cond(busy, rx.spinner(size="2"), rx.icon("check", size=16)),
            label,
            type="submit",
            size="2",
            disabled=busy,
        ),
        justify="end",
    )


def _profile() -> rx.Component:
    return _section(
        "Profile",
        "Your name as your colleagues and clients see it.",
        rx.form(
            rx.flex(
                field(
                    "Name",
                    rx.input(
                        name="full_name",
                        id="profile-name",
                        default_value=AccountState.full_name,
                        key=AccountState.full_name,
                        required=True,
                        max_length=200,
                        size="3",
                        width="100%",
                    ),
                    AccountState.profile_errors.get("full_name", ""),
                ),
                field(
                    "Email",
                    rx.flex(
                        rx.text(AccountState.email, size="3"),
                        rx.cond(
                            AccountState.email_verified,
                            rx.badge("Verified", color_scheme="green", variant="soft"),
                            rx.badge("Not verified", color_scheme="amber", variant="soft"),
                        ),
                        spacing="2",
                        align="center",
                        wrap="wrap",
                    ),
                    hint="To use another address, ask your brokerage's admin.",
                ),
                _submit("Save profile", AccountState.profile_saving),
                direction="column",
                spacing="3",
            ),
            on_submit=AccountState.save_profile,
            reset_on_submit=False,
        ),
    )


def _password_input(name: str, autocomplete: str) -> rx.Component:
    return rx.input(
        name=name,
        id=f"pw-{name}",
        type="password",
        required=True,
        auto_complete=autocomplete,
        size="3",
        width="100%",
    )


def _password() -> rx.Component:
    return _section(
        "Password",
        "Changing it signs you out on every other device.",
        rx.form(
            rx.flex(
                field(
                    "Current password",
                    _password_input("current", "current-password"),
                    AccountState.pw_errors.get("current", ""),
                ),
                field(
                    "New password",
                    _password_input("new", "new-password"),
                    AccountState.pw_errors.get("new", ""),
                    hint=PASSWORD_HINT,
                ),
                field(
                    "New password again",
                    _password_input("new2", "new-password"),
                    AccountState.pw_errors.get("new2", ""),
                ),
                _submit("Change password", AccountState.pw_saving),
                direction="column",
                spacing="3",
            ),
            on_submit=AccountState.change_password,
            reset_on_submit=False,
        ),
    )


def _code_input(input_id: str) -> rx.Component:
    """A 6-digit authenticator code (phones offer the code from the app or a text)."""
    return rx.input(
        name="code",
        id=input_id,
        input_mode="numeric",
        auto_complete="one-time-code",
        max_length=7,
        required=True,
        size="3",
        width="100%",
    )


def _two_factor() -> rx.Component:
    enrol = rx.flex(
        rx.text(
            "1. Scan this code with an authenticator app (Google Authenticator, 1Password, "
            "Authy, …), or type the key by hand.",
            size="2",
        ),
        rx.center(
            rx.image(
                src=AccountState.totp_qr,
                alt="QR code for your authenticator app",
                width="200px",
                height="200px",
                background="white",
                border_radius="8px",
            ),
        ),
        rx.flex(
            rx.text("Key:", size="2", color_scheme="gray"),
            rx.code(AccountState.totp_secret, id="totp-secret", style={"wordBreak": "break-all"}),
            spacing="2",
            align="center",
            wrap="wrap",
        ),
        rx.form(
            rx.flex(
                field(
                    "2. Enter the 6-digit code it shows",
                    _code_input("totp-code"),
                    AccountState.totp_error,
                ),
                rx.flex(
                    rx.button(
                        "Cancel",
                        type="button",
                        variant="soft",
                        color_scheme="gray",
                        on_click=AccountState.cancel_totp,
                    ),
                    rx.button(rx.icon("shield_check", size=16), "Turn on", type="submit"),
                    justify="end",
                    spacing="2",
                ),
                direction="column",
                spacing="3",
            ),
            on_submit=AccountState.confirm_totp,
            reset_on_submit=True,
        ),
        direction="column",
        spacing="3",
    )
    on = rx.form(
        rx.flex(
            rx.callout(
                "Two-factor sign-in is on: signing in asks for a code from your app.",
                icon="shield_check",
                color_scheme="green",
                width="100%",
            ),
            field(
                "Your password, to turn it off",
                rx.input(
                    name="password",
                    id="totp-off-password",
                    type="password",
                    auto_complete="current-password",
                    required=True,
                    size="3",
                    width="100%",
                ),
            ),
            field(
                "A code from your authenticator app",
                _code_input("totp-off-code"),
                AccountState.totp_disable_error,
            ),
            rx.flex(
                rx.button(
                    "Turn off two-factor sign-in", type="submit", color_scheme="red", variant="soft"
                ),
                justify="end",
            ),
            direction="column",
            spacing="3",
        ),
        on_submit=AccountState.disable_totp,
        reset_on_submit=False,
    )
    off = rx.flex(
        rx.cond(AccountState.totp_error, error_callout(AccountState.totp_error)),
        rx.flex(
            rx.button(
                rx.icon("smartphone", size=16),
                "Set up two-factor sign-in",
                on_click=AccountState.start_totp,
                id="totp-start",
            ),
            justify="start",
        ),
        direction="column",
        spacing="3",
    )
    return _section(
        "Two-factor sign-in",
        "Optional: after your password, sign-in also asks for a code from an app on your phone.",
        rx.cond(AccountState.totp_on, on, rx.cond(AccountState.totp_pending, enrol, off)),
    )


def _session_row(s: SessionRow) -> rx.Component:
    return rx.flex(
        rx.flex(
            rx.flex(
                rx.icon("monitor_smartphone", size=16),
                rx.text(s.device, weight="medium", size="2"),
                rx.cond(
                    s.current,
                    rx.badge("This device", color_scheme="green", variant="soft", size="1"),
                ),
                spacing="2",
                align="center",
                wrap="wrap",
            ),
            rx.text(
                rx.cond(s.ip_address, s.ip_address, "unknown address"),
                " · last active ",
                local_time(s.last_seen_at),
                " · signed in ",
                local_time(s.created_at),
                size="1",
                color_scheme="gray",
            ),
            direction="column",
            spacing="1",
            min_width="0",
        ),
        rx.cond(
            s.current,
            rx.fragment(),
            rx.button(
                "Sign out",
                size="1",
                variant="soft",
                color_scheme="red",
                on_click=AccountState.revoke_session(s.id),  # type: ignore[call-arg]
                aria_label="Sign out this device",
            ),
        ),
        justify="between",
        align="center",
        spacing="3",
        padding_y="10px",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        width="100%",
    )


def _sessions() -> rx.Component:
    return _section(
        "Where you are signed in",
        "Sign out any device you do not recognise, then change your password.",
        rx.cond(AccountState.sessions_error, error_callout(AccountState.sessions_error)),
        rx.box(rx.foreach(AccountState.sessions, _session_row), width="100%"),
        rx.cond(
            AccountState.sessions.length() > 1,
            rx.flex(
                rx.button(
                    "Sign out all other devices",
                    variant="soft",
                    color_scheme="red",
                    on_click=AccountState.revoke_others,
                ),
                justify="end",
            ),
        ),
    )


def _appearance() -> rx.Component:
    return _section(
        "Appearance and notifications",
        "Dark mode follows this switch in this browser. Reminders and the daily digest have "
        "their own settings.",
        rx.el.label(
            rx.flex(
                rx.color_mode.switch(),
                rx.text("Dark mode", size="2"),
                spacing="2",
                align="center",
            )
        ),
        rx.link("Notification settings", href=routes.NOTIFICATIONS, size="2"),
    )


def _content() -> rx.Component:
    return rx.cond(
        AccountState.loading & (AccountState.email == ""),
        loading_block("Loading your account…"),
        rx.cond(
            AccountState.error,
            error_callout(AccountState.error),
            rx.grid(
                _profile(),
                _password(),
                _two_factor(),
                _sessions(),
                _appearance(),
                api_tokens_section(),
                columns=rx.breakpoints(initial="1", md="2"),
                spacing="4",
                width="100%",
            ),
        ),
    )


@page(routes.ACCOUNT, "Your account", on_load=[AccountState.load, ApiTokensState.load])
def account_page() -> rx.Component:
    return app_shell(
        page_header("Your account", subtitle=AccountState.email),
        _content(),
        active="account",
        user_name=AccountState.user_name,
        role_label=AccountState.role_label,
        is_staff=AccountState.is_staff,
        signed_in=AccountState.signed_in,
    )
