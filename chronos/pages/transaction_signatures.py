"""The transaction page's e-signature panel (staff).

Lists the file's signature requests with each signer's status, sends a new request (a PDF of
the file, signers in order, title and message), voids a pending one with a reason, and opens
the signed copy. A sent request is never edited: void it and send a new one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import reflex as rx

from chronos.components.layout import api_url
from chronos.components.once import once_attrs
from chronos.components.timeline import local_time
from chronos.components.ui import error_callout, field
from chronos.db import session_scope
from chronos.services import documents, idempotency, signatures
from chronos.services.errors import ChronosError, NotFound, ValidationFailed
from chronos.services.signatures import RequestRow, SignerOption, SignerRow
from chronos.state import once
from chronos.state.session import STAFF, SessionState


@dataclass
class DocOption:
    id: int
    label: str


class SignaturePanelState(SessionState):
    sig_rows: list[RequestRow] = []
    sig_error: str = ""
    sig_notice: str = ""
    # the "Request signatures" dialog
    req_open: bool = False
    doc_options: list[DocOption] = []
    signer_opts: list[SignerOption] = []
    chosen: list[SignerOption] = []
    form_doc: str = ""
    form_title: str = ""
    form_message: str = ""
    form_errors: dict[str, str] = {}
    sending: bool = False
    once_key: str = ""
    _once_done: str = ""
    # the void dialog
    void_open: bool = False
    void_id: int = 0
    void_title: str = ""
    void_reason: str = ""
    void_error: str = ""

    def _txn(self) -> int:
        return self._int_param("txn_id")

    def _forget(self) -> None:
        self.sig_rows, self.doc_options, self.signer_opts, self.chosen = [], [], [], []
        self.req_open = self.void_open = False

    def _reload(self, user: Any) -> None:
        with session_scope() as db:
            self.sig_rows = signatures.requests_for_transaction(db, user, self._txn())

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        user = self._actor()
        self.sig_notice = ""
        if user is None or user.role_enum not in STAFF:
            self._forget()
            return None  # the page's own loader redirects
        try:
            self._reload(user)
            self.sig_error = ""
        except NotFound:
            self._forget()
        except ChronosError as exc:
            self._forget()
            self.sig_error = exc.message
        return None

    # -- request dialog

    @rx.event
    def open_request(self):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(STAFF)
        if user is None:
            self._forget()
            return redirect
        try:
            with session_scope() as db:
                docs = documents.documents_for_picker(db, user, self._txn())
                opts = signatures.signer_options(db, user, self._txn())
        except ChronosError as exc:
            self.sig_error = exc.message
            return None
        self.doc_options = [
            DocOption(d.id, f"{d.title} (v{d.version}, {d.page_count} p.)")
            for d in docs
            if d.is_pdf
        ]
        self.signer_opts = opts
        self.chosen = []
        self.form_doc = str(self.doc_options[0].id) if self.doc_options else ""
        self.form_title, self.form_message, self.form_errors = "", "", {}
        once.fresh(self)
        self.req_open = True
        return None

    @rx.event
    def set_req_open(self, value: bool) -> None:
        self.req_open = value

    @rx.event
    def set_form_doc(self, value: str) -> None:
        self.form_doc = value

    @rx.event
    def set_form_title(self, value: str) -> None:
        self.form_title = value

    @rx.event
    def set_form_message(self, value: str) -> None:
        self.form_message = value

    @rx.event
    def add_signer(self, value: str) -> None:
        try:
            pid = int(value)
        except ValueError:
            return
        opt = next((o for o in self.signer_opts if o.participant_id == pid), None)
        if opt is not None and all(c.participant_id != pid for c in self.chosen):
            self.chosen = [*self.chosen, opt]
            self.form_errors = {k: v for k, v in self.form_errors.items() if k != "signers"}

    @rx.event
    def move_signer(self, index: int, delta: int) -> None:
        i, j = int(index), int(index) + int(delta)
        if 0 <= i < len(self.chosen) and 0 <= j < len(self.chosen):
            items = list(self.chosen)
            items[i], items[j] = items[j], items[i]
            self.chosen = items

    @rx.event
    def remove_signer(self, index: int) -> None:
        self.chosen = [c for n, c in enumerate(self.chosen) if n != int(index)]

    @rx.var
    def addable(self) -> list[SignerOption]:
        taken = {c.participant_id for c in self.chosen}
        return [o for o in self.signer_opts if o.participant_id not in taken]

    @rx.event
    def send_request(self, key: str = ""):  # type: ignore[no-untyped-def]
        key = once.key_of(key)
        if self.sending or once.repeated(self, key):
            return None  # a second click: the first one sent the request
        user, redirect = self._gate(STAFF)
        if user is None:
            self._forget()
            return redirect
        if not self.form_doc:
            self.form_errors = {"document": "Choose the PDF to sign."}
            return None
        if not str(self.form_doc).isdigit():
            self.form_errors = {"document": "Choose the PDF to sign."}
            return None
        self.sending, sent = True, False
        doc_id, signer_ids = int(self.form_doc), [c.participant_id for c in self.chosen]
        title, message = self.form_title, self.form_message
        try:
            with session_scope() as db:
                idempotency.once(
                    db,
                    user,
                    "signature.request",
                    key,
                    {"doc": doc_id, "signers": signer_ids, "title": title, "message": message},
                    lambda: (
                        signatures.request_signatures(
                            db, user, doc_id, signer_ids, title, message
                        ).id
                    ),
                )
            sent = True
            self._reload(user)
            first = self.chosen[0].label if self.chosen else ""
            self.req_open, self.form_errors = False, {}
            self.sig_error, self.sig_notice = "", f"Sent. {first} has been asked to sign first."
        except ValidationFailed as exc:
            self.form_errors = dict(exc.errors)
        except ChronosError as exc:
            self.form_errors = {"document": exc.message}
        finally:
            once.settle(self, key, done=sent)
            self.sending = False
        from chronos.pages.transaction import TransactionState

        return TransactionState.reload_events

    # -- void dialog

    @rx.event
    def open_void(self, request_id: int) -> None:
        row = next((r for r in self.sig_rows if r.id == request_id), None)
        if row is None:
            return
        self.void_id, self.void_title = row.id, row.title
        self.void_reason, self.void_error, self.void_open = "", "", True

    @rx.event
    def set_void_open(self, value: bool) -> None:
        self.void_open = value

    @rx.event
    def set_void_reason(self, value: str) -> None:
        self.void_reason = value

    @rx.event
    def confirm_void(self):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(STAFF)
        if user is None:
            self._forget()
            return redirect
        try:
            with session_scope() as db:
                signatures.void(db, user, self.void_id, self.void_reason)
            self._reload(user)
            self.void_open, self.void_error = False, ""
            self.sig_notice = "Voided. The signers who were asked have been told."
        except ValidationFailed as exc:
            self.void_error = next(iter(exc.errors.values()), exc.message)
        except ChronosError as exc:
            self.void_error = exc.message
        from chronos.pages.transaction import TransactionState

        return TransactionState.reload_events

    @rx.event
    def download(self, request_id: int):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(STAFF)
        if user is None:
            self._forget()
            return redirect
        try:
            with session_scope() as db:
                link = signatures.signed_link(db, user, int(request_id))
        except ChronosError as exc:
            self.sig_error = exc.message
            return None
        return rx.call_script(f"window.location.assign({json.dumps(api_url(link))})")


def _signer(s: SignerRow) -> rx.Component:
    return rx.flex(
        rx.text((s.position + 1).to_string() + ". " + s.name, size="2"),
        rx.text(s.role_label, size="1", color_scheme="gray"),
        rx.cond(
            s.status == "signed",
            rx.flex(
                rx.badge("Signed", color_scheme="grass", variant="soft"),
                rx.text(local_time(s.signed_at), size="1", color_scheme="gray"),
                rx.text(rx.cond(s.method == "drawn", "drawn", "typed"), size="1", color="gray"),
                spacing="1",
                align="center",
                wrap="wrap",
            ),
            rx.badge(
                rx.cond(s.is_current, "Asked to sign", "Waiting"),
                color_scheme=rx.cond(s.is_current, "amber", "gray"),
                variant="soft",
            ),
        ),
        spacing="2",
        align="center",
        wrap="wrap",
    )


def _status_badge(r: RequestRow) -> rx.Component:
    return rx.badge(
        r.status_label,
        color_scheme=rx.match(r.status, ("completed", "grass"), ("voided", "red"), "amber"),
        variant="soft",
    )


def _request(r: RequestRow) -> rx.Component:
    s = SignaturePanelState
    return rx.flex(
        rx.flex(
            rx.text(r.title, weight="medium", size="3"),
            _status_badge(r),
            rx.spacer(),
            rx.cond(
                r.my_turn,
                rx.link(
                    rx.button(rx.icon("pen_line", size=14), "Sign now", size="1"),
                    href="/portal/" + r.transaction_id.to_string() + "/sign/" + r.id.to_string(),
                ),
            ),
            rx.cond(
                r.status == "pending",
                rx.button(
                    "Void",
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    on_click=s.open_void(r.id),
                    aria_label="Void " + r.title,
                ),
            ),
            rx.cond(
                r.status == "completed",
                rx.button(
                    rx.icon("download", size=14),
                    "Signed PDF",
                    size="1",
                    variant="soft",
                    on_click=s.download(r.id),
                ),
            ),
            spacing="2",
            align="center",
            wrap="wrap",
        ),
        rx.text(
            r.document_title,
            " · sent by ",
            r.created_by,
            " · ",
            local_time(r.created_at),
            size="1",
            color_scheme="gray",
        ),
        rx.flex(rx.foreach(r.signers, _signer), direction="column", spacing="1"),
        rx.cond(
            r.status == "voided",
            rx.text("Voided: ", r.void_reason, size="1", color_scheme="red"),
        ),
        rx.cond(
            r.status == "completed",
            rx.flex(
                rx.text("Original SHA-256 ", rx.code(r.source_sha256, size="1"), size="1"),
                rx.text("Signed PDF SHA-256 ", rx.code(r.signed_sha256, size="1"), size="1"),
                direction="column",
                spacing="1",
                style={"overflowWrap": "anywhere"},
                class_name="sig-hashes",
            ),
        ),
        direction="column",
        spacing="2",
        padding_y="10px",
        border_top=f"1px solid {rx.color('gray', 4)}",
    )


def _chosen_row(c: SignerOption, i: rx.Var[int]) -> rx.Component:
    s = SignaturePanelState
    return rx.flex(
        rx.text((i + 1).to_string() + ". " + c.label, size="2", flex="1"),
        rx.icon_button(
            rx.icon("arrow_up", size=14),
            size="1",
            variant="ghost",
            type="button",
            disabled=i == 0,
            on_click=s.move_signer(i, -1),
            aria_label="Move up",
        ),
        rx.icon_button(
            rx.icon("arrow_down", size=14),
            size="1",
            variant="ghost",
            type="button",
            disabled=i == s.chosen.length() - 1,
            on_click=s.move_signer(i, 1),
            aria_label="Move down",
        ),
        rx.icon_button(
            rx.icon("x", size=14),
            size="1",
            variant="ghost",
            color_scheme="gray",
            type="button",
            on_click=s.remove_signer(i),
            aria_label="Remove " + c.label,
        ),
        align="center",
        spacing="2",
    )


def _request_dialog() -> rx.Component:
    s = SignaturePanelState
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Request signatures"),
            rx.cond(
                s.doc_options.length() == 0,
                rx.text(
                    "There is no PDF on this transaction yet. Upload the document first.",
                    size="2",
                    color_scheme="gray",
                ),
                rx.flex(
                    field(
                        "Document (PDF)",
                        rx.select.root(
                            rx.select.trigger(width="100%", aria_label="Document"),
                            rx.select.content(
                                rx.foreach(
                                    s.doc_options,
                                    lambda d: rx.select.item(d.label, value=d.id.to_string()),
                                )
                            ),
                            value=s.form_doc,
                            on_change=s.set_form_doc,
                        ),
                        s.form_errors.get("document", ""),
                        "Signers sign the current version; later uploads do not change it.",
                    ),
                    rx.flex(
                        rx.text("Signers, in signing order", size="2", weight="medium"),
                        rx.foreach(s.chosen, _chosen_row),
                        rx.select.root(
                            rx.select.trigger(
                                placeholder="Add a signer…", width="100%", aria_label="Add a signer"
                            ),
                            rx.select.content(
                                rx.foreach(
                                    s.addable,
                                    lambda o: rx.select.item(
                                        o.label, value=o.participant_id.to_string()
                                    ),
                                )
                            ),
                            value="",
                            on_change=s.add_signer,
                        ),
                        rx.cond(
                            s.form_errors.contains("signers"),
                            rx.text(
                                s.form_errors.get("signers", ""),
                                color_scheme="red",
                                size="1",
                                role="alert",
                            ),
                            rx.text(
                                "Only people on this transaction with a Chronos login can sign. "
                                "Each is asked in turn, after the one before has signed.",
                                size="1",
                                color_scheme="gray",
                            ),
                        ),
                        direction="column",
                        spacing="2",
                    ),
                    field(
                        "Title",
                        rx.input(
                            value=s.form_title,
                            on_change=s.set_form_title,
                            placeholder="Defaults to the document's name",
                            max_length=200,
                        ),
                        s.form_errors.get("title", ""),
                    ),
                    field(
                        "Message to the signers",
                        rx.text_area(value=s.form_message, on_change=s.set_form_message),
                        s.form_errors.get("message", ""),
                    ),
                    direction="column",
                    spacing="3",
                ),
            ),
            rx.flex(
                rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray", size="3")),
                rx.button(
                    rx.cond(s.sending, rx.spinner(size="2"), rx.icon("send", size=16)),
                    "Send for signature",
                    size="3",
                    on_click=s.send_request(s.once_key),
                    disabled=s.sending | (s.doc_options.length() == 0),
                    custom_attrs=once_attrs(s.once_key),
                ),
                justify="end",
                spacing="3",
                margin_top="16px",
            ),
            max_width="560px",
        ),
        open=s.req_open,
        on_open_change=s.set_req_open,
    )


def _void_dialog() -> rx.Component:
    s = SignaturePanelState
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Void “", s.void_title, "”"),
            rx.dialog.description(
                "Nobody can sign it after this. The signers who were asked are told, with "
                "your reason.",
                size="2",
            ),
            field(
                "Reason",
                rx.input(
                    value=s.void_reason,
                    on_change=s.set_void_reason,
                    placeholder="e.g. Price corrected on page 2",
                    max_length=500,
                ),
                s.void_error,
            ),
            rx.flex(
                rx.dialog.close(
                    rx.button("Keep it", variant="soft", color_scheme="gray", size="3")
                ),
                rx.button("Void request", color_scheme="red", size="3", on_click=s.confirm_void),
                justify="end",
                spacing="3",
                margin_top="16px",
            ),
            max_width="480px",
        ),
        open=s.void_open,
        on_open_change=s.set_void_open,
    )


def signatures_panel() -> rx.Component:
    s = SignaturePanelState
    return rx.card(
        rx.flex(
            rx.flex(
                rx.heading("Signatures", size="4", as_="h2"),
                rx.spacer(),
                rx.button(
                    rx.icon("pen_line", size=14),
                    "Request signatures",
                    size="1",
                    on_click=s.open_request,
                ),
                align="center",
                spacing="2",
            ),
            rx.cond(s.sig_error, error_callout(s.sig_error)),
            rx.cond(
                s.sig_notice,
                rx.text(s.sig_notice, size="1", color_scheme="grass", role="status"),
            ),
            rx.cond(
                s.sig_rows.length() == 0,
                rx.text(
                    "No signature requests yet.", size="2", color_scheme="gray", padding_y="8px"
                ),
                rx.box(rx.foreach(s.sig_rows, _request), width="100%"),
            ),
            direction="column",
            spacing="2",
        ),
        _request_dialog(),
        _void_dialog(),
        width="100%",
        id="signatures",
    )
