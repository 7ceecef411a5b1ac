"""Admin: the brokerage's required-document checklists (compliance templates).

The list on top, the editor below it: name, side, property type, on/off, and its documents
(name, category, required or optional, and the words that identify it in a document's text).
A new file gets the best-matching active checklist; changes reach files when a checklist is
(re-)applied, which adds only what a file is missing. Nothing is saved until the whole
checklist is valid; errors come back per document row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import reflex as rx

from chronos import routes
from chronos.components.admin_nav import admin_tabs
from chronos.components.layout import app_shell
from chronos.components.ui import (
    empty_state,
    error_callout,
    field,
    loading_block,
    page_header,
    select_field,
    two_columns,
)
from chronos.db import session_scope
from chronos.models import Role
from chronos.pages.registry import page
from chronos.services import compliance
from chronos.services.compliance import TemplateSummary
from chronos.services.documents import CATEGORIES
from chronos.services.errors import ChronosError, NotFound, ValidationFailed
from chronos.state.session import SessionState

ADMIN = frozenset({Role.ADMIN})


@dataclass
class EditDoc:
    key: str
    name: str
    category: str
    required: bool
    hint: str
    error: str = ""


def _edit_docs(items: list[compliance.TemplateItem]) -> list[EditDoc]:
    return [
        EditDoc(key=i.key, name=i.name, category=i.category, required=i.required, hint=i.hint)
        for i in items
    ]


class ComplianceAdminState(SessionState):
    templates: list[TemplateSummary] = []
    loading: bool = True
    error: str = ""
    notice: str = ""
    editing: bool = False
    edit_id: int = 0  # 0 = a new checklist
    name: str = ""
    side: str = "any"
    property_type: str = "any"
    is_active: bool = True
    docs: list[EditDoc] = []
    errors: dict[str, str] = {}
    saving: bool = False

    def _close_editor(self) -> None:
        self.editing, self.edit_id, self.docs, self.errors = False, 0, [], {}

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        self.loading = True
        user, redirect = self._gate(ADMIN)
        if user is None:
            self.templates = []
            self._close_editor()
            self.loading = False
            return redirect
        try:
            with session_scope() as db:
                self.templates = compliance.list_templates(db, user)
            self.error = ""
        except ChronosError as exc:
            self.templates, self.error = [], exc.message
        self.loading = False
        return None

    @rx.event
    def open_template(self, template_id: int):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(ADMIN)
        if user is None:
            self._close_editor()
            return redirect
        try:
            with session_scope() as db:
                detail = compliance.get_template(db, user, int(template_id))
        except NotFound as exc:
            self.error = exc.message
            return ComplianceAdminState.load
        self.edit_id, self.name, self.side = detail.id, detail.name, detail.side
        self.property_type, self.is_active = detail.property_type, detail.is_active
        self.docs, self.errors, self.notice = _edit_docs(detail.items), {}, ""
        self.editing = True
        return None

    @rx.event
    def new_template(self):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(ADMIN)
        if user is None:
            return redirect
        self.edit_id, self.name, self.side, self.property_type = 0, "", "any", "any"
        self.is_active = True
        self.docs = _edit_docs([compliance.empty_item()])
        self.errors, self.notice, self.editing = {}, "", True
        return None

    @rx.event
    def cancel(self) -> None:
        self._close_editor()

    @rx.event
    def set_name(self, value: str) -> None:
        self.name = value

    @rx.event
    def set_side(self, value: str) -> None:
        self.side = value

    @rx.event
    def set_property_type(self, value: str) -> None:
        self.property_type = value

    @rx.event
    def set_is_active(self, value: bool) -> None:
        self.is_active = bool(value)

    @rx.event
    def set_doc(self, index: int, name: str, value: Any) -> None:
        if 0 <= index < len(self.docs) and name in {"name", "category", "hint", "required"}:
            docs = list(self.docs)
            setattr(docs[index], name, bool(value) if name == "required" else str(value))
            self.docs = docs

    @rx.event
    def add_doc(self) -> None:
        self.docs = [*self.docs, *_edit_docs([compliance.empty_item()])]

    @rx.event
    def remove_doc(self, index: int) -> None:
        self.docs = [d for n, d in enumerate(self.docs) if n != index]

    @rx.event
    def move_doc(self, index: int, step: int) -> None:
        target = index + step
        if 0 <= index < len(self.docs) and 0 <= target < len(self.docs):
            docs = list(self.docs)
            docs[index], docs[target] = docs[target], docs[index]
            self.docs = docs

    def _payload(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "side": self.side,
            "property_type": self.property_type,
            "is_active": self.is_active,
            "items": [
                {
                    "key": d.key,
                    "name": d.name,
                    "category": d.category,
                    "required": d.required,
                    "hint": d.hint,
                }
                for d in self.docs
            ],
        }

    @rx.event
    def save(self):  # type: ignore[no-untyped-def]
        if self.saving:
            return None
        user, redirect = self._gate(ADMIN)
        if user is None:
            self._close_editor()
            return redirect
        self.saving = True
        try:
            with session_scope() as db:
                if self.edit_id:
                    tpl = compliance.update_template(db, user, self.edit_id, self._payload())
                else:
                    tpl = compliance.create_template(db, user, self._payload())
                saved_name = tpl.name
            self._close_editor()
            self.notice = (
                f"Saved “{saved_name}”. New files get it when it fits them best; apply it on "
                "a file to add what that file is missing."
            )
            self.error = ""
        except ValidationFailed as exc:
            self.errors = dict(exc.errors)
            docs = list(self.docs)
            for n, d in enumerate(docs):
                d.error = " ".join(
                    msg for key, msg in exc.errors.items() if key.startswith(f"items.{n}.")
                )
            self.docs = docs
        except ChronosError as exc:
            self.error = exc.message
        self.saving = False
        return ComplianceAdminState.load

    @rx.event
    def delete(self):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(ADMIN)
        if user is None:
            return redirect
        try:
            with session_scope() as db:
                compliance.delete_template(db, user, self.edit_id)
        except ChronosError as exc:
            self.error = exc.message
            return None
        self._close_editor()
        self.notice = "Deleted. Files keep the required documents it already put on them."
        return ComplianceAdminState.load


def _template_card(t: TemplateSummary) -> rx.Component:
    return rx.card(
        rx.flex(
            rx.box(
                rx.text(t.name, weight="bold", size="3"),
                rx.text(t.side_label, " · ", t.type_label, size="1", color_scheme="gray"),
                rx.text(
                    t.item_count.to_string(),
                    rx.cond(t.item_count == 1, " document, ", " documents, "),
                    t.required_count.to_string(),
                    " required",
                    size="1",
                    color_scheme="gray",
                ),
            ),
            rx.flex(
                rx.cond(
                    t.is_active,
                    rx.badge("On", color_scheme="grass", variant="soft"),
                    rx.badge("Off", color_scheme="gray", variant="soft"),
                ),
                rx.button(
                    "Edit",
                    variant="soft",
                    size="2",
                    on_click=ComplianceAdminState.open_template(t.id),
                    aria_label="Edit " + t.name,
                ),
                direction="column",
                align="end",
                spacing="2",
            ),
            justify="between",
            spacing="3",
        ),
        width="100%",
    )


def _doc_row(d: EditDoc, index: rx.Var) -> rx.Component:
    s = ComplianceAdminState
    number = (index + 1).to_string()
    return rx.card(
        rx.flex(
            rx.flex(
                rx.text("Document ", number, weight="bold", size="2"),
                rx.flex(
                    rx.icon_button(
                        rx.icon("arrow_up", size=14),
                        variant="ghost",
                        size="1",
                        on_click=s.move_doc(index, -1),
                        aria_label="Move document " + number + " up",
                    ),
                    rx.icon_button(
                        rx.icon("arrow_down", size=14),
                        variant="ghost",
                        size="1",
                        on_click=s.move_doc(index, 1),
                        aria_label="Move document " + number + " down",
                    ),
                    rx.icon_button(
                        rx.icon("trash_2", size=14),
                        variant="ghost",
                        color_scheme="red",
                        size="1",
                        on_click=s.remove_doc(index),
                        aria_label="Remove document " + number,
                    ),
                    spacing="2",
                ),
                justify="between",
                align="center",
            ),
            rx.input(
                value=d.name,
                on_change=lambda v: s.set_doc(index, "name", v),
                placeholder="Inspection report",
                aria_label="Document " + number + " name",
                size="2",
            ),
            two_columns(
                field(
                    "Category",
                    select_field(
                        d.category,
                        lambda v: s.set_doc(index, "category", v),
                        CATEGORIES,
                        "Document category",
                    ),
                ),
                rx.el.label(
                    rx.flex(
                        rx.switch(
                            checked=d.required,
                            on_change=lambda v: s.set_doc(index, "required", v),
                        ),
                        rx.text("Required before closing", size="2"),
                        spacing="2",
                        align="center",
                        padding_top=["0", "24px"],
                    ),
                ),
            ),
            rx.input(
                value=d.hint,
                on_change=lambda v: s.set_doc(index, "hint", v),
                placeholder="Words in its text (optional), e.g. inspection report",
                aria_label="Document " + number + " hint words",
                size="1",
            ),
            rx.cond(d.error, rx.text(d.error, color_scheme="red", size="1", role="alert")),
            direction="column",
            spacing="2",
        ),
        width="100%",
    )


def _editor() -> rx.Component:
    s = ComplianceAdminState
    return rx.card(
        rx.flex(
            rx.heading(
                rx.cond(s.edit_id == 0, "New checklist", "Edit checklist"), size="4", as_="h2"
            ),
            field(
                "Name",
                rx.input(value=s.name, on_change=s.set_name, aria_label="Name", size="3"),
                s.errors.get("name", ""),
            ),
            two_columns(
                field("Side", select_field(s.side, s.set_side, compliance.SIDE_LABELS, "Side")),
                field(
                    "Property type",
                    select_field(
                        s.property_type,
                        s.set_property_type,
                        compliance.TYPE_LABELS,
                        "Property type",
                    ),
                ),
            ),
            rx.el.label(
                rx.flex(
                    rx.switch(checked=s.is_active, on_change=s.set_is_active),
                    rx.text("On: new files that fit get these documents", size="2"),
                    spacing="2",
                    align="center",
                ),
            ),
            rx.heading("Documents", size="3", as_="h3"),
            rx.cond(
                s.errors.get("items", ""),
                rx.text(s.errors.get("items", ""), color_scheme="red", size="1", role="alert"),
            ),
            rx.foreach(s.docs, _doc_row),
            rx.button(
                rx.icon("plus", size=16), "Add a document", variant="soft", on_click=s.add_doc
            ),
            rx.flex(
                rx.cond(
                    s.edit_id != 0,
                    rx.alert_dialog.root(
                        rx.alert_dialog.trigger(
                            rx.button("Delete", variant="soft", color_scheme="red")
                        ),
                        rx.alert_dialog.content(
                            rx.alert_dialog.title("Delete this checklist?"),
                            rx.alert_dialog.description(
                                "New files will no longer get it. Files keep the required "
                                "documents it already put on them."
                            ),
                            rx.flex(
                                rx.alert_dialog.cancel(
                                    rx.button("Keep it", variant="soft", color_scheme="gray")
                                ),
                                rx.alert_dialog.action(
                                    rx.button("Delete", color_scheme="red", on_click=s.delete)
                                ),
                                spacing="3",
                                justify="end",
                                margin_top="16px",
                            ),
                        ),
                    ),
                ),
                rx.spacer(),
                rx.button("Cancel", variant="soft", color_scheme="gray", on_click=s.cancel),
                rx.button(
                    rx.cond(s.saving, rx.spinner(size="2"), rx.icon("check", size=16)),
                    "Save checklist",
                    on_click=s.save,
                    disabled=s.saving,
                ),
                spacing="2",
                wrap="wrap",
                align="center",
            ),
            direction="column",
            spacing="3",
        ),
        width="100%",
        id="compliance-editor",
    )


def _content() -> rx.Component:
    s = ComplianceAdminState
    return rx.cond(
        s.loading & (s.templates.length() == 0),
        loading_block("Loading checklists…"),
        rx.flex(
            rx.cond(s.error, error_callout(s.error)),
            rx.cond(
                s.notice,
                rx.callout(s.notice, icon="check", color_scheme="grass", role="status"),
            ),
            rx.cond(s.editing, _editor()),
            rx.cond(
                s.templates.length() == 0,
                empty_state(
                    "file_check",
                    "No checklists",
                    "Add one: new files that fit it get its required documents.",
                ),
                rx.grid(
                    rx.foreach(s.templates, _template_card),
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


@page(routes.ADMIN_COMPLIANCE, "Required documents", on_load=ComplianceAdminState.load)
def admin_compliance_page() -> rx.Component:
    return app_shell(
        admin_tabs("compliance"),
        page_header(
            "Required documents",
            rx.button(
                rx.icon("plus", size=16),
                "New checklist",
                on_click=ComplianceAdminState.new_template,
            ),
            subtitle="What each kind of file must have, accepted, before it can close",
        ),
        _content(),
        active="admin",
        user_name=ComplianceAdminState.user_name,
        role_label=ComplianceAdminState.role_label,
        is_staff=ComplianceAdminState.is_staff,
        signed_in=ComplianceAdminState.signed_in,
    )
