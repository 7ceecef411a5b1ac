"""Loan conditions: the staff panel of the transaction page, and the pieces the portal's
lender and client sections share with it (``ConditionPanel`` state mixin, ``condition_board``).

What the viewer may do comes from ``services.lender`` (``can_manage``/``can_attach`` on the
board); the state only ever holds the conditions of a file the actor may see, and a
condition's document title only when that document is visible to them.

Sending a document for a condition: pick one of the file's documents the viewer can see, or
upload one. An upload is a native form POST to ``/files/upload`` that comes back to this page
with a signed ``?upload=`` outcome; opening the dialog remembered which condition it was for
(a backend-only var), so the loader attaches the saved document to it.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from chronos.components.layout import api_url
from chronos.components.native_form import native_form
from chronos.components.once import once_attrs, once_input
from chronos.components.ui import error_callout, field, notice_callout
from chronos.db import session_scope
from chronos.models import Role, User
from chronos.services import documents, lender
from chronos.services.errors import ChronosError, NotFound, ValidationFailed
from chronos.services.lender import ConditionRow
from chronos.state.session import STAFF, SessionState

STATUS_COLORS = {
    "requested": "amber",
    "received": "blue",
    "accepted": "grass",
    "waived": "gray",
}
NOTE_ACTIONS = {
    "return": ("Send back", "Say what is wrong with the document. Whoever sent it is told."),
    "waive": ("Waive condition", "Say why this condition is no longer needed."),
}
FORM_FIELDS = frozenset({"cond_title", "cond_notes", "cond_due"})
UPLOAD_ACCEPT = "application/pdf,image/jpeg,image/png,image/heic,image/heif,image/*"


class ConditionPanel(rx.State, mixin=True):
    """Loan-condition list, the add/edit dialog, the note dialog (return/waive) and the attach
    dialog. Subclasses say who may use it (``_roles``)."""

    conditions: list[ConditionRow] = []
    cond_counts: dict[str, int] = {}
    cond_can_manage: bool = False
    cond_can_attach: bool = False
    cond_shown: bool = False
    cond_error: str = ""
    cond_notice: str = ""
    cond_busy: bool = False
    # add/edit
    cond_dialog: bool = False
    cond_edit_id: int = 0
    cond_title: str = ""
    cond_notes: str = ""
    cond_due: str = ""
    cond_errors: dict[str, str] = {}
    # return / waive
    note_dialog: bool = False
    note_action: str = ""
    note_cond_id: int = 0
    note_cond_title: str = ""
    note_text: str = ""
    note_error: str = ""
    # attach
    attach_dialog: bool = False
    attach_cond_id: int = 0
    attach_cond_title: str = ""
    attach_choices: list[list[str]] = []  # [document id, title]
    attach_choice: str = ""
    attach_error: str = ""
    txn_key: str = ""  # the file's id, for the upload form's hidden field and return path
    # Which condition an upload that is under way is for: {"txn": id, "cond": id}.
    _attach_upload: dict[str, int] = {}

    def _roles(self) -> frozenset[Role]:
        raise NotImplementedError

    def _txn(self) -> int:
        return self._int_param("txn_id")  # type: ignore[attr-defined]

    def _cond_forget(self) -> None:
        self.conditions, self.cond_counts = [], {}
        self.cond_can_manage = self.cond_can_attach = self.cond_shown = False
        self.cond_dialog = self.note_dialog = self.attach_dialog = False
        self.attach_choices, self.txn_key = [], ""

    def _cond_reload(self, db: Any, user: User) -> None:
        txn_id = self._txn()
        board = lender.conditions(db, user, txn_id)
        self.conditions, self.cond_counts = board.rows, board.counts
        self.cond_can_manage, self.cond_can_attach = board.can_manage, board.can_attach
        self.cond_shown = bool(board.rows) or board.has_lender or not user.is_staff
        self.txn_key = str(txn_id)

    def _cond_after_upload(self, db: Any, user: User) -> None:
        """Attach the document an upload just saved to the condition it was sent for."""
        token = self._param("upload")  # type: ignore[attr-defined]
        pending = dict(self._attach_upload)
        if not token or not pending:
            return
        self._attach_upload = {}
        if pending.get("txn") != self._txn():
            return
        notice = documents.decode_notice(token) or {}
        saved = [s for s in notice.get("saved") or [] if isinstance(s, dict) and s.get("id")]
        if not saved:
            errors = [str(e) for e in notice.get("errors") or []]
            self.cond_error = " ".join(errors) or "Nothing was uploaded."
            return
        cond = lender.attach_document(db, user, int(pending.get("cond", 0)), int(saved[0]["id"]))
        self.cond_notice = f"Sent “{saved[0].get('title', '')}” for “{cond.title}”."

    def _cond_act(self, action: Any, notice: str = "") -> Any:
        if self.cond_busy:
            return None
        user, redirect = self._gate(self._roles())  # type: ignore[attr-defined]
        if user is None:
            self._cond_forget()
            return redirect
        self.cond_busy = True
        try:
            with session_scope() as db:
                action(db, user)
            self.cond_error, self.cond_notice = "", notice
            ok = True
        except ValidationFailed:
            self.cond_busy = False
            raise
        except NotFound as exc:
            self.cond_error, self.cond_notice, ok = exc.message, "", False
        except ChronosError as exc:
            self.cond_error, self.cond_notice, ok = exc.message, "", False
        try:
            with session_scope() as db:
                self._cond_reload(db, user)
        except ChronosError:
            self._cond_forget()
        self.cond_busy = False
        return ok

    # -- add / edit

    @rx.event
    def open_add_condition(self) -> None:
        self.cond_edit_id, self.cond_title, self.cond_notes, self.cond_due = 0, "", "", ""
        self.cond_errors, self.cond_dialog = {}, True

    @rx.event
    def open_edit_condition(self, cond_id: int) -> None:
        row = next((r for r in self.conditions if r.id == int(cond_id)), None)
        if row is None or not self.cond_can_manage:
            return
        self.cond_edit_id, self.cond_title = row.id, row.title
        self.cond_notes, self.cond_due = row.notes, row.due_date
        self.cond_errors, self.cond_dialog = {}, True

    @rx.event
    def set_cond_dialog(self, value: bool) -> None:
        if not self.cond_busy:
            self.cond_dialog = value

    @rx.event
    def set_cond_field(self, name: str, value: str) -> None:
        if name in FORM_FIELDS:
            setattr(self, name, str(value)[:2100])

    @rx.event
    def save_condition(self):  # type: ignore[no-untyped-def]
        txn_id, edit_id = self._txn(), self.cond_edit_id
        data = {"title": self.cond_title, "notes": self.cond_notes, "due_date": self.cond_due}

        def act(db: Any, user: User) -> None:
            if edit_id:
                lender.update_condition(db, user, edit_id, **data)
            else:
                lender.add_condition(db, user, txn_id, **data)

        try:
            result = self._cond_act(act, "Condition saved." if edit_id else "Condition requested.")
        except ValidationFailed as exc:
            self.cond_errors = dict(exc.errors)
            return None
        if result is True:
            self.cond_dialog, self.cond_errors = False, {}
            return None
        return None if result is False else result

    @rx.event
    def delete_condition(self, cond_id: int):  # type: ignore[no-untyped-def]
        result = self._cond_act(
            lambda db, user: lender.delete_condition(db, user, int(cond_id)), "Condition removed."
        )
        return None if isinstance(result, bool) else result

    @rx.event
    def accept_condition(self, cond_id: int):  # type: ignore[no-untyped-def]
        result = self._cond_act(
            lambda db, user: lender.accept_condition(db, user, int(cond_id)),
            "Condition accepted.",
        )
        return None if isinstance(result, bool) else result

    # -- return / waive with a note

    @rx.event
    def open_note(self, cond_id: int, action: str) -> None:
        row = next((r for r in self.conditions if r.id == int(cond_id)), None)
        if row is None or action not in NOTE_ACTIONS or not self.cond_can_manage:
            return
        self.note_cond_id, self.note_cond_title, self.note_action = row.id, row.title, action
        self.note_text, self.note_error, self.note_dialog = "", "", True

    @rx.event
    def set_note_dialog(self, value: bool) -> None:
        if not self.cond_busy:
            self.note_dialog = value

    @rx.event
    def set_note_text(self, value: str) -> None:
        self.note_text = str(value)[:2100]

    @rx.event
    def submit_note(self):  # type: ignore[no-untyped-def]
        cond_id, text, action = self.note_cond_id, self.note_text, self.note_action
        fn = lender.return_condition if action == "return" else lender.waive_condition
        try:
            result = self._cond_act(
                lambda db, user: fn(db, user, cond_id, text),
                "Sent back." if action == "return" else "Condition waived.",
            )
        except ValidationFailed as exc:
            self.note_error = exc.errors.get("note", exc.message)
            return None
        if result is True:
            self.note_dialog, self.note_error = False, ""
        return None if isinstance(result, bool) else result

    # -- attach a document

    @rx.event
    def open_attach(self, cond_id: int):  # type: ignore[no-untyped-def]
        row = next((r for r in self.conditions if r.id == int(cond_id)), None)
        if row is None or not row.can_attach:
            return None
        user, redirect = self._gate(self._roles())  # type: ignore[attr-defined]
        if user is None:
            self._cond_forget()
            return redirect
        try:
            with session_scope() as db:
                picks = documents.documents_for_picker(db, user, self._txn())
        except ChronosError as exc:
            self.cond_error = exc.message
            return None
        self.attach_choices = [[str(d.id), d.title] for d in picks]
        self.attach_cond_id, self.attach_cond_title = row.id, row.title
        self.attach_choice, self.attach_error = "", ""
        self._attach_upload = {"txn": self._txn(), "cond": row.id}
        self.attach_dialog = True
        return None

    @rx.event
    def set_attach_dialog(self, value: bool) -> None:
        self.attach_dialog = value
        if not value:
            self._attach_upload, self.attach_choices = {}, []

    @rx.event
    def set_attach_choice(self, value: str | list[str]) -> None:
        self.attach_choice = str(value)

    @rx.event
    def attach_picked(self):  # type: ignore[no-untyped-def]
        if not self.attach_choice:
            self.attach_error = "Choose a document."
            return None
        cond_id, doc_id = self.attach_cond_id, int(self.attach_choice)
        result = self._cond_act(
            lambda db, user: lender.attach_document(db, user, cond_id, doc_id),
            "Document sent to the lender.",
        )
        if result is True:
            self.attach_dialog, self.attach_choices, self._attach_upload = False, [], {}
        elif result is False:
            self.attach_error = self.cond_error
        return None if isinstance(result, bool) else result


class LenderPanelState(ConditionPanel, SessionState):
    def _roles(self) -> frozenset[Role]:
        return STAFF

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        user = self._actor()
        self._cond_forget()
        self.cond_error, self.cond_notice = "", ""
        if user is None or user.role_enum not in STAFF:
            return None  # the page's own loader redirects
        try:
            with session_scope() as db:
                self._cond_after_upload(db, user)
            with session_scope() as db:
                self._cond_reload(db, user)
        except NotFound:
            self._cond_forget()
        except ChronosError as exc:
            self._cond_forget()
            self.cond_error = exc.message
        return None


# ----------------------------------------------------------------------------- UI pieces


def status_badge(status: Any, label: Any) -> rx.Component:
    return rx.match(
        status,
        *[
            (key, rx.badge(label, color_scheme=color, variant="soft", size="2"))  # type: ignore[arg-type]
            for key, color in STATUS_COLORS.items()
        ],
        rx.badge(label, variant="soft", size="2"),
    )


def _date_bit(label: Any, value: Any) -> rx.Component:
    return rx.cond(
        value,
        rx.text(label, " ", value, size="1", color_scheme="gray", white_space="nowrap"),
    )


def _condition_item(s: Any, c: Any, upload_label: str) -> rx.Component:
    manage = s.cond_can_manage
    is_open = (c.status == "requested") | (c.status == "received")
    return rx.flex(
        rx.flex(
            rx.text(c.title, weight="bold", size="3", flex="1", min_width="0"),
            status_badge(c.status, c.status_label),
            justify="between",
            align="start",
            spacing="2",
            width="100%",
        ),
        rx.cond(c.notes, rx.text(c.notes, size="2", white_space="pre-wrap")),
        rx.flex(
            rx.cond(
                c.due_label,
                rx.text(
                    "Due ",
                    c.due_label,
                    size="1",
                    weight=rx.cond(c.overdue, "bold", "regular"),
                    color=rx.cond(c.overdue, rx.color("red", 11), rx.color("gray", 11)),
                    white_space="nowrap",
                ),
            ),
            _date_bit("Requested", c.requested_on),
            _date_bit("Received", c.received_on),
            _date_bit(rx.cond(c.status == "waived", "Waived", "Accepted"), c.closed_on),
            spacing="3",
            wrap="wrap",
        ),
        rx.cond(
            c.document_title,
            rx.flex(
                rx.icon("paperclip", size=14),
                rx.text(c.document_title, size="2"),
                rx.cond(
                    c.received_by, rx.text("from ", c.received_by, size="1", color_scheme="gray")
                ),
                spacing="1",
                align="center",
                wrap="wrap",
            ),
        ),
        rx.cond(
            c.status_note,
            rx.text(
                rx.cond(c.status == "waived", "Why waived: ", "Sent back: "),
                c.status_note,
                size="2",
                color=rx.color("amber", 11),
            ),
        ),
        rx.flex(
            rx.cond(
                c.can_attach,
                rx.button(
                    rx.icon("upload", size=14),
                    rx.cond(c.status == "received", "Replace document", upload_label),
                    size="2",
                    variant="soft",
                    on_click=s.open_attach(c.id),
                ),
            ),
            rx.cond(
                manage & (c.status == "received"),
                rx.fragment(
                    rx.button(
                        rx.icon("check", size=14),
                        "Accept",
                        size="2",
                        color_scheme="grass",
                        on_click=s.accept_condition(c.id),
                        disabled=s.cond_busy,
                    ),
                    rx.button(
                        rx.icon("undo_2", size=14),
                        "Send back",
                        size="2",
                        variant="soft",
                        color_scheme="amber",
                        on_click=s.open_note(c.id, "return"),
                    ),
                ),
            ),
            rx.cond(
                manage & is_open,
                rx.fragment(
                    rx.button(
                        "Waive",
                        size="2",
                        variant="soft",
                        color_scheme="gray",
                        on_click=s.open_note(c.id, "waive"),
                    ),
                    rx.button(
                        rx.icon("pencil", size=14),
                        "Edit",
                        size="2",
                        variant="ghost",
                        on_click=s.open_edit_condition(c.id),
                        aria_label="Edit condition",
                    ),
                ),
            ),
            spacing="2",
            wrap="wrap",
            align="center",
        ),
        direction="column",
        spacing="2",
        padding_y="12px",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        width="100%",
    )


def _counts(s: Any) -> rx.Component:
    counts = s.cond_counts
    return rx.flex(
        rx.badge(
            counts["requested"].to_string() + " requested", color_scheme="amber", variant="soft"
        ),
        rx.badge(counts["received"].to_string() + " received", color_scheme="blue", variant="soft"),
        rx.badge(
            counts["accepted"].to_string() + " accepted", color_scheme="grass", variant="soft"
        ),
        rx.cond(
            counts["waived"] > 0,
            rx.badge(counts["waived"].to_string() + " waived", color_scheme="gray", variant="soft"),
        ),
        spacing="2",
        wrap="wrap",
    )


def _edit_dialog(s: Any) -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(s.cond_edit_id > 0, "Edit condition", "Request a condition")),
            rx.form(
                rx.flex(
                    field(
                        "What is needed",
                        rx.input(
                            value=s.cond_title,
                            on_change=lambda v: s.set_cond_field("cond_title", v),
                            placeholder="Two months of bank statements",
                            max_length=200,
                            size="3",
                        ),
                        s.cond_errors.get("title", ""),
                    ),
                    field(
                        "Notes",
                        rx.text_area(
                            value=s.cond_notes,
                            on_change=lambda v: s.set_cond_field("cond_notes", v),
                            rows="3",
                            size="3",
                        ),
                        s.cond_errors.get("notes", ""),
                    ),
                    field(
                        "Due date",
                        rx.input(
                            type="date",
                            value=s.cond_due,
                            on_change=lambda v: s.set_cond_field("cond_due", v),
                            size="3",
                        ),
                        s.cond_errors.get("due_date", ""),
                    ),
                    rx.flex(
                        rx.dialog.close(
                            rx.button(
                                "Cancel",
                                variant="soft",
                                color_scheme="gray",
                                type="button",
                                size="3",
                            )
                        ),
                        rx.button(
                            rx.cond(s.cond_busy, rx.spinner(size="2"), rx.icon("check", size=16)),
                            "Save",
                            type="submit",
                            size="3",
                            disabled=s.cond_busy,
                        ),
                        justify="end",
                        spacing="3",
                    ),
                    direction="column",
                    spacing="3",
                    margin_top="12px",
                ),
                on_submit=lambda _: s.save_condition(),
            ),
            max_width="520px",
        ),
        open=s.cond_dialog,
        on_open_change=s.set_cond_dialog,
    )


def _note_dialog(s: Any) -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(
                rx.cond(s.note_action == "return", "Send back", "Waive condition"),
                ": ",
                s.note_cond_title,
            ),
            rx.dialog.description(
                rx.cond(
                    s.note_action == "return", NOTE_ACTIONS["return"][1], NOTE_ACTIONS["waive"][1]
                ),
                size="2",
                color_scheme="gray",
            ),
            rx.form(
                rx.flex(
                    field(
                        "Note",
                        rx.text_area(
                            value=s.note_text, on_change=s.set_note_text, rows="3", size="3"
                        ),
                        s.note_error,
                    ),
                    rx.flex(
                        rx.dialog.close(
                            rx.button(
                                "Cancel",
                                variant="soft",
                                color_scheme="gray",
                                type="button",
                                size="3",
                            )
                        ),
                        rx.button(
                            rx.cond(s.note_action == "return", "Send back", "Waive"),
                            type="submit",
                            size="3",
                            color_scheme="amber",
                            disabled=s.cond_busy,
                        ),
                        justify="end",
                        spacing="3",
                    ),
                    direction="column",
                    spacing="3",
                    margin_top="12px",
                ),
                on_submit=lambda _: s.submit_note(),
            ),
            max_width="520px",
        ),
        open=s.note_dialog,
        on_open_change=s.set_note_dialog,
    )


def upload_inputs(txn_key: Any, *, multiple: bool) -> list[rx.Component]:
    """The file inputs of an upload form: files (PDF or photos) and, on phones, the camera."""
    return [
        rx.el.input(type="hidden", name="transaction_id", value=txn_key),
        once_input(),
        field(
            "Choose files" if multiple else "Choose a file",
            rx.el.input(
                type="file",
                name="file",
                accept=UPLOAD_ACCEPT,
                multiple=multiple,
                style={"width": "100%", "padding": "8px 0", "fontSize": "16px"},
            ),
            hint="PDF or photos (JPEG, PNG, HEIC).",
        ),
        field(
            "Or take a photo",
            rx.el.input(
                type="file",
                name="file",
                accept="image/*",
                custom_attrs={"capture": "environment"},
                style={"width": "100%", "padding": "8px 0", "fontSize": "16px"},
            ),
        ),
    ]


def upload_action(page_prefix: str, txn_key: Any) -> Any:
    return api_url("/files/upload?next=" + page_prefix) + txn_key


def _attach_dialog(s: Any, page_prefix: str) -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Send a document for: ", s.attach_cond_title),
            rx.flex(
                rx.cond(
                    s.attach_choices.length() > 0,
                    rx.flex(
                        rx.text("Pick one already on the file", size="2", weight="medium"),
                        rx.select.root(
                            rx.select.trigger(
                                placeholder="Choose a document", aria_label="Document", width="100%"
                            ),
                            rx.select.content(
                                rx.foreach(
                                    s.attach_choices, lambda d: rx.select.item(d[1], value=d[0])
                                )
                            ),
                            value=s.attach_choice,
                            on_change=s.set_attach_choice,
                        ),
                        rx.cond(
                            s.attach_error, rx.text(s.attach_error, color_scheme="red", size="1")
                        ),
                        rx.button(
                            "Send this document",
                            size="3",
                            on_click=s.attach_picked,
                            disabled=s.cond_busy,
                        ),
                        direction="column",
                        spacing="2",
                    ),
                ),
                rx.separator(size="4"),
                native_form(
                    rx.flex(
                        rx.text("Or upload it", size="2", weight="medium"),
                        *upload_inputs(s.txn_key, multiple=False),
                        rx.button(
                            rx.icon("upload", size=16), "Upload and send", type="submit", size="3"
                        ),
                        direction="column",
                        spacing="3",
                    ),
                    action=upload_action(page_prefix, s.txn_key),
                    method="post",
                    custom_attrs={
                        "enctype": "multipart/form-data",
                        **once_attrs("upload", native=True),
                    },
                    style={"margin": 0},
                ),
                rx.flex(
                    rx.dialog.close(
                        rx.button("Cancel", variant="soft", color_scheme="gray", size="3")
                    ),
                    justify="end",
                ),
                direction="column",
                spacing="3",
                margin_top="12px",
            ),
            max_width="520px",
        ),
        open=s.attach_dialog,
        on_open_change=s.set_attach_dialog,
    )


def condition_board(
    s: Any,
    *,
    page_prefix: str,
    empty_text: str,
    upload_label: str = "Send document",
) -> rx.Component:
    """The condition list with its counts, actions and dialogs (caller wraps it in a card)."""
    return rx.flex(
        rx.cond(s.cond_error, error_callout(s.cond_error)),
        rx.cond(s.cond_notice, notice_callout(s.cond_notice)),
        rx.flex(
            rx.cond(s.cond_counts["total"] > 0, _counts(s)),
            rx.spacer(),
            rx.cond(
                s.cond_can_manage,
                rx.button(
                    rx.icon("plus", size=14),
                    "Request condition",
                    size="2",
                    on_click=s.open_add_condition,
                ),
            ),
            align="center",
            spacing="2",
            wrap="wrap",
            width="100%",
        ),
        rx.cond(
            s.conditions.length() == 0,
            rx.text(empty_text, size="2", color_scheme="gray"),
            rx.box(
                rx.foreach(s.conditions, lambda c: _condition_item(s, c, upload_label)),
                width="100%",
            ),
        ),
        _edit_dialog(s),
        _note_dialog(s),
        _attach_dialog(s, page_prefix),
        direction="column",
        spacing="3",
        width="100%",
    )


def lender_panel() -> rx.Component:
    s = LenderPanelState
    return rx.cond(
        s.cond_shown | (s.cond_error != ""),
        rx.card(
            rx.flex(
                rx.heading("Loan conditions", size="4", as_="h2"),
                rx.text(
                    "What the lender needs before closing. The lender and the file's staff "
                    "manage them; the client sees them on the portal.",
                    size="2",
                    color_scheme="gray",
                ),
                condition_board(
                    s,
                    page_prefix="/transactions/",
                    empty_text="No conditions yet. Request one, or wait for the lender's list.",
                ),
                direction="column",
                spacing="3",
            ),
            size="2",
            width="100%",
        ),
    )
