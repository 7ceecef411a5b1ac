"""The transaction page's "Required documents" card (brokerage staff only).

Each checklist item with its state (missing, awaiting review, returned with the broker's
note, accepted), the filed document (its pages open in a dialog), an upload form for what is
missing or returned (a native multipart POST to ``/files/upload``, which returns here), the
pre-check's empty signature fields, ad-hoc items, applying a checklist, and — while the file is
open — exactly what stands between it and closing.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from chronos import routes
from chronos.components.layout import api_url
from chronos.components.native_form import native_form
from chronos.components.once import once_attrs, once_input
from chronos.components.timeline import time_ago
from chronos.components.ui import error_callout, field, progress_bar, select_field
from chronos.db import session_scope
from chronos.models import Role
from chronos.services import compliance, documents
from chronos.services.compliance import SlotRow, TemplateSummary
from chronos.services.errors import ChronosError, NotFound, ValidationFailed
from chronos.state.session import SessionState

STAFF = frozenset({Role.ADMIN, Role.AGENT, Role.COORDINATOR})
STATE_COLORS = {
    "missing": "gray",
    "pending": "amber",
    "returned": "red",
    "accepted": "grass",
}


class CompliancePanelState(SessionState):
    rows: list[SlotRow] = []
    missing: list[str] = []
    accepted: int = 0
    required: int = 0
    is_closed: bool = False
    templates: list[TemplateSummary] = []
    can_seed: bool = False
    picked_template: str = ""
    txn_id: int = 0
    upload_action: str = ""
    loaded: bool = False
    error: str = ""
    notice: str = ""
    busy: bool = False
    # add an item
    add_open: bool = False
    add_name: str = ""
    add_category: str = "other"
    add_required: bool = True
    add_errors: dict[str, str] = {}
    # preview
    preview_open: bool = False
    preview_title: str = ""
    preview_pages: list[str] = []
    preview_image: str = ""
    preview_download: str = ""

    def _forget(self) -> None:
        self.rows, self.missing, self.templates = [], [], []
        self.accepted = self.required = self.txn_id = 0
        self.upload_action, self.loaded = "", False
        self.add_open = self.preview_open = False
        self.preview_pages, self.preview_image, self.preview_download = [], "", ""

    def _reload(self, db: Any, user: Any) -> None:
        txn_id = self._int_param("txn_id")
        view = compliance.checklist_view(db, user, txn_id)
        self.txn_id = txn_id
        self.rows, self.missing = view.rows, view.missing
        self.accepted, self.required, self.is_closed = view.accepted, view.required, view.is_closed
        self.templates, self.can_seed = view.templates, view.can_seed
        ids = {str(t.id) for t in view.templates}
        if self.picked_template not in ids:
            self.picked_template = str(view.templates[0].id) if view.templates else ""
        self.upload_action = api_url(f"/files/upload?next={routes.transaction(txn_id)}")
        self.loaded = True

    def _upload_outcome(self) -> None:
        """What the upload the browser just came back from did to this list."""
        token = self._param("upload") or str(
            self.router.url.query_parameters.get("upload", "") or ""
        )
        notice = documents.decode_notice(token) if token else None
        if not notice or notice.get("origin") != "compliance":
            return  # another panel's upload form sent it
        by_doc = {r.document_id: r for r in self.rows if r.document_id}
        filed = [
            f"“{s.get('title', '')}” filed as {by_doc[s['id']].name}"
            for s in notice.get("saved", [])
            if isinstance(s, dict) and s.get("id") in by_doc
        ]
        if filed:
            self.notice = "; ".join(filed) + ". It now awaits the broker's review."
            self.notice += "".join(f" {n}" for n in documents.upload_notes(notice))
        errors = [str(e) for e in notice.get("errors", []) if e]
        if errors:
            self.error = " ".join(errors)

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        user = self._actor()
        self.error, self.notice = "", ""
        if user is None or user.role_enum not in STAFF:
            self._forget()
            return None  # the page's own loader redirects
        try:
            with session_scope() as db:
                self._reload(db, user)
            self._upload_outcome()
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
        self.busy = True
        try:
            with session_scope() as db:
                result = action(db, user)
            with session_scope() as db:
                self._reload(db, user)
            self.error = ""
            self.notice = notice.format(result=result) if notice else ""
        except ChronosError as exc:
            self.error, self.notice = exc.message, ""
        self.busy = False
        # Imported here: the transaction page imports this panel.
        from chronos.pages.transaction import TransactionState

        return TransactionState.reload_events

    @rx.event
    def set_picked_template(self, value: str) -> None:
        self.picked_template = value

    @rx.event
    def apply_template(self):  # type: ignore[no-untyped-def]
        if not self.picked_template:
            self.error = "Choose a checklist to apply."
            return None
        template_id = int(self.picked_template)
        return self._act(
            lambda db, user: compliance.apply_template(db, user, self.txn_id, template_id),
            "Checklist applied: {result} documents added.",
        )

    @rx.event
    def use_starter_lists(self):  # type: ignore[no-untyped-def]
        """No checklists in the brokerage yet: add the starter set to pick from."""
        return self._act(
            lambda db, user: len(compliance.templates_for_apply(db, user, self.txn_id)),
            "The starter checklists are ready: pick one and apply it.",
        )

    @rx.event
    def remove_slot(self, slot_id: int):  # type: ignore[no-untyped-def]
        return self._act(
            lambda db, user: compliance.remove_slot(db, user, self.txn_id, int(slot_id)),
            "Removed from the list. Its documents stay on the file.",
        )

    # -- add an item

    @rx.event
    def open_add(self) -> None:
        self.add_name, self.add_category, self.add_required = "", "other", True
        self.add_errors, self.add_open = {}, True

    @rx.event
    def set_add_open(self, value: bool) -> None:
        self.add_open = bool(value)

    @rx.event
    def set_add_name(self, value: str) -> None:
        self.add_name = value

    @rx.event
    def set_add_category(self, value: str) -> None:
        self.add_category = value

    @rx.event
    def set_add_required(self, value: bool) -> None:
        self.add_required = bool(value)

    @rx.event
    def add_slot(self, form_data: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(STAFF)
        if user is None:
            self._forget()
            return redirect
        try:
            with session_scope() as db:
                slot = compliance.add_slot(
                    db,
                    user,
                    self.txn_id,
                    self.add_name,
                    category=self.add_category,
                    required=self.add_required,
                )
                name = slot.name
            with session_scope() as db:
                self._reload(db, user)
        except ValidationFailed as exc:
            self.add_errors = dict(exc.errors)
            return None
        except ChronosError as exc:
            self.add_errors = {"name": exc.message}
            return None
        self.add_open, self.error, self.notice = False, "", f"Added “{name}” to the list."
        from chronos.pages.transaction import TransactionState

        return TransactionState.reload_events

    # -- preview

    @rx.event
    def open_preview(self, document_id: int, version_id: int):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(STAFF)
        if user is None:
            self._forget()
            return redirect
        try:
            with session_scope() as db:
                info = documents.preview_info(
                    db, user, int(document_id), version_id=int(version_id)
                )
        except ChronosError as exc:
            self.error = exc.message
            return None
        self.preview_title = f"{info.title} · {info.filename}"
        self.preview_pages = [api_url(u) for u in info.page_urls]
        self.preview_image = api_url(info.image_url) if info.image_url else ""
        self.preview_download = api_url(info.download_url)
        self.preview_open = True
        return None

    @rx.event
    def set_preview_open(self, value: bool) -> None:
        self.preview_open = bool(value)
        if not value:
            self.preview_pages, self.preview_image = [], ""


def state_badge(state: Any, label: Any) -> rx.Component:
    return rx.match(
        state,
        *[
            (key, rx.badge(label, color_scheme=color, variant="soft", size="2"))  # type: ignore[arg-type]
            for key, color in STATE_COLORS.items()
        ],
        rx.badge(label, variant="soft", size="2"),
    )


def precheck_warning(precheck: Any) -> rx.Component:
    return rx.cond(
        precheck != "",
        rx.flex(
            rx.icon("pen_line", size=14, color=rx.color("orange", 10), flex_shrink="0"),
            rx.text("Empty signature fields: ", precheck, size="1", color_scheme="orange"),
            spacing="1",
            align="center",
        ),
    )


def preview_dialog(s: Any, *actions: rx.Component) -> rx.Component:
    """Page images of a PDF (or the photo), loaded lazily, with a download link (and the
    caller's ``actions``)."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.flex(
                rx.dialog.title(s.preview_title, size="3", margin="0"),
                rx.dialog.close(
                    rx.icon_button(
                        rx.icon("x", size=16),
                        variant="ghost",
                        color_scheme="gray",
                        aria_label="Close",
                    )
                ),
                justify="between",
                align="center",
                spacing="2",
            ),
            rx.flex(
                rx.link("Download", href=s.preview_download, size="2", is_external=True),
                *actions,
                justify="between",
                align="center",
                wrap="wrap",
                spacing="2",
                margin_top="8px",
            ),
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
                            "border": "1px solid var(--gray-6)",
                            "background": "white",
                        },
                    ),
                ),
                rx.cond(
                    s.preview_image != "",
                    rx.el.img(src=s.preview_image, alt=s.preview_title, style={"width": "100%"}),
                ),
                direction="column",
                spacing="3",
                margin_top="12px",
            ),
            max_width="900px",
            width="96vw",
        ),
        open=s.preview_open,
        on_open_change=s.set_preview_open,
    )


def _upload_form(r: SlotRow) -> rx.Component:
    s = CompliancePanelState
    return native_form(
        rx.el.input(type="hidden", name="transaction_id", value=s.txn_id),
        rx.el.input(type="hidden", name="origin", value="compliance"),
        rx.el.input(type="hidden", name="slot_id", value=r.id),
        # A returned document gets a new version (and goes back to review).
        rx.el.input(type="hidden", name="document_id", value=r.document_id),
        rx.el.input(type="hidden", name="title", value=r.name),
        once_input(),
        rx.flex(
            rx.el.input(
                type="file",
                name="file",
                accept=".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png",
                required=True,
                aria_label=rx.cond(
                    r.state == "returned", "Corrected file for " + r.name, "File for " + r.name
                ),
                style={"fontSize": "13px", "maxWidth": "100%", "minWidth": "0"},
            ),
            rx.button(
                rx.icon("upload", size=14),
                rx.cond(r.state == "returned", "Upload corrected file", "Upload"),
                type="submit",
                size="1",
                variant="soft",
            ),
            spacing="2",
            align="center",
            wrap="wrap",
        ),
        action=s.upload_action,
        method="post",
        custom_attrs={"encType": "multipart/form-data", **once_attrs("upload", native=True)},
        style={"margin": 0},
    )


def _remove_button(r: SlotRow) -> rx.Component:
    s = CompliancePanelState
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(
            rx.icon_button(
                rx.icon("trash_2", size=14),
                variant="ghost",
                color_scheme="gray",
                size="1",
                aria_label="Remove " + r.name + " from the list",
            )
        ),
        rx.alert_dialog.content(
            rx.alert_dialog.title("Remove “", r.name, "” from this file's list?"),
            rx.alert_dialog.description(
                "Documents filed in it stay on the file, off the checklist."
            ),
            rx.flex(
                rx.alert_dialog.cancel(rx.button("Keep it", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button("Remove", color_scheme="red", on_click=s.remove_slot(r.id))
                ),
                spacing="3",
                justify="end",
                margin_top="16px",
            ),
        ),
    )


def _slot_row(r: SlotRow) -> rx.Component:
    s = CompliancePanelState
    return rx.box(
        rx.flex(
            rx.flex(
                rx.text(r.name, weight="medium", size="2"),
                rx.cond(~r.required, rx.badge("Optional", variant="outline", color_scheme="gray")),
                spacing="2",
                align="center",
                wrap="wrap",
            ),
            rx.flex(
                state_badge(r.state, r.state_label),
                _remove_button(r),
                spacing="2",
                align="center",
                flex_shrink="0",
            ),
            justify="between",
            align="center",
            spacing="2",
        ),
        rx.cond(
            r.document_id != 0,
            rx.flex(
                rx.link(
                    rx.icon("file_text", size=14),
                    r.document_title,
                    " (v",
                    r.version.to_string(),
                    ")",
                    href="#",
                    on_click=s.open_preview(r.document_id, r.version_id).prevent_default,
                    size="2",
                    display="inline-flex",
                    align_items="center",
                    gap="4px",
                ),
                rx.text(
                    "by ",
                    r.uploaded_by,
                    " · ",
                    time_ago(r.updated_at),
                    size="1",
                    color_scheme="gray",
                ),
                spacing="2",
                align="center",
                wrap="wrap",
                margin_top="4px",
            ),
        ),
        rx.cond(
            r.note != "",
            rx.callout(
                rx.text(rx.text.strong("Returned: "), r.note, white_space="pre-line", as_="span"),
                icon="undo_2",
                color_scheme="red",
                size="1",
                margin_top="6px",
            ),
        ),
        rx.box(precheck_warning(r.precheck), margin_top="4px"),
        rx.cond(
            (r.state == "missing") | (r.state == "returned"),
            rx.box(_upload_form(r), margin_top="6px"),
        ),
        padding_y="10px",
        border_top=f"1px solid {rx.color('gray', 4)}",
        width="100%",
        data_slot=r.key,
    )


def _add_dialog() -> rx.Component:
    s = CompliancePanelState
    return rx.dialog.root(
        rx.dialog.trigger(
            rx.button(rx.icon("plus", size=14), "Add item", variant="soft", size="1")
        ),
        rx.dialog.content(
            rx.dialog.title("Add a required document"),
            rx.form(
                rx.flex(
                    field(
                        "Document",
                        rx.input(
                            value=s.add_name,
                            on_change=s.set_add_name,
                            placeholder="Well water test",
                            aria_label="Document name",
                        ),
                        s.add_errors.get("name", ""),
                    ),
                    field(
                        "Category",
                        select_field(
                            s.add_category, s.set_add_category, documents.CATEGORIES, "Category"
                        ),
                        s.add_errors.get("category", ""),
                    ),
                    rx.el.label(
                        rx.flex(
                            rx.switch(checked=s.add_required, on_change=s.set_add_required),
                            rx.text("Required before closing", size="2"),
                            spacing="2",
                            align="center",
                        )
                    ),
                    rx.flex(
                        rx.dialog.close(
                            rx.button("Cancel", variant="soft", color_scheme="gray", type="button")
                        ),
                        rx.button("Add", type="submit"),
                        spacing="2",
                        justify="end",
                    ),
                    direction="column",
                    spacing="3",
                ),
                on_submit=s.add_slot,
                reset_on_submit=False,
            ),
        ),
        open=s.add_open,
        on_open_change=s.set_add_open,
    )


def _apply_controls() -> rx.Component:
    s = CompliancePanelState
    return rx.cond(
        s.templates.length() > 0,
        rx.flex(
            rx.select.root(
                rx.select.trigger(aria_label="Checklist to apply", placeholder="Checklist"),
                rx.select.content(
                    rx.foreach(
                        s.templates,
                        lambda t: rx.select.item(
                            t.name + " (" + t.side_label + ")", value=t.id.to_string()
                        ),
                    )
                ),
                value=s.picked_template,
                on_change=s.set_picked_template,
                size="1",
            ),
            rx.button(
                "Apply checklist",
                size="1",
                variant="soft",
                on_click=s.apply_template,
                disabled=s.busy,
            ),
            spacing="2",
            align="center",
        ),
        rx.cond(
            s.can_seed,
            rx.button(
                "Set up checklists",
                size="1",
                variant="soft",
                on_click=s.use_starter_lists,
                disabled=s.busy,
            ),
            rx.text(
                "No checklist is switched on: an admin turns them on under Admin → "
                "Required documents.",
                size="1",
                color_scheme="gray",
            ),
        ),
    )


def compliance_panel() -> rx.Component:
    s = CompliancePanelState
    return rx.cond(
        s.loaded,
        rx.card(
            rx.flex(
                rx.flex(
                    rx.box(
                        rx.heading("Required documents", size="4", as_="h2"),
                        rx.cond(
                            s.required > 0,
                            rx.text(
                                s.accepted.to_string(),
                                " of ",
                                s.required.to_string(),
                                " required accepted",
                                size="2",
                                color_scheme="gray",
                            ),
                        ),
                    ),
                    rx.flex(_add_dialog(), spacing="2", align="center"),
                    justify="between",
                    align="center",
                    wrap="wrap",
                    spacing="2",
                ),
                rx.cond(
                    s.required > 0,
                    progress_bar(
                        (s.accepted * 100 / s.required).to(int),
                        "Required documents accepted",
                        s.accepted.to_string() + " of " + s.required.to_string() + " accepted",
                    ),
                ),
                rx.cond(s.error, error_callout(s.error)),
                rx.cond(
                    s.notice,
                    rx.callout(s.notice, icon="check", color_scheme="grass", role="status"),
                ),
                rx.cond(
                    ~s.is_closed & (s.missing.length() > 0),
                    rx.callout.root(
                        rx.callout.icon(rx.icon("lock")),
                        rx.box(
                            rx.text(
                                rx.text.strong("Before closing: "),
                                "these must be accepted.",
                                size="2",
                            ),
                            rx.el.ul(
                                rx.foreach(s.missing, lambda m: rx.el.li(rx.text(m, size="2"))),
                                style={"margin": "4px 0 0 18px", "padding": 0},
                            ),
                        ),
                        color_scheme="amber",
                        size="1",
                        id="closing-blockers",
                        role="status",
                    ),
                ),
                rx.cond(
                    s.rows.length() == 0,
                    rx.flex(
                        rx.text(
                            "No required documents on this file yet. Apply a checklist, or add "
                            "items one by one.",
                            size="2",
                            color_scheme="gray",
                        ),
                        _apply_controls(),
                        direction="column",
                        spacing="2",
                    ),
                    rx.box(
                        rx.foreach(s.rows, _slot_row),
                        rx.flex(_apply_controls(), justify="end", padding_top="8px"),
                        width="100%",
                    ),
                ),
                direction="column",
                spacing="3",
            ),
            preview_dialog(s),
            width="100%",
            id="required-documents",
        ),
    )
