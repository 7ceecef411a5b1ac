"""/account's "API tokens" section: make a personal token (its secret shown once), see when each
was last used, revoke it; admins also see and revoke every token of their brokerage.

Loaded with the account page (its ``on_load`` runs ``ApiTokensState.load`` too). The secret
lives in this tab's state only until the user dismisses it; the database has its HMAC.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from chronos import routes
from chronos.components.timeline import local_time
from chronos.components.ui import copy_or_dismiss, error_callout, native_select
from chronos.db import session_scope
from chronos.models import Role
from chronos.services import api_tokens
from chronos.services.api_tokens import TokenRow
from chronos.services.errors import ChronosError
from chronos.state.session import SessionState

EVERYONE = frozenset(Role)
EXPIRY_OPTIONS = {"7": "7 days", "30": "30 days", "90": "90 days", "365": "1 year", "0": "Never"}


class ApiTokensState(SessionState):
    tokens: list[TokenRow] = []
    org_tokens: list[TokenRow] = []
    is_admin: bool = False
    new_secret: str = ""
    new_name: str = ""
    error: str = ""
    notice: str = ""
    busy: bool = False

    def _reload(self, user: Any) -> None:
        with session_scope() as db:
            self.tokens = api_tokens.list_mine(db, user)
            self.is_admin = user.role_enum is Role.ADMIN
            self.org_tokens = (
                [t for t in api_tokens.list_for_org(db, user) if t.owner_email != user.email]
                if self.is_admin
                else []
            )

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        self.tokens, self.org_tokens, self.is_admin = [], [], False
        self.new_secret = self.new_name = self.error = self.notice = ""
        user, redirect = self._gate(EVERYONE)
        if user is None:
            return redirect
        try:
            self._reload(user)
        except ChronosError as exc:
            self.error = exc.message
        return None

    @rx.event
    def create(self, form: dict[str, Any]):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(EVERYONE)
        if user is None:
            return redirect
        if self.busy or not isinstance(form, dict):
            return None
        self.busy = True
        try:
            days = form.get("expires", "90")
            with session_scope() as db:
                made = api_tokens.create(
                    db,
                    user,
                    name=form.get("name", ""),
                    scopes=form.get("scopes", "read"),
                    expires_in_days=int(days) if isinstance(days, str) and days.isdigit() else days,
                    client=self._client(),
                )
            self.new_secret, self.new_name = made.secret, made.row.name
            self.error, self.notice = "", ""
            self._reload(user)
        except ChronosError as exc:
            self.error, self.notice = exc.message, ""
        finally:
            self.busy = False
        return None

    @rx.event
    def dismiss_secret(self):  # type: ignore[no-untyped-def]
        self.new_secret = self.new_name = ""

    @rx.event
    def revoke(self, token_id: int):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(EVERYONE)
        if user is None:
            return redirect
        try:
            with session_scope() as db:
                row = api_tokens.revoke(db, user, token_id, client=self._client())
            self.notice = f"“{row.name}” is revoked: scripts using it stop now."
            self.error = ""
            self._reload(user)
        except ChronosError as exc:
            self.error, self.notice = exc.message, ""
        return None


def _state_badge(t: TokenRow) -> rx.Component:
    return rx.match(
        t.state,
        ("active", rx.badge("Active", color_scheme="grass", variant="surface", high_contrast=True)),
        ("expired", rx.badge("Expired", color_scheme="gray", variant="surface")),
        rx.badge("Revoked", color_scheme="red", variant="surface", high_contrast=True),
    )


def _token_row(t: TokenRow, *, show_owner: bool) -> rx.Component:
    return rx.flex(
        rx.flex(
            rx.flex(
                rx.icon("key_round", size=16),
                rx.text(t.name, weight="medium", size="2"),
                _state_badge(t),
                spacing="2",
                align="center",
                wrap="wrap",
            ),
            rx.text(
                rx.el.code(t.prefix + "…"),
                " · " + t.scope_label,
                " · " + t.owner_name if show_owner else "",
                size="1",
                color_scheme="gray",
            ),
            rx.text(
                "Made ",
                local_time(t.created),
                " · ",
                rx.cond(
                    t.last_used != "",
                    rx.fragment("last used ", local_time(t.last_used)),
                    "never used",
                ),
                rx.cond(
                    t.expires != "",
                    rx.fragment(" · expires ", local_time(t.expires)),
                    " · no expiry",
                ),
                size="1",
                color_scheme="gray",
            ),
            direction="column",
            spacing="1",
            min_width="0",
        ),
        rx.cond(
            t.state == "active",
            rx.button(
                "Revoke",
                size="1",
                variant="soft",
                color_scheme="red",
                on_click=ApiTokensState.revoke(t.id),  # type: ignore[call-arg]
                aria_label="Revoke the token " + t.name,
            ),
        ),
        justify="between",
        align="center",
        spacing="3",
        padding_y="10px",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        width="100%",
    )


def _new_secret() -> rx.Component:
    s = ApiTokensState
    return rx.callout.root(
        rx.callout.icon(rx.icon("key_round")),
        rx.flex(
            rx.text(
                "Your new token “",
                s.new_name,
                "”. Copy it now: Chronos keeps only a fingerprint and cannot show it again.",
                size="2",
            ),
            rx.el.code(
                s.new_secret,
                id="new-api-token",
                style={"wordBreak": "break-all", "userSelect": "all"},
            ),
            copy_or_dismiss(s.new_secret, "I have copied it", s.dismiss_secret),
            rx.text(
                "Send it as the header ",
                rx.el.code("Authorization: Bearer <token>"),
                " to the API under /api/v1.",
                size="1",
                color_scheme="gray",
            ),
            direction="column",
            spacing="2",
        ),
        color_scheme="grass",
        role="status",
        width="100%",
    )


def _create_form() -> rx.Component:
    s = ApiTokensState
    return rx.form(
        rx.flex(
            rx.box(
                rx.el.label("Name", html_for="api-token-name", style={"fontSize": "14px"}),
                rx.input(
                    id="api-token-name",
                    name="name",
                    placeholder="e.g. Spreadsheet sync",
                    max_length=80,
                    required=True,
                ),
                flex="1",
                min_width="12rem",
            ),
            rx.box(
                rx.el.label("Access", html_for="api-token-scopes", style={"fontSize": "14px"}),
                native_select("scopes", api_tokens.SCOPES, "read", id="api-token-scopes"),
            ),
            rx.box(
                rx.el.label("Expires", html_for="api-token-expires", style={"fontSize": "14px"}),
                native_select("expires", EXPIRY_OPTIONS, "90", id="api-token-expires"),
            ),
            rx.button(
                rx.cond(s.busy, rx.spinner(size="2"), rx.icon("plus", size=16)),
                "Create token",
                type="submit",
                disabled=s.busy,
            ),
            spacing="3",
            align="end",
            wrap="wrap",
        ),
        on_submit=s.create,
        reset_on_submit=True,
        width="100%",
    )


def api_tokens_section() -> rx.Component:
    s = ApiTokensState
    return rx.card(
        rx.flex(
            rx.heading("API tokens", size="4", as_="h2"),
            rx.text(
                "For your own scripts and integrations. A token acts as you and can never do "
                "more than you can; read-only tokens cannot change anything.",
                size="2",
                color_scheme="gray",
            ),
            rx.cond(s.error, error_callout(s.error)),
            rx.cond(s.notice, rx.callout(s.notice, icon="info", role="status", width="100%")),
            rx.cond(s.new_secret != "", _new_secret()),
            _create_form(),
            rx.cond(
                s.tokens.length() > 0,  # type: ignore[attr-defined]
                rx.box(
                    rx.foreach(s.tokens, lambda t: _token_row(t, show_owner=False)), width="100%"
                ),
                rx.text("You have no API tokens.", size="2", color_scheme="gray"),
            ),
            rx.cond(
                s.is_staff,
                rx.link(
                    rx.flex(
                        rx.icon("webhook", size=14),
                        "Webhooks: send events to another system",
                        align="center",
                        spacing="1",
                    ),
                    href=routes.ACCOUNT_WEBHOOKS,
                    size="2",
                ),
            ),
            rx.cond(
                s.is_admin,
                rx.flex(
                    rx.heading("Everyone else's tokens in your brokerage", size="3", as_="h3"),
                    rx.cond(
                        s.org_tokens.length() > 0,  # type: ignore[attr-defined]
                        rx.box(
                            rx.foreach(s.org_tokens, lambda t: _token_row(t, show_owner=True)),
                            width="100%",
                        ),
                        rx.text("Nobody else has made a token.", size="2", color_scheme="gray"),
                    ),
                    direction="column",
                    spacing="2",
                    margin_top="8px",
                ),
            ),
            direction="column",
            spacing="3",
        ),
        width="100%",
        grid_column=rx.breakpoints(initial="auto", md="1 / -1"),
    )
