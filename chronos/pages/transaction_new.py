"""Quick "new transaction": the few fields that matter, one screen, under a minute."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import reflex as rx

from chronos import routes
from chronos.components.layout import api_url, app_shell
from chronos.components.native_form import native_form
from chronos.components.once import once_attrs, once_input
from chronos.components.ui import error_callout, field, loading_block, page_header
from chronos.db import session_scope
from chronos.models import Side
from chronos.pages.registry import page
from chronos.services import agreement_intake, documents, idempotency, key_dates, transactions
from chronos.services.agreement_reader import NO_TEXT_LAYER, preset_for_state
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
PERIOD_LABELS = {
    "inspection_days": "Inspection period (days)",
    "option_days": "Option period (days)",
    "appraisal_days": "Appraisal contingency (days)",
    "loan_days": "Loan approval (days)",
    "attorney_review_days": "Attorney review (days)",
}


@dataclass
class ProposalRow:
    label: str
    value: str
    where: str  # "page 2 of the agreement (form field)"
    source: str


def _first_party(names: str) -> str:
    return re.split(r"\s+and\s+|;|,|&", names or "")[0].strip()[:200]


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
    # "Start from the purchase agreement": what was read, to confirm before creating
    values: dict[str, str] = {}  # form input name -> proposed value (the inputs' defaults)
    proposals: list[ProposalRow] = []
    agreement_name: str = ""
    agreement_notes: list[str] = []
    agreement_errors: list[str] = []
    no_text: bool = False
    form_rev: int = 0  # the form remounts (fresh defaults) when the proposals change
    _agreement_token: str = ""

    def _clear_agreement(self) -> None:
        self.values, self.proposals, self.agreement_name = {}, [], ""
        self.agreement_notes, self.no_text, self._agreement_token = [], False, ""
        self.form_rev += 1

    def _open_agreement(self, db: Any, user: Any, token: str) -> None:
        staged = agreement_intake.open_staged(db, user, token)
        reading = staged.reading
        self._agreement_token = token
        self.agreement_name = staged.agreement_name
        self.no_text = not reading.has_text
        self.agreement_notes = [n for n in reading.notes if n != NO_TEXT_LAYER]
        self.proposals = [
            ProposalRow(
                label=p.label,
                value=p.value,
                where=f"page {p.page} of the {p.document}"
                + (" (form field)" if p.origin == "form" else ""),
                source=p.source[:300],
            )
            for p in reading.proposals.values()
        ]
        values = agreement_intake.prefill(reading)
        party = values.pop("_buyers" if self.side == Side.BUYER.value else "_sellers", "")
        values.pop("_buyers", None), values.pop("_sellers", None)
        if party:
            values["client_name"] = _first_party(party)
        self.values = values
        keys = {p.key for p in self.preset_choices}
        if values.get("state"):
            chosen = preset_for_state(values["state"]).key
            self.preset = chosen if chosen in keys else self.preset

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(STAFF)
        if user is None:
            return redirect
        self.errors, self.error, self.saving, self.ready = {}, "", False, True
        self.agreement_errors = []
        once.fresh(self)
        self._clear_agreement()
        with session_scope() as db:
            self.preset_choices = key_dates.preset_options(db, user)
            token = self._param("agreement")
            notice = self._param("upload")
            if notice:
                outcome = documents.decode_notice(notice) or {}
                self.agreement_errors = [str(e)[:300] for e in outcome.get("errors") or []][:5]
            if token:
                try:
                    self._open_agreement(db, user, token)
                except ChronosError as exc:
                    self._clear_agreement()
                    self.agreement_errors = [exc.message]
        return None

    @rx.event
    def start_over(self):  # type: ignore[no-untyped-def]
        """Drop the read agreement (its staged files too) and go back to the empty form."""
        user, redirect = self._gate(STAFF)
        if user is None:
            return redirect
        if self._agreement_token:
            agreement_intake.discard(user, self._agreement_token)
        self._clear_agreement()
        self.errors, self.error, self.agreement_errors = {}, "", []
        return rx.redirect(routes.NEW_TRANSACTION)

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
        if not isinstance(form, dict):
            self.saving = False
            return None
        data = {k: str(form.get(k, "") or "")[:500] for k in FIELDS}
        data["side"] = self.side
        data["deadline_preset"] = "" if self.preset == NO_PRESET else self.preset
        token = self._agreement_token
        if token:
            for name in agreement_intake.PERIOD_FIELDS:
                data[name] = str(form.get(name, "") or "")[:20]
        try:
            with session_scope() as db:
                if token:
                    new_id = idempotency.once(
                        db,
                        user,
                        "transaction.create_from_agreement",
                        key,
                        {**data, "agreement": token},
                        lambda: agreement_intake.create_from_agreement(db, user, data, token).id,
                    )
                else:
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
        if token:
            agreement_intake.discard(user, token)
            self._clear_agreement()
        return [
            rx.toast.success("Transaction created."),
            rx.redirect(routes.transaction(new_id or 0)),
        ]


def _input(name: str, **props: Any) -> rx.Component:
    return rx.input(
        name=name,
        id=f"new-{name}",
        size="3",
        width="100%",
        default_value=NewTransactionState.values.get(name, ""),
        **props,
    )


NATIVE_FILE = {"fontSize": "16px", "maxWidth": "100%", "padding": "4px 0"}


def _agreement_upload() -> rx.Component:
    """The native multipart form to ``POST /files/agreement`` (api/agreement_routes.py)."""
    return native_form(
        rx.flex(
            rx.flex(
                rx.icon("file_text", size=18),
                rx.heading("Start from the purchase agreement", size="4", as_="h2"),
                align="center",
                spacing="2",
            ),
            rx.text(
                "Upload the signed agreement: Chronos reads it and fills in the form below for "
                "you to check. Nothing is saved until you create the transaction.",
                size="2",
                color_scheme="gray",
            ),
            rx.el.label(
                rx.text("Signed agreement (PDF)", size="2", weight="medium"),
                rx.el.input(
                    type="file",
                    name="file",
                    id="agreement-file",
                    required=True,
                    accept=".pdf,application/pdf",
                    style=NATIVE_FILE,
                ),
                style={"display": "flex", "flexDirection": "column", "gap": "4px"},
            ),
            rx.el.label(
                rx.text("Addenda (optional, up to 4 PDFs)", size="2", weight="medium"),
                rx.el.input(
                    type="file",
                    name="addenda",
                    id="agreement-addenda",
                    multiple=True,
                    accept=".pdf,application/pdf",
                    style=NATIVE_FILE,
                ),
                style={"display": "flex", "flexDirection": "column", "gap": "4px"},
            ),
            rx.box(
                rx.button(
                    rx.icon("scan_text", size=16),
                    "Read the agreement",
                    type="submit",
                    size="3",
                    variant="soft",
                    id="agreement-read",
                )
            ),
            direction="column",
            spacing="3",
        ),
        action=api_url("/files/agreement"),
        method="post",
        enc_type="multipart/form-data",
        style={"margin": 0},
    )


def _proposal(row: ProposalRow) -> rx.Component:
    return rx.box(
        rx.flex(
            rx.text(row.label, size="2", weight="bold"),
            rx.text(row.value, size="2", class_name="proposal-value"),
            spacing="2",
            wrap="wrap",
        ),
        rx.text(
            row.where,
            ": “",
            rx.el.q(row.source, style={"quotes": "none"}),
            "”",
            size="1",
            color_scheme="gray",
            style={"overflowWrap": "anywhere"},
        ),
        padding_y="6px",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        width="100%",
    )


def _agreement_read() -> rx.Component:
    s = NewTransactionState
    return rx.flex(
        rx.flex(
            rx.icon("file_check", size=18),
            rx.heading("From the agreement", size="4", as_="h2"),
            rx.spacer(),
            rx.button(
                "Start over",
                on_click=s.start_over,
                variant="soft",
                color_scheme="gray",
                size="2",
                type="button",
            ),
            align="center",
            spacing="2",
            width="100%",
        ),
        rx.text(
            s.agreement_name,
            " will be stored as the file's first document, on its purchase-agreement item.",
            size="2",
            color_scheme="gray",
            style={"overflowWrap": "anywhere"},
        ),
        rx.cond(
            s.no_text,
            rx.callout(
                f"{NO_TEXT_LAYER[0].upper()}{NO_TEXT_LAYER[1:]}. The agreement is a scan.",
                icon="info",
                color_scheme="amber",
                role="status",
                width="100%",
                id="agreement-no-text",
            ),
        ),
        rx.foreach(
            s.agreement_notes,
            lambda n: rx.callout(n, icon="info", color_scheme="gray", width="100%"),
        ),
        rx.cond(
            s.proposals.length() > 0,  # type: ignore[attr-defined]
            rx.box(
                rx.text(
                    "Proposed, with where each came from. Check each one below before creating.",
                    size="2",
                    weight="medium",
                ),
                rx.foreach(s.proposals, _proposal),
                width="100%",
                id="agreement-proposals",
            ),
            rx.cond(
                ~s.no_text,
                rx.text(
                    "Nothing recognisable was found: enter the details by hand.",
                    size="2",
                    color_scheme="gray",
                ),
            ),
        ),
        direction="column",
        spacing="3",
        width="100%",
    )


def _agreement_card() -> rx.Component:
    s = NewTransactionState
    return rx.card(
        rx.flex(
            rx.foreach(
                s.agreement_errors,
                lambda e: rx.callout(
                    e, icon="triangle_alert", color_scheme="red", role="alert", width="100%"
                ),
            ),
            rx.cond(s.agreement_name != "", _agreement_read(), _agreement_upload()),
            direction="column",
            spacing="3",
        ),
        size="3",
        margin_bottom="16px",
        id="agreement-card",
    )


def _periods() -> rx.Component:
    """The contract's own periods (they replace the preset's typical offsets)."""
    return rx.box(
        rx.text(
            "Periods in the contract (days from the effective date)", size="2", weight="medium"
        ),
        rx.grid(
            *[
                field(label, _input(name, input_mode="numeric"), _err(name))
                for name, label in PERIOD_LABELS.items()
            ],
            columns=rx.breakpoints(initial="2", sm="3"),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


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
            rx.cond(NewTransactionState.agreement_name != "", _periods()),
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
            rx.cond(
                NewTransactionState.agreement_name != "",
                rx.el.label(
                    rx.el.input(
                        type="checkbox", name="confirmed", required=True, id="new-confirmed"
                    ),
                    rx.text("I have checked every field above against the agreement.", size="2"),
                    style={"display": "flex", "gap": "8px", "alignItems": "center"},
                ),
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
        key=NewTransactionState.form_rev,
    )


@page(routes.NEW_TRANSACTION, "New transaction", on_load=NewTransactionState.load)
def new_transaction_page() -> rx.Component:
    return app_shell(
        rx.box(
            page_header(
                "New transaction",
                subtitle="Address and side are all you need; add the rest now or later.",
            ),
            rx.cond(
                NewTransactionState.ready,
                rx.fragment(_agreement_card(), rx.card(_form(), size="3")),
                loading_block(),
            ),
            max_width="760px",
            margin_x="auto",
        ),
        active="new",
        user_name=NewTransactionState.user_name,
        role_label=NewTransactionState.role_label,
        is_staff=NewTransactionState.is_staff,
        signed_in=NewTransactionState.signed_in,
    )
