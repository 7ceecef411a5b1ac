"""Sign-in: a plain HTML form POSTed to /auth/sign-in, which sets the HttpOnly cookie."""

from __future__ import annotations

import reflex as rx

from chronos import routes
from chronos.components.layout import api_url, brand
from chronos.components.native_form import native_form
from chronos.components.ui import error_callout, notice_callout
from chronos.pages.registry import page
from chronos.state.session import SessionState


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
        self.error = "Email or password is incorrect." if params.get("error") == "invalid" else ""
        self.notice = "You are signed out." if params.get("signed_out") else ""
        user = self._actor()
        if user is not None:
            return rx.redirect(self.next_path or routes.home_for(user.role), replace=True)
        return None


@page(routes.SIGN_IN, "Sign in", on_load=SignInState.load)
def sign_in_page() -> rx.Component:
    return rx.center(
        rx.card(
            native_form(
                rx.flex(
                    brand(),
                    rx.heading("Sign in", size="6", as_="h1"),
                    rx.text(
                        "Your deals, key dates and documents in one place.",
                        color_scheme="gray",
                        size="2",
                    ),
                    rx.cond(SignInState.error, error_callout(SignInState.error)),
                    rx.cond(SignInState.notice, notice_callout(SignInState.notice)),
                    rx.el.label(
                        rx.text("Email", size="2", weight="medium"),
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
                        style={"display": "flex", "flexDirection": "column", "gap": "4px"},
                    ),
                    rx.el.label(
                        rx.text("Password", size="2", weight="medium"),
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
            size="4",
            width="100%",
            max_width="420px",
        ),
        min_height="100vh",
        padding="16px",
        background=rx.color("gray", 2),
    )
