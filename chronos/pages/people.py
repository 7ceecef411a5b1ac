"""People: the brokerage's contacts. Staff search them, page through them and add new ones."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import reflex as rx

from chronos import routes
from chronos.components.layout import api_url, app_shell
from chronos.components.once import once_attrs, once_input
from chronos.components.ui import (
    download_link,
    empty_state,
    error_callout,
    field,
    form_actions,
    loading_block,
    page_header,
    pager,
    responsive_list,
    two_columns,
)
from chronos.db import session_scope
from chronos.pages.registry import page
from chronos.services import idempotency, people
from chronos.services.errors import ChronosError, ValidationFailed
from chronos.services.people import PERSON_FIELDS, PersonRow
from chronos.state import once
from chronos.state.session import STAFF, SessionState

PAGE_SIZE = 25


class PeopleState(SessionState):
    rows: list[PersonRow] = []
    total: int = 0
    page: int = 1
    pages: int = 1
    q: str = ""
    loading: bool = True
    error: str = ""
    # The "New contact" dialog.
    new_open: bool = False
    form_errors: dict[str, str] = {}
    form_error: str = ""
    saving: bool = False
    once_key: str = ""
    _once_done: str = ""

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        self.loading = True
        user, redirect = self._gate(STAFF)
        if user is None:
            self.rows, self.total = [], 0
            return redirect
        try:
            with session_scope() as db:
                result = people.list_people(db, user, q=self.q, page=self.page, page_size=PAGE_SIZE)
            self.rows = result.items
            self.total, self.page, self.pages = result.total, result.page, result.pages
            self.error = ""
        except ChronosError as exc:
            self.rows, self.total = [], 0
            self.error = exc.message
        self.loading = False
        return None

    @rx.var
    def csv_href(self) -> str:
        """The CSV of the contacts this search shows."""
        return api_url(f"/api/v1/people.csv?{urlencode({'q': self.q})}")

    @rx.event
    def set_query(self, value: str):  # type: ignore[no-untyped-def]
        self.q, self.page = value, 1
        return PeopleState.load

    @rx.event
    def clear_query(self):  # type: ignore[no-untyped-def]
        self.q, self.page = "", 1
        return PeopleState.load

    @rx.event
    def next_page(self):  # type: ignore[no-untyped-def]
        if self.page < self.pages:
            self.page += 1
        return PeopleState.load

    @rx.event
    def prev_page(self):  # type: ignore[no-untyped-def]
        if self.page > 1:
            self.page -= 1
        return PeopleState.load

    @rx.event
    def set_new_open(self, value: bool) -> None:
        if self.saving:
            return
        self.new_open = value
        self.form_errors, self.form_error = {}, ""
        if value:
            once.fresh(self)

    @rx.event
    def create(self, form: dict[str, Any]):  # type: ignore[no-untyped-def]
        key = once.key_of(form)
        if self.saving or once.repeated(self, key):
            return None  # a second click or Enter: the first one's result already applies
        user, redirect = self._gate(STAFF)
        if user is None:
            return redirect
        self.saving = True
        data = {k: form.get(k, "") for k in PERSON_FIELDS}
        try:
            with session_scope() as db:
                new_id = idempotency.once(
                    db,
                    user,
                    "person.create",
                    key,
                    data,
                    lambda: people.create_person(db, user, data).id,
                )
        except ValidationFailed as exc:
            self.form_errors, self.form_error = exc.errors, "Please fix the highlighted fields."
            self.saving = False
            once.settle(self, key, done=False)
            return None
        except ChronosError as exc:
            self.form_errors, self.form_error = {}, exc.message
            self.saving = False
            once.settle(self, key, done=False)
            return None
        once.settle(self, key, done=True)
        self.form_errors, self.form_error = {}, ""
        self.saving, self.new_open = False, False
        return [rx.toast.success("Contact added."), rx.redirect(routes.person(new_id or 0))]


# ---------------------------------------------------------------- the "New contact" dialog


def _input(name: str, **props: Any) -> rx.Component:
    return rx.input(name=name, id=f"new-person-{name}", size="3", width="100%", **props)


def _err(name: str) -> Any:
    return PeopleState.form_errors.get(name, "")


def _new_form() -> rx.Component:
    return rx.form(
        rx.flex(
            rx.cond(PeopleState.form_error, error_callout(PeopleState.form_error)),
            two_columns(
                field(
                    "First name",
                    _input(
                        "first_name",
                        placeholder="Jordan",
                        required=True,
                        auto_focus=True,
                        auto_complete="off",
                    ),
                    _err("first_name"),
                ),
                field(
                    "Last name",
                    _input("last_name", placeholder="Lee", auto_complete="off"),
                    _err("last_name"),
                ),
            ),
            two_columns(
                field(
                    "Email",
                    _input(
                        "email", type="email", placeholder="jordan@example.com", auto_complete="off"
                    ),
                    _err("email"),
                ),
                field(
                    "Phone",
                    _input("phone", type="tel", placeholder="(512) 555-0134", auto_complete="off"),
                    _err("phone"),
                ),
            ),
            field(
                "Company",
                _input("company", placeholder="Lone Star Title", auto_complete="off"),
                _err("company"),
            ),
            field(
                "Notes",
                rx.text_area(name="notes", id="new-person-notes", rows="3", width="100%", size="3"),
                _err("notes"),
            ),
            form_actions("Add contact", PeopleState.saving),
            direction="column",
            spacing="4",
        ),
        once_input(PeopleState.once_key),
        on_submit=PeopleState.create,
        reset_on_submit=False,
        width="100%",
        custom_attrs=once_attrs(PeopleState.once_key),
    )


def _new_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.trigger(rx.button(rx.icon("user_plus", size=16), "New contact", size="2")),
        rx.dialog.content(
            rx.dialog.title("New contact"),
            rx.dialog.description(
                "Only a first name is required; add the rest now or later.",
                size="2",
                color_scheme="gray",
                margin_bottom="16px",
            ),
            _new_form(),
            max_width="560px",
        ),
        open=PeopleState.new_open,
        on_open_change=PeopleState.set_new_open,
    )


# ---------------------------------------------------------------- the list


def _search() -> rx.Component:
    return rx.input(
        rx.input.slot(rx.icon("search", size=16)),
        placeholder="Search name, email, phone or company…",
        value=PeopleState.q,
        on_change=PeopleState.set_query.debounce(300),  # type: ignore[attr-defined]
        aria_label="Search contacts",
        size="2",
        width="100%",
        max_width=["100%", "28rem"],
        id="people-search",
        margin_bottom="16px",
    )


def _person_href(r: PersonRow) -> Any:
    return "/people/" + r.id.to_string()  # type: ignore[attr-defined]


def _login_badge(r: PersonRow) -> rx.Component:
    return rx.cond(
        r.has_login,
        rx.badge("Portal login", variant="soft", color_scheme="indigo", size="1"),
    )


def _table() -> rx.Component:
    return rx.table.root(
        rx.table.header(
            rx.table.row(
                rx.table.column_header_cell("Name"),
                rx.table.column_header_cell("Company"),
                rx.table.column_header_cell("Email"),
                rx.table.column_header_cell("Phone"),
            )
        ),
        rx.table.body(
            rx.foreach(
                PeopleState.rows,
                lambda r: rx.table.row(
                    rx.table.row_header_cell(
                        rx.flex(
                            rx.link(rx.text(r.name, weight="medium"), href=_person_href(r)),
                            _login_badge(r),
                            spacing="2",
                            align="center",
                        )
                    ),
                    rx.table.cell(r.company),
                    rx.table.cell(
                        rx.cond(
                            r.email, rx.link(r.email, href="mailto:" + r.email, color_scheme="gray")
                        ),
                    ),
                    rx.table.cell(
                        rx.cond(
                            r.phone, rx.link(r.phone, href="tel:" + r.phone, color_scheme="gray")
                        ),
                    ),
                    align="center",
                ),
            )
        ),
        variant="surface",
        width="100%",
    )


def _card(r: PersonRow) -> rx.Component:
    return rx.link(
        rx.card(
            rx.flex(
                rx.flex(
                    rx.text(r.name, weight="bold"),
                    _login_badge(r),
                    justify="between",
                    spacing="2",
                    align="start",
                ),
                rx.cond(r.company, rx.text(r.company, size="2", color_scheme="gray")),
                rx.cond(r.email, rx.text(r.email, size="2", trim="both")),
                rx.cond(r.phone, rx.text(r.phone, size="2")),
                direction="column",
                spacing="1",
            ),
            width="100%",
        ),
        href=_person_href(r),
        underline="none",
        color="inherit",
        width="100%",
    )


def _list() -> rx.Component:
    return responsive_list(
        _table(),
        PeopleState.rows,
        _card,
        pager(
            PeopleState.page,
            PeopleState.pages,
            PeopleState.total,
            PeopleState.prev_page,
            PeopleState.next_page,
        ),
    )


def _content() -> rx.Component:
    return rx.cond(
        PeopleState.loading & (PeopleState.rows.length() == 0),
        loading_block("Loading contacts…"),
        rx.cond(
            PeopleState.error,
            error_callout(PeopleState.error),
            rx.cond(
                PeopleState.total == 0,
                rx.cond(
                    PeopleState.q != "",
                    empty_state(
                        "search_x",
                        "No contacts match",
                        "Try another name, email, phone or company.",
                        rx.button("Clear search", variant="soft", on_click=PeopleState.clear_query),
                    ),
                    empty_state(
                        "users",
                        "No contacts yet",
                        "Add the clients, attorneys, lenders and inspectors you work with.",
                        rx.button(
                            rx.icon("user_plus", size=16),
                            "New contact",
                            on_click=PeopleState.set_new_open(True),  # type: ignore[call-arg]
                        ),
                    ),
                ),
                _list(),
            ),
        ),
    )


@page(routes.PEOPLE, "People", on_load=PeopleState.load)
def people_page() -> rx.Component:
    return app_shell(
        page_header(
            "People",
            download_link(
                "CSV",
                PeopleState.csv_href,
                aria_label="Download these contacts as a spreadsheet (CSV)",
            ),
            _new_dialog(),
        ),
        _search(),
        _content(),
        active="people",
        user_name=PeopleState.user_name,
        role_label=PeopleState.role_label,
        is_staff=PeopleState.is_staff,
        signed_in=PeopleState.signed_in,
    )
