"""Admin email log: the brokerage's sent, waiting and failed emails; retry a failed one.

Delivery status (delivered, bounced, complained) comes from Resend's signed webhooks.
"""

from __future__ import annotations

import reflex as rx

from chronos import routes
from chronos.components.admin_nav import admin_tabs
from chronos.components.layout import app_shell
from chronos.components.mail import delivery_badge, email_status_badge
from chronos.components.timeline import local_time
from chronos.components.ui import (
    empty_state,
    error_callout,
    loading_block,
    page_header,
    pager,
    responsive_list,
)
from chronos.db import session_scope
from chronos.models import Role
from chronos.pages.registry import page
from chronos.services import email_log
from chronos.services.email_log import EmailLogRow
from chronos.services.errors import ChronosError
from chronos.state.session import SessionState

PAGE_SIZE = 25
ADMINS = frozenset({Role.ADMIN})
FILTERS = (
    ("", "All"),
    ("failed", "Failed"),
    ("queued", "Queued"),
    ("sending", "Sending"),
    ("sent", "Sent"),
)
DELIVERY_FILTERS = (
    ("", "Any delivery"),
    ("delivered", "Delivered"),
    ("bounced", "Bounced"),
    ("complained", "Complained"),
)


class AdminEmailState(SessionState):
    rows: list[EmailLogRow] = []
    counts: dict[str, int] = {}
    total: int = 0
    page: int = 1
    pages: int = 1
    status: str = ""
    delivery: str = ""
    delivery_counts: dict[str, int] = {}
    q: str = ""
    loading: bool = True
    error: str = ""
    retrying: int = 0

    def _clear(self) -> None:
        self.rows, self.counts, self.total, self.pages = [], {}, 0, 1
        self.delivery_counts = {}

    def _fetch(self):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(ADMINS)
        if user is None:
            self._clear()
            return redirect
        try:
            with session_scope() as db:
                result = email_log.email_log(
                    db,
                    user,
                    status=self.status,
                    delivery=self.delivery,
                    to=self.q,
                    page=self.page,
                    page_size=PAGE_SIZE,
                )
                counts = email_log.status_counts(db, user)
                delivered = email_log.delivery_counts(db, user)
        except ChronosError as exc:
            self._clear()
            self.error = exc.message
        else:
            self.rows, self.total = result.items, result.total
            self.page, self.pages = result.page, result.pages
            self.counts = {"": sum(counts.values()), **counts}
            self.delivery_counts = delivered
            self.error = ""
        self.loading = False
        return None

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        self.loading = True
        status = str(self.router.url.query_parameters.get("status", ""))
        self.status = status if status in dict(FILTERS) else ""
        delivery = str(self.router.url.query_parameters.get("delivery", ""))
        self.delivery = delivery if delivery in dict(DELIVERY_FILTERS) else ""
        self.q, self.page = "", 1
        return self._fetch()

    @rx.event
    def set_status(self, value: str):  # type: ignore[no-untyped-def]
        self.status = value if value in dict(FILTERS) else ""
        self.page = 1
        return self._fetch()

    @rx.event
    def set_delivery(self, value: str):  # type: ignore[no-untyped-def]
        self.delivery = value if value in dict(DELIVERY_FILTERS) else ""
        self.page = 1
        return self._fetch()

    @rx.event
    def set_query(self, value: str):  # type: ignore[no-untyped-def]
        self.q, self.page = value[:254], 1
        return self._fetch()

    @rx.event
    def next_page(self):  # type: ignore[no-untyped-def]
        if self.page < self.pages:
            self.page += 1
        return self._fetch()

    @rx.event
    def prev_page(self):  # type: ignore[no-untyped-def]
        if self.page > 1:
            self.page -= 1
        return self._fetch()

    @rx.event
    def retry(self, message_id: int):  # type: ignore[no-untyped-def]
        if self.retrying:
            return None
        user, redirect = self._gate(ADMINS)
        if user is None:
            self._clear()
            return redirect
        self.retrying = message_id
        try:
            with session_scope() as db:
                message = email_log.retry_email(db, user, int(message_id))
                to = message.to_address
        except ChronosError as exc:
            self.retrying = 0
            return rx.toast.error(exc.message)
        self.retrying = 0
        self._fetch()
        return rx.toast.success(f"The email to {to} is queued again.")


# ---------------------------------------------------------------- components


def _filters() -> rx.Component:
    return rx.flex(
        *[
            rx.button(
                label,
                rx.badge(
                    AdminEmailState.counts.get(key, 0).to_string(),  # type: ignore[attr-defined]
                    variant="surface",
                    color_scheme="red" if key == "failed" else "gray",
                    size="1",
                ),
                variant=rx.cond(AdminEmailState.status == key, "solid", "soft"),
                color_scheme="gray" if key != "failed" else "red",
                size="2",
                on_click=AdminEmailState.set_status(key),  # type: ignore[call-arg]
                aria_pressed=AdminEmailState.status == key,
            )
            for key, label in FILTERS
        ],
        spacing="2",
        wrap="wrap",
        margin_bottom="12px",
    )


def _delivery_filter() -> rx.Component:
    return rx.flex(
        rx.text("Delivery", size="2", color_scheme="gray", id="delivery-filter-label"),
        rx.select.root(
            rx.select.trigger(aria_labelledby="delivery-filter-label", min_width="11rem"),
            rx.select.content(
                *[rx.select.item(label, value=key or "any") for key, label in DELIVERY_FILTERS]
            ),
            value=rx.cond(AdminEmailState.delivery == "", "any", AdminEmailState.delivery),
            on_change=AdminEmailState.set_delivery,  # "any" (not a filter) clears it
            size="2",
        ),
        rx.cond(
            AdminEmailState.delivery_counts.get("bounced", 0)  # type: ignore[attr-defined]
            + AdminEmailState.delivery_counts.get("complained", 0)  # type: ignore[attr-defined]
            > 0,
            rx.text(
                AdminEmailState.delivery_counts.get("bounced", 0).to_string(),  # type: ignore[attr-defined]
                " bounced, ",
                AdminEmailState.delivery_counts.get("complained", 0).to_string(),  # type: ignore[attr-defined]
                " marked as spam",
                size="1",
                color_scheme="red",
            ),
        ),
        spacing="2",
        align="center",
        wrap="wrap",
        margin_bottom="12px",
    )


def _search() -> rx.Component:
    return rx.input(
        rx.input.slot(rx.icon("search", size=16)),
        placeholder="Search recipient…",
        value=AdminEmailState.q,
        on_change=AdminEmailState.set_query.debounce(300),  # type: ignore[attr-defined]
        aria_label="Search recipient",
        type="search",
        size="2",
        width="100%",
        max_width=["100%", "28rem"],
        id="email-search",
        margin_bottom="16px",
    )


def _retry_button(r: EmailLogRow) -> rx.Component:
    return rx.cond(
        r.can_retry,
        rx.button(
            rx.cond(
                AdminEmailState.retrying == r.id,
                rx.spinner(size="1"),
                rx.icon("rotate_ccw", size=14),
            ),
            "Retry",
            size="1",
            variant="soft",
            disabled=AdminEmailState.retrying != 0,
            on_click=AdminEmailState.retry(r.id),  # type: ignore[call-arg]
            aria_label="Retry the email to " + r.recipient,
        ),
    )


def _when(r: EmailLogRow) -> rx.Component:
    return rx.flex(
        rx.text("Created ", local_time(r.created_at), size="1", color_scheme="gray"),
        rx.cond(r.sent_at, rx.text("Sent ", local_time(r.sent_at), size="1", color_scheme="gray")),
        rx.cond(
            r.delivery_updated_at,
            rx.text(
                r.delivery_label,
                " ",
                local_time(r.delivery_updated_at),
                size="1",
                color_scheme="gray",
            ),
        ),
        rx.cond(
            r.next_attempt_at,
            rx.text("Next attempt ", local_time(r.next_attempt_at), size="1", color_scheme="gray"),
        ),
        rx.cond(
            (r.status == "failed") | (r.status == "sending"),
            rx.text("Updated ", local_time(r.updated_at), size="1", color_scheme="gray"),
        ),
        direction="column",
    )


def _error(r: EmailLogRow) -> rx.Component:
    return rx.cond(
        r.last_error,
        rx.text(r.last_error, size="1", color_scheme="red", style={"overflowWrap": "anywhere"}),
    )


def _message_cell(r: EmailLogRow) -> rx.Component:
    return rx.flex(
        rx.text(r.subject, weight="medium", size="2"),
        rx.text(r.recipient, size="2", style={"overflowWrap": "anywhere"}),
        rx.code(r.template, size="1", variant="ghost", color_scheme="gray"),
        direction="column",
        spacing="1",
    )


def _status_cell(r: EmailLogRow) -> rx.Component:
    return rx.flex(
        rx.flex(
            email_status_badge(r.status, r.status_label),
            delivery_badge(r.delivery_status, r.delivery_label),
            spacing="1",
            wrap="wrap",
        ),
        rx.text(
            r.attempts.to_string(),  # type: ignore[attr-defined]
            rx.cond(r.attempts == 1, " attempt", " attempts"),
            size="1",
            color_scheme="gray",
        ),
        direction="column",
        spacing="1",
        align="start",
    )


def _table() -> rx.Component:
    return rx.table.root(
        rx.table.header(
            rx.table.row(
                rx.table.column_header_cell("Email"),
                rx.table.column_header_cell("Status"),
                rx.table.column_header_cell("Last error", max_width="22rem"),
                rx.table.column_header_cell("When"),
                rx.table.column_header_cell(rx.el.span("Actions", class_name="rt-sr-only")),
            )
        ),
        rx.table.body(
            rx.foreach(
                AdminEmailState.rows,
                lambda r: rx.table.row(
                    rx.table.row_header_cell(_message_cell(r)),
                    rx.table.cell(_status_cell(r)),
                    rx.table.cell(_error(r), max_width="22rem"),
                    rx.table.cell(_when(r)),
                    rx.table.cell(_retry_button(r)),
                    align="start",
                ),
            )
        ),
        variant="surface",
        width="100%",
    )


def _card(r: EmailLogRow) -> rx.Component:
    return rx.card(
        rx.flex(
            rx.flex(
                _message_cell(r),
                _status_cell(r),
                justify="between",
                spacing="2",
                align="start",
            ),
            _error(r),
            rx.flex(_when(r), _retry_button(r), justify="between", align="end", spacing="2"),
            direction="column",
            spacing="2",
        ),
        width="100%",
    )


def _content() -> rx.Component:
    return rx.cond(
        AdminEmailState.loading & (AdminEmailState.rows.length() == 0),
        loading_block("Loading the email log…"),
        rx.cond(
            AdminEmailState.error,
            error_callout(AdminEmailState.error),
            rx.cond(
                AdminEmailState.total == 0,
                empty_state(
                    "mail_check",
                    "No emails here",
                    rx.cond(
                        (AdminEmailState.q != "")
                        | (AdminEmailState.status != "")
                        | (AdminEmailState.delivery != ""),
                        "Nothing matches this filter.",
                        "Emails the app sends for your brokerage appear here.",
                    ),
                ),
                responsive_list(
                    _table(),
                    AdminEmailState.rows,
                    _card,
                    pager(
                        AdminEmailState.page,
                        AdminEmailState.pages,
                        AdminEmailState.total,
                        AdminEmailState.prev_page,
                        AdminEmailState.next_page,
                    ),
                ),
            ),
        ),
    )


@page(routes.ADMIN_EMAIL, "Email log", on_load=AdminEmailState.load)
def admin_email_page() -> rx.Component:
    return app_shell(
        admin_tabs("email"),
        page_header(
            "Email log",
            subtitle=(
                "Every email sent for your brokerage, with what the mail provider reported "
                "after sending. Failed ones can be queued again."
            ),
        ),
        _filters(),
        _delivery_filter(),
        _search(),
        _content(),
        active="admin",
        user_name=AdminEmailState.user_name,
        role_label=AdminEmailState.role_label,
        is_staff=AdminEmailState.is_staff,
        signed_in=AdminEmailState.signed_in,
    )
