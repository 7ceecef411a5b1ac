"""Conversations on the portal's deal page (clients, attorneys, lenders), phone first.

The viewer's own threads only (the service never returns an internal note or a thread they
are not a member of), read and answer, and "Message your agent" to start a conversation with
the file's staff. Loads with the page: ``PortalMessagesState.load`` in its on_load list.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from chronos.components.ui import error_callout, field
from chronos.db import session_scope
from chronos.models import User
from chronos.pages.transaction_messages import (
    forget,
    reload,
    thread_list,
    thread_view,
    unread_badge,
)
from chronos.services import messages
from chronos.services.errors import ChronosError, NotFound, ValidationFailed
from chronos.services.messages import MessageRow, ThreadRow
from chronos.state.session import EXTERNAL, SessionState


class PortalMessagesState(SessionState):
    threads: list[ThreadRow] = []
    threads_page: int = 1
    threads_pages: int = 1
    unread: int = 0
    loaded: bool = False
    error: str = ""
    open_id: int = 0
    open_subject: str = ""
    open_visibility: str = ""
    open_members: str = ""
    thread_msgs: list[MessageRow] = []
    msgs_page: int = 1
    msgs_pages: int = 1
    reply: str = ""
    reply_error: str = ""
    sending: bool = False
    new_open: bool = False
    new_subject: str = ""
    new_body: str = ""
    new_errors: dict[str, str] = {}

    def _txn(self) -> int:
        return self._int_param("txn_id")

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        user = self._actor()
        forget(self)
        self.error = ""
        if user is None or user.role_enum not in EXTERNAL:
            return None  # the page's own loader redirects
        try:
            with session_scope() as db:
                reload(self, db, user, self._txn())
        except NotFound:
            forget(self)
        except ChronosError as exc:
            forget(self)
            self.error = exc.message
        return None

    def _run(self, action: Any) -> Any:
        user, redirect = self._gate(EXTERNAL)
        if user is None:
            forget(self)
            return None, redirect
        try:
            with session_scope() as db:
                result = action(db, user)
            self.error = ""
            with session_scope() as db:
                reload(self, db, user, self._txn())
            return result, None
        except ValidationFailed:
            raise
        except NotFound as exc:
            forget(self)
            self.error = exc.message
        except ChronosError as exc:
            self.error = exc.message
        return None, None

    @rx.event
    def open_thread(self, thread_id: int):  # type: ignore[no-untyped-def]
        self.msgs_page, self.reply, self.reply_error = 1, "", ""
        self.open_id = int(thread_id)
        _, redirect = self._run(lambda db, user: None)
        return redirect

    @rx.event
    def close_thread(self):  # type: ignore[no-untyped-def]
        self.open_id, self.thread_msgs, self.reply_error = 0, [], ""
        _, redirect = self._run(lambda db, user: None)
        return redirect

    @rx.event
    def earlier(self):  # type: ignore[no-untyped-def]
        if self.msgs_page < self.msgs_pages:
            self.msgs_page += 1
        _, redirect = self._run(lambda db, user: None)
        return redirect

    @rx.event
    def later(self):  # type: ignore[no-untyped-def]
        self.msgs_page = max(1, self.msgs_page - 1)
        _, redirect = self._run(lambda db, user: None)
        return redirect

    @rx.event
    def more_threads(self, delta: int):  # type: ignore[no-untyped-def]
        self.threads_page = max(1, min(self.threads_pages, self.threads_page + int(delta)))
        _, redirect = self._run(lambda db, user: None)
        return redirect

    @rx.event
    def set_reply(self, value: str) -> None:
        self.reply = value[: messages.MAX_BODY + 100]

    @rx.event
    def send_reply(self):  # type: ignore[no-untyped-def]
        if self.sending or not self.open_id:
            return None
        self.sending = True
        thread_id, body = self.open_id, self.reply
        redirect: Any = None
        try:
            _, redirect = self._run(
                lambda db, user: messages.post_message(db, user, thread_id, body)
            )
            if not self.error:
                self.reply, self.reply_error, self.msgs_page = "", "", 1
        except ValidationFailed as exc:
            self.reply_error = exc.errors.get("body", exc.message)
        self.sending = False
        return redirect

    @rx.event
    def open_new(self) -> None:
        self.new_open, self.new_errors, self.new_subject, self.new_body = True, {}, "", ""

    @rx.event
    def set_new_open(self, value: bool) -> None:
        if not self.sending:
            self.new_open = value

    @rx.event
    def set_new_subject(self, value: str) -> None:
        self.new_subject = value[:300]

    @rx.event
    def set_new_body(self, value: str) -> None:
        self.new_body = value[: messages.MAX_BODY + 100]

    @rx.event
    def create(self):  # type: ignore[no-untyped-def]
        if self.sending:
            return None
        self.sending = True
        txn_id, subject, body = self._txn(), self.new_subject, self.new_body
        redirect: Any = None

        def act(db: Any, user: User) -> int:
            thread = messages.start_thread(db, user, txn_id, subject=subject, body=body)
            self.open_id, self.msgs_page = thread.id or 0, 1
            return thread.id or 0

        try:
            created, redirect = self._run(act)
            if created:
                self.new_open, self.new_errors = False, {}
        except ValidationFailed as exc:
            self.new_errors = dict(exc.errors)
        finally:
            self.sending = False
        return redirect


def _new_dialog() -> rx.Component:
    s = PortalMessagesState
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Message your agent"),
            rx.dialog.description(
                "Your agent and their team will see it.", size="2", color_scheme="gray"
            ),
            rx.flex(
                field(
                    "Subject",
                    rx.input(
                        value=s.new_subject, on_change=s.set_new_subject, size="3", max_length=200
                    ),
                    s.new_errors.get("subject", ""),
                ),
                field(
                    "Message",
                    rx.text_area(
                        value=s.new_body,
                        on_change=s.set_new_body,
                        rows="5",
                        size="3",
                        max_length=messages.MAX_BODY,
                    ),
                    s.new_errors.get("body", ""),
                ),
                rx.flex(
                    rx.dialog.close(
                        rx.button("Cancel", variant="soft", color_scheme="gray", size="3")
                    ),
                    rx.button(
                        rx.cond(s.sending, rx.spinner(size="2"), rx.icon("send", size=16)),
                        "Send",
                        size="3",
                        on_click=s.create,
                        disabled=s.sending,
                    ),
                    justify="end",
                    spacing="3",
                ),
                direction="column",
                spacing="3",
                margin_top="12px",
            ),
            max_width="520px",
        ),
        open=s.new_open,
        on_open_change=s.set_new_open,
    )


def portal_messages() -> rx.Component:
    s = PortalMessagesState
    return rx.card(
        rx.flex(
            rx.flex(
                rx.heading("Messages", size="4", as_="h2"),
                unread_badge(s.unread),
                rx.spacer(),
                rx.button(
                    rx.icon("message_circle_plus", size=14),
                    "Message your agent",
                    size="2",
                    variant="soft",
                    on_click=s.open_new,
                ),
                spacing="2",
                align="center",
                wrap="wrap",
            ),
            rx.cond(s.error, error_callout(s.error)),
            rx.cond(
                s.open_id != 0,
                thread_view(s),
                thread_list(s, "No messages yet. Questions? Message your agent."),
            ),
            direction="column",
            spacing="3",
        ),
        _new_dialog(),
        width="100%",
        id="messages",
    )
