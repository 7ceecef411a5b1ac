"""The developer mailbox: every email the app recorded, readable without signing in.

Only in dev mode (`reflex run` without ``--env prod``) and while ``CHRONOS_DEV_MAILBOX`` is on
(the default with the outbox backend): a production build does not compile these pages, and
the service refuses their handlers. Browser tests read sign-up and invitation emails here: the
plain-text body shows every URL as a link whose text is the URL itself.
"""

from __future__ import annotations

import reflex as rx

from chronos import routes
from chronos.components.layout import brand
from chronos.components.mail import delivery_badge, email_status_badge
from chronos.components.timeline import local_time
from chronos.components.ui import (
    empty_state,
    error_callout,
    loading_block,
    pager,
)
from chronos.db import session_scope
from chronos.pages.registry import page
from chronos.services import email_log
from chronos.services.email_log import MailboxMessage, MailboxRow, TextSegment
from chronos.services.errors import ChronosError, NotFound, PermissionDenied
from chronos.state.session import SessionState

PAGE_SIZE = 25


class DevMailboxState(SessionState):
    rows: list[MailboxRow] = []
    total: int = 0
    page: int = 1
    pages: int = 1
    recipient: str = ""
    switched_off: str = ""
    error: str = ""
    loading: bool = True

    def _fetch(self) -> None:
        try:
            with session_scope() as db:
                result = email_log.mailbox(
                    db, to=self.recipient, page=self.page, page_size=PAGE_SIZE
                )
        except PermissionDenied as exc:
            self.rows, self.total, self.switched_off = [], 0, exc.message
        except ChronosError as exc:
            self.rows, self.total, self.error = [], 0, exc.message
        else:
            self.rows, self.total = result.items, result.total
            self.page, self.pages = result.page, result.pages
            self.switched_off = self.error = ""
        self.loading = False

    @rx.event
    def load(self) -> None:
        self.loading = True
        self.recipient = str(self.router.url.query_parameters.get("to", ""))[:254]
        self.page = 1
        self._fetch()

    @rx.event
    def set_recipient(self, value: str) -> None:
        self.recipient, self.page = value[:254], 1
        self._fetch()

    @rx.event
    def clear_recipient(self) -> None:
        self.recipient, self.page = "", 1
        self._fetch()

    @rx.event
    def next_page(self) -> None:
        if self.page < self.pages:
            self.page += 1
        self._fetch()

    @rx.event
    def prev_page(self) -> None:
        if self.page > 1:
            self.page -= 1
        self._fetch()


def _blank() -> MailboxMessage:
    return MailboxMessage(0, "", "", "", "", "", "", "", "", "")


class DevMailboxMessageState(SessionState):
    message: MailboxMessage = _blank()
    segments: list[TextSegment] = []
    found: bool = False
    not_found: bool = False
    switched_off: str = ""
    error: str = ""

    @rx.event
    def load(self) -> None:
        self.message, self.segments, self.found, self.not_found = _blank(), [], False, False
        self.switched_off = self.error = ""
        try:
            with session_scope() as db:
                message = email_log.mailbox_message(db, self._int_param("message_id"))
        except PermissionDenied as exc:
            self.switched_off = exc.message
        except NotFound:
            self.not_found = True
        except ChronosError as exc:
            self.error = exc.message
        else:
            self.message, self.segments, self.found = message, message.segments, True


# ---------------------------------------------------------------- components


def _frame(*children: rx.Component) -> rx.Component:
    return rx.box(
        rx.el.header(
            rx.flex(
                brand(),
                rx.badge("Developer mailbox", variant="soft", color_scheme="amber"),
                rx.spacer(),
                rx.color_mode.button(
                    variant="ghost", color_scheme="gray", aria_label="Toggle dark mode"
                ),
                align="center",
                spacing="3",
                max_width="960px",
                margin_x="auto",
                padding_x=["12px", "16px"],
                height="56px",
            ),
            style={"borderBottom": f"1px solid {rx.color('gray', 5)}"},
        ),
        rx.el.main(
            *children,
            style={"maxWidth": "960px", "margin": "0 auto"},
            padding_x=["12px", "16px", "24px"],
            padding_y=["16px", "24px"],
        ),
        min_height="100vh",
    )


def _switched_off(message: rx.Var) -> rx.Component:
    return empty_state("mail_x", "The developer mailbox is off", message)


def _row(r: MailboxRow) -> rx.Component:
    return rx.link(
        rx.flex(
            rx.flex(
                rx.text(r.subject, weight="bold", size="3", trim="both"),
                rx.flex(
                    email_status_badge(r.status, r.status_label),
                    delivery_badge(r.delivery_status, r.delivery_label),
                    spacing="1",
                    wrap="wrap",
                    justify="end",
                ),
                justify="between",
                align="start",
                spacing="2",
            ),
            rx.flex(
                rx.text(r.recipient, size="2", style={"overflowWrap": "anywhere"}),
                rx.text(local_time(r.created_at), size="1", color_scheme="gray"),
                justify="between",
                wrap="wrap",
                spacing="2",
            ),
            direction="column",
            spacing="1",
            padding="12px",
        ),
        href=routes.DEV_MAILBOX + "/" + r.id.to_string(),  # type: ignore[attr-defined]
        underline="none",
        color="inherit",
        display="block",
        style={"borderBottom": f"1px solid {rx.color('gray', 4)}"},
        aria_label=r.subject,
    )


def _search() -> rx.Component:
    return rx.input(
        rx.input.slot(rx.icon("search", size=16)),
        placeholder="Filter by recipient…",
        value=DevMailboxState.recipient,
        on_change=DevMailboxState.set_recipient.debounce(300),  # type: ignore[attr-defined]
        aria_label="Filter by recipient",
        type="search",
        size="2",
        width="100%",
        max_width=["100%", "28rem"],
        id="mailbox-to",
        margin_bottom="12px",
    )


def _list() -> rx.Component:
    return rx.cond(
        DevMailboxState.total == 0,
        rx.cond(
            DevMailboxState.recipient != "",
            empty_state(
                "search_x",
                "No messages to that recipient",
                "Emails appear here the moment the app records them.",
                rx.button("Show all", variant="soft", on_click=DevMailboxState.clear_recipient),
            ),
            empty_state(
                "inbox", "No emails yet", "Emails appear here the moment the app records them."
            ),
        ),
        rx.box(
            rx.card(
                rx.foreach(DevMailboxState.rows, _row),
                padding="0",
                width="100%",
            ),
            pager(
                DevMailboxState.page,
                DevMailboxState.pages,
                DevMailboxState.total,
                DevMailboxState.prev_page,
                DevMailboxState.next_page,
            ),
            width="100%",
        ),
    )


@page(routes.DEV_MAILBOX, "Developer mailbox", on_load=DevMailboxState.load, dev_only=True)
def dev_mailbox_page() -> rx.Component:
    return _frame(
        rx.heading("Mailbox", size="6", as_="h1", margin_bottom="4px"),
        rx.text(
            "Every email the app has recorded, newest first. Nothing here leaves this machine "
            "unless a real mail backend is configured.",
            color_scheme="gray",
            size="2",
            margin_bottom="16px",
        ),
        rx.cond(
            DevMailboxState.switched_off,
            _switched_off(DevMailboxState.switched_off),
            rx.cond(
                DevMailboxState.error,
                error_callout(DevMailboxState.error),
                rx.cond(
                    DevMailboxState.loading & (DevMailboxState.rows.length() == 0),
                    loading_block("Loading the mailbox…"),
                    rx.box(_search(), _list(), width="100%"),
                ),
            ),
        ),
    )


def _meta(label: str, value: rx.Component) -> rx.Component:
    return rx.flex(
        rx.text(label, size="2", color_scheme="gray", min_width="4.5rem"),
        value,
        spacing="2",
        align="baseline",
    )


def _segment(seg: TextSegment) -> rx.Component:
    return rx.cond(
        seg.is_url,
        rx.link(seg.text, href=seg.text, style={"overflowWrap": "anywhere"}),
        rx.text.span(seg.text),
    )


def _message() -> rx.Component:
    m = DevMailboxMessageState.message
    return rx.flex(
        rx.heading(m.subject, size="5", as_="h1"),
        rx.flex(
            _meta("To", rx.text(m.recipient, size="2", style={"overflowWrap": "anywhere"})),
            _meta("Recorded", rx.text(local_time(m.created_at), size="2")),
            _meta("Status", email_status_badge(m.status, m.status_label)),
            rx.cond(
                m.delivery_status,
                _meta(
                    "Delivery",
                    rx.flex(
                        delivery_badge(m.delivery_status, m.delivery_label),
                        rx.text(local_time(m.delivery_updated_at), size="1", color_scheme="gray"),
                        spacing="2",
                        align="center",
                    ),
                ),
            ),
            _meta("Template", rx.code(m.template, size="2")),
            direction="column",
            spacing="1",
        ),
        rx.heading("Plain text", size="3", as_="h2", margin_top="8px"),
        rx.card(
            rx.box(
                rx.foreach(DevMailboxMessageState.segments, _segment),
                id="mail-text",
                style={
                    "whiteSpace": "pre-wrap",
                    "overflowWrap": "anywhere",
                    "fontFamily": "var(--code-font-family)",
                    "fontSize": "14px",
                    "lineHeight": "1.5",
                },
            ),
            width="100%",
        ),
        rx.heading("HTML", size="3", as_="h2", margin_top="8px"),
        # sandbox="": no scripts, no same-origin access, no navigation out of the frame.
        rx.el.iframe(
            src_doc=m.html,
            sandbox="",
            title="HTML version of the email",
            id="mail-html",
            style={
                "width": "100%",
                "height": "560px",
                "border": f"1px solid {rx.color('gray', 5)}",
                "borderRadius": "8px",
                "background": "white",
            },
        ),
        direction="column",
        spacing="3",
        width="100%",
    )


def _back() -> rx.Component:
    return rx.link(
        rx.flex(
            rx.icon("arrow_left", size=16),
            rx.text("Mailbox", size="2"),
            align="center",
            spacing="1",
        ),
        href=routes.DEV_MAILBOX,
        color_scheme="gray",
        underline="none",
        margin_bottom="12px",
        display="inline-block",
    )


@page(
    routes.DEV_MAILBOX + "/[message_id]",
    "Email · Developer mailbox",
    on_load=DevMailboxMessageState.load,
    dev_only=True,
)
def dev_mailbox_message_page() -> rx.Component:
    return _frame(
        _back(),
        rx.cond(
            DevMailboxMessageState.found,
            _message(),
            rx.cond(
                DevMailboxMessageState.switched_off,
                _switched_off(DevMailboxMessageState.switched_off),
                rx.cond(
                    DevMailboxMessageState.not_found,
                    empty_state(
                        "mail_question",
                        "No such message",
                        "The link is wrong, or the database was reset.",
                        rx.link(rx.button("Mailbox", variant="soft"), href=routes.DEV_MAILBOX),
                    ),
                    rx.cond(
                        DevMailboxMessageState.error,
                        error_callout(DevMailboxMessageState.error),
                        loading_block("Opening the message…"),
                    ),
                ),
            ),
        ),
    )
