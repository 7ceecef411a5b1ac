"""Document review: the broker's queue of checklist documents across the brokerage (admins).

Pending documents oldest first, each with its file, checklist item, uploader, the pre-check's
empty signature fields and its pages in a dialog; accept, or return with a note (required).
The version the admin looked at travels with the decision, so a newer upload in the meantime
is refused instead of being accepted unseen.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from chronos import routes
from chronos.components.layout import api_url, app_shell
from chronos.components.timeline import time_ago
from chronos.components.ui import empty_state, error_callout, loading_block, page_header, pager
from chronos.db import session_scope
from chronos.models import Role
from chronos.pages.registry import page
from chronos.pages.transaction_compliance import precheck_warning, preview_dialog
from chronos.services import compliance, documents
from chronos.services.compliance import ReviewRow
from chronos.services.errors import ChronosError, ValidationFailed
from chronos.state.session import SessionState

ADMIN = frozenset({Role.ADMIN})
FILTERS = {"pending": "Pending", "returned": "Returned", "accepted": "Accepted"}


class ReviewState(SessionState):
    rows: list[ReviewRow] = []
    status: str = "pending"
    q: str = ""
    page: int = 1
    pages: int = 1
    total: int = 0
    pending_total: int = 0
    loading: bool = True
    error: str = ""
    notice: str = ""
    busy: bool = False
    # return dialog
    return_open: bool = False
    return_id: int = 0
    return_version: int = 0
    return_title: str = ""
    return_note: str = ""
    return_error: str = ""
    # preview
    preview_open: bool = False
    preview_title: str = ""
    preview_pages: list[str] = []
    preview_image: str = ""
    preview_download: str = ""
    preview_id: int = 0
    preview_version: int = 0

    def _forget(self) -> None:
        self.rows, self.total, self.pending_total = [], 0, 0
        self.return_open = self.preview_open = False
        self.preview_pages, self.preview_image, self.preview_download = [], "", ""

    def _reload(self, db: Any, user: Any) -> None:
        result = compliance.review_queue(db, user, status=self.status, q=self.q, page=self.page)
        self.rows, self.total, self.page, self.pages = (
            result.items,
            result.total,
            result.page,
            result.pages,
        )
        self.pending_total = compliance.pending_review_count(db, user)

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        self.loading = True
        user, redirect = self._gate(ADMIN)
        if user is None:
            self._forget()
            self.loading = False
            return redirect
        status = str(self.router.url.query_parameters.get("status", "") or "")
        if status in FILTERS:
            self.status = status
        try:
            with session_scope() as db:
                self._reload(db, user)
            self.error = ""
        except ChronosError as exc:
            self._forget()
            self.error = exc.message
        self.loading = False
        return None

    def _refresh(self):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(ADMIN)
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
    def set_status(self, value: str | list[str]):  # type: ignore[no-untyped-def]
        value = value if isinstance(value, str) else (value[0] if value else "pending")
        self.status = value if value in FILTERS else "pending"
        self.page, self.notice = 1, ""
        return self._refresh()

    @rx.event
    def search(self, form_data: dict[str, Any]):  # type: ignore[no-untyped-def]
        self.q = str(form_data.get("q", "") or "")[:100]
        self.page = 1
        return self._refresh()

    @rx.event
    def prev_page(self):  # type: ignore[no-untyped-def]
        self.page = max(1, self.page - 1)
        return self._refresh()

    @rx.event
    def next_page(self):  # type: ignore[no-untyped-def]
        self.page = min(self.pages, self.page + 1)
        return self._refresh()

    def _decide(self, action: Any, notice: str):  # type: ignore[no-untyped-def]
        if self.busy:
            return None
        user, redirect = self._gate(ADMIN)
        if user is None:
            self._forget()
            return redirect
        self.busy = True
        try:
            with session_scope() as db:
                action(db, user)
            self.notice, self.error = notice, ""
            ok = True
        except ValidationFailed as exc:
            self.return_error = exc.errors.get("note", exc.message)
            ok = False
        except ChronosError as exc:
            self.error, self.notice = exc.message, ""
            self.return_open = False
            ok = False
        if ok:
            self.return_open = self.preview_open = False
        self.busy = False
        with session_scope() as db:
            self._reload(db, user)
        self._refresh_badges(user, force=True)  # the "Review" badge counts one fewer
        return None

    @rx.event
    def accept(self, document_id: int, version: int):  # type: ignore[no-untyped-def]
        title = next((r.title for r in self.rows if r.document_id == document_id), "Document")
        return self._decide(
            lambda db, user: compliance.accept(db, user, int(document_id), version=int(version)),
            f"Accepted “{title}”.",
        )

    @rx.event
    def open_return(self, document_id: int, version: int) -> None:
        row = next((r for r in self.rows if r.document_id == document_id), None)
        self.return_id, self.return_version = int(document_id), int(version)
        self.return_title = row.title if row else ""
        self.return_note, self.return_error, self.return_open = "", "", True
        self.preview_open, self.preview_pages, self.preview_image = False, [], ""

    @rx.event
    def set_return_open(self, value: bool) -> None:
        self.return_open = bool(value)

    @rx.event
    def set_return_note(self, value: str) -> None:
        self.return_note = value

    @rx.event
    def send_return(self, form_data: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
        doc_id, version, note = self.return_id, self.return_version, self.return_note
        return self._decide(
            lambda db, user: compliance.return_document(db, user, doc_id, note, version=version),
            f"Returned “{self.return_title}” to its uploader with your note.",
        )

    @rx.event
    def open_preview(self, document_id: int, version_id: int, version: int):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(ADMIN)
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
        self.preview_id, self.preview_version = int(document_id), int(version)
        self.preview_open = True
        return None

    @rx.event
    def set_preview_open(self, value: bool) -> None:
        self.preview_open = bool(value)
        if not value:
            self.preview_pages, self.preview_image = [], ""


def _decision_buttons(r: ReviewRow) -> rx.Component:
    s = ReviewState
    return rx.flex(
        rx.cond(
            r.status != "accepted",
            rx.button(
                rx.icon("check", size=14),
                "Accept",
                size="2",
                color_scheme="grass",
                on_click=s.accept(r.document_id, r.version),
                disabled=s.busy,
                aria_label="Accept " + r.title,
            ),
        ),
        rx.cond(
            r.status != "returned",
            rx.button(
                rx.icon("undo_2", size=14),
                "Return",
                size="2",
                variant="soft",
                color_scheme="red",
                on_click=s.open_return(r.document_id, r.version),
                disabled=s.busy,
                aria_label="Return " + r.title,
            ),
        ),
        spacing="2",
        wrap="wrap",
    )


def _row(r: ReviewRow) -> rx.Component:
    s = ReviewState
    return rx.card(
        rx.flex(
            rx.flex(
                rx.box(
                    rx.link(
                        r.address,
                        href="/transactions/" + r.transaction_id.to_string(),
                        weight="bold",
                        size="3",
                    ),
                    rx.text(r.slot_name, size="2", color_scheme="gray"),
                    min_width="0",
                ),
                rx.badge(r.status_label, variant="soft", color_scheme="gray", flex_shrink="0"),
                justify="between",
                align="start",
                spacing="2",
            ),
            rx.flex(
                rx.link(
                    rx.icon("file_text", size=14),
                    r.title,
                    " (v",
                    r.version.to_string(),
                    ")",
                    href="#",
                    on_click=s.open_preview(r.document_id, r.version_id, r.version).prevent_default,
                    size="2",
                    display="inline-flex",
                    align_items="center",
                    gap="4px",
                ),
                rx.text(
                    "Uploaded by ",
                    r.uploaded_by,
                    " · ",
                    time_ago(r.uploaded_at),
                    size="1",
                    color_scheme="gray",
                ),
                spacing="2",
                align="center",
                wrap="wrap",
            ),
            precheck_warning(r.precheck),
            rx.cond(
                r.note != "",
                rx.callout(
                    rx.text(
                        rx.text.strong("Returned: "), r.note, white_space="pre-line", as_="span"
                    ),
                    icon="undo_2",
                    color_scheme="red",
                    size="1",
                ),
            ),
            rx.cond(
                r.reviewed_by != "",
                rx.text(
                    r.status_label,
                    " by ",
                    r.reviewed_by,
                    " · ",
                    time_ago(r.reviewed_at),
                    size="1",
                    color_scheme="gray",
                ),
            ),
            _decision_buttons(r),
            direction="column",
            spacing="2",
        ),
        width="100%",
        data_document=r.document_id.to_string(),
    )


def _return_dialog() -> rx.Component:
    s = ReviewState
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Return “", s.return_title, "”"),
            rx.dialog.description(
                "The uploader is notified with your note and uploads a corrected file.",
                size="2",
            ),
            rx.form(
                rx.flex(
                    rx.el.label(
                        rx.text("What needs fixing", size="2", weight="medium"),
                        rx.text_area(
                            value=s.return_note,
                            on_change=s.set_return_note,
                            placeholder="Initials missing on page 3",
                            rows="4",
                            aria_label="What needs fixing",
                            name="note",
                        ),
                        style={"display": "flex", "flexDirection": "column", "gap": "4px"},
                    ),
                    rx.cond(
                        s.return_error,
                        rx.text(s.return_error, color_scheme="red", size="1", role="alert"),
                    ),
                    rx.flex(
                        rx.dialog.close(
                            rx.button("Cancel", variant="soft", color_scheme="gray", type="button")
                        ),
                        rx.button(
                            rx.cond(s.busy, rx.spinner(size="2"), rx.icon("undo_2", size=14)),
                            "Return document",
                            type="submit",
                            color_scheme="red",
                            disabled=s.busy,
                        ),
                        spacing="2",
                        justify="end",
                    ),
                    direction="column",
                    spacing="3",
                    margin_top="12px",
                ),
                on_submit=s.send_return,
                reset_on_submit=False,
            ),
        ),
        open=s.return_open,
        on_open_change=s.set_return_open,
    )


def _preview_actions() -> rx.Component:
    s = ReviewState
    return rx.flex(
        rx.button(
            rx.icon("check", size=14),
            "Accept",
            color_scheme="grass",
            on_click=s.accept(s.preview_id, s.preview_version),
            disabled=s.busy,
        ),
        rx.button(
            rx.icon("undo_2", size=14),
            "Return",
            variant="soft",
            color_scheme="red",
            on_click=s.open_return(s.preview_id, s.preview_version),
            disabled=s.busy,
        ),
        spacing="2",
    )


def _content() -> rx.Component:
    s = ReviewState
    return rx.flex(
        rx.flex(
            rx.segmented_control.root(
                *[rx.segmented_control.item(label, value=key) for key, label in FILTERS.items()],
                value=s.status,
                on_change=s.set_status,
                size="2",
                width=["100%", "auto"],
                aria_label="Which documents",
            ),
            rx.form(
                rx.flex(
                    rx.input(
                        name="q",
                        placeholder="Address, document or item",
                        aria_label="Search the queue",
                        default_value=s.q,
                        flex_grow="1",
                        min_width="0",
                    ),
                    rx.button(rx.icon("search", size=14), "Search", type="submit", variant="soft"),
                    spacing="2",
                    width="100%",
                ),
                on_submit=s.search,
                reset_on_submit=False,
                width=["100%", "22rem"],
            ),
            justify="between",
            align="center",
            wrap="wrap",
            spacing="3",
            width="100%",
        ),
        rx.cond(s.error, error_callout(s.error)),
        rx.cond(s.notice, rx.callout(s.notice, icon="check", color_scheme="grass", role="status")),
        rx.cond(
            s.loading & (s.rows.length() == 0),
            loading_block("Loading the review queue…"),
            rx.cond(
                s.rows.length() == 0,
                empty_state(
                    "file_check",
                    "Nothing here",
                    rx.cond(
                        s.status == "pending",
                        "No documents are waiting for review.",
                        "No documents in this list.",
                    ),
                ),
                rx.flex(
                    rx.grid(
                        rx.foreach(s.rows, _row),
                        columns=rx.breakpoints(initial="1", md="2"),
                        spacing="3",
                        width="100%",
                    ),
                    pager(s.page, s.pages, s.total, s.prev_page, s.next_page),
                    direction="column",
                    width="100%",
                ),
            ),
        ),
        _return_dialog(),
        preview_dialog(ReviewState, _preview_actions()),
        direction="column",
        spacing="3",
        width="100%",
    )


@page(routes.REVIEW, "Document review", on_load=ReviewState.load)
def review_page() -> rx.Component:
    return app_shell(
        page_header(
            "Document review",
            subtitle=rx.cond(
                ReviewState.pending_total > 0,
                ReviewState.pending_total.to_string() + " awaiting review across the brokerage",
                "Required documents across the brokerage",
            ),
        ),
        _content(),
        active="review",
        user_name=ReviewState.user_name,
        role_label=ReviewState.role_label,
        is_staff=ReviewState.is_staff,
        signed_in=ReviewState.signed_in,
    )
