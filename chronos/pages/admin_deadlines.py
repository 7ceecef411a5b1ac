"""Admin: deadline templates. Copy a built-in contract preset, then edit the copy: each key
date's name, what it counts from, how many (calendar or business) days after or before, what
a weekend or holiday does, and its cutoff time. The engine checks the whole set on save."""

from __future__ import annotations

from typing import Any

import reflex as rx

from chronos import routes
from chronos.components.admin_nav import admin_tabs
from chronos.components.layout import app_shell
from chronos.components.ui import error_callout, loading_block, page_header, select_field
from chronos.db import session_scope
from chronos.deadlines import PRESETS
from chronos.models import Role
from chronos.pages.registry import page
from chronos.services import deadline_templates as templates
from chronos.services.deadline_templates import RuleForm, TemplateRow
from chronos.services.errors import ChronosError, ValidationFailed
from chronos.state.session import SessionState

ADMIN = frozenset({Role.ADMIN})
BUILT_IN = [(p.key, p.name, p.state or "") for p in PRESETS.values()]


class DeadlineAdminState(SessionState):
    rows: list[TemplateRow] = []
    loading: bool = True
    error: str = ""
    notice: str = ""
    editing: bool = False
    edit_id: int = 0
    name: str = ""
    state_code: str = ""
    rules: list[RuleForm] = []
    rule_errors: list[str] = []
    errors: dict[str, str] = {}

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        self.loading = True
        user, redirect = self._gate(ADMIN)
        if user is None:
            self.rows, self.rules, self.editing = [], [], False
            return redirect
        try:
            with session_scope() as db:
                self.rows = templates.list_templates(db, user)
            self.error = ""
        except ChronosError as exc:
            self.rows, self.error = [], exc.message
        self.loading = False
        return None

    def _open(self, db: Any, user: Any, template_id: int) -> None:
        tpl, rules = templates.get_form(db, user, template_id)
        self.edit_id, self.name, self.state_code = tpl.id or 0, tpl.name, tpl.state
        self.rules, self.rule_errors = rules, [""] * len(rules)
        self.errors, self.editing = {}, True

    @rx.event
    def copy(self, source: str):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(ADMIN)
        if user is None:
            return redirect
        try:
            with session_scope() as db:
                tpl = templates.copy_preset(db, user, source)
                new_id = tpl.id or 0
            with session_scope() as db:
                self._open(db, user, new_id)
                self.rows = templates.list_templates(db, user)
            self.notice = "Copied. Edit it below; files get it when you choose it on them."
        except ChronosError as exc:
            self.error = exc.message
        return None

    @rx.event
    def edit(self, template_id: int):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(ADMIN)
        if user is None:
            return redirect
        try:
            with session_scope() as db:
                self._open(db, user, int(template_id))
        except ChronosError as exc:
            self.error = exc.message
        return None

    @rx.event
    def cancel(self) -> None:
        self.editing, self.rules, self.errors = False, [], {}

    @rx.event
    def set_name(self, value: str) -> None:
        self.name = value

    @rx.event
    def set_state_code(self, value: str) -> None:
        self.state_code = value

    @rx.event
    def set_rule(self, index: int, field_name: str, value: str) -> None:
        if 0 <= index < len(self.rules) and field_name in RuleForm.__dataclass_fields__:
            rules = list(self.rules)
            setattr(rules[index], field_name, str(value))
            self.rules = rules

    @rx.event
    def add_rule(self) -> None:
        self.rules = [
            *self.rules,
            RuleForm("", "", "effective_date", "0", "after", "calendar", "next_business_day", ""),
        ]
        self.rule_errors = [*self.rule_errors, ""]

    @rx.event
    def remove_rule(self, index: int) -> None:
        self.rules = [r for n, r in enumerate(self.rules) if n != index]
        self.rule_errors = [e for n, e in enumerate(self.rule_errors) if n != index]

    @rx.event
    def save(self):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(ADMIN)
        if user is None:
            return redirect
        data = {
            "name": self.name,
            "state": self.state_code,
            "rules": [dict(r.__dict__) for r in self.rules],
        }
        try:
            with session_scope() as db:
                tpl = templates.update_template(db, user, self.edit_id, data)
                saved = tpl.name
            self.editing, self.errors, self.notice = False, {}, f"Saved “{saved}”."
        except ValidationFailed as exc:
            self.errors = dict(exc.errors)
            self.rule_errors = [
                " ".join(m for k, m in exc.errors.items() if k.startswith(f"rules.{n}."))
                for n in range(len(self.rules))
            ]
            return None
        except ChronosError as exc:
            self.error = exc.message
        return DeadlineAdminState.load

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
        self.editing, self.notice = False, "Deleted. Files keep the dates it gave them."
        return DeadlineAdminState.load


def _anchor_options() -> rx.Var:
    # Fixed anchors plus every key date of the template being edited (by key).
    return DeadlineAdminState.rules


def _rule_row(rule: RuleForm, index: rx.Var) -> rx.Component:
    s = DeadlineAdminState
    number = (index + 1).to_string()
    return rx.card(
        rx.flex(
            rx.flex(
                rx.input(
                    value=rule.label,
                    on_change=lambda v: s.set_rule(index, "label", v),
                    placeholder="e.g. Inspection period ends",
                    aria_label="Key date " + number + " name",
                    flex="1",
                ),
                rx.icon_button(
                    rx.icon("trash_2", size=14),
                    variant="ghost",
                    color_scheme="red",
                    on_click=s.remove_rule(index),
                    aria_label="Remove key date " + number,
                ),
                spacing="2",
                align="center",
            ),
            rx.flex(
                rx.input(
                    value=rule.offset_days,
                    on_change=lambda v: s.set_rule(index, "offset_days", v),
                    type="number",
                    input_mode="numeric",
                    width="5rem",
                    aria_label="Days",
                ),
                rx.box(
                    select_field(
                        rule.day_type,
                        lambda v: s.set_rule(index, "day_type", v),
                        templates.DAY_TYPE_LABELS,
                        "Calendar or business days",
                    ),
                    width="9.5rem",
                ),
                rx.box(
                    select_field(
                        rule.direction,
                        lambda v: s.set_rule(index, "direction", v),
                        templates.DIRECTION_LABELS,
                        "After or before",
                    ),
                    width="6rem",
                ),
                rx.box(
                    rx.select.root(
                        rx.select.trigger(aria_label="Counts from", width="100%"),
                        rx.select.content(
                            *[
                                rx.select.item(text, value=key)
                                for key, text in templates.ANCHOR_LABELS.items()
                            ],
                            rx.foreach(
                                _anchor_options(),
                                lambda other: rx.cond(
                                    (other.key != "") & (other.key != rule.key),
                                    rx.select.item(other.label, value="key:" + other.key),
                                ),
                            ),
                        ),
                        value=rule.anchor,
                        on_change=lambda v: s.set_rule(index, "anchor", v),
                    ),
                    min_width="12rem",
                    flex="1",
                ),
                spacing="2",
                wrap="wrap",
                align="center",
            ),
            rx.flex(
                rx.text("On a weekend or holiday:", size="1", color_scheme="gray"),
                rx.box(
                    select_field(
                        rule.weekend_rule,
                        lambda v: s.set_rule(index, "weekend_rule", v),
                        templates.WEEKEND_LABELS,
                        "On a weekend or holiday",
                    ),
                    width="12rem",
                ),
                rx.text("Ends at", size="1", color_scheme="gray"),
                rx.input(
                    value=rule.cutoff,
                    on_change=lambda v: s.set_rule(index, "cutoff", v),
                    type="time",
                    width="8rem",
                    aria_label="Cutoff time",
                ),
                spacing="2",
                wrap="wrap",
                align="center",
            ),
            rx.cond(
                s.rule_errors[index],
                rx.text(s.rule_errors[index], color_scheme="red", size="1", role="alert"),
            ),
            direction="column",
            spacing="2",
        ),
        width="100%",
    )


def _editor() -> rx.Component:
    s = DeadlineAdminState
    return rx.card(
        rx.flex(
            rx.heading("Edit deadline template", size="4", as_="h2"),
            rx.flex(
                rx.input(value=s.name, on_change=s.set_name, aria_label="Template name", flex="1"),
                rx.input(
                    value=s.state_code,
                    on_change=s.set_state_code,
                    placeholder="State",
                    aria_label="State",
                    width="5rem",
                    max_length=2,
                ),
                spacing="2",
            ),
            rx.cond(
                s.errors.get("name", ""), rx.text(s.errors["name"], color_scheme="red", size="1")
            ),
            rx.cond(
                s.errors.get("rules", ""),
                rx.callout(
                    s.errors["rules"], icon="triangle_alert", color_scheme="red", role="alert"
                ),
            ),
            rx.foreach(s.rules, _rule_row),
            rx.button(
                rx.icon("plus", size=16), "Add a key date", variant="soft", on_click=s.add_rule
            ),
            rx.flex(
                rx.button("Delete", variant="soft", color_scheme="red", on_click=s.delete),
                rx.spacer(),
                rx.button("Cancel", variant="soft", color_scheme="gray", on_click=s.cancel),
                rx.button(rx.icon("check", size=16), "Save template", on_click=s.save),
                spacing="2",
            ),
            direction="column",
            spacing="3",
        ),
        width="100%",
        id="deadline-editor",
    )


def _built_in() -> rx.Component:
    return rx.card(
        rx.heading("Built-in presets", size="4", as_="h2", margin_bottom="8px"),
        rx.text(
            "Copy one to make it your brokerage's own. The originals stay as they are.",
            size="2",
            color_scheme="gray",
        ),
        *[
            rx.flex(
                rx.text(name, size="2", weight="medium", flex="1"),
                *([rx.badge(state, variant="soft")] if state else []),
                rx.button(
                    "Copy",
                    size="1",
                    variant="soft",
                    on_click=DeadlineAdminState.copy(key),
                    aria_label=f"Copy {name}",
                ),
                spacing="2",
                align="center",
                padding_y="8px",
                border_bottom=f"1px solid {rx.color('gray', 4)}",
            )
            for key, name, state in BUILT_IN
        ],
        width="100%",
    )


def _own(row: TemplateRow) -> rx.Component:
    s = DeadlineAdminState
    return rx.flex(
        rx.box(
            rx.text(row.name, size="2", weight="medium"),
            rx.text(row.rule_count.to_string(), " key dates", size="1", color_scheme="gray"),
            flex="1",
        ),
        rx.button(
            "Edit", size="1", variant="soft", on_click=s.edit(row.id), aria_label="Edit " + row.name
        ),
        rx.button(
            "Copy",
            size="1",
            variant="ghost",
            on_click=s.copy("tpl:" + row.id.to_string()),  # type: ignore[attr-defined]
            aria_label="Copy " + row.name,
        ),
        spacing="2",
        align="center",
        padding_y="8px",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
    )


@page(routes.ADMIN_DEADLINES, "Deadline templates", on_load=DeadlineAdminState.load)
def admin_deadlines_page() -> rx.Component:
    s = DeadlineAdminState
    return app_shell(
        admin_tabs("deadlines"),
        page_header("Deadline templates", subtitle="Your brokerage's contract deadline rules"),
        rx.cond(
            s.loading & (s.rows.length() == 0) & (s.error == ""),
            loading_block("Loading templates…"),
            rx.flex(
                rx.cond(s.error, error_callout(s.error)),
                rx.cond(s.notice, rx.callout(s.notice, icon="check", color_scheme="grass")),
                rx.cond(s.editing, _editor()),
                rx.grid(
                    rx.card(
                        rx.heading("Your templates", size="4", as_="h2", margin_bottom="8px"),
                        rx.cond(
                            s.rows.length() == 0,
                            rx.text(
                                "None yet: copy a built-in preset to start.",
                                size="2",
                                color_scheme="gray",
                            ),
                            rx.foreach(s.rows, _own),
                        ),
                        width="100%",
                    ),
                    _built_in(),
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
