"""The "Email" panel of the transaction page: compose to the file's people, from a template or
free text, now or scheduled; the client status update; scheduled sends with Cancel.

Staff only (the panel's loader leaves everything empty for anyone else). The transaction page
adds ``compose_panel()`` and runs ``ComposeState.load`` with its own loader.
"""

from __future__ import annotations

import contextlib
from typing import Any

import reflex as rx

from chronos import routes
from chronos.components.once import once_attrs
from chronos.components.ui import error_callout, field
from chronos.db import session_scope
from chronos.models import Role
from chronos.services import email_templates, idempotency, outbound, rate_limit
from chronos.services.email_templates import TemplateRow
from chronos.services.errors import ChronosError, NotFound, ValidationFailed
from chronos.services.outbound import RecipientOption, ScheduledRow
from chronos.state import once
from chronos.state.session import SessionState

STAFF = frozenset({Role.ADMIN, Role.AGENT, Role.COORDINATOR})
FREE_TEXT = "free"


class ComposeState(SessionState):
    recipients: list[RecipientOption] = []
    selected: list[int] = []
    templates: list[TemplateRow] = []
    template_id: str = FREE_TEXT
    subject: str = ""
    body: str = ""
    mode: str = "now"  # now | later
    send_at: str = ""  # "YYYY-MM-DDTHH:MM", the brokerage's zone
    unknown: list[str] = []
    empty: list[str] = []
    checked: bool = False  # the flags match the current text
    scheduled: list[ScheduledRow] = []
    errors: dict[str, str] = {}
    error: str = ""
    notice: str = ""
    sending: bool = False
    once_key: str = ""
    _once_done: str = ""
    ready: bool = False

    def _txn(self) -> int:
        return self._int_param("txn_id")

    def _forget(self) -> None:
        self.recipients, self.selected, self.templates, self.scheduled = [], [], [], []
        self.subject = self.body = self.send_at = ""
        self.unknown, self.empty, self.errors = [], [], {}
        self.template_id, self.mode, self.ready, self.checked = FREE_TEXT, "now", False, False

    def _reload(self, db: Any, user: Any) -> None:
        txn_id = self._txn()
        self.recipients = outbound.recipients(db, user, txn_id)
        self.templates = email_templates.list_templates(db, user)
        self.scheduled = outbound.list_scheduled(db, user, txn_id)
        ids = {r.participant_id for r in self.recipients}
        self.selected = [i for i in self.selected if i in ids]

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        user = self._actor()
        if user is None or user.role_enum not in STAFF:
            self._forget()
            return None  # the page's own loader redirects
        self._forget()
        self.error = self.notice = ""
        once.fresh(self)
        try:
            with session_scope() as db:
                self._reload(db, user)
            self.ready = True
        except NotFound:
            self._forget()
        except ChronosError as exc:
            self._forget()
            self.error = exc.message
        return None

    def _check(self, user: Any) -> None:
        if not (self.subject.strip() or self.body.strip()):
            self.unknown, self.empty, self.checked = [], [], True
            return
        with session_scope() as db:
            flags = outbound.check_compose(
                db,
                user,
                self._txn(),
                participant_ids=list(self.selected),
                subject=self.subject,
                body=self.body,
            )
        self.unknown, self.empty, self.checked = flags.unknown, flags.empty, True

    def _recheck(self):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(STAFF)
        if user is None:
            self._forget()
            return redirect
        try:
            self._check(user)
        except ChronosError as exc:
            self.error = exc.message
        return None

    @rx.event
    def toggle_recipient(self, participant_id: int, checked: bool):  # type: ignore[no-untyped-def]
        ids = [i for i in self.selected if i != participant_id]
        self.selected = [*ids, participant_id] if checked else ids
        return self._recheck()

    @rx.event
    def pick_template(self, value: str):  # type: ignore[no-untyped-def]
        self.template_id = value
        if value == FREE_TEXT:
            return None
        user, redirect = self._gate(STAFF)
        if user is None:
            self._forget()
            return redirect
        try:
            with session_scope() as db:
                t = email_templates.get_template(db, user, int(value))
            self.subject, self.body, self.errors = t.subject, t.body, {}
            self._check(user)
        except (ChronosError, ValueError) as exc:
            self.error = getattr(exc, "message", "That template is not available.")
        return None

    @rx.event
    def set_subject(self, value: str) -> None:
        self.subject, self.checked = value, False

    @rx.event
    def set_body(self, value: str) -> None:
        self.body, self.checked = value, False

    @rx.event
    def check_text(self):  # type: ignore[no-untyped-def]
        return self._recheck()

    @rx.event
    def set_mode(self, value: str | list[str]) -> None:
        self.mode = "later" if value == "later" else "now"

    @rx.event
    def set_send_at(self, value: str) -> None:
        self.send_at = value

    @rx.event
    def status_update(self):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(STAFF)
        if user is None:
            self._forget()
            return redirect
        try:
            with session_scope() as db:
                draft = outbound.status_update(db, user, self._txn())
            self.subject, self.body, self.selected = (
                draft.subject,
                draft.body,
                draft.participant_ids,
            )
            self.template_id, self.errors, self.error = FREE_TEXT, {}, ""
            self.notice = "Status update drafted: read it, edit it, then send."
            self._check(user)
        except ChronosError as exc:
            self.error, self.notice = exc.message, ""
        return None

    @rx.event
    def clear(self) -> None:
        self.subject = self.body = self.send_at = ""
        self.template_id, self.mode, self.selected = FREE_TEXT, "now", []
        self.unknown, self.empty, self.errors, self.error = [], [], {}, ""

    @rx.event
    def send(self, key: str = ""):  # type: ignore[no-untyped-def]
        key = once.key_of(key)
        if self.sending or once.repeated(self, key):
            return None  # a second click: the first one sent (or scheduled) the email
        user, redirect = self._gate(STAFF)
        if user is None:
            self._forget()
            return redirect
        later = self.mode == "later"
        if later and not self.send_at:
            self.errors = {"send_at": "Pick a date and a time."}
            return None
        self.sending, self.notice, sent = True, "", False
        try:
            txn_id, chosen = self._txn(), list(self.selected)
            subject, body, send_at = self.subject, self.body, self.send_at if later else ""
            with session_scope() as db:
                count = idempotency.once(
                    db,
                    user,
                    "email.send",
                    key,
                    {"txn": txn_id, "to": chosen, "s": subject, "b": body, "at": send_at},
                    lambda: (
                        outbound.send(
                            db,
                            user,
                            txn_id,
                            participant_ids=chosen,
                            subject=subject,
                            body=body,
                            send_at=send_at,
                        ).count
                    ),
                )
            sent = True
            people = f"{count} {'person' if count == 1 else 'people'}"
            self.notice = f"Scheduled for {people}." if later else f"Sent to {people}."
            self.subject = self.body = self.send_at = ""
            self.template_id, self.mode, self.selected = FREE_TEXT, "now", []
            self.unknown, self.empty, self.errors, self.error = [], [], {}, ""
            with session_scope() as db:
                self._reload(db, user)
        except ValidationFailed as exc:
            self.errors, self.error = dict(exc.errors), exc.message
            with contextlib.suppress(ChronosError):
                self._check(user)
        except rate_limit.RateLimited as exc:
            self.error = str(exc)
        except ChronosError as exc:
            self.error = exc.message
        once.settle(self, key, done=sent)
        self.sending = False
        # Imported here: the transaction page imports this panel.
        from chronos.pages.transaction import TransactionState

        return TransactionState.reload_events

    @rx.event
    def cancel_scheduled(self, message_id: int):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(STAFF)
        if user is None:
            self._forget()
            return redirect
        try:
            with session_scope() as db:
                outbound.cancel_scheduled(db, user, int(message_id))
            with session_scope() as db:
                self._reload(db, user)
            self.notice, self.error = "Scheduled email cancelled.", ""
        except ChronosError as exc:
            self.error, self.notice = exc.message, ""
        from chronos.pages.transaction import TransactionState

        return TransactionState.reload_events


# ------------------------------------------------------------------------------------ view


def _recipient(r: RecipientOption) -> rx.Component:
    s = ComposeState
    # Not wrapped in a <label>: a label around Radix's checkbox button clicks it twice.
    return rx.flex(
        rx.checkbox(
            checked=s.selected.contains(r.participant_id),
            on_change=lambda checked: s.toggle_recipient(r.participant_id, checked),
            aria_label="Email " + r.name + " (" + r.role_label + ")",
        ),
        rx.text(r.name, size="2", weight="medium"),
        rx.text(r.role_label, size="1", color_scheme="gray"),
        spacing="2",
        align="center",
        title=r.email,
        class_name="compose-recipient",
    )


def _flags() -> rx.Component:
    s = ComposeState
    return rx.cond(
        (s.unknown.length() > 0) | (s.empty.length() > 0),
        rx.callout.root(
            rx.callout.icon(rx.icon("triangle_alert")),
            rx.flex(
                rx.text(
                    "Fix these fields before sending (nothing goes out with a blank or a "
                    "placeholder):",
                    size="2",
                    weight="medium",
                ),
                rx.cond(
                    s.unknown.length() > 0,
                    rx.flex(
                        rx.text("Unknown:", size="2"),
                        rx.foreach(
                            s.unknown,
                            lambda n: rx.code(n, color_scheme="red", variant="soft"),
                        ),
                        spacing="1",
                        wrap="wrap",
                        align="center",
                    ),
                ),
                rx.cond(
                    s.empty.length() > 0,
                    rx.flex(
                        rx.text("No value on this file:", size="2"),
                        rx.foreach(
                            s.empty,
                            lambda n: rx.code(n, color_scheme="amber", variant="soft"),
                        ),
                        spacing="1",
                        wrap="wrap",
                        align="center",
                    ),
                ),
                direction="column",
                spacing="1",
            ),
            color_scheme="amber",
            role="alert",
            id="compose-flags",
            width="100%",
        ),
    )


def _scheduled_row(r: ScheduledRow) -> rx.Component:
    return rx.flex(
        rx.icon("clock", size=14),
        rx.box(
            rx.text(r.subject, size="2", weight="medium"),
            rx.text(r.recipient, " · ", r.scheduled_label, size="1", color_scheme="gray"),
            flex="1",
            min_width="0",
        ),
        rx.button(
            "Cancel",
            size="1",
            variant="soft",
            color_scheme="red",
            on_click=ComposeState.cancel_scheduled(r.id),
            aria_label="Cancel the scheduled email to " + r.recipient,
        ),
        spacing="2",
        align="center",
        width="100%",
    )


def compose_panel() -> rx.Component:
    s = ComposeState
    blocked = (
        (s.unknown.length() > 0) | (s.empty.length() > 0) | (s.selected.length() == 0) | s.sending
    )
    return rx.cond(
        s.ready,
        rx.card(
            rx.flex(
                rx.flex(
                    rx.heading("Email", size="4", as_="h2"),
                    rx.spacer(),
                    rx.button(
                        rx.icon("sparkles", size=14),
                        "Send status update",
                        size="1",
                        variant="soft",
                        on_click=s.status_update,
                    ),
                    rx.link("Templates", href=routes.EMAIL_TEMPLATES, size="2"),
                    spacing="3",
                    align="center",
                    wrap="wrap",
                ),
                rx.cond(s.error, error_callout(s.error)),
                rx.cond(
                    s.notice,
                    rx.text(s.notice, size="2", color_scheme="grass", role="status"),
                ),
                rx.cond(
                    s.recipients.length() == 0,
                    rx.text(
                        "Nobody on this file has an email address yet.",
                        size="2",
                        color_scheme="gray",
                    ),
                    rx.box(
                        rx.text("To", size="2", weight="medium"),
                        rx.flex(
                            rx.foreach(s.recipients, _recipient),
                            spacing="3",
                            wrap="wrap",
                            padding_y="4px",
                        ),
                        rx.cond(
                            s.errors.contains("recipients"),
                            rx.text(s.errors.get("recipients", ""), size="1", color_scheme="red"),
                        ),
                    ),
                ),
                field(
                    "Template",
                    rx.select.root(
                        rx.select.trigger(width="100%", aria_label="Template"),
                        rx.select.content(
                            rx.select.item("Free text", value=FREE_TEXT),
                            rx.foreach(
                                s.templates,
                                lambda t: rx.select.item(
                                    rx.cond(t.scope == "personal", t.name + " (mine)", t.name),
                                    value=t.id.to_string(),
                                ),
                            ),
                        ),
                        value=s.template_id,
                        on_change=s.pick_template,
                    ),
                ),
                field(
                    "Subject",
                    rx.input(
                        value=s.subject,
                        on_change=s.set_subject,
                        on_blur=s.check_text,
                        width="100%",
                        name="subject",
                    ),
                    s.errors.get("subject", ""),
                ),
                field(
                    "Message",
                    rx.text_area(
                        value=s.body,
                        on_change=s.set_body,
                        on_blur=s.check_text,
                        rows="9",
                        width="100%",
                        name="body",
                    ),
                    s.errors.get("body", ""),
                    "Plain text. Merge fields like {{ client.first_name }} are filled for each "
                    "person.",
                ),
                _flags(),
                rx.cond(
                    ~s.checked & ((s.subject != "") | (s.body != "")),
                    rx.button("Check fields", size="1", variant="ghost", on_click=s.check_text),
                ),
                rx.segmented_control.root(
                    rx.segmented_control.item("Send now", value="now"),
                    rx.segmented_control.item("Schedule", value="later"),
                    value=s.mode,
                    on_change=s.set_mode,
                ),
                rx.cond(
                    s.mode == "later",
                    field(
                        "Send at (brokerage time)",
                        rx.input(
                            type="datetime-local",
                            value=s.send_at,
                            on_change=s.set_send_at,
                            name="send_at",
                        ),
                        s.errors.get("send_at", ""),
                        "Up to 90 days ahead.",
                    ),
                ),
                rx.flex(
                    rx.button(
                        "Clear", variant="soft", color_scheme="gray", size="2", on_click=s.clear
                    ),
                    rx.button(
                        rx.cond(s.sending, rx.spinner(size="2"), rx.icon("send", size=16)),
                        rx.cond(s.mode == "later", "Schedule", "Send now"),
                        size="2",
                        on_click=s.send(s.once_key),
                        disabled=blocked,
                        custom_attrs=once_attrs(s.once_key),
                    ),
                    justify="end",
                    spacing="2",
                ),
                rx.cond(
                    s.scheduled.length() > 0,
                    rx.flex(
                        rx.text("Scheduled", size="2", weight="medium"),
                        rx.foreach(s.scheduled, _scheduled_row),
                        direction="column",
                        spacing="2",
                        width="100%",
                    ),
                ),
                direction="column",
                spacing="3",
            ),
            width="100%",
            id="compose",
        ),
    )
