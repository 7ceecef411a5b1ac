"""Admin: automations, built from forms (when → if → then), and the log of their runs.

Failed runs are listed with their error and a Retry button; every run also lands on its
file's timeline.
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
    pager,
    select_field,
    two_columns,
)
from chronos.db import session_scope
from chronos.models import Role, Stage
from chronos.pages.registry import page
from chronos.services import automations
from chronos.services import checklist_templates as templates
from chronos.services.automations import RunRow
from chronos.services.errors import ChronosError, NotFound, ValidationFailed
from chronos.state.session import SessionState

ADMIN = frozenset({Role.ADMIN})
STAGES = {s.value: s.label for s in Stage}
RUN_FILTERS = {"all": "All runs", "failed": "Failed", "pending": "Waiting", "done": "Done"}


@dataclass
class RuleRow:
    id: int
    name: str
    sentence: str
    is_active: bool


@dataclass
class EditAction:
    type: str
    template_id: str
    audience: str  # the action's "to" (a Var named `to` would shadow Var.to)
    subject: str
    message: str
    error: str = ""


def _blank_action(kind: str = "notify") -> EditAction:
    return EditAction(type=kind, template_id="", audience="owner", subject="", message="")


class AutomationsState(SessionState):
    rules: list[RuleRow] = []
    runs: list[RunRow] = []
    runs_total: int = 0
    runs_page: int = 1
    runs_pages: int = 1
    run_filter: str = "all"
    checklist_options: dict[str, str] = {}
    loading: bool = True
    error: str = ""
    notice: str = ""
    # builder
    editing: bool = False
    edit_id: int = 0
    name: str = ""
    is_active: bool = True
    trigger: str = "stage_changed"
    stage: str = "clear_to_close"
    date_key: str = "closing"
    days: str = "3"
    title_contains: str = ""
    side: str = "any"
    property_type: str = "any"
    actions: list[EditAction] = []
    errors: dict[str, str] = {}

    def _clear(self) -> None:
        self.rules, self.runs, self.checklist_options = [], [], {}
        self.editing, self.actions, self.errors = False, [], {}

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        self.loading = True
        user, redirect = self._gate(ADMIN)
        if user is None:
            self._clear()
            return redirect
        try:
            with session_scope() as db:
                tpls = templates.list_templates(db, user)
                names = {t.id: t.name for t in tpls}
                self.rules = [
                    RuleRow(
                        id=r.id or 0,
                        name=r.name,
                        sentence=automations.describe(r, names),
                        is_active=r.is_active,
                    )
                    for r in automations.list_rules(db, user)
                ]
                runs = automations.list_runs(
                    db,
                    user,
                    status="" if self.run_filter == "all" else self.run_filter,
                    page=self.runs_page,
                )
            self.checklist_options = {str(k): v for k, v in names.items()}
            self.runs, self.runs_total = runs.items, runs.total
            self.runs_page, self.runs_pages = runs.page, runs.pages
            self.error = ""
        except ChronosError as exc:
            self._clear()
            self.error = exc.message
        self.loading = False
        return None

    @rx.event
    def new_rule(self):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(ADMIN)
        if user is None:
            return redirect
        self.edit_id, self.name, self.is_active = 0, "", True
        self.trigger, self.stage, self.date_key, self.days = (
            "stage_changed",
            "clear_to_close",
            "closing",
            "3",
        )
        self.title_contains, self.side, self.property_type = "", "any", "any"
        self.actions, self.errors, self.notice, self.editing = [_blank_action()], {}, "", True
        return None

    @rx.event
    def edit_rule(self, rule_id: int):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(ADMIN)
        if user is None:
            return redirect
        try:
            with session_scope() as db:
                rule = automations.get_rule(db, user, int(rule_id))
        except NotFound as exc:
            self.error = exc.message
            return None
        cfg = rule.trigger_config
        self.edit_id, self.name, self.is_active, self.trigger = (
            rule.id or 0,
            rule.name,
            rule.is_active,
            rule.trigger,
        )
        self.stage = str(cfg.get("stage", "clear_to_close"))
        self.date_key, self.days = str(cfg.get("key", "closing")), str(cfg.get("days", 3))
        self.title_contains = str(cfg.get("title_contains", ""))
        self.side = str(rule.conditions.get("side", "any"))
        self.property_type = str(rule.conditions.get("property_type", "any"))
        self.actions = [
            EditAction(
                type=str(a.get("type", "")),
                template_id=str(a.get("template_id", "") or ""),
                audience=str(a.get("to", "owner")),
                subject=str(a.get("subject", "")),
                message=str(a.get("message", "")),
            )
            for a in rule.actions
        ]
        self.errors, self.notice, self.editing = {}, "", True
        return None

    @rx.event
    def cancel(self) -> None:
        self.editing, self.errors = False, {}

    @rx.event
    def set_field(self, name: str, value: Any) -> None:
        if name == "is_active":
            self.is_active = bool(value)
        elif name in {
            "name",
            "trigger",
            "stage",
            "date_key",
            "days",
            "title_contains",
            "side",
            "property_type",
        }:
            setattr(self, name, str(value))

    @rx.event
    def set_action(self, index: int, name: str, value: str) -> None:
        if 0 <= index < len(self.actions) and name in {
            "type",
            "template_id",
            "audience",
            "subject",
            "message",
        }:
            actions = list(self.actions)
            setattr(actions[index], name, str(value))
            self.actions = actions

    @rx.event
    def add_action(self) -> None:
        self.actions = [*self.actions, _blank_action()]

    @rx.event
    def remove_action(self, index: int) -> None:
        self.actions = [a for n, a in enumerate(self.actions) if n != index]

    def _payload(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "stage_changed": {"stage": self.stage},
            "key_date_approaching": {"key": self.date_key, "days": self.days},
            "key_date_passed": {"key": self.date_key},
            "task_completed": {"title_contains": self.title_contains},
        }.get(self.trigger, {})
        return {
            "name": self.name,
            "is_active": self.is_active,
            "trigger": self.trigger,
            "trigger_config": config,
            "conditions": {"side": self.side, "property_type": self.property_type},
            "actions": [
                {
                    "type": a.type,
                    "template_id": a.template_id,
                    "to": a.audience,
                    "subject": a.subject,
                    "message": a.message,
                }
                for a in self.actions
            ],
        }

    @rx.event
    def save(self):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(ADMIN)
        if user is None:
            self._clear()
            return redirect
        try:
            with session_scope() as db:
                if self.edit_id:
                    rule = automations.update_rule(db, user, self.edit_id, self._payload())
                else:
                    rule = automations.create_rule(db, user, self._payload())
                name = rule.name
            self.editing, self.errors = False, {}
            self.notice = f"Saved “{name}”."
        except ValidationFailed as exc:
            self.errors = dict(exc.errors)
            actions = list(self.actions)
            for n, action in enumerate(actions):
                action.error = " ".join(
                    m for k, m in exc.errors.items() if k.startswith(f"actions.{n}.")
                )
            self.actions = actions
            return None
        except ChronosError as exc:
            self.error = exc.message
        return AutomationsState.load

    @rx.event
    def delete(self):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(ADMIN)
        if user is None:
            return redirect
        try:
            with session_scope() as db:
                automations.delete_rule(db, user, self.edit_id)
        except ChronosError as exc:
            self.error = exc.message
            return None
        self.editing, self.notice = False, "Automation deleted."
        return AutomationsState.load

    @rx.event
    def retry(self, run_id: int):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(ADMIN)
        if user is None:
            return redirect
        try:
            with session_scope() as db:
                automations.retry_run(db, user, int(run_id))
            self.notice = "Queued again: it runs within a minute."
        except ChronosError as exc:
            self.error = exc.message
        return AutomationsState.load

    @rx.event
    def set_run_filter(self, value: str):  # type: ignore[no-untyped-def]
        self.run_filter, self.runs_page = value, 1
        return AutomationsState.load

    @rx.event
    def next_runs(self):  # type: ignore[no-untyped-def]
        self.runs_page = min(self.runs_pages, self.runs_page + 1)
        return AutomationsState.load

    @rx.event
    def prev_runs(self):  # type: ignore[no-untyped-def]
        self.runs_page = max(1, self.runs_page - 1)
        return AutomationsState.load


def _error(key: str) -> Any:
    return AutomationsState.errors.get(key, "")


def _action_card(action: EditAction, index: rx.Var) -> rx.Component:
    s = AutomationsState
    number = (index + 1).to_string()
    return rx.card(
        rx.flex(
            rx.flex(
                rx.text("Then ", number, weight="bold", size="2"),
                rx.icon_button(
                    rx.icon("trash_2", size=14),
                    variant="ghost",
                    color_scheme="red",
                    size="1",
                    on_click=s.remove_action(index),
                    aria_label="Remove action " + number,
                ),
                justify="between",
                align="center",
            ),
            select_field(
                action.type,
                lambda v: s.set_action(index, "type", v),
                automations.ACTIONS,
                "Action " + number,
            ),
            rx.cond(
                action.type == "create_tasks",
                rx.select.root(
                    rx.select.trigger(placeholder="Choose a checklist", width="100%"),
                    rx.select.content(
                        rx.foreach(
                            s.checklist_options.entries(),
                            lambda kv: rx.select.item(kv[1], value=kv[0]),
                        )
                    ),
                    value=action.template_id,
                    on_change=lambda v: s.set_action(index, "template_id", v),
                ),
                rx.flex(
                    select_field(
                        action.audience,
                        lambda v: s.set_action(index, "audience", v),
                        automations.RECIPIENTS,
                        "Who it goes to",
                    ),
                    rx.cond(
                        action.type == "email",
                        rx.input(
                            value=action.subject,
                            on_change=lambda v: s.set_action(index, "subject", v),
                            placeholder="Subject",
                            aria_label="Email subject",
                        ),
                    ),
                    rx.text_area(
                        value=action.message,
                        on_change=lambda v: s.set_action(index, "message", v),
                        placeholder="Message. Merge fields like {address} or {closing_date}.",
                        aria_label="Message",
                        rows="3",
                    ),
                    direction="column",
                    spacing="2",
                ),
            ),
            rx.cond(
                action.error, rx.text(action.error, color_scheme="red", size="1", role="alert")
            ),
            direction="column",
            spacing="2",
        ),
        width="100%",
    )


def _builder() -> rx.Component:
    s = AutomationsState
    return rx.card(
        rx.flex(
            rx.heading(
                rx.cond(s.edit_id == 0, "New automation", "Edit automation"), size="4", as_="h2"
            ),
            field(
                "Name",
                rx.input(
                    value=s.name, on_change=lambda v: s.set_field("name", v), aria_label="Name"
                ),
                _error("name"),
            ),
            rx.heading("When", size="3", as_="h3"),
            select_field(
                s.trigger, lambda v: s.set_field("trigger", v), automations.TRIGGERS, "Trigger"
            ),
            rx.match(
                s.trigger,
                (
                    "stage_changed",
                    field(
                        "Stage",
                        select_field(s.stage, lambda v: s.set_field("stage", v), STAGES, "Stage"),
                        _error("trigger_config.stage"),
                    ),
                ),
                (
                    "task_completed",
                    field(
                        "Only tasks whose title contains (optional)",
                        rx.input(
                            value=s.title_contains,
                            on_change=lambda v: s.set_field("title_contains", v),
                            aria_label="Title contains",
                        ),
                    ),
                ),
                two_columns(
                    field(
                        "Key date",
                        select_field(
                            s.date_key,
                            lambda v: s.set_field("date_key", v),
                            templates.due_key_labels(),
                            "Key date",
                        ),
                        _error("trigger_config.key"),
                    ),
                    rx.cond(
                        s.trigger == "key_date_approaching",
                        field(
                            "Days before",
                            rx.input(
                                value=s.days,
                                on_change=lambda v: s.set_field("days", v),
                                type="number",
                                input_mode="numeric",
                                aria_label="Days before",
                            ),
                            _error("trigger_config.days"),
                        ),
                    ),
                ),
            ),
            rx.heading("If the file is", size="3", as_="h3"),
            two_columns(
                select_field(
                    s.side, lambda v: s.set_field("side", v), templates.SIDE_LABELS, "Side"
                ),
                select_field(
                    s.property_type,
                    lambda v: s.set_field("property_type", v),
                    templates.TYPE_LABELS,
                    "Property type",
                ),
            ),
            rx.heading("Then", size="3", as_="h3"),
            rx.cond(_error("actions"), rx.text(_error("actions"), color_scheme="red", size="1")),
            rx.foreach(s.actions, _action_card),
            rx.button(
                rx.icon("plus", size=16), "Add an action", variant="soft", on_click=s.add_action
            ),
            rx.text(
                "Merge fields: " + ", ".join("{" + k + "}" for k in automations.MERGE_FIELDS),
                size="1",
                color_scheme="gray",
            ),
            rx.el.label(
                rx.flex(
                    rx.switch(checked=s.is_active, on_change=lambda v: s.set_field("is_active", v)),
                    rx.text("On", size="2"),
                    spacing="2",
                    align="center",
                )
            ),
            rx.flex(
                rx.cond(
                    s.edit_id != 0,
                    rx.button("Delete", variant="soft", color_scheme="red", on_click=s.delete),
                ),
                rx.spacer(),
                rx.button("Cancel", variant="soft", color_scheme="gray", on_click=s.cancel),
                rx.button(rx.icon("check", size=16), "Save automation", on_click=s.save),
                spacing="2",
                wrap="wrap",
            ),
            direction="column",
            spacing="3",
        ),
        width="100%",
    )


def _rule_card(r: RuleRow) -> rx.Component:
    return rx.card(
        rx.flex(
            rx.box(
                rx.text(r.name, weight="bold", size="3"),
                rx.text(r.sentence, size="2", color_scheme="gray"),
                flex="1",
            ),
            rx.flex(
                rx.cond(
                    r.is_active,
                    rx.badge("On", color_scheme="grass", variant="soft"),
                    rx.badge("Off", color_scheme="gray", variant="soft"),
                ),
                rx.button(
                    "Edit",
                    variant="soft",
                    size="2",
                    on_click=AutomationsState.edit_rule(r.id),
                    aria_label="Edit " + r.name,
                ),
                direction="column",
                align="end",
                spacing="2",
            ),
            spacing="3",
        ),
        width="100%",
    )


RUN_COLORS = {"done": "grass", "failed": "red", "pending": "amber", "running": "blue"}


def _run(r: RunRow) -> rx.Component:
    return rx.flex(
        rx.box(
            rx.text(r.rule_name, size="2", weight="medium"),
            rx.link(
                r.address,
                href="/transactions/" + r.transaction_id.to_string(),  # type: ignore[attr-defined]
                size="1",
            ),
            rx.cond(r.result, rx.text(r.result, size="1", color_scheme="gray")),
            rx.cond(r.last_error, rx.text(r.last_error, size="1", color_scheme="red")),
            flex="1",
            min_width="0",
        ),
        rx.flex(
            rx.match(
                r.status,
                *[
                    (k, rx.badge(k, color_scheme=c, variant="soft"))  # type: ignore[arg-type]
                    for k, c in RUN_COLORS.items()
                ],
                rx.badge(r.status, variant="soft"),
            ),
            rx.text(r.attempts.to_string(), " attempt(s)", size="1", color_scheme="gray"),
            rx.cond(
                r.status == "failed",
                rx.button("Retry", size="1", variant="soft", on_click=AutomationsState.retry(r.id)),
            ),
            direction="column",
            align="end",
            spacing="1",
        ),
        spacing="3",
        padding_y="8px",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
    )


def _runs() -> rx.Component:
    s = AutomationsState
    return rx.card(
        rx.flex(
            rx.flex(
                rx.heading("Runs", size="4", as_="h2"),
                rx.spacer(),
                rx.box(
                    select_field(s.run_filter, s.set_run_filter, RUN_FILTERS, "Show runs"),
                    width="10rem",
                ),
                align="center",
            ),
            rx.cond(
                s.runs.length() == 0,
                rx.text("No runs to show.", size="2", color_scheme="gray"),
                rx.box(rx.foreach(s.runs, _run)),
            ),
            rx.cond(
                s.runs_pages > 1,
                pager(s.runs_page, s.runs_pages, s.runs_total, s.prev_runs, s.next_runs),
            ),
            direction="column",
            spacing="2",
        ),
        width="100%",
    )


@page(routes.ADMIN_AUTOMATIONS, "Automations", on_load=AutomationsState.load)
def admin_automations_page() -> rx.Component:
    s = AutomationsState
    return app_shell(
        admin_tabs("automations"),
        page_header(
            "Automations",
            rx.button(rx.icon("plus", size=16), "New automation", on_click=s.new_rule),
            subtitle="When something happens on a file, do the routine for you",
        ),
        rx.cond(
            s.loading & (s.rules.length() == 0) & (s.error == ""),
            loading_block("Loading automations…"),
            rx.flex(
                rx.cond(s.error, error_callout(s.error)),
                rx.cond(s.notice, rx.callout(s.notice, icon="check", color_scheme="grass")),
                rx.cond(s.editing, _builder()),
                rx.cond(
                    s.rules.length() == 0,
                    empty_state(
                        "workflow",
                        "No automations yet",
                        "For example: when a file is clear to close, email the clients the "
                        "closing date and add the closing checklist.",
                    ),
                    rx.flex(rx.foreach(s.rules, _rule_card), direction="column", spacing="2"),
                ),
                _runs(),
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
