"""Accept an invitation (/invitation?token=...): a native form POSTed to the accept route,
which creates or links the login, sets the HttpOnly cookie and lands on the right page."""

from __future__ import annotations

import reflex as rx

from chronos import routes
from chronos.components.layout import api_url, brand
from chronos.components.native_form import native_form
from chronos.components.ui import error_callout, loading_block, notice_callout
from chronos.db import session_scope
from chronos.pages.registry import page
from chronos.services import invitations
from chronos.state.session import SessionState

# Messages for the error codes the accept route puts in the URL (never free text from it).
ERRORS = {
    **invitations.REFUSALS,
    "password": "That password is not right for this account. Try again.",
    "role": "This invitation is for a different kind of account than yours. Ask for a new one.",
    "weak": "Choose a stronger password: at least 10 characters that are not easy to guess.",
    "mismatch": "The two passwords do not match.",
    "name": "Tell us your name.",
    "limited": "Too many attempts for this account or from your network. Try again in 15 minutes.",
    "conflict": "Something changed while you were accepting. Reload the page and try again.",
    "failed": "That did not work. Check the form and try again.",
}
SIGN_IN_NOTICE = (
    "Invitation accepted. Your account uses two-factor sign-in, so sign in with your password "
    "and code to continue."
)


class AcceptInvitationState(SessionState):
    token: str = ""
    status: str = ""  # "" while loading; invalid | pending | accepted | revoked | expired
    message: str = ""
    error: str = ""
    notice: str = ""
    org_name: str = ""
    inviter_name: str = ""
    role_label: str = ""
    email: str = ""
    full_name: str = ""
    transaction_address: str = ""
    account_exists: bool = False
    signed_in_as_invitee: bool = False

    @rx.event
    def load(self) -> None:
        params = self.router.url.query_parameters
        self.token = str(params.get("token", ""))[:200]
        code = str(params.get("error", ""))
        self.error = ERRORS.get(code, ERRORS["failed"]) if code else ""
        self.notice = SIGN_IN_NOTICE if params.get("done") == "sign_in" else ""
        with session_scope() as db:
            view = invitations.lookup(db, self.token)
        user = self._actor()
        self.status, self.message = view.status, view.message
        self.org_name, self.inviter_name = view.org_name, view.inviter_name
        self.role_label, self.email, self.full_name = view.role_label, view.email, view.full_name
        self.transaction_address = view.transaction_address
        self.account_exists = view.account_exists
        self.signed_in_as_invitee = bool(
            user is not None and view.email and user.email == view.email
        )
        if self.notice or self.status != "pending":
            # A refused code repeats what the status already says: show one message.
            self.error = "" if code in invitations.REFUSALS else self.error


def _input(name: str, label: str, **props: object) -> rx.Component:
    return rx.el.label(
        rx.text(label, size="2", weight="medium"),
        rx.input(name=name, id=f"invite-{name}", size="3", width="100%", **props),
        style={"display": "flex", "flexDirection": "column", "gap": "4px"},
    )


S = AcceptInvitationState


def _what() -> rx.Component:
    return rx.flex(
        rx.heading(
            rx.cond(S.transaction_address, "Follow your transaction", "Join " + S.org_name),
            size="6",
            as_="h1",
        ),
        rx.text(
            rx.cond(S.inviter_name, rx.text.strong(S.inviter_name), "Someone"),
            " of ",
            S.org_name,
            " invited you",
            rx.cond(
                S.transaction_address,
                rx.fragment(" to ", rx.text.strong(S.transaction_address)),
                " to the brokerage",
            ),
            " as ",
            S.role_label.lower(),  # type: ignore[attr-defined]
            ".",
            size="2",
        ),
        rx.text("Invitation for ", rx.text.strong(S.email), size="2", color_scheme="gray"),
        direction="column",
        spacing="2",
    )


def _new_account_fields() -> rx.Component:
    return rx.flex(
        _input(
            "full_name",
            "Your name",
            default_value=S.full_name,
            key=S.full_name,
            auto_complete="name",
            required=True,
        ),
        _input(
            "password",
            "Choose a password",
            type="password",
            auto_complete="new-password",
            required=True,
            min_length=10,
        ),
        rx.text("At least 10 characters.", size="1", color_scheme="gray"),
        _input(
            "confirm",
            "Repeat the password",
            type="password",
            auto_complete="new-password",
            required=True,
        ),
        direction="column",
        spacing="3",
    )


def _existing_account_fields() -> rx.Component:
    return rx.cond(
        S.signed_in_as_invitee,
        rx.text(
            "You are signed in as this account: accept to add it.", size="2", color_scheme="gray"
        ),
        rx.flex(
            rx.text(
                "You already have a Chronos account with this email. Enter its password to accept.",
                size="2",
                color_scheme="gray",
            ),
            rx.el.input(type="hidden", name="email", value=S.email, auto_complete="username"),
            _input(
                "password",
                "Your password",
                type="password",
                auto_complete="current-password",
                required=True,
            ),
            rx.link(
                "Forgot your password?",
                href=routes.FORGOT_PASSWORD,
                size="2",
                color_scheme="indigo",
            ),
            direction="column",
            spacing="3",
        ),
    )


def _form() -> rx.Component:
    return native_form(
        rx.flex(
            _what(),
            rx.cond(S.error, error_callout(S.error)),
            rx.el.input(type="hidden", name="token", value=S.token),
            rx.cond(S.account_exists, _existing_account_fields(), _new_account_fields()),
            rx.button(
                rx.cond(S.account_exists, "Accept invitation", "Create account and accept"),
                type="submit",
                size="3",
                width="100%",
            ),
            direction="column",
            spacing="4",
        ),
        action=api_url(routes.ACCEPT_INVITATION_API),
        method="post",
        custom_attrs={"data-chronos-auth": "1"},
    )


def _closed() -> rx.Component:
    """Invalid, expired, revoked or already accepted: say which, and where to go."""
    return rx.flex(
        rx.heading(
            rx.match(
                S.status,
                ("accepted", "Invitation accepted"),
                ("expired", "Invitation expired"),
                ("revoked", "Invitation withdrawn"),
                "Invitation not valid",
            ),
            size="6",
            as_="h1",
        ),
        rx.cond(S.notice, notice_callout(S.notice), error_callout(S.message)),
        rx.cond(S.error, error_callout(S.error)),
        rx.link(rx.button("Go to sign in", size="3", width="100%"), href=routes.SIGN_IN),
        direction="column",
        spacing="4",
    )


@page(routes.ACCEPT_INVITATION, "Accept invitation", on_load=AcceptInvitationState.load)
def accept_invitation_page() -> rx.Component:
    return rx.center(
        rx.card(
            rx.flex(
                brand(),
                rx.cond(
                    S.status == "",
                    loading_block("Checking your invitation…"),
                    rx.cond(S.status == "pending", _form(), _closed()),
                ),
                direction="column",
                spacing="4",
            ),
            size="4",
            width="100%",
            max_width="440px",
        ),
        min_height="100vh",
        padding="16px",
        background=rx.color("gray", 2),
    )
