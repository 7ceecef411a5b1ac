"""The conversations panel of the transaction page (staff), and the pieces the portal reuses.

Its own state, loaded with the page (``MessagePanelState.load`` in the page's on_load list):
the file's threads with unread badges, one open thread (newest page first, "Earlier
messages" goes back), a reply box, and "New conversation" (shared with chosen outside
participants, or an internal note for the brokerage only). Message bodies are shown as plain
text. A reply can attach documents of the file the writer can see; each reader sees only the
attachments whose documents are shared with them, and opens them through a fresh signed link.
"""

from __future__ import annotations

import json
from typing import Any

import reflex as rx

from chronos.components.layout import api_url
from chronos.components.once import once_attrs
from chronos.components.timeline import local_time
from chronos.components.ui import error_callout, field
from chronos.db import session_scope
from chronos.models import Role, User
from chronos.services import documents, idempotency, messages
from chronos.services.errors import ChronosError, NotFound, ValidationFailed
from chronos.services.messages import AttachmentRef, MemberOption, MessageRow, ThreadRow
from chronos.state import once
from chronos.state.session import STAFF, SessionState

THREADS_PAGE = 20
MESSAGES_PAGE = 30


# ---------------------------------------------------------------------------------------------
# Behaviour shared by the staff panel and the portal (plain functions over either state)


def forget(s: Any) -> None:
    s.threads, s.thread_msgs = [], []
    s.threads_page, s.threads_pages, s.unread = 1, 1, 0
    s.open_id, s.open_subject, s.open_visibility, s.open_members = 0, "", "", ""
    s.msgs_page, s.msgs_pages = 1, 1
    s.reply, s.reply_error, s.new_open, s.new_errors = "", "", False, {}
    s.attach_choices, s.reply_attach = [], []
    s.loaded = False


def reload(s: Any, db: Any, user: User, txn_id: int) -> None:
    if s.open_id:  # first: reading it marks it read, which the list's badges then show
        try:
            show_thread(s, db, user, s.open_id)
        except NotFound as exc:
            s.open_id, s.thread_msgs, s.error = 0, [], exc.message
    page = messages.list_threads(db, user, txn_id, page=s.threads_page, page_size=THREADS_PAGE)
    if page.page > page.pages and page.page > 1:
        s.threads_page = page.pages
        page = messages.list_threads(db, user, txn_id, page=page.pages, page_size=THREADS_PAGE)
    s.threads, s.threads_pages = page.items, page.pages
    s.unread = messages.unread_for_transaction(db, user, txn_id)
    s.attach_choices = [
        AttachmentRef(r.id, r.title) for r in documents.documents_for_picker(db, user, txn_id)
    ]
    known = {a.id for a in s.attach_choices}
    s.reply_attach = [i for i in s.reply_attach if i in known]
    s.loaded = True


def show_thread(s: Any, db: Any, user: User, thread_id: int) -> None:
    view = messages.read_thread(db, user, thread_id, page=s.msgs_page, page_size=MESSAGES_PAGE)
    s.open_id = thread_id
    s.open_subject = view.thread.subject
    s.open_visibility = view.thread.visibility
    s.open_members = view.thread.members
    s.thread_msgs, s.msgs_pages = view.messages.items, view.messages.pages


class ThreadPanel(rx.State, mixin=True):
    """What the staff and portal conversation panels share: the thread list, one open
    thread with its pages and reply box, and the new-conversation fields. Subclasses say
    who may use them (``_roles``) and how a conversation starts."""

    threads: list[ThreadRow] = []
    threads_page: int = 1
    threads_pages: int = 1
    unread: int = 0
    loaded: bool = False
    error: str = ""
    # the open thread
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
    once_key: str = ""
    _once_done: str = ""
    # documents of the file this user may attach (only those they can see)
    attach_choices: list[AttachmentRef] = []
    reply_attach: list[int] = []
    # new conversation
    new_open: bool = False
    new_subject: str = ""
    new_body: str = ""
    new_errors: dict[str, str] = {}

    def _roles(self) -> frozenset[Role]:
        raise NotImplementedError

    def _txn(self) -> int:
        return self._int_param("txn_id")

    def _run(self, action: Any) -> Any:
        user, redirect = self._gate(self._roles())
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
        once.fresh(self)
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
    def send_reply(self, key: str = ""):  # type: ignore[no-untyped-def]
        key = once.key_of(key)
        if self.sending or not self.open_id or once.repeated(self, key):
            return None  # a second click: the first one's message is already in the thread
        self.sending = True
        thread_id, body, attach = self.open_id, self.reply, list(self.reply_attach)
        done = False
        try:
            _, redirect = self._run(
                lambda db, user: idempotency.once(
                    db,
                    user,
                    "message.post",
                    key,
                    {"thread": thread_id, "body": body, "attach": attach},
                    lambda: messages.post_message(db, user, thread_id, body, attach).id,
                )
            )
            if not self.error:
                self.reply, self.reply_error, self.msgs_page = "", "", 1
                self.reply_attach = []
                done = True
        except ValidationFailed as exc:
            self.reply_error, redirect = exc.message, None
        once.settle(self, key, done=done)
        self.sending = False
        return redirect

    @rx.event
    def toggle_attach(self, document_id: int, checked: bool) -> None:
        doc_id = int(document_id)
        if checked and doc_id not in self.reply_attach:
            if any(a.id == doc_id for a in self.attach_choices):
                self.reply_attach = [*self.reply_attach, doc_id]
        elif not checked:
            self.reply_attach = [i for i in self.reply_attach if i != doc_id]

    @rx.event
    def open_attachment(self, document_id: int):  # type: ignore[no-untyped-def]
        """Open an attached document in a new tab through a fresh signed link (only if this
        reader may see it: the link is made after the access check)."""
        user, redirect = self._gate(self._roles())
        if user is None:
            forget(self)
            return redirect
        try:
            with session_scope() as db:
                doc = documents.get_document(db, user, int(document_id))
                version = documents.current_version(db, doc)
        except ChronosError as exc:
            self.error = exc.message
            return None
        url = api_url(documents.file_link(user.id or 0, version.id or 0, inline=True))
        return rx.call_script(f"window.open({json.dumps(url)}, '_blank', 'noopener')")

    # -- new conversation

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


class MessagePanelState(ThreadPanel, SessionState):
    new_internal: bool = False
    new_members: list[int] = []
    member_choices: list[MemberOption] = []

    def _roles(self) -> frozenset[Role]:
        return STAFF

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        user = self._actor()
        forget(self)
        self.member_choices, self.error = [], ""
        if user is None or user.role_enum not in STAFF:
            return None  # the page's own loader redirects
        try:
            with session_scope() as db:
                reload(self, db, user, self._txn())
                self.member_choices = messages.member_options(db, user, self._txn())
        except NotFound:
            forget(self)
        except ChronosError as exc:
            forget(self)
            self.error = exc.message
        return None

    @rx.event
    def open_new(self) -> None:
        self.new_open, self.new_errors = True, {}
        once.fresh(self)
        self.new_subject, self.new_body, self.new_internal, self.new_members = "", "", False, []

    @rx.event
    def set_new_internal(self, value: bool) -> None:
        self.new_internal = bool(value)

    @rx.event
    def toggle_member(self, participant_id: int, checked: bool) -> None:
        pid = int(participant_id)
        rest = [i for i in self.new_members if i != pid]
        self.new_members = [*rest, pid] if checked else rest

    @rx.event
    def create(self, key: str = ""):  # type: ignore[no-untyped-def]
        key = once.key_of(key)
        if self.sending or once.repeated(self, key):
            return None  # a second click: the first one started the conversation
        self.sending = True
        txn_id = self._txn()
        subject, body = self.new_subject, self.new_body
        internal, members = self.new_internal, list(self.new_members)
        redirect: Any = None
        request = {"txn": txn_id, "subject": subject, "body": body, "internal": internal}

        def act(db: Any, user: User) -> int:
            thread_id = idempotency.once(
                db,
                user,
                "thread.start",
                key,
                {**request, "members": members},
                lambda: (
                    messages.start_thread(
                        db,
                        user,
                        txn_id,
                        subject=subject,
                        body=body,
                        internal=internal,
                        member_ids=[] if internal else members,
                    ).id
                    or 0
                ),
            )
            self.open_id, self.msgs_page = thread_id, 1
            return thread_id

        created = 0
        try:
            created, redirect = self._run(act)
            if created:
                self.new_open, self.new_errors = False, {}
                from chronos.pages.transaction import TransactionState

                return TransactionState.reload_events
        except ValidationFailed as exc:
            self.new_errors = dict(exc.errors)
        finally:
            once.settle(self, key, done=bool(created))
            self.sending = False
        return redirect


# ---------------------------------------------------------------------------------------------
# Rendering (shared: ``s`` is MessagePanelState or the portal's state)


def unread_badge(count: Any) -> rx.Component:
    return rx.cond(
        count > 0,
        rx.badge(
            count.to_string(),
            " new",
            color_scheme="red",
            variant="solid",
            radius="full",
            aria_label=count.to_string() + " unread",
        ),
    )


def thread_item(s: Any, t: Any) -> rx.Component:
    return rx.box(
        rx.flex(
            rx.cond(
                t.visibility == "internal",
                rx.icon("lock", size=14, color=rx.color("amber", 11), flex_shrink="0"),
                rx.icon("messages_square", size=14, color=rx.color("gray", 11), flex_shrink="0"),
            ),
            rx.text(
                t.subject,
                weight=rx.cond(t.unread > 0, "bold", "medium"),
                size="2",
                style={"overflow": "hidden", "textOverflow": "ellipsis", "whiteSpace": "nowrap"},
                flex="1",
                min_width="0",
            ),
            unread_badge(t.unread),
            spacing="2",
            align="center",
            width="100%",
        ),
        rx.text(
            t.last_snippet,
            size="1",
            color_scheme="gray",
            style={"overflow": "hidden", "textOverflow": "ellipsis", "whiteSpace": "nowrap"},
        ),
        rx.flex(
            rx.text(
                rx.cond(
                    t.visibility == "internal",
                    "Internal note · brokerage only",
                    rx.cond(t.members != "", "With " + t.members, "With the brokerage"),
                ),
                size="1",
                color_scheme="gray",
                flex="1",
                min_width="0",
            ),
            rx.text(local_time(t.last_message_at), size="1", color_scheme="gray"),
            spacing="2",
            wrap="wrap",
        ),
        on_click=s.open_thread(t.id),
        role="button",
        tab_index=0,
        aria_label="Open conversation " + t.subject,
        class_name="thread-item",
        padding="10px 12px",
        border_radius="8px",
        border=f"1px solid {rx.color('gray', 5)}",
        background=rx.cond(t.unread > 0, rx.color("accent", 2), "transparent"),
        cursor="pointer",
        width="100%",
        _hover={"background": rx.color("gray", 3)},
    )


def thread_list(s: Any, empty_text: str) -> rx.Component:
    return rx.cond(
        s.threads.length() == 0,
        rx.text(empty_text, size="2", color_scheme="gray", padding_y="8px"),
        rx.flex(
            rx.foreach(s.threads, lambda t: thread_item(s, t)),
            rx.cond(
                s.threads_pages > 1,
                rx.flex(
                    rx.button(
                        "Newer",
                        size="1",
                        variant="soft",
                        disabled=s.threads_page <= 1,
                        on_click=s.more_threads(-1),
                    ),
                    rx.text(
                        "Page ",
                        s.threads_page.to_string(),
                        " of ",
                        s.threads_pages.to_string(),
                        size="1",
                    ),
                    rx.button(
                        "Older",
                        size="1",
                        variant="soft",
                        disabled=s.threads_page >= s.threads_pages,
                        on_click=s.more_threads(1),
                    ),
                    spacing="2",
                    align="center",
                    justify="center",
                ),
            ),
            direction="column",
            spacing="2",
            width="100%",
        ),
    )


def _attachment_chip(s: Any, a: Any) -> rx.Component:
    return rx.button(
        rx.icon("paperclip", size=12),
        a.title,
        size="1",
        variant="surface",
        color_scheme="gray",
        on_click=s.open_attachment(a.id),
        max_width="100%",
        overflow="hidden",
        text_overflow="ellipsis",
        white_space="nowrap",
    )


def message_bubble(m: Any, s: Any = None) -> rx.Component:
    return rx.flex(
        rx.box(
            rx.flex(
                rx.text(rx.cond(m.mine, "You", m.author), size="1", weight="bold"),
                rx.text(local_time(m.created_at), size="1", color_scheme="gray"),
                spacing="2",
                wrap="wrap",
            ),
            # Plain text: React escapes it; pre-wrap keeps the writer's line breaks.
            rx.text(m.body, size="2", style={"whiteSpace": "pre-wrap", "overflowWrap": "anywhere"}),
            *(
                [
                    rx.cond(
                        m.attached.length() > 0,
                        rx.flex(
                            rx.foreach(m.attached, lambda a: _attachment_chip(s, a)),
                            spacing="1",
                            wrap="wrap",
                            margin_top="6px",
                        ),
                    )
                ]
                if s is not None
                else []
            ),
            class_name="message",
            padding="8px 12px",
            border_radius="12px",
            max_width="85%",
            background=rx.cond(m.mine, rx.color("accent", 4), rx.color("gray", 3)),
        ),
        justify=rx.cond(m.mine, "end", "start"),
        width="100%",
    )


def _attach_picker(s: Any) -> rx.Component:
    """Attach documents of the file (those this writer can see) to the reply."""
    return rx.cond(
        s.attach_choices.length() > 0,
        rx.popover.root(
            rx.popover.trigger(
                rx.button(
                    rx.icon("paperclip", size=16),
                    rx.cond(
                        s.reply_attach.length() > 0,
                        s.reply_attach.length().to_string() + " attached",
                        "Attach",
                    ),
                    variant="soft",
                    color_scheme="gray",
                    size="3",
                )
            ),
            rx.popover.content(
                rx.flex(
                    rx.text("Attach documents of this file", size="2", weight="medium"),
                    rx.text(
                        "Each reader sees only the documents shared with them.",
                        size="1",
                        color_scheme="gray",
                    ),
                    rx.flex(
                        rx.foreach(
                            s.attach_choices,
                            lambda a: rx.checkbox(
                                a.title,
                                checked=s.reply_attach.contains(a.id),
                                on_change=lambda v: s.toggle_attach(a.id, v),
                            ),
                        ),
                        direction="column",
                        spacing="2",
                        max_height="240px",
                        overflow_y="auto",
                    ),
                    direction="column",
                    spacing="2",
                ),
                max_width="320px",
            ),
        ),
    )


def thread_view(s: Any) -> rx.Component:
    return rx.flex(
        rx.flex(
            rx.icon_button(
                rx.icon("arrow_left", size=16),
                variant="ghost",
                color_scheme="gray",
                on_click=s.close_thread,
                aria_label="Back to conversations",
            ),
            rx.box(
                rx.heading(s.open_subject, size="3", as_="h3"),
                rx.text(
                    rx.cond(
                        s.open_visibility == "internal",
                        "Internal note · brokerage only",
                        rx.cond(
                            s.open_members != "", "With " + s.open_members, "With the brokerage"
                        ),
                    ),
                    size="1",
                    color_scheme="gray",
                ),
                flex="1",
                min_width="0",
            ),
            spacing="2",
            align="center",
            width="100%",
        ),
        rx.cond(
            s.msgs_page < s.msgs_pages,
            rx.button("Earlier messages", size="1", variant="ghost", on_click=s.earlier),
        ),
        rx.flex(
            rx.foreach(s.thread_msgs, lambda m: message_bubble(m, s)),
            direction="column",
            spacing="2",
            width="100%",
        ),
        rx.cond(
            s.msgs_page > 1,
            rx.button("Later messages", size="1", variant="ghost", on_click=s.later),
            rx.flex(
                rx.text_area(
                    value=s.reply,
                    on_change=s.set_reply,
                    placeholder="Write a reply…",
                    aria_label="Reply",
                    rows="3",
                    width="100%",
                    size="3",
                    max_length=messages.MAX_BODY,
                ),
                rx.cond(
                    s.reply_error,
                    rx.text(s.reply_error, color_scheme="red", size="1", role="alert"),
                ),
                rx.flex(
                    _attach_picker(s),
                    rx.spacer(),
                    rx.button(
                        rx.cond(s.sending, rx.spinner(size="2"), rx.icon("send", size=16)),
                        "Send",
                        size="3",
                        on_click=s.send_reply(s.once_key),
                        disabled=s.sending,
                        custom_attrs=once_attrs(s.once_key),
                    ),
                    justify="end",
                ),
                direction="column",
                spacing="2",
                width="100%",
            ),
        ),
        direction="column",
        spacing="3",
        width="100%",
    )


def _member_choice(o: Any) -> rx.Component:
    s = MessagePanelState
    return rx.text(
        rx.flex(
            rx.checkbox(
                checked=s.new_members.contains(o.participant_id),
                on_change=lambda checked: s.toggle_member(o.participant_id, checked),
            ),
            o.label,
            rx.cond(~o.has_login, rx.text(" · by email only", color_scheme="gray", size="1")),
            spacing="2",
            align="center",
        ),
        as_="label",
        size="2",
    )


def _new_dialog() -> rx.Component:
    s = MessagePanelState
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("New conversation"),
            rx.flex(
                field(
                    "Subject",
                    rx.input(
                        value=s.new_subject, on_change=s.set_new_subject, size="3", max_length=200
                    ),
                    s.new_errors.get("subject", ""),
                ),
                rx.text(
                    rx.flex(
                        rx.switch(checked=s.new_internal, on_change=s.set_new_internal),
                        "Internal note (brokerage only)",
                        spacing="2",
                        align="center",
                    ),
                    as_="label",
                    size="2",
                ),
                rx.cond(
                    s.new_internal,
                    rx.callout(
                        "Only brokerage staff will see this. Clients and other parties never do.",
                        icon="lock",
                        color_scheme="amber",
                        size="1",
                    ),
                    field(
                        "Share with",
                        rx.flex(
                            rx.cond(
                                s.member_choices.length() == 0,
                                rx.text(
                                    "No outside parties on this file yet.",
                                    size="2",
                                    color_scheme="gray",
                                ),
                            ),
                            rx.foreach(s.member_choices, _member_choice),
                            direction="column",
                            spacing="2",
                        ),
                        s.new_errors.get("members", ""),
                        "The file's staff always see shared conversations.",
                    ),
                ),
                field(
                    "Message",
                    rx.text_area(
                        value=s.new_body,
                        on_change=s.set_new_body,
                        rows="5",
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
                        "Start",
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
            ),
            max_width="520px",
        ),
        open=s.new_open,
        on_open_change=s.set_new_open,
    )


def messages_panel() -> rx.Component:
    s = MessagePanelState
    return rx.card(
        rx.flex(
            rx.flex(
                rx.heading("Conversations", size="4", as_="h2"),
                unread_badge(s.unread),
                rx.spacer(),
                rx.button(
                    rx.icon("plus", size=14), "New conversation", size="1", on_click=s.open_new
                ),
                spacing="2",
                align="center",
                wrap="wrap",
            ),
            rx.cond(s.error, error_callout(s.error)),
            rx.cond(
                s.open_id != 0,
                thread_view(s),
                thread_list(
                    s,
                    "No conversations yet. Start one with the client or the team, "
                    "or leave an internal note.",
                ),
            ),
            direction="column",
            spacing="3",
        ),
        _new_dialog(),
        width="100%",
        id="messages",
    )
