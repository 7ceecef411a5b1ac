"""The second sign-in step for accounts with two-factor sign-in: a plain form POSTed to
/auth/two-factor with the authenticator code (the pending step is an HttpOnly cookie)."""

from __future__ import annotations

import reflex as rx

from chronos import routes
from chronos.components.layout import api_url, auth_card
from chronos.components.native_form import native_form
from chronos.components.ui import error_callout
from chronos.pages.registry import page
from chronos.pages.sign_in import labelled, query_error
from chronos.state.session import SessionState


class TwoFactorState(SessionState):
    next_path: str = ""
    error: str = ""

    @rx.event
    def load(self) -> None:
        params = self.router.url.query_parameters
        self.next_path = routes.safe_next(str(params.get("next", ""))) or ""
        self.error = query_error(params)


@page(routes.TWO_FACTOR, "Two-factor sign-in", on_load=TwoFactorState.load)
def two_factor_page() -> rx.Component:
    return auth_card(
        native_form(
            rx.flex(
                rx.heading("Enter your code", size="6", as_="h1"),
                rx.text(
                    "Open your authenticator app and enter the 6-digit code for Chronos.",
                    color_scheme="gray",
                    size="2",
                ),
                rx.cond(TwoFactorState.error, error_callout(TwoFactorState.error)),
                labelled(
                    "Code",
                    rx.input(
                        name="code",
                        id="code",
                        input_mode="numeric",
                        pattern="[0-9 ]*",
                        auto_complete="one-time-code",
                        max_length=7,
                        required=True,
                        auto_focus=True,
                        size="3",
                        placeholder="123456",
                    ),
                ),
                rx.el.input(type="hidden", name="next", value=TwoFactorState.next_path),
                rx.button("Verify and sign in", type="submit", size="3", width="100%"),
                direction="column",
                spacing="4",
            ),
            action=api_url(routes.TWO_FACTOR_API),
            method="post",
            custom_attrs={"data-chronos-auth": "1"},
        ),
        rx.link("Start over", href=routes.SIGN_IN, size="2"),
    )
