"""Conversations on the portal's deal page (clients, attorneys, lenders), phone first.

The viewer's own threads only (the service never returns an internal note or a thread they
are not a member of), read and answer, and "Message your agent" to start a conversation with
the file's staff. Loads with the page: ``PortalMessagesState.load`` in its on_load list.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from chronos.components.once import once_attrs
from chronos.components.ui import error_callout, field
from chronos.db import session_scope
from chronos.models import Role, User
from chronos.pages.transaction_messages import (
    ThreadPanel,
    forget,
    reload,
    thread_list,
    thread_view,
    unread_badge,
)
from chronos.services import idempotency, messages
from chronos.services.errors import ChronosError, NotFound, ValidationFailed
from chronos.state import once
from chronos.state.session import EXTERNAL, SessionState


class PortalMessagesState(ThreadPanel, SessionState):
    def _roles(self) -> frozenset[Role]:
        return EXTERNAL

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

    @rx.event
    def open_new(self) -> None:
        self.new_open, self.new_errors, self.new_subject, self.new_body = True, {}, "", ""
        once.fresh(self)

    @rx.event
    def create(self, key: str = ""):  # type: ignore[no-untyped-def]
        key = once.key_of(key)
        if self.sending or once.repeated(self, key):
            return None  # a second click: the first one started the conversation
        self.sending = True
        txn_id, subject, body = self._txn(), self.new_subject, self.new_body
        redirect: Any = None

        def act(db: Any, user: User) -> int:
            thread_id = idempotency.once(
                db,
                user,
                "thread.start",
                key,
                {"txn": txn_id, "subject": subject, "body": body},
                lambda: messages.start_thread(db, user, txn_id, subject=subject, body=body).id or 0,
            )
            self.open_id, self.msgs_page = thread_id, 1
            return thread_id

        created = 0
        try:
            created, redirect = self._run(act)
            if created:
                self.new_open, self.new_errors = False, {}
        except ValidationFailed as exc:
            self.new_errors = dict(exc.errors)
        finally:
            once.settle(self, key, done=bool(created))
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
                        on_click=s.create(s.once_key),
                        disabled=s.sending,
                        custom_attrs=once_attrs(s.once_key),
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
