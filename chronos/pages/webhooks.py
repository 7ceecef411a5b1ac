"""/account/webhooks: the team's outgoing webhooks (``services/webhooks.py``).

A staff user subscribes a URL to event types for the files they may see; an admin sees and
manages the brokerage's. Each webhook shows its state (a paused one says why and resumes with
one click), its signing secret on request, a test event, and its delivery log with redeliver.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from chronos import routes
from chronos.components.layout import app_shell
from chronos.components.timeline import local_time
from chronos.components.ui import (
    copy_or_dismiss,
    empty_state,
    error_callout,
    loading_block,
    page_header,
)
from chronos.db import session_scope
from chronos.models import Role
from chronos.pages.registry import page
from chronos.services import webhooks
from chronos.services.errors import ChronosError, ValidationFailed
from chronos.services.webhooks import DeliveryRow, SubscriptionRow
from chronos.state.session import SessionState

STAFF = frozenset({Role.ADMIN, Role.AGENT, Role.COORDINATOR})
TYPE_FIELD = "type:"


class WebhooksState(SessionState):
    subs: list[SubscriptionRow] = []
    loading: bool = True
    error: str = ""
    form_errors: dict[str, str] = {}
    notice: str = ""
    busy: bool = False
    secret: str = ""  # shown for one webhook at a time, on request
    secret_for: int = 0
    log_for: int = 0
    log: list[DeliveryRow] = []

    def _reload(self, user: Any) -> None:
        with session_scope() as db:
            self.subs = webhooks.list_subscriptions(db, user)
            if self.log_for and any(s.id == self.log_for for s in self.subs):
                self.log = webhooks.deliveries(db, user, self.log_for)
            else:
                self.log_for, self.log = 0, []

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        self.loading = True
        self.subs, self.log, self.log_for = [], [], 0
        self.secret, self.secret_for, self.error, self.notice = "", 0, "", ""
        self.form_errors = {}
        user, redirect = self._gate(STAFF)
        if user is None:
            return redirect
        try:
            self._reload(user)
        except ChronosError as exc:
            self.error = exc.message
        self.loading = False
        return None

    @rx.event
    def create(self, form: dict[str, Any]):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(STAFF)
        if user is None:
            return redirect
        if self.busy or not isinstance(form, dict):
            return None
        self.busy = True
        types = [
            k.removeprefix(TYPE_FIELD) for k, v in form.items() if k.startswith(TYPE_FIELD) and v
        ]
        try:
            with session_scope() as db:
                made = webhooks.subscribe(
                    db,
                    user,
                    url=form.get("url", ""),
                    types=types,
                    description=form.get("description", ""),
                )
            self.form_errors, self.error = {}, ""
            self.secret, self.secret_for = made.secret, made.row.id
            self.notice = "Webhook added. Check signatures with the secret below."
            self._reload(user)
        except ValidationFailed as exc:
            self.form_errors, self.notice = exc.errors, ""
        except ChronosError as exc:
            self.error, self.notice = exc.message, ""
        finally:
            self.busy = False
        return None

    def _act(self, sub_id: Any, action: str) -> Any:
        user, redirect = self._gate(STAFF)
        if user is None:
            return redirect
        try:
            with session_scope() as db:
                if action == "resume":
                    webhooks.resume(db, user, sub_id)
                    self.notice = "Resumed: the events that waited are being sent."
                elif action == "test":
                    webhooks.send_test(db, user, sub_id)
                    self.notice = "A test event is on its way; its delivery shows in the log."
                    self.log_for = sub_id if isinstance(sub_id, int) else 0
                elif action == "remove":
                    webhooks.remove(db, user, sub_id)
                    self.notice = "Webhook removed: nothing more is sent to it."
                    if self.secret_for == sub_id:
                        self.secret, self.secret_for = "", 0
                elif action == "secret":
                    self.secret, self.secret_for = webhooks.secret_of(db, user, sub_id), sub_id
                    self.notice = ""
                elif action == "log":
                    webhooks.deliveries(db, user, sub_id)  # checks it is theirs
                    self.log_for = sub_id
            self.error = ""
            self._reload(user)
        except ChronosError as exc:
            self.error, self.notice = exc.message, ""
        return None

    @rx.event
    def resume(self, sub_id: int):  # type: ignore[no-untyped-def]
        return self._act(sub_id, "resume")

    @rx.event
    def send_test(self, sub_id: int):  # type: ignore[no-untyped-def]
        return self._act(sub_id, "test")

    @rx.event
    def remove(self, sub_id: int):  # type: ignore[no-untyped-def]
        return self._act(sub_id, "remove")

    @rx.event
    def show_secret(self, sub_id: int):  # type: ignore[no-untyped-def]
        return self._act(sub_id, "secret")

    @rx.event
    def hide_secret(self):  # type: ignore[no-untyped-def]
        self.secret, self.secret_for = "", 0

    @rx.event
    def show_log(self, sub_id: int):  # type: ignore[no-untyped-def]
        return self._act(sub_id, "log")

    @rx.event
    def refresh_log(self):  # type: ignore[no-untyped-def]
        return self._act(self.log_for, "log") if self.log_for else None

    @rx.event
    def redeliver(self, delivery_id: int):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(STAFF)
        if user is None:
            return redirect
        try:
            with session_scope() as db:
                webhooks.redeliver(db, user, delivery_id)
            self.notice, self.error = "Queued again with a fresh signature.", ""
            self._reload(user)
        except ChronosError as exc:
            self.error, self.notice = exc.message, ""
        return None


def _field_error(name: str) -> rx.Component:
    return rx.cond(
        WebhooksState.form_errors.contains(name),  # type: ignore[attr-defined]
        rx.text(WebhooksState.form_errors[name], color_scheme="red", size="1", role="alert"),
    )


def _form() -> rx.Component:
    s = WebhooksState
    return rx.card(
        rx.form(
            rx.flex(
                rx.heading("Add a webhook", size="4", as_="h2"),
                rx.el.label("URL that receives the events", html_for="webhook-url"),
                rx.input(
                    id="webhook-url",
                    name="url",
                    type="url",
                    placeholder="https://example.com/chronos-events",
                    required=True,
                    max_length=500,
                ),
                _field_error("url"),
                rx.el.label("Description (optional)", html_for="webhook-description"),
                rx.input(id="webhook-description", name="description", max_length=200),
                rx.el.fieldset(
                    rx.el.legend("Events to send", style={"fontWeight": "500", "fontSize": "14px"}),
                    rx.grid(
                        *[
                            rx.el.label(
                                rx.el.input(type="checkbox", name=TYPE_FIELD + key),
                                rx.text(label, size="2"),
                                rx.el.code(key, style={"fontSize": "11px", "opacity": "0.75"}),
                                style={
                                    "display": "flex",
                                    "gap": "8px",
                                    "alignItems": "center",
                                    "flexWrap": "wrap",
                                },
                            )
                            for key, label in webhooks.TYPES.items()
                        ],
                        columns=rx.breakpoints(initial="1", sm="2"),
                        spacing="2",
                    ),
                    style={"border": "none", "padding": 0, "margin": 0},
                ),
                _field_error("types"),
                rx.text(
                    "Only events of files you may see are sent. Each request is signed "
                    "(Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature) and "
                    "retried for about a day; after repeated failures the webhook pauses and "
                    "you are told.",
                    size="1",
                    color_scheme="gray",
                ),
                rx.flex(
                    rx.button(
                        rx.cond(s.busy, rx.spinner(size="2"), rx.icon("plus", size=16)),
                        "Add webhook",
                        type="submit",
                        disabled=s.busy,
                    ),
                    justify="end",
                ),
                direction="column",
                spacing="2",
            ),
            on_submit=s.create,
            reset_on_submit=False,
        ),
        width="100%",
    )


def _state_badge(sub: SubscriptionRow) -> rx.Component:
    return rx.cond(
        sub.state == "active",
        rx.badge("Active", color_scheme="grass", variant="surface", high_contrast=True),
        rx.badge("Paused", color_scheme="red", variant="surface", high_contrast=True),
    )


def _delivery(d: DeliveryRow) -> rx.Component:
    return rx.flex(
        rx.flex(
            rx.flex(
                rx.el.code(d.type, style={"fontSize": "12px"}),
                rx.badge(
                    d.status,
                    color_scheme=rx.match(
                        d.status, ("delivered", "grass"), ("pending", "amber"), "red"
                    ),
                    variant="surface",
                    high_contrast=True,
                ),
                rx.text(
                    d.attempts.to_string() + " attempt(s)",  # type: ignore[attr-defined]
                    rx.cond(
                        d.last_status_code > 0, " · HTTP " + d.last_status_code.to_string(), ""
                    ),  # type: ignore[attr-defined, operator]
                    size="1",
                    color_scheme="gray",
                ),
                spacing="2",
                align="center",
                wrap="wrap",
            ),
            rx.text(
                local_time(d.created),
                rx.cond(
                    d.next_attempt != "",
                    rx.fragment(" · next try ", local_time(d.next_attempt)),
                    "",
                ),
                size="1",
                color_scheme="gray",
            ),
            rx.cond(d.last_error != "", rx.text(d.last_error, size="1", color_scheme="red")),
            direction="column",
            spacing="1",
            min_width="0",
        ),
        rx.cond(
            (d.status == "failed") | (d.status == "delivered"),
            rx.button(
                "Redeliver",
                size="1",
                variant="soft",
                on_click=WebhooksState.redeliver(d.id),  # type: ignore[call-arg]
                aria_label="Redeliver event " + d.event_uid,
            ),
        ),
        justify="between",
        align="center",
        spacing="3",
        padding_y="8px",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        width="100%",
    )


def _sub(sub: SubscriptionRow) -> rx.Component:
    s = WebhooksState
    return rx.card(
        rx.flex(
            rx.flex(
                _state_badge(sub),
                rx.text(sub.url, weight="medium", size="2", style={"wordBreak": "break-all"}),
                spacing="2",
                align="center",
                wrap="wrap",
            ),
            rx.cond(sub.description != "", rx.text(sub.description, size="2")),
            rx.text(sub.type_labels, size="1", color_scheme="gray"),
            rx.text(
                "By " + sub.owner_name + " · ",
                sub.pending.to_string() + " waiting · ",  # type: ignore[attr-defined]
                sub.failed.to_string() + " failed",  # type: ignore[attr-defined]
                size="1",
                color_scheme="gray",
            ),
            rx.cond(
                sub.state == "paused",
                rx.callout(
                    "Paused: " + sub.paused_reason,
                    icon="circle_pause",
                    color_scheme="red",
                    role="alert",
                ),
            ),
            rx.cond(
                (s.secret_for == sub.id) & (s.secret != ""),
                rx.flex(
                    rx.text("Signing secret", size="1", weight="medium"),
                    rx.el.code(s.secret, style={"wordBreak": "break-all"}, id="webhook-secret"),
                    copy_or_dismiss(s.secret, "Hide", s.hide_secret),
                    direction="column",
                    spacing="1",
                ),
            ),
            rx.flex(
                rx.cond(
                    sub.state == "paused",
                    rx.button("Resume", size="1", on_click=s.resume(sub.id)),  # type: ignore[call-arg]
                ),
                rx.button(
                    "Send test event",
                    size="1",
                    variant="soft",
                    on_click=s.send_test(sub.id),  # type: ignore[call-arg]
                ),
                rx.button(
                    "Deliveries",
                    size="1",
                    variant="soft",
                    on_click=s.show_log(sub.id),  # type: ignore[call-arg]
                ),
                rx.button(
                    "Show secret",
                    size="1",
                    variant="soft",
                    color_scheme="gray",
                    on_click=s.show_secret(sub.id),  # type: ignore[call-arg]
                ),
                rx.button(
                    "Remove",
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    on_click=s.remove(sub.id),  # type: ignore[call-arg]
                    aria_label="Remove the webhook to " + sub.url,
                ),
                spacing="2",
                wrap="wrap",
            ),
            rx.cond(
                s.log_for == sub.id,
                rx.box(
                    rx.flex(
                        rx.heading("Deliveries", size="3", as_="h3"),
                        rx.button("Refresh", size="1", variant="ghost", on_click=s.refresh_log),
                        justify="between",
                        align="center",
                    ),
                    rx.cond(
                        s.log.length() > 0,  # type: ignore[attr-defined]
                        rx.box(rx.foreach(s.log, _delivery)),
                        rx.text("Nothing sent yet.", size="2", color_scheme="gray"),
                    ),
                    width="100%",
                ),
            ),
            direction="column",
            spacing="2",
        ),
        width="100%",
    )


def _content() -> rx.Component:
    s = WebhooksState
    return rx.flex(
        rx.cond(s.error, error_callout(s.error)),
        rx.cond(s.notice, rx.callout(s.notice, icon="info", role="status", width="100%")),
        _form(),
        rx.heading("Webhooks", size="4", as_="h2"),
        rx.cond(
            s.loading,
            loading_block("Loading webhooks…"),
            rx.cond(
                s.subs.length() > 0,  # type: ignore[attr-defined]
                rx.flex(rx.foreach(s.subs, _sub), direction="column", spacing="3"),
                empty_state("webhook", "No webhooks yet", "Add one above to send events out."),
            ),
        ),
        direction="column",
        spacing="3",
        width="100%",
    )


@page(routes.ACCOUNT_WEBHOOKS, "Webhooks", on_load=WebhooksState.load)
def webhooks_page() -> rx.Component:
    return app_shell(
        rx.box(
            page_header(
                "Webhooks",
                subtitle="Send what happens on your files to another system as it happens.",
            ),
            _content(),
            max_width="880px",
            margin_x="auto",
        ),
        active="account",
        user_name=WebhooksState.user_name,
        role_label=WebhooksState.role_label,
        is_staff=WebhooksState.is_staff,
        signed_in=WebhooksState.signed_in,
    )
