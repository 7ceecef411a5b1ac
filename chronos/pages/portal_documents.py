"""The portal deal page's documents section (clients, attorneys, lenders), phone first.

- The documents shared with the viewer on this file (``documents.list_documents`` with the
  actor: it filters), each with a "View" that loads signed page images (or the photo) and a
  download link only when opened. An attorney's list leads with contract and title work.
- An upload form: a native multipart POST to ``/files/upload`` (camera on phones), back here
  with a signed ``?upload=`` outcome shown as a notice (saved titles, each error).
- The loan conditions: the lender manages them (``transaction_lender.condition_board``), a
  client sees them and sends what is requested; an attorney has no such section.

Loads with the page: ``PortalDocumentsState.load`` in its on_load list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import reflex as rx

from chronos.components.native_form import native_form
from chronos.components.once import once_attrs
from chronos.components.ui import error_callout, field
from chronos.db import session_scope
from chronos.models import Role
from chronos.pages.transaction_lender import (
    ConditionPanel,
    condition_board,
    upload_action,
    upload_inputs,
)
from chronos.services import documents
from chronos.services.documents import ATTORNEY_CATEGORIES, CATEGORIES, DocumentRow
from chronos.services.errors import ChronosError, NotFound, PermissionDenied
from chronos.state.session import EXTERNAL, SessionState

PAGE_SIZE = 100
PREVIEW_WIDTH = 960


@dataclass
class PortalDoc:
    """What the portal shows of a document (no sharing flags, review notes or uploader ids)."""

    id: int
    title: str
    category_label: str
    date_label: str
    page_count: int
    is_pdf: bool
    size_label: str


def _date_label(iso: str) -> str:
    try:
        when = datetime.fromisoformat(iso)
    except ValueError:
        return ""
    return f"{when:%b} {when.day}, {when.year}"


def portal_doc(row: DocumentRow) -> PortalDoc:
    return PortalDoc(
        id=row.id,
        title=row.title,
        category_label=row.category_label,
        date_label=_date_label(row.updated_at),
        page_count=row.page_count,
        is_pdf=row.is_pdf,
        size_label=row.size_label,
    )


class PortalDocumentsState(ConditionPanel, SessionState):
    viewer: str = ""  # client | attorney | lender
    found: bool = False
    lead_docs: list[PortalDoc] = []  # the attorney's contract and title documents
    other_docs: list[PortalDoc] = []
    doc_total: int = 0
    docs_error: str = ""
    upload_saved: list[str] = []
    upload_errors: list[str] = []
    # the open preview
    preview_open: bool = False
    preview_title: str = ""
    preview_is_pdf: bool = False
    preview_pages: list[str] = []
    preview_image: str = ""
    preview_download: str = ""
    preview_error: str = ""

    def _roles(self) -> frozenset[Role]:
        return EXTERNAL

    def _forget(self) -> None:
        self._cond_forget()
        self.viewer, self.found, self.doc_total, self.docs_error = "", False, 0, ""
        self.lead_docs, self.other_docs = [], []
        self.upload_saved, self.upload_errors = [], []
        self.cond_error = self.cond_notice = ""
        self._close_preview()

    def _close_preview(self) -> None:
        self.preview_open, self.preview_is_pdf = False, False
        self.preview_title = self.preview_image = self.preview_download = ""
        self.preview_pages, self.preview_error = [], ""

    def _notice(self) -> None:
        token = self._param("upload")
        notice = documents.decode_notice(token) if token else None
        if not notice:
            return
        self.upload_saved = documents.saved_lines(notice)
        self.upload_errors = [str(e) for e in notice.get("errors") or []]

    def _reload_docs(self, db: object, user: object) -> None:
        result = documents.list_documents(db, user, self._txn(), page_size=PAGE_SIZE)  # type: ignore[arg-type]
        rows = [portal_doc(r) for r in result.items]
        if self.viewer == Role.ATTORNEY.value:
            lead = {r.id for r in result.items if r.category in ATTORNEY_CATEGORIES}
            self.lead_docs = [d for d in rows if d.id in lead]
            self.other_docs = [d for d in rows if d.id not in lead]
        else:
            self.lead_docs, self.other_docs = [], rows
        self.doc_total = result.total

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        user = self._actor()
        self._forget()
        if user is None or user.role_enum not in EXTERNAL:
            return None  # the page's own loader redirects
        self.viewer = user.role_enum.value
        try:
            with session_scope() as db:
                self._reload_docs(db, user)
                self.txn_key = str(self._txn())
            self.found = True
            self._notice()
            if user.role_enum is not Role.ATTORNEY:
                try:
                    with session_scope() as db:
                        self._cond_after_upload(db, user)
                except ChronosError as exc:
                    self.cond_error = exc.message
                try:
                    with session_scope() as db:
                        self._cond_reload(db, user)
                except PermissionDenied:  # e.g. a lender login on this file in another role
                    self.conditions, self.cond_can_manage, self.cond_can_attach = [], False, False
                if self.cond_notice:
                    with session_scope() as db:
                        self._reload_docs(db, user)  # the attached document is now shared
        except NotFound:
            self._forget()
        except ChronosError as exc:
            self._forget()
            self.docs_error = exc.message
        return None

    @rx.event
    def open_preview(self, document_id: int):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(EXTERNAL)
        if user is None:
            self._forget()
            return redirect
        self._close_preview()
        try:
            with session_scope() as db:
                info = documents.preview_info(db, user, int(document_id), width=PREVIEW_WIDTH)
        except ChronosError as exc:
            self.preview_error = exc.message
            self.preview_open = True
            return None
        self.preview_title, self.preview_is_pdf = info.title, info.is_pdf
        self.preview_pages, self.preview_image = info.page_urls, info.image_url
        self.preview_download = info.download_url
        self.preview_open = True
        return None

    @rx.event
    def set_preview_open(self, value: bool) -> None:
        if not value:
            self._close_preview()  # the signed links leave the state with the dialog

    @rx.event
    def dismiss_upload_notice(self) -> None:
        self.upload_saved, self.upload_errors = [], []


# ----------------------------------------------------------------------------- UI


def _doc_icon(name: str) -> rx.Component:
    return rx.icon(name, size=22, flex_shrink="0", color=rx.color("gray", 10))


def _doc_item(d: PortalDoc) -> rx.Component:
    s = PortalDocumentsState
    return rx.flex(
        # Literal icon names only: a Var name pulls in lucide's 56 KB DynamicIcon map.
        rx.cond(d.is_pdf, _doc_icon("file_text"), _doc_icon("image")),
        rx.flex(
            rx.text(d.title, weight="medium", size="2", word_break="break-word"),
            rx.text(
                d.category_label,
                " · ",
                d.date_label,
                rx.cond(
                    d.is_pdf,
                    rx.text.span(
                        " · ",
                        d.page_count.to_string(),
                        rx.cond(d.page_count == 1, " page", " pages"),
                    ),
                ),
                " · ",
                d.size_label,
                size="1",
                color_scheme="gray",
            ),
            direction="column",
            flex="1",
            min_width="0",
        ),
        rx.button(
            rx.icon("eye", size=14),
            "View",
            size="2",
            variant="soft",
            on_click=s.open_preview(d.id),
            aria_label="View " + d.title,
            flex_shrink="0",
        ),
        align="center",
        spacing="3",
        padding_y="10px",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        width="100%",
    )


def _preview_dialog() -> rx.Component:
    s = PortalDocumentsState
    return rx.dialog.root(
        rx.dialog.content(
            rx.flex(
                rx.dialog.title(s.preview_title, margin="0", flex="1", min_width="0"),
                rx.dialog.close(
                    rx.icon_button(
                        rx.icon("x", size=18),
                        variant="ghost",
                        color_scheme="gray",
                        aria_label="Close",
                    )
                ),
                justify="between",
                align="start",
                spacing="2",
            ),
            rx.cond(
                s.preview_error,
                error_callout(s.preview_error),
                rx.flex(
                    rx.cond(
                        s.preview_download,
                        rx.link(
                            rx.button(
                                rx.icon("download", size=14), "Download", variant="soft", size="2"
                            ),
                            href=s.preview_download,
                            is_external=False,
                        ),
                    ),
                    rx.cond(
                        s.preview_is_pdf,
                        rx.flex(
                            rx.foreach(
                                s.preview_pages,
                                lambda url, i: rx.el.img(
                                    src=url,
                                    alt="Page " + (i + 1).to_string(),
                                    loading="lazy",
                                    style={
                                        "width": "100%",
                                        "height": "auto",
                                        "display": "block",
                                        "background": "white",
                                        "border": f"1px solid {rx.color('gray', 5)}",
                                        "borderRadius": "4px",
                                    },
                                ),
                            ),
                            direction="column",
                            spacing="3",
                            width="100%",
                        ),
                        rx.cond(
                            s.preview_image,
                            rx.el.img(
                                src=s.preview_image,
                                alt=s.preview_title,
                                style={"width": "100%", "height": "auto", "display": "block"},
                            ),
                        ),
                    ),
                    direction="column",
                    spacing="3",
                    margin_top="12px",
                ),
            ),
            max_width="900px",
            width="calc(100vw - 16px)",
            padding="12px",
        ),
        open=s.preview_open,
        on_open_change=s.set_preview_open,
    )


def _upload_notice() -> rx.Component:
    s = PortalDocumentsState
    return rx.fragment(
        rx.cond(
            s.upload_saved.length() > 0,
            rx.callout(
                rx.text(
                    "Uploaded: ",
                    rx.foreach(
                        s.upload_saved,
                        lambda t, i: rx.text.span(rx.cond(i > 0, ", ", ""), t),
                    ),
                    ". Your agent can see it.",
                ),
                icon="circle_check",
                color_scheme="grass",
                role="status",
                width="100%",
            ),
        ),
        rx.foreach(s.upload_errors, error_callout),
    )


def _upload_form() -> rx.Component:
    s = PortalDocumentsState
    return rx.box(
        rx.el.details(
            rx.el.summary(
                rx.text("Upload a document or photo", size="2", weight="medium", as_="span"),
                style={"cursor": "pointer", "padding": "8px 0"},
            ),
            native_form(
                rx.flex(
                    *upload_inputs(s.txn_key, multiple=True),
                    field(
                        "Name (optional)",
                        rx.el.input(
                            name="title",
                            max_length=200,
                            placeholder="e.g. Bank statement March",
                            style={
                                "width": "100%",
                                "padding": "8px",
                                "fontSize": "16px",
                                "border": f"1px solid {rx.color('gray', 7)}",
                                "borderRadius": "6px",
                                "background": "transparent",
                                "color": "inherit",
                            },
                        ),
                    ),
                    field(
                        "Kind of document",
                        rx.el.select(
                            *[rx.el.option(label, value=key) for key, label in CATEGORIES.items()],
                            name="category",
                            default_value="other",
                            style={
                                "width": "100%",
                                "padding": "8px",
                                "fontSize": "16px",
                                "borderRadius": "6px",
                                "background": "transparent",
                                "color": "inherit",
                            },
                        ),
                    ),
                    rx.text(
                        "Your agent and the people you share this file with in your role can see what you upload. "
                        "Each file is saved on its own; you'll see which were saved.",
                        size="1",
                        color_scheme="gray",
                    ),
                    rx.button(rx.icon("upload", size=16), "Upload", type="submit", size="3"),
                    direction="column",
                    spacing="3",
                    padding_top="8px",
                ),
                action=upload_action("/portal/", s.txn_key),
                method="post",
                custom_attrs={
                    "enctype": "multipart/form-data",
                    **once_attrs("upload", native=True),
                },
                style={"margin": 0},
            ),
        ),
        width="100%",
    )


def _doc_list(rows: rx.Var, heading: rx.Var | str) -> rx.Component:
    return rx.cond(
        rows.length() > 0,  # type: ignore[attr-defined]
        rx.flex(
            rx.cond(heading, rx.text(heading, size="2", weight="bold", color_scheme="gray")),
            rx.box(rx.foreach(rows, _doc_item), width="100%"),
            direction="column",
            spacing="1",
            width="100%",
        ),
    )


def _documents_card() -> rx.Component:
    s = PortalDocumentsState
    return rx.card(
        rx.flex(
            rx.heading("Documents", size="4", as_="h2"),
            rx.text(
                rx.cond(
                    s.viewer == "attorney",
                    "The documents shared with you; contract and title work first.",
                    "What was shared with you on this transaction, and what you sent.",
                ),
                size="2",
                color_scheme="gray",
            ),
            _upload_notice(),
            rx.cond(s.docs_error, error_callout(s.docs_error)),
            rx.cond(
                s.doc_total == 0,
                rx.text("Nothing shared with you yet.", size="2", color_scheme="gray"),
                rx.flex(
                    _doc_list(s.lead_docs, "Contract and title"),
                    _doc_list(
                        s.other_docs,
                        rx.cond(s.lead_docs.length() > 0, "Other documents", ""),
                    ),
                    rx.cond(
                        s.doc_total > s.lead_docs.length() + s.other_docs.length(),
                        rx.text(
                            "Showing the newest ",
                            PAGE_SIZE,
                            " of ",
                            s.doc_total.to_string(),
                            ". Ask your agent for older ones.",
                            size="1",
                            color_scheme="gray",
                        ),
                    ),
                    direction="column",
                    spacing="3",
                    width="100%",
                ),
            ),
            _upload_form(),
            direction="column",
            spacing="3",
        ),
        _preview_dialog(),
        size="2",
        width="100%",
    )


def _conditions_card() -> rx.Component:
    s = PortalDocumentsState
    return rx.cond(
        s.cond_shown & ((s.viewer == "lender") | (s.conditions.length() > 0)),
        rx.card(
            rx.flex(
                rx.heading("Loan conditions", size="4", as_="h2"),
                rx.text(
                    rx.cond(
                        s.viewer == "lender",
                        "Request what you need; accept, send back or waive what arrives. "
                        "The agent and the client are told.",
                        "What the lender needs from you. Send each requested item here.",
                    ),
                    size="2",
                    color_scheme="gray",
                ),
                condition_board(
                    s,
                    page_prefix="/portal/",
                    empty_text="No conditions yet. Request the first one.",
                    upload_label="Upload",
                ),
                direction="column",
                spacing="3",
            ),
            size="2",
            width="100%",
        ),
    )


def portal_documents() -> rx.Component:
    s = PortalDocumentsState
    return rx.cond(
        s.found,
        rx.flex(
            _conditions_card(), _documents_card(), direction="column", spacing="4", width="100%"
        ),
    )
