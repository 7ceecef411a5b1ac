"""The task checklist panel of the transaction page.

Its own state (the page's other panels are big enough): loads with the page, ticks tasks off
in place, adds and edits tasks (fixed date, or counted from a key date so it moves with it),
marks them not applicable, and completes or reassigns a selection in bulk.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from chronos.components.once import once_attrs
from chronos.components.tasks import task_row
from chronos.components.ui import action_menu, danger_item, error_callout, field, two_columns
from chronos.db import session_scope
from chronos.models import Role
from chronos.services import idempotency, key_dates, tasks
from chronos.services.errors import ChronosError, NotFound, ValidationFailed
from chronos.services.tasks import AssigneeOption, TaskRow
from chronos.state import once
from chronos.state.session import SessionState

STAFF = frozenset({Role.ADMIN, Role.AGENT, Role.COORDINATOR})
NOBODY = "nobody"
FIXED = "fixed"


class TaskPanelState(SessionState):
    rows: list[TaskRow] = []
    counts: dict[str, int] = {}
    show: str = "open"
    assignees: list[AssigneeOption] = []
    date_options: dict[str, str] = {}
    selected: list[int] = []
    bulk_assignee: str = ""
    error: str = ""
    notice: str = ""
    # add/edit dialog
    dialog_open: bool = False
    edit_id: int = 0
    form_assignee: str = NOBODY
    form_due_mode: str = FIXED
    form_due_key: str = ""
    form_errors: dict[str, str] = {}
    form_title: str = ""
    form_notes: str = ""
    form_due_date: str = ""
    form_offset: str = "0"
    saving: bool = False
    once_key: str = ""
    _once_done: str = ""

    def _txn(self) -> int:
        return self._int_param("txn_id")

    def _reload(self, db: Any, user: Any) -> None:
        txn_id = self._txn()
        self.rows = tasks.list_tasks(db, user, txn_id, show=self.show)
        self.counts = tasks.task_counts(db, user, txn_id)
        self.assignees = tasks.assignee_options(db, user, txn_id)
        dates = {r.key: r.label for r in key_dates.list_key_dates(db, user, txn_id)}
        self.date_options = {**dict(tasks.ANCHOR_KEYS), **dates}
        visible = {r.id for r in self.rows}
        self.selected = [i for i in self.selected if i in visible]

    def _forget(self) -> None:
        self.rows, self.counts, self.assignees, self.selected = [], {}, [], []
        self.dialog_open = False

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        user = self._actor()
        if user is None or user.role_enum not in STAFF:
            self._forget()
            return None  # the page's own loader redirects
        self.selected, self.notice = [], ""
        try:
            with session_scope() as db:
                self._reload(db, user)
            self.error = ""
        except NotFound:
            self._forget()
        except ChronosError as exc:
            self._forget()
            self.error = exc.message
        return None

    def _act(self, action: Any, notice: str = ""):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(STAFF)
        if user is None:
            self._forget()
            return redirect
        try:
            with session_scope() as db:
                action(db, user)
            with session_scope() as db:
                self._reload(db, user)
            self.error, self.notice = "", notice
        except ChronosError as exc:
            self.error, self.notice = exc.message, ""
        # Imported here: the transaction page imports this panel.
        from chronos.pages.transaction import TransactionState

        return TransactionState.reload_events

    @rx.event
    def set_show(self, value: str | list[str]):  # type: ignore[no-untyped-def]
        self.show = "all" if value == "all" else "open"
        return TaskPanelState.load

    @rx.event
    def toggle(self, task_id: int, status: str):  # type: ignore[no-untyped-def]
        target = tasks.OPEN if status == tasks.DONE else tasks.DONE
        return self._act(
            lambda db, user: tasks.set_status(db, user, int(task_id), target, expected=status)
        )

    @rx.event
    def not_applicable(self, task_id: int):  # type: ignore[no-untyped-def]
        return self._act(
            lambda db, user: tasks.set_status(db, user, int(task_id), tasks.NOT_APPLICABLE),
            "Marked not applicable.",
        )

    @rx.event
    def reopen(self, task_id: int):  # type: ignore[no-untyped-def]
        return self._act(lambda db, user: tasks.set_status(db, user, int(task_id), tasks.OPEN))

    @rx.event
    def delete(self, task_id: int):  # type: ignore[no-untyped-def]
        return self._act(
            lambda db, user: tasks.delete_task(db, user, int(task_id)), "Task deleted."
        )

    @rx.event
    def toggle_selected(self, task_id: int, checked: bool) -> None:
        ids = [i for i in self.selected if i != task_id]
        self.selected = [*ids, task_id] if checked else ids

    @rx.event
    def clear_selection(self) -> None:
        self.selected = []

    @rx.event
    def set_bulk_assignee(self, value: str) -> None:
        self.bulk_assignee = value

    @rx.event
    def complete_selected(self):  # type: ignore[no-untyped-def]
        ids = list(self.selected)
        self.selected = []
        return self._act(
            lambda db, user: tasks.bulk_set_status(db, user, self._txn(), ids, tasks.DONE),
            f"{len(ids)} task{'s' if len(ids) != 1 else ''} completed.",
        )

    @rx.event
    def reassign_selected(self):  # type: ignore[no-untyped-def]
        if not self.bulk_assignee:
            self.error = "Choose who the tasks are for."
            return None
        ids, who = list(self.selected), self.bulk_assignee
        self.selected = []
        return self._act(
            lambda db, user: tasks.bulk_reassign(db, user, self._txn(), ids, who),
            f"{len(ids)} task{'s' if len(ids) != 1 else ''} reassigned.",
        )

    # -- the add/edit dialog

    def _fill(self, row: TaskRow | None) -> None:
        self.edit_id = row.id if row else 0
        self.form_title = row.title if row else ""
        self.form_notes = row.notes if row else ""
        self.form_assignee = (row.assignee if row else "") or NOBODY
        self.form_errors = {}
        self.form_due_mode, self.form_due_key, self.form_offset, self.form_due_date = (
            FIXED,
            "",
            "0",
            row.due_date if row else "",
        )

    @rx.event
    def open_add(self) -> None:
        self._fill(None)
        once.fresh(self)
        self.dialog_open = True

    @rx.event
    def open_edit(self, task_id: int):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(STAFF)
        if user is None:
            return redirect
        row = next((r for r in self.rows if r.id == task_id), None)
        if row is None:
            return None
        self._fill(row)
        try:
            with session_scope() as db:
                rule = tasks.due_rule(db, user, task_id)
        except ChronosError:
            rule = None
        if rule is not None:
            self.form_due_mode, self.form_due_key = "relative", rule[0]
            self.form_offset = str(rule[1])
        self.dialog_open = True
        return None

    @rx.event
    def set_dialog_open(self, value: bool) -> None:
        self.dialog_open = value

    @rx.event
    def set_form(self, name: str, value: str | list[str]) -> None:
        if name in {
            "form_title",
            "form_notes",
            "form_assignee",
            "form_due_mode",
            "form_due_key",
            "form_due_date",
            "form_offset",
        }:
            setattr(self, name, value)

    @rx.event
    def save(self, key: str = ""):  # type: ignore[no-untyped-def]
        key = once.key_of(key)
        if self.saving or once.repeated(self, key):
            return None  # a second click: the first one's result already applies
        user, redirect = self._gate(STAFF)
        if user is None:
            self._forget()
            return redirect
        data: dict[str, Any] = {
            "title": self.form_title,
            "notes": self.form_notes,
            "assignee": "" if self.form_assignee == NOBODY else self.form_assignee,
        }
        if self.form_due_mode == "relative":
            data |= {"due_key": self.form_due_key, "due_offset_days": self.form_offset}
            if not self.form_due_key:
                self.form_errors = {"due_key": "Choose the date the task counts from."}
                return None
        else:
            data |= {"due_key": "", "due_date": self.form_due_date}
        self.saving = True
        try:
            with session_scope() as db:
                if self.edit_id:
                    tasks.update_task(db, user, self.edit_id, data)
                else:
                    txn_id = self._txn()
                    idempotency.once(
                        db,
                        user,
                        "task.create",
                        key,
                        {"transaction": txn_id, **data},
                        lambda: tasks.create_task(db, user, txn_id, data).id,
                    )
            with session_scope() as db:
                self._reload(db, user)
            self.dialog_open, self.form_errors = False, {}
            self.notice = "Task saved."
            once.settle(self, key, done=True)
        except ValidationFailed as exc:
            self.form_errors = dict(exc.errors)
            once.settle(self, key, done=False)
        except ChronosError as exc:
            self.form_errors = {"title": exc.message}
            once.settle(self, key, done=False)
        self.saving = False
        from chronos.pages.transaction import TransactionState

        return TransactionState.reload_events


def _row(r: TaskRow) -> rx.Component:
    s = TaskPanelState
    menu = action_menu(
        rx.icon_button(
            rx.icon("ellipsis", size=16),
            variant="ghost",
            color_scheme="gray",
            size="1",
            aria_label="More actions for " + r.title,
        ),
        rx.dropdown_menu.item("Edit", on_select=s.open_edit(r.id)),
        rx.cond(
            r.status == "open",
            rx.dropdown_menu.item("Not applicable", on_select=s.not_applicable(r.id)),
            rx.dropdown_menu.item("Reopen", on_select=s.reopen(r.id)),
        ),
        rx.dropdown_menu.separator(),
        danger_item("Delete", on_select=s.delete(r.id)),
    )
    return rx.flex(
        rx.checkbox(
            checked=s.selected.contains(r.id),
            on_change=lambda checked: s.toggle_selected(r.id, checked),
            aria_label="Select " + r.title,
            margin_top="14px",
        ),
        rx.box(task_row(r, s.toggle(r.id, r.status), extra=menu), flex="1", min_width="0"),
        spacing="2",
        align="start",
    )


def _bulk_bar() -> rx.Component:
    s = TaskPanelState
    return rx.cond(
        s.selected.length() > 0,
        rx.flex(
            rx.text(s.selected.length().to_string(), " selected", size="2", weight="medium"),
            rx.button("Complete", size="1", on_click=s.complete_selected),
            rx.select.root(
                rx.select.trigger(placeholder="Reassign to…", aria_label="Reassign to"),
                rx.select.content(
                    rx.foreach(s.assignees, lambda o: rx.select.item(o.label, value=o.value))
                ),
                value=s.bulk_assignee,
                on_change=s.set_bulk_assignee,
                size="1",
            ),
            rx.button("Reassign", size="1", variant="soft", on_click=s.reassign_selected),
            rx.button("Clear", size="1", variant="ghost", on_click=s.clear_selection),
            spacing="2",
            align="center",
            wrap="wrap",
            padding="8px",
            border_radius="6px",
            background=rx.color("accent", 3),
        ),
    )


def _dialog() -> rx.Component:
    s = TaskPanelState
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(s.edit_id == 0, "Add a task", "Edit task")),
            rx.flex(
                field(
                    "Task",
                    rx.input(
                        value=s.form_title,
                        on_change=lambda v: s.set_form("form_title", v),
                        placeholder="e.g. Order the survey",
                        size="3",
                        auto_focus=True,
                    ),
                    s.form_errors.get("title", ""),
                ),
                field(
                    "For",
                    rx.select.root(
                        rx.select.trigger(width="100%"),
                        rx.select.content(
                            rx.select.item("Nobody yet", value=NOBODY),
                            rx.foreach(
                                s.assignees, lambda o: rx.select.item(o.label, value=o.value)
                            ),
                        ),
                        value=s.form_assignee,
                        on_change=lambda v: s.set_form("form_assignee", v),
                    ),
                    s.form_errors.get("assignee", ""),
                ),
                rx.segmented_control.root(
                    rx.segmented_control.item("On a date", value=FIXED),
                    rx.segmented_control.item("Counted from a key date", value="relative"),
                    value=s.form_due_mode,
                    on_change=lambda v: s.set_form("form_due_mode", v),
                ),
                rx.cond(
                    s.form_due_mode == FIXED,
                    field(
                        "Due",
                        rx.input(
                            type="date",
                            value=s.form_due_date,
                            on_change=lambda v: s.set_form("form_due_date", v),
                        ),
                        s.form_errors.get("due_date", ""),
                        "Leave empty for no date.",
                    ),
                    two_columns(
                        field(
                            "Key date",
                            rx.select.root(
                                rx.select.trigger(placeholder="Choose…", width="100%"),
                                rx.select.content(
                                    rx.foreach(
                                        s.date_options.entries(),
                                        lambda kv: rx.select.item(kv[1], value=kv[0]),
                                    )
                                ),
                                value=s.form_due_key,
                                on_change=lambda v: s.set_form("form_due_key", v),
                            ),
                            s.form_errors.get("due_key", ""),
                        ),
                        field(
                            "Days (minus = before)",
                            rx.input(
                                type="number",
                                input_mode="numeric",
                                value=s.form_offset,
                                on_change=lambda v: s.set_form("form_offset", v),
                            ),
                            s.form_errors.get("due_offset_days", ""),
                        ),
                    ),
                ),
                field(
                    "Notes",
                    rx.text_area(
                        value=s.form_notes, on_change=lambda v: s.set_form("form_notes", v)
                    ),
                    s.form_errors.get("notes", ""),
                ),
                rx.flex(
                    rx.dialog.close(
                        rx.button("Cancel", variant="soft", color_scheme="gray", size="3")
                    ),
                    rx.button(
                        rx.cond(s.saving, rx.spinner(size="2"), rx.icon("check", size=16)),
                        "Save task",
                        size="3",
                        on_click=s.save(s.once_key),
                        disabled=s.saving,
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
        open=s.dialog_open,
        on_open_change=s.set_dialog_open,
    )


def tasks_panel() -> rx.Component:
    s = TaskPanelState
    return rx.card(
        rx.flex(
            rx.flex(
                rx.heading("Tasks", size="4", as_="h2"),
                rx.badge(s.counts.get("open", 0).to_string(), " open", variant="soft"),
                rx.cond(
                    s.counts.get("overdue", 0) > 0,
                    rx.badge(
                        s.counts.get("overdue", 0).to_string(),
                        " overdue",
                        color_scheme="red",
                        variant="soft",
                    ),
                ),
                rx.spacer(),
                rx.segmented_control.root(
                    rx.segmented_control.item("Open", value="open"),
                    rx.segmented_control.item("All", value="all"),
                    value=s.show,
                    on_change=s.set_show,
                    size="1",
                ),
                rx.button(rx.icon("plus", size=14), "Add", size="1", on_click=s.open_add),
                spacing="2",
                align="center",
                wrap="wrap",
            ),
            rx.cond(s.error, error_callout(s.error)),
            rx.cond(
                s.notice,
                rx.text(s.notice, size="1", color_scheme="grass", role="status"),
            ),
            _bulk_bar(),
            rx.cond(
                s.rows.length() == 0,
                rx.text(
                    rx.cond(
                        s.show == "open",
                        "No open tasks. Everything here is done.",
                        "No tasks yet. Add one, or move the file to a stage with a checklist.",
                    ),
                    size="2",
                    color_scheme="gray",
                    padding_y="8px",
                ),
                rx.box(rx.foreach(s.rows, _row), width="100%"),
            ),
            direction="column",
            spacing="2",
        ),
        _dialog(),
        width="100%",
        id="tasks",
    )
