"""Sign-up: a new brokerage and its first admin. A plain form POSTed to /auth/sign-up, which
creates both, emails the verification link and signs the new admin in."""

from __future__ import annotations

import reflex as rx

from chronos import routes
from chronos.components.layout import api_url, auth_card
from chronos.components.native_form import native_form
from chronos.components.ui import error_callout
from chronos.pages.registry import page
from chronos.pages.sign_in import labelled, query_error
from chronos.services import passwords
from chronos.state.session import SessionState

PASSWORD_HINT = (
    f"At least {passwords.MIN_LENGTH} characters. A few unrelated words make a strong, "
    "memorable password; no symbols needed."
)


class SignUpState(SessionState):
    org_name: str = ""
    full_name: str = ""
    email: str = ""
    error: str = ""

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        params = self.router.url.query_parameters
        self.org_name = str(params.get("org_name", ""))[:200]
        self.full_name = str(params.get("full_name", ""))[:200]
        self.email = str(params.get("email", ""))[:254]
        self.error = query_error(params)
        user = self._actor()
        if user is not None:
            return rx.redirect(routes.home_for(user.role), replace=True)
        return None


def _input(name: str, value: rx.Var | None = None, **props: object) -> rx.Component:
    if value is not None:
        # Uncontrolled, refilled after a refused attempt (the key remounts it then).
        props.update(default_value=value, key=value)
    return rx.input(name=name, id=f"signup-{name}", size="3", width="100%", **props)


@page(routes.SIGN_UP, "Create a brokerage account", on_load=SignUpState.load)
def sign_up_page() -> rx.Component:
    return auth_card(
        native_form(
            rx.flex(
                rx.heading("Create a brokerage account", size="6", as_="h1"),
                rx.text(
                    "Set up your brokerage and become its first admin. You can invite your "
                    "agents and coordinators next.",
                    color_scheme="gray",
                    size="2",
                ),
                rx.cond(SignUpState.error, error_callout(SignUpState.error)),
                labelled(
                    "Brokerage name",
                    _input(
                        "org_name",
                        SignUpState.org_name,
                        required=True,
                        max_length=200,
                        auto_complete="organization",
                        placeholder="Harbor Realty",
                    ),
                ),
                labelled(
                    "Your name",
                    _input(
                        "full_name",
                        SignUpState.full_name,
                        required=True,
                        max_length=200,
                        auto_complete="name",
                    ),
                ),
                labelled(
                    "Work email",
                    _input(
                        "email",
                        SignUpState.email,
                        type="email",
                        required=True,
                        auto_complete="email",
                    ),
                    "We send a link to confirm it.",
                ),
                labelled(
                    "Password",
                    _input(
                        "password",
                        type="password",
                        required=True,
                        min_length=passwords.MIN_LENGTH,
                        auto_complete="new-password",
                    ),
                    PASSWORD_HINT,
                ),
                labelled(
                    "Password again",
                    _input(
                        "password2",
                        type="password",
                        required=True,
                        auto_complete="new-password",
                    ),
                ),
                rx.button("Create account", type="submit", size="3", width="100%"),
                direction="column",
                spacing="4",
            ),
            action=api_url(routes.SIGN_UP_API),
            method="post",
            custom_attrs={"data-chronos-auth": "1"},
        ),
        rx.separator(size="4"),
        rx.text(
            "Already have an account? ",
            rx.link("Sign in", href=routes.SIGN_IN),
            size="2",
            color_scheme="gray",
        ),
        width="480px",
    )
