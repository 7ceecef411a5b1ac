"""Quick "new transaction": the few fields that matter, one screen, under a minute."""

from __future__ import annotations

from typing import Any

import reflex as rx

from chronos import routes
from chronos.components.layout import app_shell
from chronos.components.once import once_attrs, once_input
from chronos.components.ui import error_callout, field, loading_block, page_header
from chronos.db import session_scope
from chronos.models import Side
from chronos.pages.registry import page
from chronos.services import idempotency, key_dates, transactions
from chronos.services.errors import ChronosError, ValidationFailed
from chronos.services.key_dates import PresetOption
from chronos.state import once
from chronos.state.session import STAFF, SessionState

NO_PRESET = "none"
FIELDS = (
    "street",
    "unit",
    "city",
    "state",
    "postal_code",
    "price",
    "effective_date",
    "closing_date",
    "client_name",
    "client_email",
    "client_phone",
)


class NewTransactionState(SessionState):
    side: str = Side.BUYER.value
    errors: dict[str, str] = {}
    error: str = ""
    saving: bool = False
    ready: bool = False
    preset: str = NO_PRESET
    preset_choices: list[PresetOption] = []
    once_key: str = ""
    _once_done: str = ""

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(STAFF)
        if user is None:
            return redirect
        self.errors, self.error, self.saving, self.ready = {}, "", False, True
        once.fresh(self)
        with session_scope() as db:
            self.preset_choices = key_dates.preset_options(db, user)
        return None

    @rx.event
    def set_preset(self, value: str) -> None:
        self.preset = value

    @rx.event
    def set_side(self, value: str | list[str]) -> None:
        self.side = value if isinstance(value, str) else value[0]

    @rx.event
    def submit(self, form: dict[str, Any]):  # type: ignore[no-untyped-def]
        key = once.key_of(form)
        if self.saving or once.repeated(self, key):
            return None  # a second click or Enter: the first one's result already applies
        user, redirect = self._gate(STAFF)
        if user is None:
            return redirect
        self.saving = True
        data = {k: form.get(k, "") for k in FIELDS}
        data["side"] = self.side
        data["deadline_preset"] = "" if self.preset == NO_PRESET else self.preset
        try:
            with session_scope() as db:
                new_id = idempotency.once(
                    db,
                    user,
                    "transaction.create",
                    key,
                    data,
                    lambda: transactions.create_transaction(db, user, data).id,
                )
        except ValidationFailed as exc:
            self.errors, self.error, self.saving = (
                exc.errors,
                "Please fix the highlighted fields.",
                False,
            )
            once.settle(self, key, done=False)
            return None
        except ChronosError as exc:
            self.errors, self.error, self.saving = {}, exc.message, False
            once.settle(self, key, done=False)
            return None
        self.errors, self.error = {}, ""
        self.saving = False
        once.settle(self, key, done=True)
        return [
            rx.toast.success("Transaction created."),
            rx.redirect(routes.transaction(new_id or 0)),
        ]


def _input(name: str, **props: Any) -> rx.Component:
    return rx.input(name=name, id=f"new-{name}", size="3", width="100%", **props)


def _err(name: str) -> Any:
    return NewTransactionState.errors.get(name, "")


def _form() -> rx.Component:
    return rx.form(
        rx.flex(
            rx.cond(NewTransactionState.error, error_callout(NewTransactionState.error)),
            rx.flex(
                rx.text("We represent the", size="2", weight="medium"),
                rx.segmented_control.root(
                    *[rx.segmented_control.item(s.label, value=s.value) for s in Side],
                    value=NewTransactionState.side,
                    on_change=NewTransactionState.set_side,
                    size="2",
                    width="100%",
                    max_width="28rem",
                ),
                direction="column",
                spacing="1",
            ),
            field(
                "Street address",
                _input("street", placeholder="1234 Maple Ave", required=True, auto_focus=True),
                _err("street"),
            ),
            rx.grid(
                field("Unit", _input("unit", placeholder="Apt 2B"), _err("unit")),
                field("City", _input("city", placeholder="Austin"), _err("city")),
                field("State", _input("state", placeholder="TX", max_length=2), _err("state")),
                field(
                    "ZIP",
                    _input("postal_code", placeholder="78701", input_mode="numeric"),
                    _err("postal_code"),
                ),
                columns=rx.breakpoints(initial="2", sm="4"),
                spacing="3",
                width="100%",
            ),
            rx.grid(
                field(
                    "Price",
                    _input("price", placeholder="$450,000", input_mode="decimal"),
                    _err("price"),
                ),
                field(
                    "Effective (acceptance) date",
                    _input("effective_date", type="date"),
                    _err("effective_date"),
                ),
                field("Closing date", _input("closing_date", type="date"), _err("closing_date")),
                columns=rx.breakpoints(initial="1", sm="3"),
                spacing="3",
                width="100%",
            ),
            field(
                "Key dates",
                rx.select.root(
                    rx.select.trigger(width="100%", aria_label="Key-date preset"),
                    rx.select.content(
                        rx.select.item("None yet (add them on the transaction)", value=NO_PRESET),
                        rx.foreach(
                            NewTransactionState.preset_choices,
                            lambda p: rx.select.item(p.name, value=p.key),
                        ),
                    ),
                    value=NewTransactionState.preset,
                    on_change=NewTransactionState.set_preset,
                ),
                _err("deadline_preset"),
                "Computes every deadline from the effective and closing dates.",
            ),
            rx.separator(size="4"),
            rx.text("Client (optional)", weight="bold", size="3"),
            rx.grid(
                field(
                    "Name",
                    _input("client_name", placeholder="Jordan Lee", auto_complete="off"),
                    _err("client_name"),
                ),
                field(
                    "Email",
                    _input("client_email", type="email", placeholder="jordan@example.com"),
                    _err("client_email"),
                ),
                field(
                    "Phone",
                    _input("client_phone", type="tel", placeholder="(512) 555-0134"),
                    _err("client_phone"),
                ),
                columns=rx.breakpoints(initial="1", sm="3"),
                spacing="3",
                width="100%",
            ),
            rx.flex(
                rx.link(
                    rx.button(
                        "Cancel", variant="soft", color_scheme="gray", type="button", size="3"
                    ),
                    href=routes.PIPELINE,
                ),
                rx.button(
                    rx.cond(
                        NewTransactionState.saving, rx.spinner(size="2"), rx.icon("check", size=16)
                    ),
                    "Create transaction",
                    type="submit",
                    size="3",
                    disabled=NewTransactionState.saving,
                ),
                justify="end",
                spacing="3",
            ),
            direction="column",
            spacing="4",
        ),
        once_input(NewTransactionState.once_key),
        on_submit=NewTransactionState.submit,
        reset_on_submit=False,
        width="100%",
        custom_attrs=once_attrs(NewTransactionState.once_key),
    )


@page(routes.NEW_TRANSACTION, "New transaction", on_load=NewTransactionState.load)
def new_transaction_page() -> rx.Component:
    return app_shell(
        rx.box(
            page_header(
                "New transaction",
                subtitle="Address and side are all you need; add the rest now or later.",
            ),
            rx.cond(NewTransactionState.ready, rx.card(_form(), size="3"), loading_block()),
            max_width="760px",
            margin_x="auto",
        ),
        active="new",
        user_name=NewTransactionState.user_name,
        role_label=NewTransactionState.role_label,
        is_staff=NewTransactionState.is_staff,
        signed_in=NewTransactionState.signed_in,
    )
