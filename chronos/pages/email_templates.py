"""Email templates and text blocks (/templates): the brokerage's and the user's own.

Staff use every brokerage-wide template; admins edit them; everyone keeps personal ones. The
editor previews the text live against one of the user's own files, with flagged fields
(unknown, or empty on that file) listed.
"""

from __future__ import annotations

import reflex as rx

from chronos import routes
from chronos.components.layout import app_shell
from chronos.components.ui import (
    empty_state,
    error_callout,
    field,
    loading_block,
    page_header,
    two_columns,
)
from chronos.db import session_scope
from chronos.models import Role
from chronos.pages.registry import page
from chronos.services import email_templates as et
from chronos.services.email_templates import FileOption, TemplateRow
from chronos.services.errors import ChronosError, NotFound, ValidationFailed
from chronos.state.session import SessionState

STAFF = frozenset({Role.ADMIN, Role.AGENT, Role.COORDINATOR})


class TemplatesState(SessionState):
    kind: str = et.TEMPLATE
    rows: list[TemplateRow] = []
    loading: bool = True
    error: str = ""
    notice: str = ""
    fields_help: list[str] = et.field_help()
    # editor
    editing: bool = False
    edit_id: int = 0
    form_name: str = ""
    form_scope: str = et.PERSONAL
    form_subject: str = ""
    form_body: str = ""
    form_errors: dict[str, str] = {}
    saving: bool = False
    # preview
    files: list[FileOption] = []
    preview_txn: str = ""
    preview_subject: str = ""
    preview_body: str = ""
    preview_unknown: list[str] = []
    preview_empty: list[str] = []

    def _forget(self) -> None:
        self.rows, self.files, self.editing = [], [], False
        self.preview_subject = self.preview_body = ""
        self.preview_unknown, self.preview_empty = [], []

    def _reload(self, user: object) -> None:
        with session_scope() as db:
            self.rows = et.list_templates(db, user, self.kind)  # type: ignore[arg-type]

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        self.loading = True
        user, redirect = self._gate(STAFF)
        if user is None:
            self._forget()
            self.loading = False
            return redirect
        self._forget()
        try:
            self._reload(user)
            with session_scope() as db:
                self.files = et.preview_files(db, user)
            if self.files and self.preview_txn not in {f.value for f in self.files}:
                self.preview_txn = self.files[0].value
            self.error = ""
        except ChronosError as exc:
            self.rows, self.error = [], exc.message
        self.loading = False
        return None

    @rx.event
    def set_kind(self, value: str | list[str]):  # type: ignore[no-untyped-def]
        self.kind = et.BLOCK if value == et.BLOCK else et.TEMPLATE
        self.editing, self.notice = False, ""
        return TemplatesState.load

    @rx.event
    def new(self):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(STAFF)
        if user is None:
            self._forget()
            return redirect
        self.edit_id, self.form_name, self.form_subject, self.form_body = 0, "", "", ""
        self.form_scope, self.form_errors, self.notice = et.PERSONAL, {}, ""
        self.editing = True
        return self._preview(user)

    @rx.event
    def open(self, template_id: int):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(STAFF)
        if user is None:
            self._forget()
            return redirect
        try:
            with session_scope() as db:
                t = et.get_template(db, user, int(template_id))
        except NotFound as exc:
            self.error = exc.message
            return TemplatesState.load
        self.edit_id, self.form_name = (t.id if t.can_edit else 0), t.name
        if not t.can_edit:
            # Not theirs to change: start a personal copy instead.
            self.form_name = f"{t.name} (copy)"
            self.notice = "Brokerage template: saving makes your own copy."
        else:
            self.notice = ""
        self.form_scope = t.scope if t.can_edit else et.PERSONAL
        self.form_subject, self.form_body, self.form_errors = t.subject, t.body, {}
        self.editing = True
        return self._preview(user)

    @rx.event
    def close(self) -> None:
        self.editing, self.form_errors = False, {}

    @rx.event
    def set_name(self, value: str) -> None:
        self.form_name = value

    @rx.event
    def set_scope(self, value: str | list[str]) -> None:
        self.form_scope = et.BROKERAGE if value == et.BROKERAGE else et.PERSONAL

    @rx.event
    def set_subject(self, value: str) -> None:
        self.form_subject = value

    @rx.event
    def set_body(self, value: str) -> None:
        self.form_body = value

    @rx.event
    def set_preview_txn(self, value: str):  # type: ignore[no-untyped-def]
        self.preview_txn = value
        return TemplatesState.refresh_preview

    @rx.event
    def refresh_preview(self):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(STAFF)
        if user is None:
            self._forget()
            return redirect
        return self._preview(user)

    def _preview(self, user: object) -> None:
        self.preview_subject = self.preview_body = ""
        self.preview_unknown, self.preview_empty = [], []
        if not self.preview_txn or not (self.form_subject or self.form_body):
            return None
        try:
            subject = self.form_subject if self.kind == et.TEMPLATE else ""
            with session_scope() as db:
                p = et.preview(db, user, int(self.preview_txn), subject, self.form_body)  # type: ignore[arg-type]
            self.preview_subject, self.preview_body = p.subject, p.body
            self.preview_unknown, self.preview_empty = p.unknown, p.empty
        except (ChronosError, ValueError):
            self.preview_body = "This file cannot be used for the preview."
        return None

    @rx.event
    def save(self):  # type: ignore[no-untyped-def]
        if self.saving:
            return None
        user, redirect = self._gate(STAFF)
        if user is None:
            self._forget()
            return redirect
        data = {
            "kind": self.kind,
            "scope": self.form_scope,
            "name": self.form_name,
            "subject": self.form_subject,
            "body": self.form_body,
        }
        self.saving = True
        try:
            with session_scope() as db:
                if self.edit_id:
                    et.update_template(db, user, self.edit_id, data)
                else:
                    et.create_template(db, user, data)
            self._reload(user)
            self.editing, self.form_errors, self.error = False, {}, ""
            self.notice = "Saved."
        except ValidationFailed as exc:
            self.form_errors = dict(exc.errors)
        except ChronosError as exc:
            self.form_errors = {"name": exc.message}
        self.saving = False
        return None

    @rx.event
    def delete(self):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(STAFF)
        if user is None:
            self._forget()
            return redirect
        try:
            with session_scope() as db:
                et.delete_template(db, user, self.edit_id)
            self._reload(user)
            self.editing, self.notice, self.error = False, "Deleted.", ""
        except ChronosError as exc:
            self.error = exc.message
        return None


# ------------------------------------------------------------------------------------ view


def _card(t: TemplateRow) -> rx.Component:
    return rx.card(
        rx.flex(
            rx.flex(
                rx.text(t.name, weight="bold", size="3"),
                rx.spacer(),
                rx.badge(
                    t.scope_label,
                    color_scheme=rx.cond(t.scope == "personal", "violet", "gray"),
                    variant="soft",
                ),
                spacing="2",
                align="center",
            ),
            rx.cond(
                t.kind == "block",
                rx.code("{{ block." + t.slug + " }}", size="1"),
                rx.text(t.subject, size="2", color_scheme="gray", trim="end"),
            ),
            rx.text(
                t.body,
                size="1",
                color_scheme="gray",
                style={
                    "display": "-webkit-box",
                    "WebkitLineClamp": "3",
                    "WebkitBoxOrient": "vertical",
                    "overflow": "hidden",
                    "whiteSpace": "pre-line",
                },
            ),
            rx.flex(
                rx.button(
                    rx.cond(t.can_edit, "Edit", "Copy to mine"),
                    size="1",
                    variant="soft",
                    on_click=TemplatesState.open(t.id),
                    aria_label=rx.cond(t.can_edit, "Edit ", "Copy ") + t.name,
                ),
                justify="end",
            ),
            direction="column",
            spacing="2",
        ),
        width="100%",
    )


def _flag_list(label: str, names: rx.Var, color: str) -> rx.Component:
    return rx.cond(
        names.length() > 0,  # type: ignore[attr-defined]
        rx.flex(
            rx.text(label, size="2"),
            rx.foreach(names, lambda n: rx.code(n, color_scheme=color, variant="soft")),  # type: ignore[arg-type]
            spacing="1",
            wrap="wrap",
            align="center",
        ),
    )


def _preview_box() -> rx.Component:
    s = TemplatesState
    return rx.flex(
        rx.flex(
            rx.text("Preview with", size="2", weight="medium"),
            rx.cond(
                s.files.length() > 0,
                rx.select.root(
                    rx.select.trigger(aria_label="Preview with file", width="100%"),
                    rx.select.content(
                        rx.foreach(s.files, lambda f: rx.select.item(f.label, value=f.value))
                    ),
                    value=s.preview_txn,
                    on_change=s.set_preview_txn,
                ),
                rx.text("You have no files to preview with yet.", size="2", color_scheme="gray"),
            ),
            rx.button("Refresh", size="1", variant="ghost", on_click=s.refresh_preview),
            direction="column",
            spacing="1",
        ),
        rx.cond(
            (s.preview_unknown.length() > 0) | (s.preview_empty.length() > 0),
            rx.callout.root(
                rx.callout.icon(rx.icon("triangle_alert")),
                rx.flex(
                    rx.text("Flagged fields: these would block sending.", size="2"),
                    _flag_list("Unknown:", s.preview_unknown, "red"),
                    _flag_list("No value on this file:", s.preview_empty, "amber"),
                    direction="column",
                    spacing="1",
                ),
                color_scheme="amber",
                role="alert",
                id="template-flags",
            ),
        ),
        rx.box(
            rx.cond(
                s.preview_subject,
                rx.text(s.preview_subject, weight="bold", size="2", margin_bottom="8px"),
            ),
            rx.text(
                rx.cond(s.preview_body, s.preview_body, "Write something to preview it."),
                size="2",
                style={"whiteSpace": "pre-wrap", "overflowWrap": "anywhere"},
            ),
            padding="12px",
            border_radius="8px",
            border=f"1px solid {rx.color('gray', 6)}",
            background=rx.color("gray", 2),
            id="template-preview",
        ),
        direction="column",
        spacing="2",
        width="100%",
    )


def _editor() -> rx.Component:
    s = TemplatesState
    return rx.card(
        rx.flex(
            rx.heading(
                rx.cond(s.edit_id == 0, "New ", "Edit ")
                + rx.cond(s.kind == "block", "text block", "template"),
                size="4",
                as_="h2",
            ),
            two_columns(
                rx.flex(
                    field(
                        "Name",
                        rx.input(value=s.form_name, on_change=s.set_name, name="name"),
                        s.form_errors.get("name", ""),
                        rx.cond(s.kind == "block", "Used as {{ block.<name> }}", ""),  # type: ignore[arg-type]
                    ),
                    rx.cond(
                        s.is_admin & (s.edit_id == 0),
                        rx.segmented_control.root(
                            rx.segmented_control.item("Just me", value="personal"),
                            rx.segmented_control.item("Whole brokerage", value="brokerage"),
                            value=s.form_scope,
                            on_change=s.set_scope,
                        ),
                    ),
                    rx.cond(
                        s.kind == "template",
                        field(
                            "Subject",
                            rx.input(
                                value=s.form_subject,
                                on_change=s.set_subject,
                                on_blur=s.refresh_preview,
                                name="subject",
                            ),
                            s.form_errors.get("subject", ""),
                        ),
                    ),
                    field(
                        "Text",
                        rx.text_area(
                            value=s.form_body,
                            on_change=s.set_body,
                            on_blur=s.refresh_preview,
                            rows="12",
                            name="body",
                        ),
                        s.form_errors.get("body", ""),
                        "Plain text: blank lines make paragraphs; links are kept.",
                    ),
                    rx.flex(
                        rx.cond(
                            s.edit_id != 0,
                            rx.button(
                                "Delete", color_scheme="red", variant="soft", on_click=s.delete
                            ),
                        ),
                        rx.spacer(),
                        rx.button("Cancel", variant="soft", color_scheme="gray", on_click=s.close),
                        rx.button(
                            rx.cond(s.saving, rx.spinner(size="2"), rx.icon("check", size=16)),
                            "Save",
                            on_click=s.save,
                            disabled=s.saving,
                        ),
                        spacing="2",
                        wrap="wrap",
                    ),
                    direction="column",
                    spacing="3",
                ),
                _preview_box(),
            ),
            rx.box(
                rx.text("Merge fields", size="2", weight="medium"),
                rx.flex(
                    rx.foreach(s.fields_help, lambda n: rx.code("{{ " + n + " }}", size="1")),
                    spacing="1",
                    wrap="wrap",
                ),
            ),
            direction="column",
            spacing="3",
        ),
        width="100%",
        id="template-editor",
    )


def _content() -> rx.Component:
    s = TemplatesState
    return rx.cond(
        s.loading & (s.rows.length() == 0),
        loading_block("Loading templates…"),
        rx.flex(
            rx.segmented_control.root(
                rx.segmented_control.item("Templates", value="template"),
                rx.segmented_control.item("Text blocks", value="block"),
                value=s.kind,
                on_change=s.set_kind,
            ),
            rx.cond(s.error, error_callout(s.error)),
            rx.cond(
                s.notice,
                rx.callout(s.notice, icon="check", color_scheme="grass", role="status"),
            ),
            rx.cond(s.editing, _editor()),
            rx.cond(
                s.rows.length() == 0,
                empty_state(
                    "mail",
                    "Nothing here yet",
                    rx.cond(
                        s.kind == "block",
                        "Text blocks are paragraphs you reuse in templates, like a sign-off.",
                        "Add a template to reuse an email.",
                    ),
                ),
                rx.grid(
                    rx.foreach(s.rows, _card),
                    columns=rx.breakpoints(initial="1", sm="2", lg="3"),
                    spacing="3",
                    width="100%",
                ),
            ),
            direction="column",
            spacing="3",
            width="100%",
        ),
    )


@page(routes.EMAIL_TEMPLATES, "Email templates", on_load=TemplatesState.load)
def email_templates_page() -> rx.Component:
    return app_shell(
        page_header(
            "Email templates",
            rx.button(rx.icon("plus", size=16), "New", on_click=TemplatesState.new),
            subtitle="Reusable emails with merge fields, for the brokerage and for you",
        ),
        _content(),
        active="templates",
        user_name=TemplatesState.user_name,
        role_label=TemplatesState.role_label,
        is_staff=TemplatesState.is_staff,
        signed_in=TemplatesState.signed_in,
    )
