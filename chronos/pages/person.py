"""One contact: details, edit, delete, and the transactions with them that the actor may see."""

from __future__ import annotations

from typing import Any

import reflex as rx

from chronos import routes
from chronos.components.layout import app_shell
from chronos.components.timeline import local_time
from chronos.components.ui import (
    empty_state,
    error_callout,
    field,
    form_actions,
    loading_block,
    page_header,
    pager,
    side_badge,
    stage_badge,
    two_columns,
)
from chronos.db import session_scope
from chronos.pages.registry import page
from chronos.services import messages, people
from chronos.services.errors import ChronosError, NotFound, ValidationFailed
from chronos.services.messages import HistoryRow
from chronos.services.people import PERSON_FIELDS, PersonDetail, PersonTransaction
from chronos.state.session import STAFF, SessionState

HISTORY_PAGE_SIZE = 20


def _blank() -> PersonDetail:
    return PersonDetail(
        id=0,
        first_name="",
        last_name="",
        name="",
        email="",
        phone="",
        phone_input="",
        company="",
        notes="",
        has_login=False,
    )


class PersonState(SessionState):
    person: PersonDetail = _blank()
    found: bool = False
    not_found: bool = False
    loading: bool = True
    error: str = ""
    # Edit dialog.
    edit_open: bool = False
    form_errors: dict[str, str] = {}
    form_error: str = ""
    saving: bool = False
    # Delete confirmation.
    delete_open: bool = False
    delete_error: str = ""
    deleting: bool = False
    # Communication history.
    history: list[HistoryRow] = []
    history_kind: str = "all"
    history_page: int = 1
    history_pages: int = 1
    history_total: int = 0
    history_error: str = ""

    def _clear(self) -> None:
        self.person, self.found, self.not_found, self.error = _blank(), False, False, ""
        self.edit_open = self.delete_open = False
        self.form_errors, self.form_error, self.delete_error = {}, "", ""
        self.saving = self.deleting = False
        self.history, self.history_total, self.history_error = [], 0, ""
        self.history_page = self.history_pages = 1

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        self.loading = True
        # Never show the previous contact while (or instead of) loading this one.
        self._clear()
        user, redirect = self._gate(STAFF)
        if user is None:
            return redirect
        try:
            with session_scope() as db:
                self.person = people.get_person(db, user, self._int_param("person_id"))
                self.history_kind = "all"
                self._load_history(db, user)
            self.found = True
        except NotFound:
            self.not_found = True
        except ChronosError as exc:
            self.error = exc.message
        self.loading = False
        return None

    def _load_history(self, db: Any, user: Any) -> None:
        result = messages.history_for_person(
            db,
            user,
            self._int_param("person_id"),
            kind=self.history_kind,
            page=self.history_page,
            page_size=HISTORY_PAGE_SIZE,
        )
        self.history, self.history_total = result.items, result.total
        self.history_page, self.history_pages = result.page, result.pages

    def _reload_history(self):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(STAFF)
        if user is None:
            self._clear()
            return redirect
        try:
            with session_scope() as db:
                self._load_history(db, user)
            self.history_error = ""
        except ChronosError as exc:
            self.history, self.history_error = [], exc.message
        return None

    @rx.event
    def set_history_kind(self, value: str | list[str]):  # type: ignore[no-untyped-def]
        kind = value if isinstance(value, str) else "all"
        self.history_kind = kind if kind in messages.HISTORY_KINDS else "all"
        self.history_page = 1
        return self._reload_history()

    @rx.event
    def history_prev(self):  # type: ignore[no-untyped-def]
        self.history_page = max(1, self.history_page - 1)
        return self._reload_history()

    @rx.event
    def history_next(self):  # type: ignore[no-untyped-def]
        self.history_page = min(self.history_pages, self.history_page + 1)
        return self._reload_history()

    # ------------------------------------------------------------ edit

    @rx.event
    def set_edit_open(self, value: bool) -> None:
        if self.saving:
            return
        self.edit_open = value
        self.form_errors, self.form_error = {}, ""

    @rx.event
    def save(self, form: dict[str, Any]):  # type: ignore[no-untyped-def]
        if self.saving or not self.found:
            return None
        user, redirect = self._gate(STAFF)
        if user is None:
            self._clear()
            return redirect
        self.saving = True
        # A contact with a login keeps their email (the input is disabled, so it is absent).
        data = {k: form[k] for k in PERSON_FIELDS if k in form}
        person_id = self.person.id
        try:
            with session_scope() as db:
                people.update_person(db, user, person_id, data)
            with session_scope() as db:
                self.person = people.get_person(db, user, person_id)
        except ValidationFailed as exc:
            self.form_errors, self.form_error = exc.errors, "Please fix the highlighted fields."
            self.saving = False
            return None
        except NotFound:
            self._clear()
            self.not_found = True
            return None
        except ChronosError as exc:
            self.form_errors, self.form_error = {}, exc.message
            self.saving = False
            return None
        self.form_errors, self.form_error = {}, ""
        self.saving, self.edit_open = False, False
        return rx.toast.success("Contact saved.")

    # ------------------------------------------------------------ delete

    @rx.event
    def set_delete_open(self, value: bool) -> None:
        if self.deleting:
            return
        self.delete_open = value
        self.delete_error = ""

    @rx.event
    def delete(self):  # type: ignore[no-untyped-def]
        if self.deleting or not self.found:
            return None
        user, redirect = self._gate(STAFF)
        if user is None:
            self._clear()
            return redirect
        self.deleting = True
        try:
            with session_scope() as db:
                people.delete_person(db, user, self.person.id)
        except NotFound:
            self._clear()
            self.not_found = True
            return None
        except ChronosError as exc:  # e.g. Conflict: still on transactions, or has a login
            self.delete_error = exc.message
            self.deleting = False
            return None
        name = self.person.name
        self._clear()
        return [rx.toast.success(f"{name} deleted."), rx.redirect(routes.PEOPLE, replace=True)]


# ---------------------------------------------------------------- edit dialog


def _err(name: str) -> Any:
    return PersonState.form_errors.get(name, "")


def _input(name: str, value: Any, **props: Any) -> rx.Component:
    return rx.input(
        name=name,
        id=f"edit-person-{name}",
        default_value=value,
        size="3",
        width="100%",
        **props,
    )


def _edit_form() -> rx.Component:
    p = PersonState.person
    return rx.form(
        rx.flex(
            rx.cond(PersonState.form_error, error_callout(PersonState.form_error)),
            two_columns(
                field(
                    "First name",
                    _input("first_name", p.first_name, required=True),
                    _err("first_name"),
                ),
                field("Last name", _input("last_name", p.last_name), _err("last_name")),
            ),
            two_columns(
                rx.box(
                    field(
                        "Email",
                        _input("email", p.email, type="email", disabled=p.has_login),
                        _err("email"),
                    ),
                    rx.cond(
                        p.has_login,
                        rx.text(
                            "They sign in with this email, so it cannot be changed here.",
                            size="1",
                            color_scheme="gray",
                        ),
                    ),
                ),
                field("Phone", _input("phone", p.phone_input, type="tel"), _err("phone")),
            ),
            field("Company", _input("company", p.company), _err("company")),
            field(
                "Notes",
                rx.text_area(
                    name="notes",
                    id="edit-person-notes",
                    default_value=p.notes,
                    rows="4",
                    width="100%",
                    size="3",
                ),
                _err("notes"),
            ),
            form_actions("Save", PersonState.saving),
            direction="column",
            spacing="4",
        ),
        on_submit=PersonState.save,
        reset_on_submit=False,
        width="100%",
    )


def _edit_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.trigger(rx.button(rx.icon("pencil", size=16), "Edit", variant="soft", size="2")),
        rx.dialog.content(
            rx.dialog.title("Edit contact"),
            rx.dialog.description(
                "Changes apply everywhere this contact appears.",
                size="2",
                color_scheme="gray",
                margin_bottom="16px",
            ),
            _edit_form(),
            max_width="560px",
        ),
        open=PersonState.edit_open,
        on_open_change=PersonState.set_edit_open,
    )


# ---------------------------------------------------------------- delete confirmation


def _delete_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(
            rx.button(
                rx.icon("trash_2", size=16), "Delete", variant="soft", color_scheme="red", size="2"
            ),
        ),
        rx.alert_dialog.content(
            rx.alert_dialog.title("Delete ", PersonState.person.name, "?"),
            rx.alert_dialog.description(
                "This removes the contact for good. It cannot be undone.",
                size="2",
            ),
            rx.cond(
                PersonState.delete_error,
                rx.box(error_callout(PersonState.delete_error), margin_top="12px"),
            ),
            rx.flex(
                rx.alert_dialog.cancel(
                    rx.button(
                        rx.cond(PersonState.delete_error, "Close", "Cancel"),
                        variant="soft",
                        color_scheme="gray",
                        disabled=PersonState.deleting,
                    ),
                ),
                rx.cond(
                    PersonState.delete_error,
                    rx.fragment(),
                    rx.button(
                        rx.cond(
                            PersonState.deleting, rx.spinner(size="2"), rx.icon("trash_2", size=16)
                        ),
                        "Delete contact",
                        color_scheme="red",
                        disabled=PersonState.deleting,
                        on_click=PersonState.delete,
                    ),
                ),
                justify="end",
                spacing="3",
                margin_top="16px",
            ),
            max_width="480px",
        ),
        open=PersonState.delete_open,
        on_open_change=PersonState.set_delete_open,
    )


# ---------------------------------------------------------------- details and transactions


def _detail_line(icon: str, content: rx.Component) -> rx.Component:
    return rx.flex(
        rx.icon(icon, size=16, color=rx.color("gray", 10), flex_shrink="0"),
        content,
        spacing="2",
        align="center",
    )


def _details() -> rx.Component:
    p = PersonState.person
    return rx.card(
        rx.flex(
            rx.cond(
                p.email,
                _detail_line("mail", rx.link(p.email, href="mailto:" + p.email, trim="both")),
            ),
            rx.cond(
                p.phone,
                _detail_line("phone", rx.link(p.phone, href="tel:" + p.phone_input)),
            ),
            rx.cond(p.company, _detail_line("building_2", rx.text(p.company))),
            rx.cond(
                p.has_login,
                _detail_line(
                    "key_round",
                    rx.text("Has a portal login", color_scheme="gray", size="2"),
                ),
            ),
            rx.cond(
                (p.email == "") & (p.phone == "") & (p.company == ""),
                rx.text("No contact details yet.", color_scheme="gray", size="2"),
            ),
            rx.cond(
                p.notes,
                rx.box(
                    rx.text("Notes", size="1", weight="bold", color_scheme="gray"),
                    rx.text(p.notes, size="2", white_space="pre-wrap"),
                    padding_top="8px",
                ),
            ),
            direction="column",
            spacing="2",
        ),
        width="100%",
    )


def _deal(pt: PersonTransaction) -> rx.Component:
    t = pt.transaction
    return rx.link(
        rx.card(
            rx.flex(
                rx.flex(
                    rx.box(
                        rx.text(t.street, weight="bold"),
                        rx.text(t.city_line, size="1", color_scheme="gray"),
                    ),
                    stage_badge(t.stage, t.stage_label),
                    justify="between",
                    spacing="2",
                    align="start",
                ),
                rx.flex(
                    rx.badge(pt.role_label, variant="soft", color_scheme="indigo", size="1"),
                    side_badge(t.side_label),
                    rx.cond(
                        t.closing_date,
                        rx.text("Closing ", t.closing_label, size="1", color_scheme="gray"),
                    ),
                    spacing="2",
                    align="center",
                    wrap="wrap",
                ),
                direction="column",
                spacing="2",
            ),
            width="100%",
        ),
        href="/transactions/" + t.id.to_string(),  # type: ignore[attr-defined]
        underline="none",
        color="inherit",
        width="100%",
    )


def _transactions() -> rx.Component:
    deals = PersonState.person.transactions
    return rx.box(
        rx.heading("Transactions", size="4", as_="h2", margin_bottom="8px"),
        rx.cond(
            deals.length() == 0,
            rx.text(
                "Not on any transaction you can see.",
                color_scheme="gray",
                size="2",
            ),
            rx.flex(rx.foreach(deals, _deal), direction="column", spacing="2"),
        ),
        width="100%",
    )


def _history_row(h: HistoryRow) -> rx.Component:
    return rx.flex(
        rx.box(
            rx.cond(
                h.kind == "email",
                rx.icon("mail", size=16, aria_label="Email"),
                rx.icon("message_square", size=16, aria_label="Message"),
            ),
            color=rx.color("gray", 11),
            flex_shrink="0",
            margin_top="2px",
        ),
        rx.box(
            rx.flex(
                rx.text(h.subject, size="2", weight="medium", flex="1", min_width="0"),
                rx.badge(
                    h.status,
                    variant="soft",
                    color_scheme=rx.match(
                        h.status,
                        ("bounced", "red"),
                        ("failed", "red"),
                        ("complained", "red"),
                        ("internal note", "amber"),
                        ("delivered", "grass"),
                        ("sent", "grass"),
                        "gray",
                    ),
                ),
                spacing="2",
                align="center",
                wrap="wrap",
            ),
            rx.text(h.snippet, size="1", color_scheme="gray", style={"overflowWrap": "anywhere"}),
            rx.flex(
                local_time(h.date),
                rx.cond(
                    h.transaction_id,
                    rx.link(h.address, href="/transactions/" + h.transaction_id.to_string()),
                ),
                spacing="2",
                wrap="wrap",
                font_size="12px",
                color=rx.color("gray", 11),
            ),
            flex="1",
            min_width="0",
        ),
        spacing="3",
        align="start",
        padding_y="8px",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        width="100%",
    )


def _communication() -> rx.Component:
    s = PersonState
    return rx.box(
        rx.flex(
            rx.heading("Communication", size="4", as_="h2"),
            rx.spacer(),
            rx.segmented_control.root(
                rx.segmented_control.item("All", value="all"),
                rx.segmented_control.item("Messages", value="messages"),
                rx.segmented_control.item("Emails", value="emails"),
                value=s.history_kind,
                on_change=s.set_history_kind,
                size="1",
            ),
            spacing="2",
            align="center",
            wrap="wrap",
            margin_bottom="8px",
        ),
        rx.cond(s.history_error, error_callout(s.history_error)),
        rx.cond(
            s.history.length() == 0,
            rx.text(
                rx.match(
                    s.history_kind,
                    ("messages", "No messages with this contact on files you can see."),
                    ("emails", "No emails to this contact on files you can see."),
                    "No messages or emails with this contact on files you can see.",
                ),
                color_scheme="gray",
                size="2",
            ),
            rx.box(
                rx.foreach(s.history, _history_row),
                rx.cond(
                    s.history_pages > 1,
                    pager(
                        s.history_page,
                        s.history_pages,
                        s.history_total,
                        s.history_prev,
                        s.history_next,
                    ),
                ),
                width="100%",
            ),
        ),
        width="100%",
        id="communication",
    )


def _found() -> rx.Component:
    return rx.box(
        page_header(
            PersonState.person.name,
            _edit_dialog(),
            _delete_dialog(),
        ),
        rx.grid(
            _details(),
            _transactions(),
            columns=rx.breakpoints(initial="1", md="2"),
            spacing="5",
            align="start",
            width="100%",
        ),
        rx.box(_communication(), margin_top="24px", width="100%"),
        width="100%",
    )


def _back() -> rx.Component:
    return rx.link(
        rx.flex(
            rx.icon("arrow_left", size=16), rx.text("People", size="2"), align="center", spacing="1"
        ),
        href=routes.PEOPLE,
        color_scheme="gray",
        underline="none",
        margin_bottom="12px",
        display="inline-block",
    )


def _content() -> rx.Component:
    return rx.cond(
        PersonState.found,
        _found(),
        rx.cond(
            PersonState.not_found,
            empty_state(
                "user_x",
                "Contact not found",
                "It may have been deleted, or the link is wrong.",
                rx.link(rx.button("All contacts", variant="soft"), href=routes.PEOPLE),
            ),
            rx.cond(
                PersonState.error,
                error_callout(PersonState.error),
                loading_block("Loading contact…"),
            ),
        ),
    )


@page("/people/[person_id]", "Contact", on_load=PersonState.load)
def person_page() -> rx.Component:
    return app_shell(
        _back(),
        _content(),
        active="people",
        user_name=PersonState.user_name,
        role_label=PersonState.role_label,
        is_staff=PersonState.is_staff,
        signed_in=PersonState.signed_in,
    )
