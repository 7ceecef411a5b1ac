"""The calendar page's "Subscribe in your calendar app" section: the private feed link.

The link holds a random token of which the database keeps only the HMAC, so it is shown once,
in the tab that made or reset it (and only while it is still the current link); afterwards the
section says it is on and offers a reset. Every handler resolves the actor from the session
cookie and acts on that user's own link only: no handler takes a user or a token.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import reflex as rx

from chronos.db import session_scope
from chronos.services import calendar_feeds
from chronos.services.errors import ChronosError
from chronos.state.session import SessionState

URL_INPUT_ID = "calendar-feed-url"


def _when(value: datetime | None, zone: str) -> str:
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(zone)) if value.tzinfo else value
    return f"{local:%a} {local.day} {local:%b %Y}, {local:%H:%M}"


def _webcal(url: str) -> str:
    """The same link with the webcal scheme: Apple devices open "Subscribe" for it."""
    parts = urlsplit(url)
    return urlunsplit(("webcal", parts.netloc, parts.path, parts.query, ""))


class CalendarFeedState(SessionState):
    feed_loaded: bool = False
    feed_active: bool = False
    # The link itself: only in the tab that made or reset it, and only while it is current.
    feed_url: str = ""
    webcal_url: str = ""
    feed_https: bool = True
    feed_created: str = ""
    feed_last_used: str = ""
    include_tasks: bool = False
    feed_busy: bool = False
    feed_error: str = ""
    _feed_token: str = ""

    def _clear_feed(self) -> None:
        self.feed_loaded = self.feed_active = self.include_tasks = self.feed_busy = False
        self.feed_url = self.webcal_url = self.feed_created = self.feed_last_used = ""
        self.feed_error, self._feed_token = "", ""

    def _show(self, status: calendar_feeds.FeedStatus) -> None:
        zone = status.zone
        self.feed_loaded = True
        self.feed_active = status.active
        self.include_tasks = status.include_tasks
        self.feed_created = _when(status.created_at, zone)
        self.feed_last_used = _when(status.last_used_at, zone)
        if not status.active:
            self.feed_url = self.webcal_url = self._feed_token = ""

    def _set_link(self, token: str) -> None:
        self._feed_token = token
        self.feed_url = calendar_feeds.feed_url(token)
        self.webcal_url = _webcal(self.feed_url)
        self.feed_https = self.feed_url.startswith("https://")

    @rx.event
    def load_feed(self):  # type: ignore[no-untyped-def]
        user = self._actor()
        if user is None:
            self._clear_feed()
            return None  # CalendarState.load sends the visitor to sign in
        try:
            with session_scope() as db:
                status = calendar_feeds.status(db, user)
                # A link shown earlier in this tab stays only while it is still the one in use
                # (a reset in another tab, or by deactivation, hides it here too).
                if self._feed_token and not calendar_feeds.token_matches(
                    db, user, self._feed_token
                ):
                    self.feed_url = self.webcal_url = self._feed_token = ""
                self._show(status)
            self.feed_error = ""
        except ChronosError as exc:
            self._clear_feed()
            self.feed_error = exc.message
        return None

    def _make_link(self, *, reset: bool):  # type: ignore[no-untyped-def]
        user = self._actor()
        if user is None:
            self._clear_feed()
            return rx.toast.error("Sign in again to change your calendar link.")
        self.feed_busy = True
        try:
            with session_scope() as db:
                token = calendar_feeds.create_or_reset(db, user, client=self._client())
                status = calendar_feeds.status(db, user)
                self._show(status)
            self._set_link(token)
        except ChronosError as exc:
            self.feed_busy = False
            return rx.toast.error(exc.message)
        self.feed_busy, self.feed_error = False, ""
        if reset:
            return rx.toast.success(
                "New link made. The old one has stopped: give the new one to your calendar apps."
            )
        return rx.toast.success("Your calendar link is ready. Copy it now.")

    @rx.event
    def create_link(self):  # type: ignore[no-untyped-def]
        return self._make_link(reset=False)

    @rx.event
    def reset_link(self):  # type: ignore[no-untyped-def]
        return self._make_link(reset=True)

    @rx.event
    def turn_off_link(self):  # type: ignore[no-untyped-def]
        user = self._actor()
        if user is None:
            self._clear_feed()
            return rx.toast.error("Sign in again to change your calendar link.")
        try:
            with session_scope() as db:
                calendar_feeds.turn_off(db, user, client=self._client())
                self._show(calendar_feeds.status(db, user))
        except ChronosError as exc:
            return rx.toast.error(exc.message)
        self.feed_url = self.webcal_url = self._feed_token = ""
        return rx.toast.success("Calendar link turned off. Calendars using it stop updating.")

    @rx.event
    def set_include_tasks(self, value: bool):  # type: ignore[no-untyped-def]
        user = self._actor()
        if user is None:
            self._clear_feed()
            return rx.toast.error("Sign in again to change your calendar link.")
        try:
            with session_scope() as db:
                status = calendar_feeds.set_include_tasks(db, user, bool(value))
                self._show(status)
        except ChronosError as exc:
            return rx.toast.error(exc.message)
        return None


# ---------------------------------------------------------------- view


def _confirm(
    trigger: rx.Component, title: str, body: str, action: str, on_click: object
) -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(trigger),
        rx.alert_dialog.content(
            rx.alert_dialog.title(title),
            rx.alert_dialog.description(body),
            rx.flex(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button(action, color_scheme="red", on_click=on_click)  # type: ignore[arg-type]
                ),
                spacing="3",
                justify="end",
                margin_top="16px",
                wrap="wrap",
            ),
            max_width="440px",
        ),
    )


def _how_to(title: str, *steps: str) -> rx.Component:
    return rx.el.details(
        rx.el.summary(rx.text(title, as_="span", weight="medium", size="2"), cursor="pointer"),
        rx.el.ol(
            *[rx.el.li(rx.text(step, size="2")) for step in steps],
            style={"paddingLeft": "1.25rem", "margin": "6px 0"},
        ),
        padding_y="4px",
    )


def _link_box() -> rx.Component:
    s = CalendarFeedState
    return rx.flex(
        rx.callout(
            "Copy this link now: for your safety it is shown only once. Anyone who has it can "
            "read these dates, so keep it to yourself.",
            icon="key_round",
            color_scheme="amber",
            role="status",
            width="100%",
        ),
        rx.el.label(
            rx.text("Your private calendar link", size="2", weight="medium"),
            rx.input(
                value=s.feed_url,
                read_only=True,
                id=URL_INPUT_ID,
                width="100%",
                # Selecting it all on focus makes a manual copy one gesture on a phone.
                on_focus=rx.call_script(f"document.getElementById('{URL_INPUT_ID}').select()"),
                style={"fontFamily": "monospace"},
            ),
            style={"display": "flex", "flexDirection": "column", "gap": "4px", "width": "100%"},
        ),
        rx.flex(
            rx.button(
                rx.icon("copy", size=16),
                "Copy link",
                on_click=[rx.set_clipboard(s.feed_url), rx.toast.success("Link copied.")],
                id="copy-calendar-link",
            ),
            rx.button(
                rx.el.a(rx.icon("apple", size=16), "Subscribe on Apple devices", href=s.webcal_url),
                variant="soft",
                as_child=True,
            ),
            spacing="2",
            wrap="wrap",
        ),
        rx.cond(
            ~s.feed_https,
            rx.text(
                "This server's address is not https: calendar apps on the internet need "
                "CHRONOS_PUBLIC_URL set to its https address.",
                size="1",
                color_scheme="gray",
            ),
        ),
        direction="column",
        spacing="2",
        width="100%",
    )


def _active() -> rx.Component:
    s = CalendarFeedState
    return rx.flex(
        rx.cond(
            s.feed_url != "",
            _link_box(),
            rx.text(
                "Your calendar link is on (made ",
                s.feed_created,
                rx.cond(
                    s.feed_last_used != "",
                    rx.fragment("; last read by a calendar app ", s.feed_last_used),
                    "; not read by a calendar app yet",
                ),
                "). It is shown only when it is made: to add your dates to another calendar, "
                "reset it and give every calendar the new link.",
                size="2",
            ),
        ),
        rx.el.label(
            rx.switch(
                checked=s.include_tasks,
                on_change=s.set_include_tasks,
                id="calendar-feed-tasks",
            ),
            rx.text("Also show my open tasks with a due date", size="2"),
            style={"display": "flex", "gap": "8px", "alignItems": "center", "cursor": "pointer"},
        ),
        rx.flex(
            _confirm(
                rx.button(
                    rx.icon("refresh_cw", size=16),
                    "Reset link",
                    variant="soft",
                    id="reset-calendar-link",
                ),
                "Reset your calendar link?",
                "The current link stops at once; calendars that use it stop updating until you "
                "give them the new one.",
                "Reset link",
                s.reset_link,
            ),
            _confirm(
                rx.button("Turn off", variant="soft", color_scheme="gray"),
                "Turn off your calendar link?",
                "Calendars that use it stop updating. You can make a new link at any time.",
                "Turn off",
                s.turn_off_link,
            ),
            spacing="2",
            wrap="wrap",
        ),
        direction="column",
        spacing="3",
        width="100%",
    )


def feed_section() -> rx.Component:
    """The card under the calendar: make, copy, reset or turn off the feed link."""
    s = CalendarFeedState
    return rx.card(
        rx.flex(
            rx.heading("Subscribe in your calendar app", size="4", as_="h2", id="calendar-feed"),
            rx.text(
                "Key dates and closings of your files in Google Calendar, Outlook or Apple "
                "Calendar, kept up to date. Moved dates move there too; calendar apps refresh on "
                "their own schedule (Google every few hours).",
                size="2",
                color_scheme="gray",
            ),
            rx.cond(
                s.feed_error,
                rx.text(s.feed_error, color_scheme="red", size="2", role="alert"),
            ),
            rx.cond(
                s.feed_active,
                _active(),
                rx.button(
                    rx.icon("calendar_plus", size=16),
                    "Create my calendar link",
                    on_click=s.create_link,
                    loading=s.feed_busy,
                    disabled=~s.feed_loaded,
                    id="create-calendar-link",
                    width="fit-content",
                ),
            ),
            _how_to(
                "Google Calendar",
                "On a computer, open calendar.google.com.",
                "Next to “Other calendars”, choose + and then “From URL”.",
                "Paste the link and choose “Add calendar”. It appears on your phone too.",
            ),
            _how_to(
                "Outlook",
                "Outlook on the web: Calendar → Add calendar → Subscribe from web.",
                "Paste the link, give it a name and choose Import.",
                "Outlook for Windows: Home → Add calendar → From Internet, paste the link.",
            ),
            _how_to(
                "Apple Calendar (iPhone, iPad, Mac)",
                "On the device, choose “Subscribe on Apple devices” above; or",
                "iPhone: Settings → Calendar → Accounts → Add Account → Other → "
                "Add Subscribed Calendar, and paste the link.",
                "Mac: Calendar → File → New Calendar Subscription, paste the link.",
            ),
            direction="column",
            spacing="3",
        ),
        width="100%",
        margin_top="16px",
        aria_labelledby="calendar-feed",
    )


__all__ = ["CalendarFeedState", "feed_section"]
