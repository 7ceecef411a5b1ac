"""Admin: the brokerage's checklist templates (which tasks a file gets at which stage).

The list on top, the editor below it: name, side, property type, the stage that applies it,
on/off, and its tasks (who each is for, and when it is due relative to a date of the file).
Validation errors come back per task row and nothing is saved until the whole template is
valid.
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
from chronos.services import checklist_templates as templates
from chronos.services.checklist_templates import TemplateSummary
from chronos.services.errors import ChronosError, NotFound, ValidationFailed
from chronos.state.session import SessionState

ADMIN = frozenset({Role.ADMIN})
NO_DATE = "none"  # a select item's value cannot be empty


@dataclass
class EditItem:
    key: str
    title: str
    notes: str
    assignee: str
    due_key: str  # NO_DATE when the task has no date
    due_offset_days: str
    error: str = ""


def _edit_items(items: list[templates.TemplateItem]) -> list[EditItem]:
    return [
        EditItem(
            key=i.key,
            title=i.title,
            notes=i.notes,
            assignee=i.assignee,
            due_key=i.due_key or NO_DATE,
            due_offset_days=i.due_offset_days,
        )
        for i in items
    ]


class ChecklistAdminState(SessionState):
    templates: list[TemplateSummary] = []
    loading: bool = True
    error: str = ""
    notice: str = ""
    # The editor
    editing: bool = False
    edit_id: int = 0  # 0 = a new template
    name: str = ""
    side: str = "any"
    property_type: str = "any"
    stage: str = "under_contract"
    is_active: bool = True
    items: list[EditItem] = []
    errors: dict[str, str] = {}
    saving: bool = False

    def _close_editor(self) -> None:
        self.editing, self.edit_id, self.items, self.errors = False, 0, [], {}

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        self.loading = True
        user, redirect = self._gate(ADMIN)
        if user is None:
            self.templates = []
            self._close_editor()
            return redirect
        try:
            with session_scope() as db:
                self.templates = templates.list_templates(db, user)
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
                detail = templates.get_template(db, user, int(template_id))
        except NotFound as exc:
            self.error = exc.message
            return ChecklistAdminState.load
        self.edit_id, self.name, self.side = detail.id, detail.name, detail.side
        self.property_type, self.stage, self.is_active = (
            detail.property_type,
            detail.stage,
            detail.is_active,
        )
        self.items, self.errors, self.notice, self.editing = _edit_items(detail.items), {}, "", True
        return None

    @rx.event
    def new_template(self):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(ADMIN)
        if user is None:
            return redirect
        self.edit_id, self.name, self.side, self.property_type = 0, "", "any", "any"
        self.stage, self.is_active = "under_contract", True
        self.items = _edit_items([templates.empty_item()])
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
    def set_stage(self, value: str) -> None:
        self.stage = value

    @rx.event
    def set_is_active(self, value: bool) -> None:
        self.is_active = bool(value)

    @rx.event
    def set_item(self, index: int, name: str, value: Any) -> None:
        if 0 <= index < len(self.items) and name in {
            "title",
            "notes",
            "assignee",
            "due_key",
            "due_offset_days",
        }:
            items = list(self.items)
            setattr(items[index], name, str(value))
            self.items = items

    @rx.event
    def add_item(self) -> None:
        self.items = [*self.items, *_edit_items([templates.empty_item()])]

    @rx.event
    def remove_item(self, index: int) -> None:
        self.items = [item for n, item in enumerate(self.items) if n != index]

    @rx.event
    def move_item(self, index: int, step: int) -> None:
        target = index + step
        if 0 <= index < len(self.items) and 0 <= target < len(self.items):
            items = list(self.items)
            items[index], items[target] = items[target], items[index]
            self.items = items

    def _payload(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "side": self.side,
            "property_type": self.property_type,
            "stage": self.stage,
            "is_active": self.is_active,
            "items": [
                {
                    "key": i.key,
                    "title": i.title,
                    "notes": i.notes,
                    "assignee": i.assignee,
                    "due_key": "" if i.due_key == NO_DATE else i.due_key,
                    "due_offset_days": i.due_offset_days,
                }
                for i in self.items
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
                    tpl = templates.update_template(db, user, self.edit_id, self._payload())
                else:
                    tpl = templates.create_template(db, user, self._payload())
                saved_name = tpl.name
            self._close_editor()
            self.notice = f"Saved “{saved_name}”. Files reaching its stage from now on get it."
            self.error = ""
        except ValidationFailed as exc:
            self.errors = dict(exc.errors)
            items = list(self.items)
            for n, item in enumerate(items):
                item.error = " ".join(
                    msg for key, msg in exc.errors.items() if key.startswith(f"items.{n}.")
                )
            self.items = items
        except ChronosError as exc:
            self.error = exc.message
        self.saving = False
        return ChecklistAdminState.load

    @rx.event
    def copy(self):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(ADMIN)
        if user is None:
            return redirect
        try:
            with session_scope() as db:
                tpl = templates.copy_template(db, user, self.edit_id)
                new_id = tpl.id or 0
        except ChronosError as exc:
            self.error = exc.message
            return None
        self.notice = "Copied. The copy is switched off until you turn it on."
        return [ChecklistAdminState.load, ChecklistAdminState.open_template(new_id)]

    @rx.event
    def delete(self):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(ADMIN)
        if user is None:
            return redirect
        try:
            with session_scope() as db:
                templates.delete_template(db, user, self.edit_id)
        except ChronosError as exc:
            self.error = exc.message
            return None
        self._close_editor()
        self.notice = "Deleted. Tasks it already added to files stay on them."
        return ChecklistAdminState.load


def _template_card(t: TemplateSummary) -> rx.Component:
    return rx.card(
        rx.flex(
            rx.box(
                rx.text(t.name, weight="bold", size="3"),
                rx.text(
                    t.stage_label,
                    " · ",
                    t.side_label,
                    " · ",
                    t.type_label,
                    size="1",
                    color_scheme="gray",
                ),
                rx.text(t.item_count.to_string(), " tasks", size="1", color_scheme="gray"),
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
                    on_click=ChecklistAdminState.open_template(t.id),
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


def _item_row(item: EditItem, index: rx.Var) -> rx.Component:
    number = (index + 1).to_string()
    return rx.card(
        rx.flex(
            rx.flex(
                rx.text("Task ", number, weight="bold", size="2"),
                rx.flex(
                    rx.icon_button(
                        rx.icon("arrow_up", size=14),
                        variant="ghost",
                        size="1",
                        on_click=ChecklistAdminState.move_item(index, -1),
                        aria_label="Move task " + number + " up",
                    ),
                    rx.icon_button(
                        rx.icon("arrow_down", size=14),
                        variant="ghost",
                        size="1",
                        on_click=ChecklistAdminState.move_item(index, 1),
                        aria_label="Move task " + number + " down",
                    ),
                    rx.icon_button(
                        rx.icon("trash_2", size=14),
                        variant="ghost",
                        color_scheme="red",
                        size="1",
                        on_click=ChecklistAdminState.remove_item(index),
                        aria_label="Remove task " + number,
                    ),
                    spacing="2",
                ),
                justify="between",
                align="center",
            ),
            rx.input(
                value=item.title,
                on_change=lambda v: ChecklistAdminState.set_item(index, "title", v),
                placeholder="What needs doing",
                aria_label="Task " + number + " title",
                size="2",
            ),
            two_columns(
                field(
                    "For",
                    select_field(
                        item.assignee,
                        lambda v: ChecklistAdminState.set_item(index, "assignee", v),
                        templates.ASSIGNEE_LABELS,
                        "Who task is for",
                    ),
                ),
                rx.flex(
                    field(
                        "Due",
                        select_field(
                            item.due_key,
                            lambda v: ChecklistAdminState.set_item(index, "due_key", v),
                            {NO_DATE: "No date", **templates.due_key_labels()},
                            "Date the task counts from",
                        ),
                    ),
                    rx.cond(
                        item.due_key != NO_DATE,
                        field(
                            "Days (minus = before)",
                            rx.input(
                                value=item.due_offset_days,
                                on_change=lambda v: ChecklistAdminState.set_item(
                                    index, "due_offset_days", v
                                ),
                                type="number",
                                input_mode="numeric",
                                aria_label="Days from the date",
                                width="6rem",
                            ),
                        ),
                    ),
                    spacing="2",
                    align="end",
                ),
            ),
            rx.input(
                value=item.notes,
                on_change=lambda v: ChecklistAdminState.set_item(index, "notes", v),
                placeholder="Notes (optional)",
                aria_label="Task " + number + " notes",
                size="1",
            ),
            rx.cond(item.error, rx.text(item.error, color_scheme="red", size="1", role="alert")),
            direction="column",
            spacing="2",
        ),
        width="100%",
    )


def _editor() -> rx.Component:
    s = ChecklistAdminState
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
                field(
                    "Applied when a file reaches",
                    select_field(s.stage, s.set_stage, templates.STAGE_LABELS, "Stage"),
                    s.errors.get("stage", ""),
                ),
                field("Side", select_field(s.side, s.set_side, templates.SIDE_LABELS, "Side")),
                field(
                    "Property type",
                    select_field(
                        s.property_type, s.set_property_type, templates.TYPE_LABELS, "Property type"
                    ),
                ),
                rx.el.label(
                    rx.flex(
                        rx.switch(checked=s.is_active, on_change=s.set_is_active),
                        rx.text("On: new files get these tasks", size="2"),
                        spacing="2",
                        align="center",
                        padding_top="24px",
                    ),
                ),
            ),
            rx.heading("Tasks", size="3", as_="h3"),
            rx.cond(
                s.errors.get("items", ""),
                rx.text(s.errors.get("items", ""), color_scheme="red", size="1", role="alert"),
            ),
            rx.foreach(s.items, _item_row),
            rx.button(rx.icon("plus", size=16), "Add a task", variant="soft", on_click=s.add_item),
            rx.flex(
                rx.cond(
                    s.edit_id != 0,
                    rx.flex(
                        rx.button("Copy", variant="soft", color_scheme="gray", on_click=s.copy),
                        rx.alert_dialog.root(
                            rx.alert_dialog.trigger(
                                rx.button("Delete", variant="soft", color_scheme="red")
                            ),
                            rx.alert_dialog.content(
                                rx.alert_dialog.title("Delete this checklist?"),
                                rx.alert_dialog.description(
                                    "Files will no longer get its tasks. Tasks it already "
                                    "added stay on their files."
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
                        spacing="2",
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
        id="checklist-editor",
    )


def _content() -> rx.Component:
    s = ChecklistAdminState
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
                    "list_checks",
                    "No checklists",
                    "Add one: files get its tasks when they reach its stage.",
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


@page(routes.ADMIN_CHECKLISTS, "Checklists", on_load=ChecklistAdminState.load)
def admin_checklists_page() -> rx.Component:
    return app_shell(
        admin_tabs("checklists"),
        page_header(
            "Checklists",
            rx.button(
                rx.icon("plus", size=16), "New checklist", on_click=ChecklistAdminState.new_template
            ),
            subtitle="Tasks each kind of file gets when it reaches a stage",
        ),
        _content(),
        active="admin",
        user_name=ChecklistAdminState.user_name,
        role_label=ChecklistAdminState.role_label,
        is_staff=ChecklistAdminState.is_staff,
        signed_in=ChecklistAdminState.signed_in,
    )
