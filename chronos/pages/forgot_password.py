"""Forgot password: a plain form POSTed to /auth/forgot-password (same answer for every
address; the link arrives only if it belongs to an account)."""

from __future__ import annotations

import reflex as rx

from chronos import routes
from chronos.components.layout import api_url, auth_card
from chronos.components.native_form import native_form
from chronos.components.ui import error_callout
from chronos.pages.registry import page
from chronos.pages.sign_in import labelled, query_error
from chronos.state.session import SessionState


class ForgotPasswordState(SessionState):
    email: str = ""
    sent: bool = False
    error: str = ""

    @rx.event
    def load(self) -> None:
        params = self.router.url.query_parameters
        self.email = str(params.get("email", ""))[:254]
        self.sent = bool(params.get("sent"))
        self.error = query_error(params)


@page(routes.FORGOT_PASSWORD, "Reset your password", on_load=ForgotPasswordState.load)
def forgot_password_page() -> rx.Component:
    return auth_card(
        rx.heading("Reset your password", size="6", as_="h1"),
        rx.cond(
            ForgotPasswordState.sent,
            rx.callout(
                "If an account uses that address, we have emailed it a link to choose a new "
                "password. The link works for one hour. Nothing arrived? Check your spam folder.",
                icon="mail_check",
                color_scheme="green",
                role="status",
                width="100%",
            ),
            native_form(
                rx.flex(
                    rx.text(
                        "Enter the email address you sign in with; we will send you a link to "
                        "choose a new password.",
                        size="2",
                        color_scheme="gray",
                    ),
                    rx.cond(ForgotPasswordState.error, error_callout(ForgotPasswordState.error)),
                    labelled(
                        "Email",
                        rx.input(
                            name="email",
                            type="email",
                            default_value=ForgotPasswordState.email,
                            key=ForgotPasswordState.email,
                            auto_complete="username",
                            required=True,
                            size="3",
                            id="email",
                        ),
                    ),
                    rx.button("Email me a reset link", type="submit", size="3", width="100%"),
                    direction="column",
                    spacing="4",
                ),
                action=api_url(routes.FORGOT_PASSWORD_API),
                method="post",
            ),
        ),
        rx.link("Back to sign in", href=routes.SIGN_IN, size="2"),
    )
