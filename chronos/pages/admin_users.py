"""Users (/admin/users), admins only: the brokerage's logins with role changes, deactivation
and reactivation, and the team invitations (invite, re-send, revoke)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from chronos import routes
from chronos.components.admin_nav import admin_tabs
from chronos.components.layout import app_shell
from chronos.components.timeline import local_time, time_ago
from chronos.components.ui import (
    empty_state,
    error_callout,
    field,
    form_actions,
    loading_block,
    page_header,
    pager,
    responsive_list,
    two_columns,
)
from chronos.db import session_scope
from chronos.models import Role
from chronos.pages.registry import page
from chronos.services import invitations, user_admin
from chronos.services.errors import ChronosError, ValidationFailed
from chronos.services.invitations import InvitationRow
from chronos.services.security_log import Client
from chronos.services.user_admin import UserRow
from chronos.state.session import SessionState

PAGE_SIZE = 25
INVITES_PAGE_SIZE = 10
ADMIN = frozenset({Role.ADMIN})
STAFF_ROLE_OPTIONS = [("admin", "Admin"), ("agent", "Agent"), ("coordinator", "Coordinator")]
ROLE_FILTERS = [("all", "All roles")] + [(r.value, r.label) for r in Role]
STATUS_FILTERS = [("all", "Everyone"), ("active", "Active"), ("inactive", "Deactivated")]


def client_of(state: SessionState) -> Client:
    """Where a UI event came from, for the security log."""
    return Client(state.router.session.client_ip or "", state.router.headers.user_agent or "")


class AdminUsersState(SessionState):
    rows: list[UserRow] = []
    total: int = 0
    page: int = 1
    pages: int = 1
    q: str = ""
    role_filter: str = "all"
    status_filter: str = "all"
    loading: bool = True
    error: str = ""
    # role dialog
    role_open: bool = False
    role_user_id: int = 0
    role_user_name: str = ""
    role_choice: str = "agent"
    role_error: str = ""
    # staff invitations
    invites: list[InvitationRow] = []
    invites_total: int = 0
    invites_page: int = 1
    invites_pages: int = 1
    invite_open: bool = False
    invite_role: str = "agent"
    invite_errors: dict[str, str] = {}
    invite_error: str = ""
    saving: bool = False

    def _clear(self) -> None:
        self.rows, self.total, self.invites, self.invites_total = [], 0, [], 0

    def _reload(self, user: Any) -> None:
        with session_scope() as db:
            result = user_admin.list_users(
                db,
                user,
                q=self.q,
                role="" if self.role_filter == "all" else self.role_filter,
                status="" if self.status_filter == "all" else self.status_filter,
                page=self.page,
                page_size=PAGE_SIZE,
            )
            invites = invitations.list_staff_invitations(
                db, user, page=self.invites_page, page_size=INVITES_PAGE_SIZE
            )
        self.rows, self.total = result.items, result.total
        self.page, self.pages = result.page, result.pages
        self.invites, self.invites_total = invites.items, invites.total
        self.invites_page, self.invites_pages = invites.page, invites.pages

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        self.loading = True
        user, redirect = self._gate(ADMIN)
        if user is None:
            self._clear()
            self.loading = False
            return redirect
        try:
            self._reload(user)
            self.error = ""
        except ChronosError as exc:
            self._clear()
            self.error = exc.message
        self.loading = False
        return None

    # ------------------------------------------------------------ filters and pages
    @rx.event
    def set_query(self, value: str):  # type: ignore[no-untyped-def]
        self.q, self.page = value[:100], 1
        return AdminUsersState.load

    @rx.event
    def set_role_filter(self, value: str):  # type: ignore[no-untyped-def]
        self.role_filter, self.page = value, 1
        return AdminUsersState.load

    @rx.event
    def set_status_filter(self, value: str):  # type: ignore[no-untyped-def]
        self.status_filter, self.page = value, 1
        return AdminUsersState.load

    @rx.event
    def clear_filters(self):  # type: ignore[no-untyped-def]
        self.q, self.role_filter, self.status_filter, self.page = "", "all", "all", 1
        return AdminUsersState.load

    @rx.event
    def next_page(self):  # type: ignore[no-untyped-def]
        if self.page < self.pages:
            self.page += 1
        return AdminUsersState.load

    @rx.event
    def prev_page(self):  # type: ignore[no-untyped-def]
        if self.page > 1:
            self.page -= 1
        return AdminUsersState.load

    @rx.event
    def next_invites(self):  # type: ignore[no-untyped-def]
        if self.invites_page < self.invites_pages:
            self.invites_page += 1
        return AdminUsersState.load

    @rx.event
    def prev_invites(self):  # type: ignore[no-untyped-def]
        if self.invites_page > 1:
            self.invites_page -= 1
        return AdminUsersState.load

    # ------------------------------------------------------------ actions on users
    def _act(self, action: Any, *args: Any, done: str):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(ADMIN)
        if user is None:
            self._clear()
            return redirect
        try:
            with session_scope() as db:
                action(db, user, *args, client=client_of(self))
            self._reload(user)
        except ChronosError as exc:
            return rx.toast.error(exc.message)
        return rx.toast.success(done)

    @rx.event
    def deactivate(self, user_id: int, name: str):  # type: ignore[no-untyped-def]
        return self._act(
            user_admin.deactivate, user_id, done=f"{name} is deactivated and signed out."
        )

    @rx.event
    def reactivate(self, user_id: int, name: str):  # type: ignore[no-untyped-def]
        return self._act(user_admin.reactivate, user_id, done=f"{name} can sign in again.")

    @rx.event
    def open_role(self, user_id: int, name: str, role: str) -> None:
        self.role_user_id, self.role_user_name, self.role_choice = user_id, name, role
        self.role_error, self.role_open = "", True

    @rx.event
    def set_role_open(self, value: bool) -> None:
        self.role_open = value

    @rx.event
    def set_role_choice(self, value: str) -> None:
        self.role_choice = value

    @rx.event
    def save_role(self):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(ADMIN)
        if user is None:
            self._clear()
            return redirect
        try:
            with session_scope() as db:
                user_admin.change_role(
                    db, user, self.role_user_id, self.role_choice, client=client_of(self)
                )
            self._reload(user)
        except ChronosError as exc:
            self.role_error = exc.message
            return None
        self.role_open = False
        return rx.toast.success(f"{self.role_user_name} is now {Role(self.role_choice).label}.")

    # ------------------------------------------------------------ staff invitations
    @rx.event
    def set_invite_open(self, value: bool) -> None:
        if self.saving:
            return
        self.invite_open, self.invite_errors, self.invite_error = value, {}, ""
        self.invite_role = "agent"

    @rx.event
    def set_invite_role(self, value: str) -> None:
        self.invite_role = value

    @rx.event
    def send_invite(self, form: dict[str, Any]):  # type: ignore[no-untyped-def]
        if self.saving:
            return None
        user, redirect = self._gate(ADMIN)
        if user is None:
            self._clear()
            return redirect
        self.saving = True
        email = str(form.get("email", ""))
        try:
            with session_scope() as db:
                invitations.invite_staff(
                    db,
                    user,
                    email=email,
                    name=str(form.get("name", "")),
                    role=self.invite_role,
                    client=client_of(self),
                )
            self.invites_page = 1
            self._reload(user)
        except ValidationFailed as exc:
            self.invite_errors, self.invite_error = exc.errors, "Please fix the highlighted fields."
            self.saving = False
            return None
        except ChronosError as exc:
            self.invite_errors, self.invite_error = {}, exc.message
            self.saving = False
            return None
        self.saving, self.invite_open = False, False
        return rx.toast.success(f"Invitation sent to {email.strip()}.")

    @rx.event
    def resend_invite(self, invitation_id: int):  # type: ignore[no-untyped-def]
        return self._act(invitations.resend, invitation_id, done="Invitation sent again.")

    @rx.event
    def revoke_invite(self, invitation_id: int):  # type: ignore[no-untyped-def]
        return self._act(invitations.revoke, invitation_id, done="Invitation revoked.")


# ---------------------------------------------------------------- view

A = AdminUsersState


def _status_badge(r: UserRow) -> rx.Component:
    return rx.cond(
        r.is_active,
        rx.badge("Active", color_scheme="grass", variant="soft"),
        rx.badge("Deactivated", color_scheme="red", variant="soft"),
    )


def _when(iso: Any) -> rx.Component:
    return rx.cond(
        iso,
        local_time(iso),
        rx.text("Never", color_scheme="gray", as_="span"),
    )


def _confirm(
    trigger: rx.Component, title: str, body: Any, action_label: str, color: str, on_click: Any
) -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(trigger),
        rx.alert_dialog.content(
            rx.alert_dialog.title(title),
            rx.alert_dialog.description(body),
            rx.flex(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button(action_label, color_scheme=color, on_click=on_click)  # type: ignore[arg-type]
                ),
                spacing="3",
                justify="end",
                margin_top="16px",
            ),
            max_width="440px",
        ),
    )


def _user_actions(r: UserRow) -> rx.Component:
    return rx.cond(
        r.is_self,
        rx.text("You", size="1", color_scheme="gray"),
        rx.flex(
            rx.cond(
                r.is_staff & r.is_active,
                rx.button(
                    "Change role",
                    size="1",
                    variant="soft",
                    on_click=A.open_role(r.id, r.name, r.role),  # type: ignore[call-arg]
                    aria_label="Change role of " + r.name,
                ),
            ),
            rx.cond(
                r.is_active,
                _confirm(
                    rx.button(
                        "Deactivate",
                        size="1",
                        variant="soft",
                        color_scheme="red",
                        aria_label="Deactivate " + r.name,
                    ),
                    "Deactivate this user?",
                    r.name
                    + " will be signed out everywhere at once and cannot sign in or act until "
                    "reactivated. Their files and history stay.",
                    "Deactivate",
                    "red",
                    A.deactivate(r.id, r.name),  # type: ignore[call-arg]
                ),
                _confirm(
                    rx.button(
                        "Reactivate",
                        size="1",
                        variant="soft",
                        color_scheme="grass",
                        aria_label="Reactivate " + r.name,
                    ),
                    "Reactivate this user?",
                    r.name + " will be able to sign in again with their password.",
                    "Reactivate",
                    "grass",
                    A.reactivate(r.id, r.name),  # type: ignore[call-arg]
                ),
            ),
            spacing="2",
            wrap="wrap",
        ),
    )


def _users_table() -> rx.Component:
    return rx.table.root(
        rx.table.header(
            rx.table.row(
                *[
                    rx.table.column_header_cell(h)
                    for h in ("Name", "Role", "Status", "Last sign-in", "2FA", "")
                ]
            )
        ),
        rx.table.body(
            rx.foreach(
                A.rows,
                lambda r: rx.table.row(
                    rx.table.row_header_cell(
                        rx.text(r.name, weight="medium"),
                        rx.text(r.email, size="1", color_scheme="gray"),
                    ),
                    rx.table.cell(rx.badge(r.role_label, variant="soft", color_scheme="gray")),
                    rx.table.cell(_status_badge(r)),
                    rx.table.cell(_when(r.last_login_at)),
                    rx.table.cell(rx.cond(r.two_factor, "On", "Off")),
                    rx.table.cell(_user_actions(r)),
                    align="center",
                ),
            )
        ),
        variant="surface",
        width="100%",
    )


def _user_card(r: UserRow) -> rx.Component:
    return rx.card(
        rx.flex(
            rx.flex(
                rx.box(
                    rx.text(r.name, weight="bold"),
                    rx.text(
                        r.email, size="1", color_scheme="gray", style={"wordBreak": "break-all"}
                    ),
                ),
                _status_badge(r),
                justify="between",
                align="start",
                spacing="2",
            ),
            rx.flex(
                rx.badge(r.role_label, variant="soft", color_scheme="gray"),
                rx.text("2FA ", rx.cond(r.two_factor, "on", "off"), size="1", color_scheme="gray"),
                rx.text("Last sign-in: ", _when(r.last_login_at), size="1", color_scheme="gray"),
                spacing="3",
                wrap="wrap",
                align="center",
            ),
            _user_actions(r),
            direction="column",
            spacing="2",
        ),
        width="100%",
    )


def _filters() -> rx.Component:
    return rx.flex(
        rx.input(
            rx.input.slot(rx.icon("search", size=16)),
            placeholder="Search name or email…",
            value=A.q,
            on_change=A.set_query.debounce(300),  # type: ignore[attr-defined]
            aria_label="Search users",
            width=["100%", "20rem"],
            id="users-search",
        ),
        rx.select.root(
            rx.select.trigger(aria_label="Filter by role"),
            rx.select.content(*[rx.select.item(label, value=v) for v, label in ROLE_FILTERS]),
            value=A.role_filter,
            on_change=A.set_role_filter,
        ),
        rx.select.root(
            rx.select.trigger(aria_label="Filter by status"),
            rx.select.content(*[rx.select.item(label, value=v) for v, label in STATUS_FILTERS]),
            value=A.status_filter,
            on_change=A.set_status_filter,
        ),
        spacing="2",
        wrap="wrap",
        margin_bottom="12px",
    )


def _users() -> rx.Component:
    return rx.cond(
        A.total == 0,
        empty_state(
            "search_x",
            "No users match",
            "Try another name, role or status.",
            rx.button("Clear filters", variant="soft", on_click=A.clear_filters),
        ),
        responsive_list(
            _users_table(),
            A.rows,
            _user_card,
            pager(A.page, A.pages, A.total, A.prev_page, A.next_page),
        ),
    )


def _role_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Change role of ", A.role_user_name),
            rx.dialog.description(
                "Admins manage users and see every file; agents and coordinators see the files "
                "they own or are on. The change applies at once and is logged.",
                size="2",
                color_scheme="gray",
                margin_bottom="12px",
            ),
            rx.flex(
                rx.cond(A.role_error, error_callout(A.role_error)),
                rx.radio_group.root(
                    rx.flex(
                        *[
                            rx.el.label(
                                rx.flex(rx.radio_group.item(value=v), rx.text(label), spacing="2")
                            )
                            for v, label in STAFF_ROLE_OPTIONS
                        ],
                        direction="column",
                        spacing="2",
                    ),
                    value=A.role_choice,
                    on_change=A.set_role_choice,
                    aria_label="Role",
                ),
                rx.flex(
                    rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray")),
                    rx.button("Change role", on_click=A.save_role),
                    spacing="3",
                    justify="end",
                ),
                direction="column",
                spacing="4",
            ),
            max_width="440px",
        ),
        open=A.role_open,
        on_open_change=A.set_role_open,
    )


def _invite_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.trigger(
            rx.button(rx.icon("user_plus", size=16), "Invite a team member", size="2")
        ),
        rx.dialog.content(
            rx.dialog.title("Invite a team member"),
            rx.dialog.description(
                "They get an email with a link to choose their password. The link works once "
                "and expires in 14 days.",
                size="2",
                color_scheme="gray",
                margin_bottom="16px",
            ),
            rx.form(
                rx.flex(
                    rx.cond(A.invite_error, error_callout(A.invite_error)),
                    two_columns(
                        field(
                            "Name",
                            rx.input(
                                name="name", id="invite-name", required=True, width="100%", size="3"
                            ),
                            A.invite_errors.get("name", ""),
                        ),
                        field(
                            "Email",
                            rx.input(
                                name="email",
                                id="invite-email",
                                type="email",
                                required=True,
                                width="100%",
                                size="3",
                            ),
                            A.invite_errors.get("email", ""),
                        ),
                    ),
                    field(
                        "Role",
                        rx.select.root(
                            rx.select.trigger(id="invite-role", width="100%"),
                            rx.select.content(
                                *[rx.select.item(label, value=v) for v, label in STAFF_ROLE_OPTIONS]
                            ),
                            value=A.invite_role,
                            on_change=A.set_invite_role,
                        ),
                        A.invite_errors.get("role", ""),
                    ),
                    form_actions("Send invitation", A.saving),
                    direction="column",
                    spacing="4",
                ),
                on_submit=A.send_invite,
                reset_on_submit=False,
            ),
            max_width="520px",
        ),
        open=A.invite_open,
        on_open_change=A.set_invite_open,
    )


def invitation_status(r: InvitationRow) -> rx.Component:
    return rx.match(
        r.status,
        ("pending", rx.badge(r.status_label, color_scheme="amber", variant="soft")),
        ("accepted", rx.badge(r.status_label, color_scheme="grass", variant="soft")),
        ("revoked", rx.badge(r.status_label, color_scheme="gray", variant="soft")),
        rx.badge(r.status_label, color_scheme="red", variant="soft"),
    )


def invitation_item(r: InvitationRow, on_resend: Any, on_revoke: Any) -> rx.Component:
    """One invitation: who, role, status, when sent, and re-send / revoke when still open."""
    return rx.flex(
        rx.box(
            rx.flex(
                rx.text(rx.cond(r.name, r.name, r.email), weight="medium"),
                rx.badge(r.role_label, variant="outline", color_scheme="gray"),
                invitation_status(r),
                spacing="2",
                align="center",
                wrap="wrap",
            ),
            rx.text(
                r.email,
                " · sent ",
                time_ago(r.last_sent_at),
                rx.cond(r.send_count > 1, " (" + r.send_count.to_string() + " times)", ""),
                rx.cond(r.invited_by, " by " + r.invited_by, ""),
                size="1",
                color_scheme="gray",
                style={"wordBreak": "break-word"},
            ),
        ),
        rx.cond(
            r.can_resend,
            rx.flex(
                rx.button(
                    "Re-send",
                    size="1",
                    variant="soft",
                    on_click=on_resend,
                    aria_label="Re-send invitation to " + r.email,
                ),
                _confirm(
                    rx.button(
                        "Revoke",
                        size="1",
                        variant="soft",
                        color_scheme="red",
                        aria_label="Revoke invitation to " + r.email,
                    ),
                    "Revoke this invitation?",
                    "The link sent to " + r.email + " will stop working.",
                    "Revoke",
                    "red",
                    on_revoke,
                ),
                spacing="2",
            ),
        ),
        justify="between",
        align="center",
        wrap="wrap",
        spacing="2",
        padding_y="8px",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        width="100%",
    )


def _invitations() -> rx.Component:
    return rx.card(
        rx.flex(
            rx.heading("Team invitations", size="4", as_="h2"),
            rx.cond(
                A.invites_total == 0,
                rx.text(
                    "No invitations yet. Invite agents, coordinators and admins to your brokerage.",
                    size="2",
                    color_scheme="gray",
                ),
                rx.flex(
                    rx.foreach(
                        A.invites,
                        lambda r: invitation_item(
                            r,
                            A.resend_invite(r.id),  # type: ignore[call-arg]
                            A.revoke_invite(r.id),  # type: ignore[call-arg]
                        ),
                    ),
                    rx.cond(
                        A.invites_pages > 1,
                        pager(
                            A.invites_page,
                            A.invites_pages,
                            A.invites_total,
                            A.prev_invites,
                            A.next_invites,
                        ),
                    ),
                    direction="column",
                ),
            ),
            direction="column",
            spacing="3",
        ),
        width="100%",
    )


def _content() -> rx.Component:
    return rx.cond(
        A.loading & (A.rows.length() == 0),
        loading_block("Loading users…"),
        rx.cond(
            A.error,
            error_callout(A.error),
            rx.flex(
                _filters(),
                _users(),
                _invitations(),
                direction="column",
                spacing="4",
                width="100%",
            ),
        ),
    )


@page(routes.ADMIN_USERS, "Users", on_load=AdminUsersState.load)
def admin_users_page() -> rx.Component:
    return app_shell(
        admin_tabs("users"),
        page_header(
            "Users",
            _invite_dialog(),
            subtitle="Your brokerage's logins and team invitations.",
        ),
        _content(),
        _role_dialog(),
        active="admin",
        user_name=A.user_name,
        role_label=A.role_label,
        is_staff=A.is_staff,
        signed_in=A.signed_in,
    )
