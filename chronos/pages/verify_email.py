"""The link in the verification email: /verify-email?token=... verifies on load."""

from __future__ import annotations

import reflex as rx

from chronos import routes
from chronos.components.layout import auth_card
from chronos.components.ui import error_callout, loading_block
from chronos.db import session_scope
from chronos.pages.registry import page
from chronos.services import accounts
from chronos.state.session import SessionState


class VerifyEmailState(SessionState):
    loading: bool = True
    verified: bool = False
    message: str = ""
    error: str = ""
    continue_to: str = routes.SIGN_IN

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        self.loading = True
        token = str(self.router.url.query_parameters.get("token", ""))
        try:
            with session_scope() as db:
                result = accounts.verify_email(db, token, self._client())
            self.verified, self.error = True, ""
            self.message = (
                f"{result.email} was already verified. You are all set."
                if result.already
                else f"Thank you: {result.email} is verified."
            )
        except accounts.TokenRefused as exc:
            self.verified, self.message, self.error = False, "", exc.message
        user = self._actor()  # after verifying, so the banner goes away at once
        self.continue_to = routes.home_for(user.role) if user else routes.SIGN_IN
        self.loading = False


@page(routes.VERIFY_EMAIL, "Verify your email", on_load=VerifyEmailState.load)
def verify_email_page() -> rx.Component:
    return auth_card(
        rx.heading("Verify your email", size="6", as_="h1"),
        rx.cond(
            VerifyEmailState.loading,
            loading_block("Checking your link…"),
            rx.cond(
                VerifyEmailState.verified,
                rx.callout(
                    VerifyEmailState.message,
                    icon="circle_check",
                    color_scheme="green",
                    role="status",
                    width="100%",
                ),
                rx.flex(
                    error_callout(VerifyEmailState.error),
                    rx.text(
                        "Signed in? Use “Resend email” in the banner at the top of any page "
                        "to get a new link.",
                        size="2",
                        color_scheme="gray",
                    ),
                    direction="column",
                    spacing="3",
                ),
            ),
        ),
        rx.cond(
            ~VerifyEmailState.loading,
            rx.link(
                rx.button(
                    rx.cond(VerifyEmailState.signed_in, "Continue to Chronos", "Sign in"),
                    size="3",
                    width="100%",
                ),
                href=VerifyEmailState.continue_to,
                width="100%",
            ),
        ),
    )
