"""The notification centre: what happened for you, unread first in attention, and your
reminder preferences (which, by email or not, quiet hours, the daily digest)."""

from __future__ import annotations

import reflex as rx

from chronos import routes
from chronos.components.layout import app_shell
from chronos.components.timeline import time_ago
from chronos.components.ui import (
    empty_state,
    error_callout,
    loading_block,
    page_header,
    pager,
    select_field,
)
from chronos.db import session_scope
from chronos.pages.registry import page
from chronos.services import messages, notifications
from chronos.services.errors import ChronosError, ValidationFailed
from chronos.services.notifications import NotificationRow
from chronos.state.session import SessionState

PAGE_SIZE = 20
HOURS = {str(h): f"{h:02d}:00" for h in range(24)}
QUIET = {"none": "No quiet hours", **HOURS}


class NotificationsState(SessionState):
    rows: list[NotificationRow] = []
    total: int = 0
    unread: int = 0
    page: int = 1
    pages: int = 1
    unread_only: bool = False
    loading: bool = True
    error: str = ""
    # preferences
    task_reminders: bool = True
    date_reminders: bool = True
    assignments: bool = True
    email_reminders: bool = True
    daily_digest: bool = True
    message_email: bool = True
    digest_hour: str = "7"
    quiet_start: str = "20"
    quiet_end: str = "7"
    prefs_errors: dict[str, str] = {}
    prefs_notice: str = ""

    def _clear(self) -> None:
        self.rows, self.total, self.unread = [], 0, 0

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        self.loading = True
        user = self._actor()
        if user is None:
            self._clear()
            return rx.redirect(f"{routes.SIGN_IN}?next={routes.NOTIFICATIONS}", replace=True)
        try:
            with session_scope() as db:
                result = notifications.list_notifications(
                    db, user, page=self.page, page_size=PAGE_SIZE, unread_only=self.unread_only
                )
                self.unread = notifications.unread_count(db, user)
                prefs = notifications.get_preferences(db, user)
                self.message_email = messages.message_email_enabled(db, user)
            self.rows, self.total = result.items, result.total
            self.page, self.pages = result.page, result.pages
            self.task_reminders, self.date_reminders = prefs.task_reminders, prefs.date_reminders
            self.assignments, self.email_reminders = prefs.assignments, prefs.email_reminders
            self.daily_digest, self.digest_hour = prefs.daily_digest, str(prefs.digest_hour)
            self.quiet_start = "none" if prefs.quiet_start is None else str(prefs.quiet_start)
            self.quiet_end = "none" if prefs.quiet_end is None else str(prefs.quiet_end)
            self.error = ""
        except ChronosError as exc:
            self._clear()
            self.error = exc.message
        self.loading = False
        return None

    @rx.event
    def open(self, note_id: int, link: str):  # type: ignore[no-untyped-def]
        user = self._actor()
        if user is None:
            return rx.redirect(routes.SIGN_IN)
        with session_scope() as db:
            notifications.mark_read(db, user, [int(note_id)])
        target = routes.safe_next(link)
        return rx.redirect(target) if target else NotificationsState.load

    @rx.event
    def mark_all_read(self):  # type: ignore[no-untyped-def]
        user = self._actor()
        if user is None:
            return rx.redirect(routes.SIGN_IN)
        with session_scope() as db:
            notifications.mark_read(db, user)
        return NotificationsState.load

    @rx.event
    def set_unread_only(self, value: bool):  # type: ignore[no-untyped-def]
        self.unread_only, self.page = bool(value), 1
        return NotificationsState.load

    @rx.event
    def next_page(self):  # type: ignore[no-untyped-def]
        self.page = min(self.pages, self.page + 1)
        return NotificationsState.load

    @rx.event
    def prev_page(self):  # type: ignore[no-untyped-def]
        self.page = max(1, self.page - 1)
        return NotificationsState.load

    @rx.event
    def set_pref(self, name: str, value: bool | str) -> None:
        if name in {
            "task_reminders",
            "date_reminders",
            "assignments",
            "email_reminders",
            "daily_digest",
            "message_email",
        }:
            setattr(self, name, bool(value))
        elif name in {"digest_hour", "quiet_start", "quiet_end"}:
            setattr(self, name, str(value))
        self.prefs_notice = ""

    @rx.event
    def save_preferences(self):  # type: ignore[no-untyped-def]
        user = self._actor()
        if user is None:
            return rx.redirect(routes.SIGN_IN)
        quiet = {
            "quiet_start": "" if self.quiet_start == "none" else self.quiet_start,
            "quiet_end": "" if self.quiet_end == "none" else self.quiet_end,
        }
        try:
            with session_scope() as db:
                notifications.update_preferences(
                    db,
                    user,
                    {
                        "task_reminders": self.task_reminders,
                        "date_reminders": self.date_reminders,
                        "assignments": self.assignments,
                        "email_reminders": self.email_reminders,
                        "daily_digest": self.daily_digest,
                        "digest_hour": self.digest_hour,
                        **quiet,
                    },
                )
                messages.set_message_email(db, user, self.message_email)
            self.prefs_errors, self.prefs_notice = {}, "Preferences saved."
        except ValidationFailed as exc:
            self.prefs_errors, self.prefs_notice = dict(exc.errors), ""
        return None


def _row(n: NotificationRow) -> rx.Component:
    return rx.el.button(
        rx.flex(
            rx.box(
                rx.match(
                    n.icon,
                    *[
                        (name, rx.icon(name, size=18))
                        for name in sorted(set(notifications.KIND_ICONS.values()))
                    ],
                    rx.icon("bell", size=18),
                ),
                color=rx.cond(n.unread, rx.color("accent", 10), rx.color("gray", 9)),
                padding_top="2px",
            ),
            rx.box(
                rx.text(n.title, size="2", weight=rx.cond(n.unread, "bold", "regular")),
                rx.cond(n.body, rx.text(n.body, size="1", color_scheme="gray")),
                rx.text(time_ago(n.created_at), size="1", color=rx.color("gray", 10)),
                flex="1",
                min_width="0",
                text_align="left",
            ),
            rx.cond(n.unread, rx.badge("New", size="1", variant="soft")),
            spacing="3",
            align="start",
            width="100%",
        ),
        on_click=NotificationsState.open(n.id, n.link),
        style={
            "all": "unset",
            "display": "block",
            "width": "100%",
            "boxSizing": "border-box",
            "cursor": "pointer",
            "padding": "12px 8px",
            "borderBottom": f"1px solid {rx.color('gray', 4)}",
        },
        _focus_visible={"outline": f"2px solid {rx.color('accent', 8)}"},
        aria_label=rx.cond(n.unread, "Unread: ", "") + n.title,
    )


def _switch(label: str, name: str, value: rx.Var) -> rx.Component:
    return rx.el.label(
        rx.flex(
            rx.switch(checked=value, on_change=lambda v: NotificationsState.set_pref(name, v)),
            rx.text(label, size="2"),
            spacing="2",
            align="center",
        ),
    )


def _hour_select(name: str, value: rx.Var, options: dict[str, str], label: str) -> rx.Component:
    return rx.box(
        select_field(value, lambda v: NotificationsState.set_pref(name, v), options, label),
        min_width="8rem",
    )


def _preferences() -> rx.Component:
    s = NotificationsState
    return rx.card(
        rx.flex(
            rx.heading("Reminders and email", size="4", as_="h2"),
            _switch("Tasks due soon, today or overdue", "task_reminders", s.task_reminders),
            rx.cond(
                s.is_staff,
                _switch(
                    "Key dates on my files in the next 2 days", "date_reminders", s.date_reminders
                ),
            ),
            _switch("When someone gives me a task", "assignments", s.assignments),
            rx.separator(size="4"),
            _switch("Email me my reminders", "email_reminders", s.email_reminders),
            _switch("Email me new messages in conversations", "message_email", s.message_email),
            rx.flex(
                rx.text("Quiet hours: no reminder emails from", size="2"),
                _hour_select("quiet_start", s.quiet_start, QUIET, "Quiet hours start"),
                rx.text("to", size="2"),
                _hour_select("quiet_end", s.quiet_end, QUIET, "Quiet hours end"),
                spacing="2",
                align="center",
                wrap="wrap",
            ),
            rx.cond(
                s.prefs_errors.get("quiet_end", ""),
                rx.text(s.prefs_errors.get("quiet_end", ""), color_scheme="red", size="1"),
            ),
            rx.separator(size="4"),
            rx.flex(
                _switch("Daily digest by email at", "daily_digest", s.daily_digest),
                _hour_select("digest_hour", s.digest_hour, HOURS, "Digest hour"),
                spacing="2",
                align="center",
                wrap="wrap",
            ),
            rx.text(
                "Times are in your brokerage's time zone. In-app notifications always arrive.",
                size="1",
                color_scheme="gray",
            ),
            rx.flex(
                rx.cond(
                    s.prefs_notice,
                    rx.text(s.prefs_notice, color_scheme="grass", size="2", role="status"),
                ),
                rx.spacer(),
                rx.button("Save preferences", on_click=s.save_preferences),
                align="center",
                spacing="2",
            ),
            direction="column",
            spacing="3",
        ),
        width="100%",
    )


def _list() -> rx.Component:
    s = NotificationsState
    return rx.card(
        rx.flex(
            rx.flex(
                rx.heading("Notifications", size="4", as_="h2"),
                rx.badge(s.unread.to_string(), " unread", variant="soft"),
                rx.spacer(),
                rx.el.label(
                    rx.flex(
                        rx.switch(checked=s.unread_only, on_change=s.set_unread_only),
                        rx.text("Unread only", size="2"),
                        spacing="2",
                        align="center",
                    ),
                ),
                rx.button(
                    "Mark all read",
                    variant="soft",
                    size="2",
                    on_click=s.mark_all_read,
                    disabled=s.unread == 0,
                ),
                spacing="3",
                align="center",
                wrap="wrap",
            ),
            rx.cond(
                s.total == 0,
                empty_state(
                    "bell",
                    rx.cond(s.unread_only, "Nothing unread", "No notifications yet"),
                    "Reminders about tasks and key dates, and tasks given to you, show up here.",
                ),
                rx.box(
                    rx.foreach(s.rows, _row),
                    rx.cond(
                        s.pages > 1,
                        pager(s.page, s.pages, s.total, s.prev_page, s.next_page),
                    ),
                    width="100%",
                ),
            ),
            direction="column",
            spacing="2",
        ),
        width="100%",
    )


@page(routes.NOTIFICATIONS, "Notifications", on_load=NotificationsState.load)
def notifications_page() -> rx.Component:
    s = NotificationsState
    return app_shell(
        page_header("Notifications"),
        rx.cond(
            s.loading & (s.rows.length() == 0) & (s.total == 0) & (s.error == ""),
            loading_block("Loading notifications…"),
            rx.flex(
                rx.cond(s.error, error_callout(s.error)),
                rx.grid(
                    _list(),
                    _preferences(),
                    columns=rx.breakpoints(initial="1", md="3fr 2fr"),
                    spacing="3",
                    width="100%",
                    align_items="start",
                ),
                direction="column",
                spacing="3",
            ),
        ),
        active="notifications",
        user_name=s.user_name,
        role_label=s.role_label,
        is_staff=s.is_staff,
        signed_in=s.signed_in,
    )
