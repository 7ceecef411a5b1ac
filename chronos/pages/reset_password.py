"""The link in the reset email: /reset-password?token=... A plain form POSTed to
/auth/reset-password sets the new password, signs out every session and signs in."""

from __future__ import annotations

import reflex as rx

from chronos import routes
from chronos.components.layout import api_url, auth_card
from chronos.components.native_form import native_form
from chronos.components.ui import error_callout, loading_block
from chronos.db import session_scope
from chronos.pages.registry import page
from chronos.pages.sign_in import labelled
from chronos.pages.sign_up import PASSWORD_HINT
from chronos.services import accounts, passwords
from chronos.state.session import SessionState

_TOKEN_ERRORS = {
    f"token_{status}": text
    for status, text in accounts.TOKEN_MESSAGES[accounts.RESET_PASSWORD].items()
}


class ResetPasswordState(SessionState):
    loading: bool = True
    token: str = ""
    usable: bool = False  # the link is valid: show the form
    error: str = ""

    @rx.event
    def load(self) -> None:
        self.loading = True
        params = self.router.url.query_parameters
        self.token = str(params.get("token", ""))[:200]
        code = str(params.get("error", ""))
        self.error = _TOKEN_ERRORS.get(code) or accounts.message_for(code)
        if code in _TOKEN_ERRORS:
            self.usable = False
        else:
            try:
                with session_scope() as db:
                    accounts.check_reset_token(db, self.token)
                self.usable = True
            except accounts.TokenRefused as exc:
                self.usable, self.error = False, exc.message
        self.loading = False


@page(routes.RESET_PASSWORD, "Choose a new password", on_load=ResetPasswordState.load)
def reset_password_page() -> rx.Component:
    form = native_form(
        rx.flex(
            rx.cond(ResetPasswordState.error, error_callout(ResetPasswordState.error)),
            labelled(
                "New password",
                rx.input(
                    name="password",
                    type="password",
                    required=True,
                    min_length=passwords.MIN_LENGTH,
                    auto_complete="new-password",
                    size="3",
                    id="password",
                ),
                PASSWORD_HINT,
            ),
            labelled(
                "New password again",
                rx.input(
                    name="password2",
                    type="password",
                    required=True,
                    auto_complete="new-password",
                    size="3",
                    id="password2",
                ),
            ),
            rx.el.input(type="hidden", name="token", value=ResetPasswordState.token),
            rx.text(
                "Setting a new password signs you out on every other device.",
                size="1",
                color_scheme="gray",
            ),
            rx.button("Set new password", type="submit", size="3", width="100%"),
            direction="column",
            spacing="4",
        ),
        action=api_url(routes.RESET_PASSWORD_API),
        method="post",
        custom_attrs={"data-chronos-auth": "1"},
    )
    return auth_card(
        rx.heading("Choose a new password", size="6", as_="h1"),
        rx.cond(
            ResetPasswordState.loading,
            loading_block("Checking your link…"),
            rx.cond(
                ResetPasswordState.usable,
                form,
                rx.flex(
                    error_callout(ResetPasswordState.error),
                    rx.link(
                        rx.button("Ask for a new link", size="3", width="100%"),
                        href=routes.FORGOT_PASSWORD,
                        width="100%",
                    ),
                    direction="column",
                    spacing="3",
                ),
            ),
        ),
        rx.link("Back to sign in", href=routes.SIGN_IN, size="2"),
    )
