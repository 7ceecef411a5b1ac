"""Calendar: the key dates and closings of every open file, by month or as an agenda.

A month grid from tablet width up; phones get the agenda (one line per date, grouped by
day) because seven columns do not fit 390 px. Outside parties see the shared dates of their
own files.
"""

from __future__ import annotations

import calendar as pycal
from dataclasses import dataclass, field
from datetime import date, timedelta

import reflex as rx

from chronos import routes
from chronos.components.layout import api_url, app_shell
from chronos.components.ui import error_callout, loading_block, page_header
from chronos.db import session_scope
from chronos.pages.calendar_feed import CalendarFeedState, feed_section
from chronos.pages.registry import page
from chronos.services import key_dates, tasks
from chronos.services.errors import ChronosError
from chronos.services.key_dates import DeadlineRow
from chronos.state.session import SessionState

MAX_PER_CELL = 3
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


@dataclass
class CalItem:
    transaction_id: int
    href: str
    label: str
    address: str
    passed: bool
    is_closing: bool
    ics_href: str = ""  # "add to calendar": this one date as an .ics file


@dataclass
class CalDay:
    iso: str
    number: int
    heading: str  # "Mon 12 Jan"
    in_month: bool
    is_today: bool
    dates: list[CalItem] = field(default_factory=list)
    more: int = 0


def _month_start(value: str, today: date) -> date:
    try:
        year, month = (int(p) for p in value.split("-")[:2])
        return date(year, month, 1)
    except (ValueError, TypeError):
        return today.replace(day=1)


def build_month(first: date, today: date, rows: list[DeadlineRow]) -> list[CalDay]:
    """Whole weeks (Monday first) covering the month, each day with its items."""
    start = first - timedelta(days=first.weekday())
    last = first.replace(day=pycal.monthrange(first.year, first.month)[1])
    end = last + timedelta(days=6 - last.weekday())
    by_day: dict[str, list[CalItem]] = {}
    for r in rows:
        by_day.setdefault(r.date, []).append(_item(r))
    days = []
    d = start
    while d <= end:
        items = by_day.get(d.isoformat(), [])
        days.append(
            CalDay(
                iso=d.isoformat(),
                number=d.day,
                heading=f"{d:%a} {d.day} {d:%b}",
                in_month=d.month == first.month,
                is_today=d == today,
                dates=items[:MAX_PER_CELL],
                more=max(0, len(items) - MAX_PER_CELL),
            )
        )
        d += timedelta(days=1)
    return days


def build_agenda(rows: list[DeadlineRow], today: date) -> list[CalDay]:
    days: dict[str, CalDay] = {}
    for r in rows:
        d = date.fromisoformat(r.date)
        day = days.setdefault(
            r.date,
            CalDay(
                iso=r.date,
                number=d.day,
                heading=f"{d:%A} {d.day} {d:%B}",
                in_month=True,
                is_today=d == today,
            ),
        )
        day.dates.append(_item(r))
    return list(days.values())


def _item(r: DeadlineRow) -> CalItem:
    return CalItem(
        transaction_id=r.transaction_id,
        href=routes.transaction(r.transaction_id),
        label=r.label,
        address=r.address.split(",")[0],
        passed=r.passed,
        is_closing=r.key == "closing",
        ics_href=api_url(f"/feeds/transactions/{r.transaction_id}/{r.key}.ics"),
    )


class CalendarState(SessionState):
    month: str = ""  # YYYY-MM shown
    title: str = ""
    days: list[CalDay] = []
    agenda: list[CalDay] = []
    total: int = 0
    truncated: bool = False
    loading: bool = True
    error: str = ""

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        self.loading = True
        user = self._actor()
        if user is None:
            self.days, self.agenda = [], []
            path = self.router.url.path or routes.CALENDAR
            return rx.redirect(f"{routes.SIGN_IN}?next={path}", replace=True)
        requested = str(self.router.url.query_parameters.get("month", "") or self.month)
        try:
            with session_scope() as db:
                today = tasks.org_today(db, user.org_id)
                first = _month_start(requested, today)
                grid_start = first - timedelta(days=first.weekday())
                grid_end = grid_start + timedelta(days=41)
                rows, total = key_dates.deadlines_between(
                    db, user, grid_start, grid_end, today=today, limit=1000
                )
            self.month = f"{first:%Y-%m}"
            self.title = f"{first:%B %Y}"
            self.days = build_month(first, today, rows)
            in_month = [r for r in rows if r.date.startswith(self.month)]
            self.agenda = build_agenda(in_month, today)
            self.total, self.truncated = total, total > len(rows)
            self.error = ""
        except ChronosError as exc:
            self.days, self.agenda = [], []
            self.error = exc.message
        self.loading = False
        return None

    def _shift(self, months: int) -> str:
        first = _month_start(self.month, date.today())
        index = first.year * 12 + first.month - 1 + months
        return f"{index // 12:04d}-{index % 12 + 1:02d}"

    @rx.event
    def previous_month(self):  # type: ignore[no-untyped-def]
        self.month = self._shift(-1)
        return rx.redirect(f"{routes.CALENDAR}?month={self.month}")

    @rx.event
    def next_month(self):  # type: ignore[no-untyped-def]
        self.month = self._shift(1)
        return rx.redirect(f"{routes.CALENDAR}?month={self.month}")

    @rx.event
    def this_month(self):  # type: ignore[no-untyped-def]
        self.month = ""
        return rx.redirect(routes.CALENDAR)


def _chip(item: CalItem) -> rx.Component:
    return rx.link(
        rx.text(
            item.label,
            size="1",
            weight="medium",
            trim="both",
            style={"overflow": "hidden", "textOverflow": "ellipsis", "whiteSpace": "nowrap"},
        ),
        rx.text(
            item.address,
            size="1",
            color_scheme="gray",
            style={"overflow": "hidden", "textOverflow": "ellipsis", "whiteSpace": "nowrap"},
        ),
        href=item.href,
        underline="none",
        color_scheme="gray",
        high_contrast=True,
        title=item.label + " · " + item.address,
        display="block",
        padding="2px 4px",
        border_radius="4px",
        background=rx.cond(item.is_closing, rx.color("grass", 3), rx.color("indigo", 3)),
        opacity=rx.cond(item.passed, "0.6", "1"),
        margin_bottom="2px",
    )


def _cell(day: CalDay) -> rx.Component:
    return rx.box(
        rx.text(
            day.number.to_string(),
            size="1",
            weight=rx.cond(day.is_today, "bold", "regular"),
            color=rx.cond(day.is_today, rx.color("accent", 11), rx.color("gray", 11)),
        ),
        rx.foreach(day.dates, _chip),
        rx.cond(day.more > 0, rx.text("+", day.more.to_string(), " more", size="1")),
        min_height="96px",
        padding="4px",
        border=f"1px solid {rx.color('gray', 4)}",
        background=rx.cond(day.in_month, rx.color("gray", 1), rx.color("gray", 2)),
        outline=rx.cond(day.is_today, f"2px solid {rx.color('accent', 8)}", "none"),
        min_width="0",
        aria_label=day.heading,
    )


def _month_grid() -> rx.Component:
    return rx.box(
        rx.grid(
            *[
                rx.text(w, size="1", weight="bold", color_scheme="gray", padding="4px")
                for w in WEEKDAYS
            ],
            rx.foreach(CalendarState.days, _cell),
            columns="7",
            width="100%",
        ),
        display=["none", "none", "block"],
    )


def _agenda_day(day: CalDay) -> rx.Component:
    return rx.box(
        rx.text(
            day.heading,
            rx.cond(day.is_today, " · today", ""),
            size="2",
            weight="bold",
            padding_y="6px",
        ),
        rx.foreach(
            day.dates,
            lambda item: rx.flex(
                rx.link(
                    rx.flex(
                        rx.cond(
                            item.is_closing,
                            rx.icon("key_round", size=16),
                            rx.icon("calendar_clock", size=16),
                        ),
                        rx.box(
                            rx.text(item.label, size="2", weight="medium"),
                            rx.text(item.address, size="1", color_scheme="gray"),
                        ),
                        spacing="2",
                        align="start",
                    ),
                    href=item.href,
                    underline="none",
                    color_scheme="gray",
                    high_contrast=True,
                    display="block",
                    padding_y="6px",
                    opacity=rx.cond(item.passed, "0.6", "1"),
                    flex="1",
                    min_width="0",
                ),
                _add_to_calendar(item),
                align="center",
                spacing="2",
            ),
        ),
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        padding_bottom="6px",
    )


def _add_to_calendar(item: CalItem) -> rx.Component:
    """One date as an .ics file: phones and desktops open it in their calendar app."""
    return rx.link(
        rx.icon("calendar_plus", size=18),
        href=item.ics_href,
        aria_label="Add " + item.label + " (" + item.address + ") to my calendar",
        title="Add to my calendar",
        color_scheme="gray",
        padding="8px",
        download=True,
    )


def _agenda() -> rx.Component:
    return rx.box(
        rx.cond(
            CalendarState.agenda.length() == 0,
            rx.text("No key dates this month.", color_scheme="gray", size="2", padding_y="16px"),
            rx.foreach(CalendarState.agenda, _agenda_day),
        ),
        display=["block", "block", "none"],
    )


def _toolbar() -> rx.Component:
    return rx.flex(
        rx.icon_button(
            rx.icon("chevron_left"),
            variant="soft",
            on_click=CalendarState.previous_month,
            aria_label="Previous month",
        ),
        rx.heading(CalendarState.title, size="4", as_="h2", min_width="10rem", align="center"),
        rx.icon_button(
            rx.icon("chevron_right"),
            variant="soft",
            on_click=CalendarState.next_month,
            aria_label="Next month",
        ),
        rx.button("This month", variant="ghost", on_click=CalendarState.this_month),
        align="center",
        spacing="2",
        margin_bottom="12px",
        wrap="wrap",
    )


@page(routes.CALENDAR, "Calendar", on_load=[CalendarState.load, CalendarFeedState.load_feed])
def calendar_page() -> rx.Component:
    return app_shell(
        page_header("Calendar", subtitle="Key dates and closings of your open files"),
        _toolbar(),
        rx.cond(
            CalendarState.loading & (CalendarState.days.length() == 0),
            loading_block("Loading the calendar…"),
            rx.cond(
                CalendarState.error,
                error_callout(CalendarState.error),
                rx.box(
                    rx.cond(
                        CalendarState.truncated,
                        rx.text(
                            "Showing the first 1,000 dates of this view.",
                            size="1",
                            color_scheme="gray",
                        ),
                    ),
                    _month_grid(),
                    _agenda(),
                ),
            ),
        ),
        feed_section(),
        active="calendar",
        user_name=CalendarState.user_name,
        role_label=CalendarState.role_label,
        is_staff=CalendarState.is_staff,
        signed_in=CalendarState.signed_in,
    )
