"""/admin/security: the brokerage's security log (admins only), newest first, by kind."""

from __future__ import annotations

import reflex as rx

from chronos import routes
from chronos.components.admin_nav import admin_tabs
from chronos.components.layout import app_shell
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
from chronos.services import security_log
from chronos.services.errors import ChronosError
from chronos.services.security_log import EventRow
from chronos.state.session import SessionState

PAGE_SIZE = 50
ADMINS = frozenset({Role.ADMIN})
ALL = "all"
KIND_OPTIONS = [ALL, *security_log.LABELS]
KIND_LABELS = {ALL: "Every kind", **security_log.LABELS}


class AdminSecurityState(SessionState):
    rows: list[EventRow] = []
    total: int = 0
    page: int = 1
    pages: int = 1
    kind: str = ALL
    loading: bool = True
    error: str = ""

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        self.loading = True
        user, redirect = self._gate(ADMINS)
        if user is None:
            self.rows, self.total = [], 0
            return redirect
        try:
            with session_scope() as db:
                result = security_log.list_events(
                    db,
                    user,
                    kind="" if self.kind == ALL else self.kind,
                    page=self.page,
                    page_size=PAGE_SIZE,
                )
            self.rows, self.total = result.items, result.total
            self.page, self.pages = result.page, result.pages
            self.error = ""
        except ChronosError as exc:
            self.rows, self.total = [], 0
            self.error = exc.message
        self.loading = False
        return None

    @rx.event
    def set_kind(self, value: str):  # type: ignore[no-untyped-def]
        self.kind = value if value in KIND_LABELS else ALL
        self.page = 1
        return AdminSecurityState.load

    @rx.event
    def next_page(self):  # type: ignore[no-untyped-def]
        if self.page < self.pages:
            self.page += 1
        return AdminSecurityState.load

    @rx.event
    def prev_page(self):  # type: ignore[no-untyped-def]
        if self.page > 1:
            self.page -= 1
        return AdminSecurityState.load


def _filter() -> rx.Component:
    return rx.select.root(
        rx.select.trigger(aria_label="Kind of event", id="security-kind"),
        rx.select.content(
            *[rx.select.item(KIND_LABELS[k], value=k) for k in KIND_OPTIONS],
        ),
        value=AdminSecurityState.kind,
        on_change=AdminSecurityState.set_kind,
        size="2",
    )


def _who(r: EventRow) -> rx.Component:
    return rx.flex(
        rx.text(rx.cond(r.email, r.email, "—"), size="2"),
        rx.cond(
            r.actor,
            rx.text("by ", r.actor, size="1", color_scheme="gray"),
        ),
        direction="column",
    )


def _table() -> rx.Component:
    return rx.table.root(
        rx.table.header(
            rx.table.row(
                rx.table.column_header_cell("When"),
                rx.table.column_header_cell("Event"),
                rx.table.column_header_cell("Account"),
                rx.table.column_header_cell("Client address"),
                rx.table.column_header_cell("Details"),
            )
        ),
        rx.table.body(
            rx.foreach(
                AdminSecurityState.rows,
                lambda r: rx.table.row(
                    rx.table.cell(local_time(r.created_at), white_space="nowrap"),
                    rx.table.cell(rx.badge(r.label, variant="soft", size="1")),
                    rx.table.cell(_who(r)),
                    rx.table.cell(rx.text(r.ip_address, size="2"), title=r.user_agent),
                    rx.table.cell(rx.text(r.detail, size="1", color_scheme="gray")),
                    align="center",
                ),
            )
        ),
        variant="surface",
        width="100%",
    )


def _card(r: EventRow) -> rx.Component:
    return rx.card(
        rx.flex(
            rx.flex(
                rx.badge(r.label, variant="soft", size="1"),
                rx.text(local_time(r.created_at), size="1", color_scheme="gray"),
                justify="between",
                align="center",
                spacing="2",
                wrap="wrap",
            ),
            _who(r),
            rx.cond(r.ip_address, rx.text("From ", r.ip_address, size="1", color_scheme="gray")),
            rx.cond(r.detail, rx.text(r.detail, size="1", color_scheme="gray")),
            direction="column",
            spacing="1",
        ),
        width="100%",
    )


def _content() -> rx.Component:
    return rx.cond(
        AdminSecurityState.loading & (AdminSecurityState.rows.length() == 0),
        loading_block("Loading the security log…"),
        rx.cond(
            AdminSecurityState.error,
            error_callout(AdminSecurityState.error),
            rx.cond(
                AdminSecurityState.total == 0,
                empty_state(
                    "shield",
                    "Nothing recorded",
                    rx.cond(
                        AdminSecurityState.kind == ALL,
                        "Sign-ins, password resets, role changes and invitations will show here.",
                        "No events of this kind yet.",
                    ),
                ),
                responsive_list(
                    _table(),
                    AdminSecurityState.rows,
                    _card,
                    pager(
                        AdminSecurityState.page,
                        AdminSecurityState.pages,
                        AdminSecurityState.total,
                        AdminSecurityState.prev_page,
                        AdminSecurityState.next_page,
                    ),
                ),
            ),
        ),
    )


@page(routes.ADMIN_SECURITY, "Security log", on_load=AdminSecurityState.load)
def admin_security_page() -> rx.Component:
    return app_shell(
        admin_tabs("security"),
        page_header(
            "Security log",
            _filter(),
            subtitle="Sign-ins, failures, resets, role changes and invitations in your brokerage.",
        ),
        _content(),
        active="admin",
        user_name=AdminSecurityState.user_name,
        role_label=AdminSecurityState.role_label,
        is_staff=AdminSecurityState.is_staff,
        signed_in=AdminSecurityState.signed_in,
    )
