"""Today: what needs doing across every file the agent or coordinator works on.

Overdue tasks, tasks due today, the next seven days, and the key dates around today. Each list
is capped (the page says how many more there are); ticking a task off here is the same service
call as on the transaction page.
"""

from __future__ import annotations

from datetime import date

import reflex as rx

from chronos import routes
from chronos.components.layout import api_url, app_shell
from chronos.components.tasks import task_row
from chronos.components.ui import (
    download_link,
    empty_state,
    error_callout,
    loading_block,
    page_header,
)
from chronos.db import session_scope
from chronos.pages.registry import page
from chronos.services import key_dates, reports, tasks
from chronos.services.errors import ChronosError
from chronos.services.key_dates import DeadlineRow
from chronos.services.reports import AtRiskRow
from chronos.services.tasks import TaskRow
from chronos.state.session import STAFF, SessionState

LIST_LIMIT = 50
AT_RISK_LIMIT = 5


class TodayState(SessionState):
    overdue: list[TaskRow] = []
    due_today: list[TaskRow] = []
    next_days: list[TaskRow] = []
    overdue_total: int = 0
    due_today_total: int = 0
    next_days_total: int = 0
    deadlines: list[DeadlineRow] = []
    deadlines_total: int = 0
    at_risk: list[AtRiskRow] = []  # the Reports page's at-risk list, its top files
    today_label: str = ""
    loading: bool = True
    error: str = ""
    notice: str = ""

    def _clear(self) -> None:
        self.overdue, self.due_today, self.next_days, self.deadlines = [], [], [], []
        self.overdue_total = self.due_today_total = self.next_days_total = 0
        self.deadlines_total = 0
        self.at_risk = []

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        self.loading = True
        user, redirect = self._gate(STAFF)
        if user is None:
            self._clear()
            return redirect
        try:
            with session_scope() as db:
                today = tasks.org_today(db, user.org_id)
                view = tasks.today_view(db, user, today=today, limit=LIST_LIMIT)
                deadlines, total = key_dates.upcoming_deadlines(db, user, today=today)
                risky = reports.at_risk(
                    db, user, reports.Filters(), today=today, limit=AT_RISK_LIMIT
                )
            self.overdue, self.due_today, self.next_days = (
                view.overdue,
                view.due_today,
                view.next_days,
            )
            self.overdue_total = view.overdue_total
            self.due_today_total = view.due_today_total
            self.next_days_total = view.next_days_total
            self.deadlines, self.deadlines_total = deadlines, total
            self.at_risk = risky
            self.today_label = _long_date(today)
            self.error = ""
        except ChronosError as exc:
            self._clear()
            self.error = exc.message
        self.loading = False
        return None

    @rx.event
    def toggle(self, task_id: int, status: str):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(STAFF)
        if user is None:
            return redirect
        target = tasks.OPEN if status == tasks.DONE else tasks.DONE
        try:
            with session_scope() as db:
                task = tasks.set_status(db, user, int(task_id), target, expected=status)
                title = task.title
            self.notice = f"Done: {title}" if target == tasks.DONE else f"Reopened: {title}"
            self.error = ""
        except ChronosError as exc:
            self.notice = ""
            self.error = exc.message
        return TodayState.load


def _long_date(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def _section(title: str, icon: str, rows, total, empty: str) -> rx.Component:  # type: ignore[no-untyped-def]
    return rx.card(
        rx.flex(
            rx.flex(
                rx.icon(icon, size=18),
                rx.heading(title, size="4", as_="h2"),
                rx.badge(total.to_string(), variant="soft", color_scheme="gray"),
                align="center",
                spacing="2",
            ),
            rx.cond(
                rows.length() == 0,
                rx.text(empty, color_scheme="gray", size="2", padding_y="8px"),
                rx.box(
                    rx.foreach(
                        rows,
                        lambda r: task_row(
                            r,
                            TodayState.toggle(r.id, r.status),
                            show_address=True,
                            href="/transactions/" + r.transaction_id.to_string(),
                        ),
                    ),
                    width="100%",
                ),
            ),
            rx.cond(
                total > rows.length(),
                rx.text(
                    "Showing ",
                    rows.length().to_string(),
                    " of ",
                    total.to_string(),
                    ": open a transaction for the rest.",
                    size="1",
                    color_scheme="gray",
                ),
            ),
            direction="column",
            spacing="2",
            width="100%",
        ),
        width="100%",
    )


def _deadline(d: DeadlineRow) -> rx.Component:
    return rx.flex(
        rx.box(
            rx.text(d.label, size="2", weight="medium"),
            rx.link(
                d.address,
                href="/transactions/" + d.transaction_id.to_string(),  # type: ignore[attr-defined]
                size="1",
                color_scheme="indigo",
            ),
            flex="1",
            min_width="0",
        ),
        rx.box(
            rx.text(d.date_label, size="1", align="right"),
            rx.badge(
                d.days_label,
                color_scheme=rx.cond(d.passed, "gray", rx.cond(d.due_soon, "amber", "indigo")),
                variant="soft",
                size="1",
            ),
            text_align="right",
        ),
        spacing="3",
        align="start",
        padding_y="8px",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        width="100%",
    )


def _deadlines() -> rx.Component:
    return rx.card(
        rx.flex(
            rx.flex(
                rx.icon("calendar_clock", size=18),
                rx.heading("Key dates", size="4", as_="h2"),
                rx.badge(
                    TodayState.deadlines_total.to_string(), variant="soft", color_scheme="gray"
                ),
                align="center",
                spacing="2",
            ),
            rx.text(
                "The last 3 days and the next 7, on open files.", size="1", color_scheme="gray"
            ),
            rx.cond(
                TodayState.deadlines.length() == 0,
                rx.text("No key dates around today.", color_scheme="gray", size="2"),
                rx.box(rx.foreach(TodayState.deadlines, _deadline), width="100%"),
            ),
            rx.link("Open the calendar", href=routes.CALENDAR, size="2"),
            direction="column",
            spacing="2",
        ),
        width="100%",
    )


def _at_risk() -> rx.Component:
    return rx.card(
        rx.flex(
            rx.flex(
                rx.heading("At risk", size="4", as_="h2"),
                rx.link("All reports", href=routes.REPORTS, size="2"),
                justify="between",
                align="center",
            ),
            rx.foreach(
                TodayState.at_risk,
                lambda r: rx.flex(
                    rx.link(r.address, href="/transactions/" + r.transaction_id.to_string()),
                    rx.text("Score ", r.score.to_string(), ": ", r.summary, size="1"),
                    direction="column",
                ),
            ),
            direction="column",
            spacing="2",
        ),
        width="100%",
        id="today-at-risk",
    )


def _content() -> rx.Component:
    nothing = (
        (TodayState.overdue_total == 0)
        & (TodayState.due_today_total == 0)
        & (TodayState.next_days_total == 0)
        & (TodayState.deadlines_total == 0)
    )
    return rx.cond(
        TodayState.loading & (TodayState.today_label == ""),
        loading_block("Loading your day…"),
        rx.flex(
            rx.cond(TodayState.error, error_callout(TodayState.error)),
            rx.cond(
                TodayState.notice,
                rx.callout(TodayState.notice, icon="check", color_scheme="grass", role="status"),
            ),
            rx.cond(
                nothing & (TodayState.error == ""),
                empty_state(
                    "sun",
                    "Nothing due this week",
                    "No open task is due in the next 7 days on your files, and no key date is near.",
                    rx.link(rx.button("Go to the pipeline", variant="soft"), href=routes.PIPELINE),
                ),
                rx.grid(
                    rx.flex(
                        _section(
                            "Overdue",
                            "circle_alert",
                            TodayState.overdue,
                            TodayState.overdue_total,
                            "Nothing overdue.",
                        ),
                        _section(
                            "Due today",
                            "sun",
                            TodayState.due_today,
                            TodayState.due_today_total,
                            "Nothing due today.",
                        ),
                        _section(
                            "Next 7 days",
                            "calendar_range",
                            TodayState.next_days,
                            TodayState.next_days_total,
                            "Nothing due this week.",
                        ),
                        direction="column",
                        spacing="3",
                    ),
                    rx.flex(
                        _deadlines(),
                        rx.cond(TodayState.at_risk.length() > 0, _at_risk()),
                        direction="column",
                        spacing="3",
                    ),
                    columns=rx.breakpoints(initial="1", md="3fr 2fr"),
                    spacing="3",
                    width="100%",
                    align_items="start",
                ),
            ),
            direction="column",
            spacing="3",
            width="100%",
        ),
    )


@page(routes.TODAY, "Today", on_load=TodayState.load)
def today_page() -> rx.Component:
    return app_shell(
        page_header(
            "Today",
            download_link(
                "Open tasks CSV",
                api_url("/api/v1/tasks.csv"),
                aria_label="Download the open tasks of your files as a spreadsheet (CSV)",
            ),
            subtitle=TodayState.today_label,
        ),
        _content(),
        active="today",
        user_name=TodayState.user_name,
        role_label=TodayState.role_label,
        is_staff=TodayState.is_staff,
        signed_in=TodayState.signed_in,
    )
