"""The transaction page's documents panel (staff).

Lists the file's documents (search by title, file name and PDF text; filter by category),
uploads through the native form to ``/files/upload`` and shows what came of it, previews a
document in the app (PDF pages as images), lists its versions, edits its name, category,
sharing and checklist item, uploads a new version, downloads through a fresh signed link and
deletes. Every action goes through ``services.documents`` with the acting user.
"""

from __future__ import annotations

import json
from typing import Any

import reflex as rx

from chronos.components.documents import (
    doc_icon,
    meta_line,
    preview_pages,
    review_badge,
    upload_form,
    upload_outcome,
)
from chronos.components.layout import api_url
from chronos.components.ui import action_menu, danger_item, error_callout, field
from chronos.db import session_scope
from chronos.models import Role
from chronos.services import documents
from chronos.services.documents import DocumentRow, SlotOption, VersionRow
from chronos.services.errors import ChronosError, NotFound, ValidationFailed
from chronos.state.session import SessionState

STAFF = frozenset({Role.ADMIN, Role.AGENT, Role.COORDINATOR})
PAGE_SIZE = 25
ALL = "all"
NO_SLOT = "none"


class DocumentsPanelState(SessionState):
    rows: list[DocumentRow] = []
    total: int = 0
    page: int = 1
    more: bool = False
    q: str = ""
    category: str = ALL
    slots: list[SlotOption] = []
    upload_action: str = ""
    txn_id: int = 0
    upload_open: bool = False
    saved: list[str] = []
    upload_errors: list[str] = []
    error: str = ""
    notice: str = ""
    # preview
    preview_open: bool = False
    preview_title: str = ""
    preview_pages: list[str] = []
    preview_image: str = ""
    preview_doc_id: int = 0
    preview_version_id: int = 0
    versions: list[VersionRow] = []
    # edit
    edit_open: bool = False
    edit_id: int = 0
    edit_title: str = ""
    edit_category: str = "other"
    edit_slot: str = NO_SLOT
    edit_client: bool = False
    edit_attorney: bool = False
    edit_lender: bool = False
    edit_errors: dict[str, str] = {}
    # new version / delete
    version_open: bool = False
    version_doc_id: int = 0
    version_title: str = ""
    delete_open: bool = False
    delete_id: int = 0
    delete_title: str = ""

    def _txn(self) -> int:
        return self._int_param("txn_id")

    def _forget(self) -> None:
        self.rows, self.slots, self.versions = [], [], []
        self.total, self.more, self.txn_id = 0, False, 0
        self.preview_open = self.edit_open = self.version_open = self.delete_open = False
        self.preview_pages, self.preview_image = [], ""
        self.saved, self.upload_errors = [], []

    def _reload(self, db: Any, user: Any) -> None:
        txn_id = self._txn()
        page = documents.list_documents(
            db,
            user,
            txn_id,
            q=self.q,
            category="" if self.category == ALL else self.category,
            page=1,
            page_size=PAGE_SIZE * self.page,
        )
        self.rows, self.total = page.items, page.total
        self.more = page.total > len(page.items)
        self.slots = documents.slot_options(db, user, txn_id)
        self.txn_id = txn_id
        self.upload_action = api_url(f"/files/upload?next=/transactions/{txn_id}")

    def _read_outcome(self) -> None:
        token = str(self.router.url.query_parameters.get("upload", ""))
        notice = documents.decode_notice(token) if token else None
        if notice is None or notice.get("origin", "documents") != "documents":
            self.saved, self.upload_errors = [], []
            return
        self.saved = documents.saved_lines(notice)
        self.upload_errors = [str(e) for e in notice.get("errors", [])][:20]

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        user = self._actor()
        if user is None or user.role_enum not in STAFF:
            self._forget()
            return None  # the page's own loader redirects
        self.page, self.q, self.category, self.notice = 1, "", ALL, ""
        try:
            with session_scope() as db:
                self._reload(db, user)
            self._read_outcome()
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
            return None
        from chronos.pages.transaction import TransactionState

        return TransactionState.reload_events

    def _refresh(self):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(STAFF)
        if user is None:
            self._forget()
            return redirect
        try:
            with session_scope() as db:
                self._reload(db, user)
            self.error = ""
        except ChronosError as exc:
            self.error = exc.message
        return None

    @rx.event
    def search(self, form: dict[str, Any]):  # type: ignore[no-untyped-def]
        self.q = str(form.get("q", ""))[:100]
        self.page = 1
        return self._refresh()

    @rx.event
    def set_category(self, value: str | list[str]):  # type: ignore[no-untyped-def]
        value = value if isinstance(value, str) else ALL
        self.category = value if value in documents.CATEGORIES or value == ALL else ALL
        self.page = 1
        return self._refresh()

    @rx.event
    def show_more(self):  # type: ignore[no-untyped-def]
        self.page += 1
        return self._refresh()

    @rx.event
    def set_upload_open(self, value: bool):  # type: ignore[no-untyped-def]
        self.upload_open = bool(value)

    @rx.event
    def dismiss_outcome(self):  # type: ignore[no-untyped-def]
        self.saved, self.upload_errors = [], []

    # --- preview and versions -----------------------------------------------------------

    @rx.event
    def open_preview(self, document_id: int, version_id: int = 0):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(STAFF)
        if user is None:
            self._forget()
            return redirect
        try:
            with session_scope() as db:
                info = documents.preview_info(
                    db, user, int(document_id), version_id=int(version_id)
                )
                self.versions = documents.list_versions(db, user, int(document_id))
        except ChronosError as exc:
            self.error = exc.message
            return None
        self.preview_title = info.title
        self.preview_pages = [api_url(u) for u in info.page_urls]
        self.preview_image = api_url(info.image_url) if info.image_url else ""
        self.preview_doc_id, self.preview_version_id = info.document_id, info.version_id
        self.preview_open = True
        return None

    @rx.event
    def set_preview_open(self, value: bool):  # type: ignore[no-untyped-def]
        self.preview_open = bool(value)
        if not value:
            self.preview_pages, self.preview_image = [], ""

    @rx.event
    def download(self, document_id: int, version_id: int = 0):  # type: ignore[no-untyped-def]
        """A fresh signed link, opened by the browser (works the same on S3: a redirect)."""
        user, redirect = self._gate(STAFF)
        if user is None:
            self._forget()
            return redirect
        try:
            with session_scope() as db:
                doc = documents.get_document(db, user, int(document_id))
                if version_id:
                    d2, version = documents.get_version(db, user, int(version_id))
                    if d2.id != doc.id:
                        raise NotFound("Document not found.")
                else:
                    version = documents.current_version(db, doc)
        except ChronosError as exc:
            self.error = exc.message
            return None
        url = api_url(documents.file_link(user.id or 0, version.id or 0, inline=False))
        return rx.call_script(f"window.location.assign({json.dumps(url)})")

    # --- edit ---------------------------------------------------------------------------

    @rx.event
    def open_edit(self, document_id: int):  # type: ignore[no-untyped-def]
        row = next((r for r in self.rows if r.id == int(document_id)), None)
        if row is None:
            return None
        self.edit_id, self.edit_title, self.edit_category = row.id, row.title, row.category
        self.edit_slot = str(row.slot_id) if row.slot_id else NO_SLOT
        self.edit_client = row.share_client
        self.edit_attorney = row.share_attorney
        self.edit_lender = row.share_lender
        self.edit_errors = {}
        self.edit_open = True
        return None

    @rx.event
    def set_edit_open(self, value: bool):  # type: ignore[no-untyped-def]
        self.edit_open = bool(value)

    @rx.event
    def set_edit(self, name: str, value: Any):  # type: ignore[no-untyped-def]
        if name in {"edit_title", "edit_category", "edit_slot"}:
            setattr(self, name, str(value)[:200])
        elif name in {"edit_client", "edit_attorney", "edit_lender"}:
            setattr(self, name, bool(value))

    @rx.event
    def save_edit(self):  # type: ignore[no-untyped-def]
        doc_id = self.edit_id
        share = documents.Share(self.edit_client, self.edit_attorney, self.edit_lender)
        slot: int | None = None if self.edit_slot == NO_SLOT else int(self.edit_slot or 0) or None

        def action(db: Any, user: Any) -> None:
            documents.update_document(
                db,
                user,
                doc_id,
                title=self.edit_title,
                category=self.edit_category,
                share=share,
                slot_id=slot,
            )

        user, redirect = self._gate(STAFF)
        if user is None:
            self._forget()
            return redirect
        try:
            with session_scope() as db:
                action(db, user)
        except ValidationFailed as exc:
            self.edit_errors = exc.errors
            return None
        except ChronosError as exc:
            self.edit_errors = {"form": exc.message}
            return None
        self.edit_open = False
        return self._act(lambda db, user: None, "Saved.")

    # --- new version, delete ------------------------------------------------------------

    @rx.event
    def open_version(self, document_id: int):  # type: ignore[no-untyped-def]
        row = next((r for r in self.rows if r.id == int(document_id)), None)
        if row is None:
            return None
        self.version_doc_id, self.version_title = row.id, row.title
        self.version_open = True
        return None

    @rx.event
    def set_version_open(self, value: bool):  # type: ignore[no-untyped-def]
        self.version_open = bool(value)

    @rx.event
    def ask_delete(self, document_id: int):  # type: ignore[no-untyped-def]
        row = next((r for r in self.rows if r.id == int(document_id)), None)
        if row is None:
            return None
        self.delete_id, self.delete_title = row.id, row.title
        self.delete_open = True
        return None

    @rx.event
    def set_delete_open(self, value: bool):  # type: ignore[no-untyped-def]
        self.delete_open = bool(value)

    @rx.event
    def confirm_delete(self):  # type: ignore[no-untyped-def]
        doc_id, title = self.delete_id, self.delete_title
        self.delete_open = False
        return self._act(
            lambda db, user: documents.delete_document(db, user, doc_id), f"Deleted “{title}”."
        )


# --- view -------------------------------------------------------------------------------


def _row(r: DocumentRow) -> rx.Component:
    s = DocumentsPanelState
    return rx.flex(
        doc_icon(r.is_pdf),
        rx.box(
            rx.el.button(
                rx.text(r.title, weight="medium", color=rx.color("accent", 11)),
                on_click=s.open_preview(r.id, 0),
                aria_label="Preview " + r.title,
                style={
                    "background": "none",
                    "border": "none",
                    "padding": 0,
                    "cursor": "pointer",
                    "textAlign": "left",
                    "font": "inherit",
                },
            ),
            meta_line(
                r.category_label,
                " · v",
                r.version,
                rx.cond(r.is_pdf, rx.text.span(" · ", r.page_count, " p."), ""),
                " · ",
                r.size_label,
                " · ",
                r.uploaded_by,
            ),
            rx.flex(
                rx.badge(
                    rx.cond(
                        r.sharing == "Internal", rx.icon("lock", size=12), rx.icon("users", size=12)
                    ),
                    r.sharing,
                    variant="surface",
                    color_scheme="gray",
                ),
                rx.cond(
                    r.slot_name != "", rx.badge(r.slot_name, variant="soft", color_scheme="indigo")
                ),
                review_badge(r.review_status, r.review_label),
                rx.cond(
                    r.precheck != "",
                    rx.tooltip(
                        rx.badge(
                            rx.icon("pen_off", size=12),
                            "Empty signature fields",
                            color_scheme="orange",
                            variant="soft",
                        ),
                        content="Empty: " + r.precheck,
                    ),
                ),
                rx.cond(
                    r.active_content_note != "",
                    rx.tooltip(
                        rx.badge("Active content removed", color_scheme="orange", variant="soft"),
                        content=r.active_content_note,
                    ),
                ),
                spacing="1",
                wrap="wrap",
                margin_top="4px",
            ),
            rx.cond(
                (r.review_status == "returned") & (r.review_note != ""),
                rx.text(
                    "Returned: ", r.review_note, size="1", color_scheme="red", margin_top="2px"
                ),
            ),
            flex="1",
            min_width="0",
        ),
        action_menu(
            rx.icon_button(
                rx.icon("ellipsis_vertical", size=16),
                variant="ghost",
                color_scheme="gray",
                aria_label="Actions for " + r.title,
            ),
            rx.dropdown_menu.item("Preview", on_click=s.open_preview(r.id, 0)),
            rx.dropdown_menu.item("Download", on_click=s.download(r.id, 0)),
            rx.dropdown_menu.item("Upload a new version", on_click=s.open_version(r.id)),
            rx.dropdown_menu.item("Edit name, sharing…", on_click=s.open_edit(r.id)),
            rx.dropdown_menu.separator(),
            danger_item("Delete", on_click=s.ask_delete(r.id)),
        ),
        spacing="3",
        align="start",
        padding_y="10px",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        width="100%",
    )


def _preview_dialog() -> rx.Component:
    s = DocumentsPanelState
    return rx.dialog.root(
        rx.dialog.content(
            rx.flex(
                rx.dialog.title(s.preview_title, margin="0", flex="1", min_width="0"),
                rx.button(
                    rx.icon("download", size=16),
                    "Download",
                    variant="soft",
                    on_click=s.download(s.preview_doc_id, s.preview_version_id),
                ),
                rx.dialog.close(
                    rx.icon_button(rx.icon("x", size=18), variant="ghost", aria_label="Close")
                ),
                align="center",
                spacing="2",
                margin_bottom="12px",
            ),
            rx.cond(
                s.versions.length() > 1,
                rx.flex(
                    rx.text("Versions:", size="1", color_scheme="gray"),
                    rx.foreach(
                        s.versions,
                        lambda v: rx.button(
                            "v",
                            v.version,
                            size="1",
                            variant=rx.cond(v.id == s.preview_version_id, "solid", "soft"),
                            on_click=s.open_preview(s.preview_doc_id, v.id),
                            title=v.filename + " · " + v.uploaded_by + " · " + v.created_at,
                        ),
                    ),
                    spacing="1",
                    align="center",
                    wrap="wrap",
                    margin_bottom="8px",
                ),
            ),
            preview_pages(s.preview_pages, s.preview_image, s.preview_title),
            max_width="900px",
            width="100%",
            max_height="92vh",
            overflow_y="auto",
            padding=rx.breakpoints(initial="12px", sm="24px"),
        ),
        open=s.preview_open,
        on_open_change=s.set_preview_open,
    )


def _edit_dialog() -> rx.Component:
    s = DocumentsPanelState
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Edit document"),
            rx.flex(
                rx.cond(s.edit_errors.contains("form"), error_callout(s.edit_errors["form"])),
                field(
                    "Name",
                    rx.input(
                        value=s.edit_title,
                        on_change=lambda v: s.set_edit("edit_title", v),
                        max_length=200,
                    ),
                    s.edit_errors.get("title", ""),
                ),
                field(
                    "Category",
                    rx.select.root(
                        rx.select.trigger(width="100%"),
                        rx.select.content(
                            *[
                                rx.select.item(label, value=key)
                                for key, label in documents.CATEGORIES.items()
                            ]
                        ),
                        value=s.edit_category,
                        on_change=lambda v: s.set_edit("edit_category", v),
                    ),
                    s.edit_errors.get("category", ""),
                ),
                rx.cond(
                    s.slots.length() > 0,
                    field(
                        "Required document it fills",
                        rx.select.root(
                            rx.select.trigger(width="100%"),
                            rx.select.content(
                                rx.select.item("None", value=NO_SLOT),
                                rx.foreach(
                                    s.slots,
                                    lambda o: rx.select.item(o.name, value=o.id.to_string()),
                                ),
                            ),
                            value=s.edit_slot,
                            on_change=lambda v: s.set_edit("edit_slot", v),
                        ),
                        s.edit_errors.get("slot", ""),
                    ),
                ),
                rx.el.fieldset(
                    rx.el.legend(
                        rx.text("Who outside the brokerage sees it", size="2", weight="medium")
                    ),
                    rx.flex(
                        rx.checkbox(
                            "Client",
                            checked=s.edit_client,
                            on_change=lambda v: s.set_edit("edit_client", v),
                        ),
                        rx.checkbox(
                            "Attorney",
                            checked=s.edit_attorney,
                            on_change=lambda v: s.set_edit("edit_attorney", v),
                        ),
                        rx.checkbox(
                            "Lender",
                            checked=s.edit_lender,
                            on_change=lambda v: s.set_edit("edit_lender", v),
                        ),
                        spacing="4",
                        wrap="wrap",
                    ),
                    rx.text(
                        "None ticked: internal to the brokerage.", size="1", color_scheme="gray"
                    ),
                    style={"border": "none", "padding": 0, "margin": 0},
                ),
                rx.flex(
                    rx.dialog.close(
                        rx.button("Cancel", variant="soft", color_scheme="gray", size="3")
                    ),
                    rx.button("Save", size="3", on_click=s.save_edit),
                    justify="end",
                    spacing="3",
                ),
                direction="column",
                spacing="3",
            ),
            max_width="480px",
        ),
        open=s.edit_open,
        on_open_change=s.set_edit_open,
    )


def _version_dialog() -> rx.Component:
    s = DocumentsPanelState
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("New version of “", s.version_title, "”"),
            rx.dialog.description(
                "The current file stays available as an earlier version.",
                size="2",
                margin_bottom="12px",
            ),
            upload_form(
                s.upload_action,
                s.txn_id,
                document_id=s.version_doc_id,
                submit_label="Upload version",
                hint="One PDF or photo, up to 25 MB.",
            ),
            max_width="480px",
        ),
        open=s.version_open,
        on_open_change=s.set_version_open,
    )


def _delete_dialog() -> rx.Component:
    s = DocumentsPanelState
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Delete “", s.delete_title, "”?"),
            rx.alert_dialog.description(
                "Every version of this document is removed for everyone on the file. This cannot be undone."
            ),
            rx.flex(
                rx.alert_dialog.cancel(rx.button("Keep it", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button("Delete", color_scheme="red", on_click=s.confirm_delete)
                ),
                justify="end",
                spacing="3",
                margin_top="16px",
            ),
        ),
        open=s.delete_open,
        on_open_change=s.set_delete_open,
    )


def documents_panel() -> rx.Component:
    s = DocumentsPanelState
    return rx.card(
        rx.flex(
            rx.heading("Documents", size="4", as_="h2"),
            rx.badge(s.total, variant="soft", color_scheme="gray"),
            rx.spacer(),
            rx.button(
                # Two literal icons, not rx.icon(<a Var>): a Var name makes Reflex ship lucide's
                # DynamicIcon, a 56 KB map of every icon (bench/PAGEWEIGHT.md, "dot-*.js").
                rx.cond(s.upload_open, rx.icon("chevron_up", size=16), rx.icon("upload", size=16)),
                "Upload",
                variant=rx.cond(s.upload_open, "soft", "solid"),
                on_click=s.set_upload_open(~s.upload_open),
                aria_expanded=s.upload_open,
            ),
            align="center",
            spacing="2",
            margin_bottom="8px",
        ),
        rx.cond(s.error, error_callout(s.error)),
        rx.cond(s.notice, rx.text(s.notice, size="2", color_scheme="grass", role="status")),
        upload_outcome(s.saved, s.upload_errors),
        rx.cond(
            s.upload_open,
            rx.box(
                upload_form(
                    s.upload_action,
                    s.txn_id,
                    categories=documents.CATEGORIES,
                    slots=s.slots,
                    sharing=True,
                ),
                padding="12px",
                border=f"1px dashed {rx.color('gray', 7)}",
                border_radius="8px",
                margin_y="8px",
            ),
        ),
        rx.flex(
            rx.form(
                rx.input(
                    name="q",
                    placeholder="Search names and text…",
                    default_value=s.q,
                    type="search",
                    aria_label="Search documents",
                    width="100%",
                ),
                on_submit=s.search,
                flex="1",
                min_width="10rem",
            ),
            rx.select.root(
                rx.select.trigger(aria_label="Category"),
                rx.select.content(
                    rx.select.item("All categories", value=ALL),
                    *[
                        rx.select.item(label, value=key)
                        for key, label in documents.CATEGORIES.items()
                    ],
                ),
                value=s.category,
                on_change=s.set_category,
            ),
            spacing="2",
            wrap="wrap",
            margin_y="8px",
        ),
        rx.cond(
            s.rows.length() > 0,
            rx.flex(rx.foreach(s.rows, _row), direction="column"),
            rx.text(
                rx.cond(
                    (s.q != "") | (s.category != ALL),
                    "No document matches.",
                    "No documents yet. Upload the contract, disclosures and reports here.",
                ),
                color_scheme="gray",
                size="2",
                padding_y="12px",
            ),
        ),
        rx.cond(
            s.more,
            rx.button(
                "Show more", variant="soft", on_click=s.show_more, margin_top="8px", width="100%"
            ),
        ),
        _preview_dialog(),
        _edit_dialog(),
        _version_dialog(),
        _delete_dialog(),
        id="documents",
    )
