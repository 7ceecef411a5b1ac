"""Admin: fillable form templates. Upload a fillable PDF once (a native multipart POST to
``/files/form-template``), check the mapping Chronos suggested from the field names (one
select per field, among the file data it can fill), see page 1, deactivate what is no longer
used. Staff then fill the forms from a transaction's page."""

from __future__ import annotations

from dataclasses import dataclass

import reflex as rx

from chronos import routes
from chronos.components.admin_nav import admin_tabs
from chronos.components.layout import api_url, app_shell
from chronos.components.native_form import native_form
from chronos.components.ui import error_callout, field, loading_block, page_header
from chronos.db import session_scope
from chronos.models import Role
from chronos.pages.registry import page
from chronos.services import documents, forms
from chronos.services.errors import ChronosError, ValidationFailed
from chronos.services.forms import TemplateRow
from chronos.state.session import SessionState

ADMIN = frozenset({Role.ADMIN})
EMPTY = "__empty__"  # the select's "leave empty" (a select item cannot have the value "")
NATIVE_INPUT = {
    "width": "100%",
    "padding": "8px",
    "fontSize": "16px",
    "border": "1px solid var(--gray-7)",
    "borderRadius": "6px",
    "background": "transparent",
    "color": "inherit",
}


@dataclass
class KeyChoice:
    key: str
    label: str


@dataclass
class MappingRow:
    name: str
    kind_label: str
    options_label: str
    data_key: str  # EMPTY when left empty
    error: str = ""


class FormAdminState(SessionState):
    rows: list[TemplateRow] = []
    loading: bool = True
    error: str = ""
    notice: str = ""
    upload_errors: list[str] = []
    editing: bool = False
    edit_id: int = 0
    edit_name: str = ""
    edit_category: str = "contract"
    edit_filename: str = ""
    edit_pages: int = 0
    edit_active: bool = True
    preview_url: str = ""
    mapping: list[MappingRow] = []
    key_choices: list[KeyChoice] = []
    edit_errors: dict[str, str] = {}
    saving: bool = False

    def _forget(self) -> None:
        self.rows, self.mapping, self.upload_errors, self.key_choices = [], [], [], []
        self.editing, self.edit_id, self.preview_url = False, 0, ""

    def _open(self, user: object, template_id: int) -> None:
        with session_scope() as db:
            detail = forms.get_template(db, user, template_id)  # type: ignore[arg-type]
            options = forms.data_keys(db, user)  # type: ignore[arg-type]
        for f in detail.fields:  # a key mapped earlier stays choosable
            if f.data_key and f.data_key not in options:
                options[f.data_key] = forms.data_label(f.data_key)
        self.key_choices = [
            KeyChoice(EMPTY, "Leave empty"),
            *[KeyChoice(k, v) for k, v in options.items()],
        ]
        self.edit_id, self.edit_name, self.edit_category = detail.id, detail.name, detail.category
        self.edit_filename, self.edit_pages = detail.filename, detail.page_count
        self.edit_active = detail.is_active
        self.mapping = [
            MappingRow(f.name, f.kind_label, f.options_label, f.data_key or EMPTY)
            for f in detail.fields
        ]
        uid = getattr(user, "id", 0) or 0
        self.preview_url = api_url(forms.preview_link(uid, detail.id, seconds=3600))
        self.edit_errors, self.editing = {}, True

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        self.loading = True
        user, redirect = self._gate(ADMIN)
        if user is None:
            self._forget()
            self.loading = False
            return redirect
        self.notice, self.upload_errors, self.error = "", [], ""
        try:
            with session_scope() as db:
                self.rows = forms.list_templates(db, user)
            token = self._param("upload")
            outcome = documents.decode_notice(token) if token else None
            if outcome:
                self.upload_errors = [str(e) for e in outcome.get("errors") or []]
                saved = [s for s in outcome.get("saved") or [] if isinstance(s, dict)]
                if saved:
                    self.notice = (
                        f"Uploaded “{saved[0].get('title', '')}” with "
                        f"{saved[0].get('fields', 0)} fillable fields. Check the mapping "
                        "Chronos suggested, then save."
                    )
                    self._open(user, int(saved[0].get("id") or 0))
        except ChronosError as exc:
            self.error = exc.message
        self.loading = False
        return None

    @rx.event
    def edit(self, template_id: int):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(ADMIN)
        if user is None:
            self._forget()
            return redirect
        try:
            self._open(user, int(template_id))
            self.notice = ""
        except ChronosError as exc:
            self.error = exc.message
        return None

    @rx.event
    def cancel(self) -> None:
        self.editing, self.mapping, self.edit_errors, self.preview_url = False, [], {}, ""
        self.key_choices = []

    @rx.event
    def set_edit_name(self, value: str) -> None:
        self.edit_name = value

    @rx.event
    def set_edit_category(self, value: str) -> None:
        self.edit_category = value

    @rx.event
    def set_key(self, index: int, value: str) -> None:
        if 0 <= index < len(self.mapping):
            rows = list(self.mapping)
            known = {c.key for c in self.key_choices}
            rows[index].data_key = value if value in known else EMPTY
            rows[index].error = ""
            self.mapping = rows

    @rx.event
    def save(self):  # type: ignore[no-untyped-def]
        if self.saving:
            return None
        user, redirect = self._gate(ADMIN)
        if user is None:
            self._forget()
            return redirect
        mapping = {r.name: ("" if r.data_key == EMPTY else r.data_key) for r in self.mapping}
        self.saving = True
        try:
            with session_scope() as db:
                tpl = forms.update_template(
                    db,
                    user,
                    self.edit_id,
                    mapping=mapping,
                    name=self.edit_name,
                    category=self.edit_category,
                )
                name, mapped = tpl.name, len(tpl.mapping)
            with session_scope() as db:
                self.rows = forms.list_templates(db, user)
            self.editing, self.mapping, self.edit_errors = False, [], {}
            self.notice = f"Saved “{name}”: {mapped} of its fields are filled from file data."
            self.error = ""
        except ValidationFailed as exc:
            self.edit_errors = dict(exc.errors)
            rows = list(self.mapping)
            for row in rows:
                row.error = exc.errors.get(f"mapping.{row.name}", "")
            self.mapping = rows
        except ChronosError as exc:
            self.error = exc.message
        self.saving = False
        return None

    @rx.event
    def toggle_active(self, template_id: int, active: bool):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(ADMIN)
        if user is None:
            self._forget()
            return redirect
        try:
            with session_scope() as db:
                tpl = forms.set_active(db, user, int(template_id), bool(active))
                name = tpl.name
            with session_scope() as db:
                self.rows = forms.list_templates(db, user)
            self.edit_active = bool(active) if self.edit_id == template_id else self.edit_active
            self.notice = (
                f"“{name}” is offered on transactions again."
                if active
                else f"“{name}” is no longer offered. Documents made from it stay."
            )
        except ChronosError as exc:
            self.error = exc.message
        return None


def _upload_card() -> rx.Component:
    return rx.card(
        rx.heading("Upload a fillable PDF", size="4", as_="h2", margin_bottom="4px"),
        rx.text(
            "A PDF form with fields to fill (text boxes, checkboxes, drop-downs). Chronos reads "
            "its fields and suggests what to fill each one with.",
            size="2",
            color_scheme="gray",
            margin_bottom="8px",
        ),
        native_form(
            rx.flex(
                field(
                    "Name",
                    rx.el.input(
                        name="name",
                        required=True,
                        max_length=200,
                        placeholder="e.g. Residential purchase agreement",
                        style=NATIVE_INPUT,
                    ),
                ),
                field(
                    "Category of the documents it makes",
                    rx.el.select(
                        *[
                            rx.el.option(label, value=key)
                            for key, label in documents.CATEGORIES.items()
                        ],
                        name="category",
                        default_value="contract",
                        style=NATIVE_INPUT,
                    ),
                ),
                field(
                    "Fillable PDF",
                    rx.el.input(
                        type="file",
                        name="file",
                        required=True,
                        accept=".pdf,application/pdf",
                        style={"width": "100%", "padding": "8px 0", "fontSize": "16px"},
                    ),
                ),
                rx.box(
                    rx.button(rx.icon("upload", size=16), "Upload form", type="submit", size="3")
                ),
                direction="column",
                spacing="3",
            ),
            action=api_url("/files/form-template"),
            method="post",
            custom_attrs={"enctype": "multipart/form-data"},
            style={"margin": 0},
        ),
        width="100%",
    )


def _template_row(row: TemplateRow) -> rx.Component:
    s = FormAdminState
    return rx.flex(
        rx.box(
            rx.flex(
                rx.text(row.name, size="2", weight="medium"),
                rx.badge(row.category_label, variant="soft", size="1"),
                rx.cond(
                    ~row.is_active,
                    rx.badge("Not offered", color_scheme="gray", variant="outline", size="1"),
                ),
                spacing="2",
                align="center",
                wrap="wrap",
            ),
            rx.text(
                row.field_count.to_string(),
                " fields, ",
                row.mapped_count.to_string(),
                " filled from file data · ",
                row.filename,
                size="1",
                color_scheme="gray",
            ),
            flex="1",
            min_width="12rem",
        ),
        rx.flex(
            rx.button(
                "Edit mapping",
                size="1",
                variant="soft",
                on_click=s.edit(row.id),
                aria_label="Edit mapping of " + row.name,
            ),
            rx.cond(
                row.is_active,
                rx.button(
                    "Stop offering",
                    size="1",
                    variant="ghost",
                    color_scheme="gray",
                    on_click=s.toggle_active(row.id, False),
                    aria_label="Stop offering " + row.name,
                ),
                rx.button(
                    "Offer again",
                    size="1",
                    variant="ghost",
                    on_click=s.toggle_active(row.id, True),
                    aria_label="Offer " + row.name + " again",
                ),
            ),
            spacing="2",
            align="center",
        ),
        spacing="2",
        align="center",
        wrap="wrap",
        padding_y="8px",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
    )


def _mapping_row(row: MappingRow, index: rx.Var) -> rx.Component:
    s = FormAdminState
    return rx.flex(
        rx.box(
            rx.text(row.name, size="2", weight="medium"),
            rx.text(
                row.kind_label,
                rx.cond(row.options_label != "", " · " + row.options_label, ""),
                size="1",
                color_scheme="gray",
            ),
            flex="1",
            min_width="10rem",
        ),
        rx.box(
            rx.select.root(
                rx.select.trigger(aria_label="Fill " + row.name + " with", width="100%"),
                rx.select.content(
                    rx.foreach(s.key_choices, lambda c: rx.select.item(c.label, value=c.key))
                ),
                value=row.data_key,
                on_change=lambda v: s.set_key(index, v),
            ),
            rx.cond(row.error, rx.text(row.error, color_scheme="red", size="1", role="alert")),
            width=["100%", "18rem"],
        ),
        spacing="2",
        align="center",
        wrap="wrap",
        padding_y="6px",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
    )


def _editor() -> rx.Component:
    s = FormAdminState
    return rx.card(
        rx.flex(
            rx.heading("Fields and what fills them", size="4", as_="h2"),
            rx.text(
                s.edit_filename,
                " · ",
                s.edit_pages.to_string(),
                rx.cond(s.edit_pages == 1, " page", " pages"),
                ". A field left empty, or whose data a file lacks, stays blank in the "
                "filled PDF and is listed for the person who fills it.",
                size="2",
                color_scheme="gray",
            ),
            rx.grid(
                field(
                    "Name",
                    rx.input(value=s.edit_name, on_change=s.set_edit_name, max_length=200),
                    s.edit_errors.get("name", ""),
                ),
                field(
                    "Category",
                    rx.select.root(
                        rx.select.trigger(aria_label="Category", width="100%"),
                        rx.select.content(
                            *[
                                rx.select.item(label, value=key)
                                for key, label in documents.CATEGORIES.items()
                            ]
                        ),
                        value=s.edit_category,
                        on_change=s.set_edit_category,
                    ),
                    s.edit_errors.get("category", ""),
                ),
                columns=rx.breakpoints(initial="1", sm="2"),
                spacing="3",
                width="100%",
            ),
            rx.grid(
                rx.box(rx.foreach(s.mapping, _mapping_row), width="100%"),
                rx.box(
                    rx.text("Page 1", size="1", color_scheme="gray", margin_bottom="4px"),
                    rx.image(
                        src=s.preview_url,
                        alt="Page 1 of " + s.edit_name,
                        loading="lazy",
                        style={
                            "width": "100%",
                            "height": "auto",
                            "border": f"1px solid {rx.color('gray', 6)}",
                            "background": "white",
                        },
                    ),
                    width="100%",
                ),
                columns=rx.breakpoints(initial="1", md="3fr 2fr"),
                spacing="4",
                width="100%",
            ),
            rx.flex(
                rx.spacer(),
                rx.button("Cancel", variant="soft", color_scheme="gray", on_click=s.cancel),
                rx.button(
                    rx.cond(s.saving, rx.spinner(size="2"), rx.icon("check", size=16)),
                    "Save mapping",
                    on_click=s.save,
                    disabled=s.saving,
                ),
                spacing="2",
            ),
            direction="column",
            spacing="3",
        ),
        width="100%",
        id="form-mapping",
    )


@page(routes.ADMIN_FORMS, "Form templates", on_load=FormAdminState.load)
def admin_forms_page() -> rx.Component:
    s = FormAdminState
    return app_shell(
        admin_tabs("forms"),
        page_header(
            "Form templates", subtitle="Fillable PDFs Chronos pre-fills with a file's data"
        ),
        rx.cond(
            s.loading & (s.rows.length() == 0) & (s.error == ""),
            loading_block("Loading forms…"),
            rx.flex(
                rx.cond(s.error, error_callout(s.error)),
                rx.foreach(s.upload_errors, error_callout),
                rx.cond(
                    s.notice,
                    rx.callout(s.notice, icon="check", color_scheme="grass", role="status"),
                ),
                rx.cond(s.editing, _editor()),
                rx.grid(
                    rx.card(
                        rx.heading("Your forms", size="4", as_="h2", margin_bottom="8px"),
                        rx.cond(
                            s.rows.length() == 0,
                            rx.text(
                                "None yet: upload a fillable PDF to start.",
                                size="2",
                                color_scheme="gray",
                            ),
                            rx.foreach(s.rows, _template_row),
                        ),
                        width="100%",
                    ),
                    _upload_card(),
                    columns=rx.breakpoints(initial="1", md="2"),
                    spacing="3",
                    width="100%",
                ),
                direction="column",
                spacing="3",
            ),
        ),
        active="admin",
        user_name=s.user_name,
        role_label=s.role_label,
        is_staff=s.is_staff,
        signed_in=s.signed_in,
    )
