"""Sign-in: a plain HTML form POSTed to /auth/sign-in, which sets the HttpOnly cookie."""

from __future__ import annotations

import reflex as rx

from chronos import routes
from chronos.components.layout import api_url, auth_card
from chronos.components.native_form import native_form
from chronos.components.ui import error_callout, notice_callout
from chronos.pages.registry import page
from chronos.services import accounts, rate_limit
from chronos.state.session import SessionState


def query_error(params: dict[str, str]) -> str:
    """The message for ``?error=<code>`` (and ``limit``/``retry`` for rate limits)."""
    code = str(params.get("error", ""))
    if code == "limited":
        return rate_limit.message_for(str(params.get("limit", "")), params.get("retry", ""))
    return accounts.message_for(code)


class SignInState(SessionState):
    email: str = ""
    next_path: str = ""
    error: str = ""
    notice: str = ""

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        params = self.router.url.query_parameters
        self.email = str(params.get("email", ""))[:254]
        self.next_path = routes.safe_next(str(params.get("next", ""))) or ""
        self.error = query_error(params)
        if params.get("signed_out"):
            self.notice = "You are signed out."
        elif params.get("reset"):
            self.notice = "Your password was changed. Sign in with the new one."
        else:
            self.notice = ""
        user = self._actor()
        if user is not None:
            return rx.redirect(self.next_path or routes.home_for(user.role), replace=True)
        return None


def labelled(label: str, control: rx.Component, hint: str = "") -> rx.Component:
    return rx.el.label(
        rx.text(label, size="2", weight="medium"),
        control,
        rx.cond(hint != "", rx.text(hint, size="1", color_scheme="gray")),
        style={"display": "flex", "flexDirection": "column", "gap": "4px"},
    )


@page(routes.SIGN_IN, "Sign in", on_load=SignInState.load)
def sign_in_page() -> rx.Component:
    return auth_card(
        native_form(
            rx.flex(
                rx.heading("Sign in", size="6", as_="h1"),
                rx.text(
                    "Your deals, key dates and documents in one place.",
                    color_scheme="gray",
                    size="2",
                ),
                rx.cond(SignInState.error, error_callout(SignInState.error)),
                rx.cond(SignInState.notice, notice_callout(SignInState.notice)),
                labelled(
                    "Email",
                    rx.input(
                        name="email",
                        type="email",
                        # Uncontrolled: what someone types (or autofills) before the page
                        # has hydrated must survive hydration. The key remounts the field
                        # only when a failed attempt hands the email back.
                        default_value=SignInState.email,
                        key=SignInState.email,
                        auto_complete="username",
                        required=True,
                        size="3",
                        id="email",
                    ),
                ),
                rx.el.label(
                    rx.flex(
                        rx.text("Password", size="2", weight="medium"),
                        rx.link("Forgot password?", href=routes.FORGOT_PASSWORD, size="2"),
                        justify="between",
                        align="center",
                    ),
                    rx.input(
                        name="password",
                        type="password",
                        auto_complete="current-password",
                        required=True,
                        size="3",
                        id="password",
                    ),
                    style={"display": "flex", "flexDirection": "column", "gap": "4px"},
                ),
                rx.el.input(type="hidden", name="next", value=SignInState.next_path),
                rx.button("Sign in", type="submit", size="3", width="100%"),
                direction="column",
                spacing="4",
            ),
            action=api_url(routes.SIGN_IN_API),
            method="post",
            custom_attrs={"data-chronos-auth": "1"},
        ),
        rx.separator(size="4"),
        rx.text(
            "New to Chronos? ",
            rx.link("Create a brokerage account", href=routes.SIGN_UP),
            size="2",
            color_scheme="gray",
        ),
    )
