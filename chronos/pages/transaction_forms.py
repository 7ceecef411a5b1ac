"""The transaction page's "Forms and packets" panel (staff only).

- Fill a form: pick one of the brokerage's active form templates; Chronos fills it with this
  file's data and saves it as a new document, then lists the fields it left empty and why.
- Split a packet: pick a PDF of the file with two pages or more; Chronos suggests where each
  document starts, which checklist item it is and why; the rows can be edited (first and last
  page, checklist item, name) before "Split into N documents".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import reflex as rx

from chronos.components.layout import api_url
from chronos.components.ui import error_callout
from chronos.db import session_scope
from chronos.models import Role
from chronos.services import forms, packets
from chronos.services.errors import ChronosError, NotFound, ValidationFailed
from chronos.state.session import SessionState

STAFF = frozenset({Role.ADMIN, Role.AGENT, Role.COORDINATOR})
NO_SLOT = "0"


@dataclass
class Choice:
    id: str
    label: str


@dataclass
class EmptyRow:
    name: str
    reason: str


@dataclass
class PartRow:
    start: str
    end: str
    slot: str  # a slot id, NO_SLOT for none
    title: str
    reason: str
    thumb: str
    error: str = ""


class FormsPanelState(SessionState):
    visible: bool = False
    error: str = ""
    # fill a form
    templates: list[Choice] = []
    template_choice: str = ""
    form_title: str = ""
    generating: bool = False
    result_title: str = ""
    result_summary: str = ""
    result_empty: list[EmptyRow] = []
    form_error: str = ""
    # split a packet
    packet_docs: list[Choice] = []
    packet_choice: str = ""
    packet_pages: int = 0
    slot_choices: list[Choice] = []
    parts: list[PartRow] = []
    splitting: bool = False
    split_error: str = ""
    split_notice: str = ""
    _page_urls: list[str] = []

    def _txn(self) -> int:
        return self._int_param("txn_id")

    def _forget(self) -> None:
        self.visible = False
        self.templates, self.packet_docs, self.slot_choices, self.parts = [], [], [], []
        self.result_empty, self._page_urls = [], []
        self.result_title = self.result_summary = self.packet_choice = self.template_choice = ""
        self.packet_pages = 0

    def _reload(self, db: Any, user: Any) -> None:
        txn_id = self._txn()
        self.templates = [
            Choice(str(t.id), t.name) for t in forms.list_templates(db, user, active_only=True)
        ]
        self.packet_docs = [
            Choice(str(d.id), f"{d.title} ({d.page_count} pages)")
            for d in packets.splittable_documents(db, user, txn_id)
        ]
        if self.template_choice not in {t.id for t in self.templates}:
            self.template_choice = ""
        if self.packet_choice not in {d.id for d in self.packet_docs}:
            self.packet_choice, self.parts, self._page_urls = "", [], []

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        user = self._actor()
        if user is None or user.role_enum not in STAFF:
            self._forget()
            return None  # the page's own loader redirects
        self.error = self.form_error = self.split_error = self.split_notice = ""
        self.result_title, self.result_summary, self.result_empty = "", "", []
        self.parts, self.packet_choice, self._page_urls = [], "", []
        try:
            with session_scope() as db:
                self._reload(db, user)
            self.visible = True
        except NotFound:
            self._forget()
        except ChronosError as exc:
            self._forget()
            self.error = exc.message
        return None

    def _after_change(self) -> list[Any]:
        # Imported here: the transaction page imports this panel.
        from chronos.pages.transaction import TransactionState
        from chronos.pages.transaction_documents import DocumentsPanelState

        return [TransactionState.reload_events, DocumentsPanelState.load]

    # -- fill a form

    @rx.event
    def set_template_choice(self, value: str) -> None:
        self.template_choice = value
        self.form_error = ""

    @rx.event
    def set_form_title(self, value: str) -> None:
        self.form_title = value

    @rx.event
    def generate(self):  # type: ignore[no-untyped-def]
        if self.generating:
            return None
        user, redirect = self._gate(STAFF)
        if user is None:
            self._forget()
            return redirect
        if not self.template_choice:
            self.form_error = "Choose a form to fill."
            return None
        self.generating = True
        try:
            with session_scope() as db:
                result = forms.generate(
                    db, user, self._txn(), int(self.template_choice), title=self.form_title
                )
                title, n = result.title, len(result.empty)
                summary = f"{n} field{'s' if n != 1 else ''} left empty:" if n else result.summary
                empty = [EmptyRow(e.name, e.reason) for e in result.empty]
            with session_scope() as db:
                self._reload(db, user)
            self.result_title, self.result_summary, self.result_empty = title, summary, empty
            self.form_title, self.form_error = "", ""
        except ChronosError as exc:
            self.form_error = exc.message
            self.result_title, self.result_summary, self.result_empty = "", "", []
            self.generating = False
            return None
        self.generating = False
        return self._after_change()

    # -- split a packet

    def _thumb(self, start: str) -> str:
        try:
            n = int(start)
        except ValueError:
            return ""
        return api_url(self._page_urls[n - 1]) if 1 <= n <= len(self._page_urls) else ""

    @rx.event
    def choose_packet(self, value: str):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(STAFF)
        if user is None:
            self._forget()
            return redirect
        self.packet_choice, self.split_error, self.split_notice = value, "", ""
        self.parts, self._page_urls = [], []
        if not value:
            return None
        try:
            with session_scope() as db:
                plan = packets.suggest_split(db, user, int(value))
        except (ChronosError, ValueError) as exc:
            self.split_error = getattr(exc, "message", "That document cannot be split.")
            self.packet_choice = ""
            return None
        self._page_urls = list(plan.page_urls)
        self.packet_pages = plan.page_count
        self.slot_choices = [Choice(str(s.id), s.name) for s in plan.slots]
        self.parts = [
            PartRow(
                start=str(p.start),
                end=str(p.end),
                slot=str(p.slot_id) if p.slot_id else NO_SLOT,
                title=p.title,
                reason=p.reason,
                thumb=self._thumb(str(p.start)),
            )
            for p in plan.parts
        ]
        return None

    @rx.event
    def set_part(self, index: int, name: str, value: str) -> None:
        if not 0 <= index < len(self.parts) or name not in {"start", "end", "slot", "title"}:
            return
        rows = list(self.parts)
        setattr(rows[index], name, str(value))
        rows[index].error = ""
        if name == "start":
            rows[index].thumb = self._thumb(str(value))
        if name == "slot" and value != NO_SLOT:
            label = next((c.label for c in self.slot_choices if c.id == value), "")
            if label and not rows[index].title.strip():
                rows[index].title = label
        self.parts = rows

    @rx.event
    def add_part(self) -> None:
        last = int(self.parts[-1].end) if self.parts and self.parts[-1].end.isdigit() else 0
        start = str(min(last + 1, self.packet_pages or 1))
        self.parts = [
            *self.parts,
            PartRow(start, start, NO_SLOT, "", "Added by hand", self._thumb(start)),
        ]

    @rx.event
    def remove_part(self, index: int) -> None:
        self.parts = [p for n, p in enumerate(self.parts) if n != index]

    @rx.event
    def split(self):  # type: ignore[no-untyped-def]
        if self.splitting:
            return None
        user, redirect = self._gate(STAFF)
        if user is None:
            self._forget()
            return redirect
        if not self.packet_choice:
            self.split_error = "Choose the packet to split."
            return None
        parts = [
            {
                "start": p.start,
                "end": p.end,
                "slot_id": None if p.slot == NO_SLOT else p.slot,
                "title": p.title,
            }
            for p in self.parts
        ]
        self.splitting = True
        try:
            with session_scope() as db:
                created = packets.split(db, user, int(self.packet_choice), parts)
                titles = [d.title for d in created]
            with session_scope() as db:
                self._reload(db, user)
        except ValidationFailed as exc:
            rows = list(self.parts)
            for n, row in enumerate(rows):
                row.error = exc.errors.get(f"parts.{n}", "")
            self.parts = rows
            self.split_error = exc.errors.get("parts", "") or exc.errors.get("document", "")
            if not self.split_error and not any(r.error for r in rows):
                self.split_error = exc.message
            self.splitting = False
            return None
        except ChronosError as exc:
            self.split_error = exc.message
            self.splitting = False
            return None
        self.splitting = False
        self.parts, self.packet_choice, self._page_urls = [], "", []
        self.split_error = ""
        self.split_notice = (
            f"Split into {len(titles)} document{'s' if len(titles) != 1 else ''}: "
            + ", ".join(f"“{t}”" for t in titles)
            + ". The packet stays on the file."
        )
        return self._after_change()


# --- UI -----------------------------------------------------------------------------------


def _select(value: Any, on_change: Any, choices: Any, label: str, placeholder: str) -> rx.Component:
    return rx.select.root(
        rx.select.trigger(placeholder=placeholder, aria_label=label, width="100%"),
        rx.select.content(rx.foreach(choices, lambda c: rx.select.item(c.label, value=c.id))),
        value=value,
        on_change=on_change,
    )


def _fill_form() -> rx.Component:
    s = FormsPanelState
    return rx.flex(
        rx.heading("Fill a form", size="3", as_="h3"),
        rx.cond(
            s.templates.length() == 0,
            rx.text(
                "Your brokerage has no fillable forms yet. An admin adds them under Admin → Forms.",
                size="2",
                color_scheme="gray",
            ),
            rx.form(
                rx.flex(
                    rx.box(
                        _select(
                            s.template_choice,
                            s.set_template_choice,
                            s.templates,
                            "Form to fill",
                            "Choose a form",
                        ),
                        flex="1",
                        min_width="12rem",
                    ),
                    rx.input(
                        value=s.form_title,
                        on_change=s.set_form_title,
                        placeholder="Name (optional)",
                        aria_label="Name of the filled document",
                        max_length=200,
                        flex="1",
                        min_width="12rem",
                    ),
                    rx.button(
                        rx.cond(s.generating, rx.spinner(size="2"), rx.icon("file_pen", size=16)),
                        "Fill in",
                        type="submit",
                        disabled=s.generating,
                    ),
                    spacing="2",
                    wrap="wrap",
                    align="center",
                    width="100%",
                ),
                on_submit=lambda _: s.generate(),
                width="100%",
            ),
        ),
        rx.cond(s.form_error, error_callout(s.form_error)),
        rx.cond(
            s.result_title,
            rx.callout(
                rx.flex(
                    rx.text("Saved “", s.result_title, "” to the documents.", weight="medium"),
                    rx.text(s.result_summary, size="2"),
                    rx.cond(
                        s.result_empty.length() > 0,
                        rx.el.ul(
                            rx.foreach(
                                s.result_empty,
                                lambda e: rx.el.li(
                                    rx.text.strong(e.name), ": ", e.reason, font_size="14px"
                                ),
                            ),
                            style={"margin": "0", "paddingLeft": "18px"},
                        ),
                    ),
                    direction="column",
                    spacing="1",
                ),
                icon="circle_check",
                color_scheme=rx.cond(s.result_empty.length() > 0, "amber", "grass"),
                role="status",
                width="100%",
            ),
        ),
        direction="column",
        spacing="2",
        width="100%",
    )


def _part_row(row: PartRow, index: rx.Var) -> rx.Component:
    s = FormsPanelState
    number = (index + 1).to_string()
    return rx.box(
        rx.flex(
            rx.cond(
                row.thumb,
                rx.image(
                    src=row.thumb,
                    alt="First page of part " + number,
                    loading="lazy",
                    style={
                        "width": "72px",
                        "height": "auto",
                        "border": f"1px solid {rx.color('gray', 6)}",
                        "background": "white",
                        "flexShrink": "0",
                    },
                ),
                rx.box(width="72px", height="93px", background=rx.color("gray", 3)),
            ),
            rx.flex(
                rx.flex(
                    rx.text("Part ", number, size="2", weight="bold"),
                    rx.spacer(),
                    rx.icon_button(
                        rx.icon("trash_2", size=14),
                        variant="ghost",
                        color_scheme="red",
                        size="1",
                        on_click=s.remove_part(index),
                        aria_label="Remove part " + number,
                    ),
                    align="center",
                    width="100%",
                ),
                rx.flex(
                    rx.flex(
                        rx.text("Pages", size="1", color_scheme="gray"),
                        rx.input(
                            value=row.start,
                            on_change=lambda v: s.set_part(index, "start", v),
                            type="number",
                            input_mode="numeric",
                            min=1,
                            width="4.5rem",
                            aria_label="Part " + number + " first page",
                        ),
                        rx.text("to", size="1", color_scheme="gray"),
                        rx.input(
                            value=row.end,
                            on_change=lambda v: s.set_part(index, "end", v),
                            type="number",
                            input_mode="numeric",
                            min=1,
                            width="4.5rem",
                            aria_label="Part " + number + " last page",
                        ),
                        spacing="1",
                        align="center",
                    ),
                    rx.box(
                        rx.select.root(
                            rx.select.trigger(
                                aria_label="Part " + number + " checklist item", width="100%"
                            ),
                            rx.select.content(
                                rx.select.item("Not on the checklist", value=NO_SLOT),
                                rx.foreach(
                                    s.slot_choices,
                                    lambda c: rx.select.item(c.label, value=c.id),
                                ),
                            ),
                            value=row.slot,
                            on_change=lambda v: s.set_part(index, "slot", v),
                        ),
                        flex="1",
                        min_width="11rem",
                    ),
                    spacing="2",
                    wrap="wrap",
                    align="center",
                    width="100%",
                ),
                rx.input(
                    value=row.title,
                    on_change=lambda v: s.set_part(index, "title", v),
                    placeholder="Document name",
                    aria_label="Part " + number + " name",
                    max_length=200,
                    width="100%",
                ),
                rx.cond(row.reason, rx.text(row.reason, size="1", color_scheme="gray")),
                rx.cond(row.error, rx.text(row.error, size="1", color_scheme="red", role="alert")),
                direction="column",
                spacing="2",
                flex="1",
                min_width="0",
            ),
            spacing="3",
            align="start",
            width="100%",
        ),
        padding_y="10px",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        width="100%",
    )


def _split_packet() -> rx.Component:
    s = FormsPanelState
    return rx.flex(
        rx.heading("Split a packet", size="3", as_="h3"),
        rx.cond(
            s.packet_docs.length() == 0,
            rx.text(
                "No PDF on this file has more than one page. Upload the signed packet first.",
                size="2",
                color_scheme="gray",
            ),
            rx.flex(
                _select(
                    s.packet_choice,
                    s.choose_packet,
                    s.packet_docs,
                    "Packet to split",
                    "Choose a PDF with several documents",
                ),
                rx.cond(
                    s.parts.length() > 0,
                    rx.flex(
                        rx.text(
                            "Suggested from the pages' text. Check each part; the packet "
                            "itself stays on the file.",
                            size="2",
                            color_scheme="gray",
                        ),
                        rx.foreach(s.parts, _part_row),
                        rx.flex(
                            rx.button(
                                rx.icon("plus", size=16),
                                "Add a part",
                                variant="soft",
                                on_click=s.add_part,
                            ),
                            rx.button(
                                rx.cond(
                                    s.splitting, rx.spinner(size="2"), rx.icon("scissors", size=16)
                                ),
                                "Split into ",
                                s.parts.length().to_string(),
                                rx.cond(s.parts.length() == 1, " document", " documents"),
                                on_click=s.split,
                                disabled=s.splitting,
                            ),
                            spacing="2",
                            wrap="wrap",
                            justify="between",
                            width="100%",
                        ),
                        direction="column",
                        spacing="2",
                        width="100%",
                    ),
                ),
                direction="column",
                spacing="2",
                width="100%",
            ),
        ),
        rx.cond(s.split_error, error_callout(s.split_error)),
        rx.cond(
            s.split_notice,
            rx.callout(
                s.split_notice,
                icon="circle_check",
                color_scheme="grass",
                role="status",
                width="100%",
            ),
        ),
        direction="column",
        spacing="2",
        width="100%",
    )


def forms_panel() -> rx.Component:
    s = FormsPanelState
    return rx.cond(
        s.visible,
        rx.card(
            rx.flex(
                rx.heading("Forms and packets", size="4", as_="h2"),
                rx.cond(s.error, error_callout(s.error)),
                _fill_form(),
                rx.separator(size="4"),
                _split_packet(),
                direction="column",
                spacing="3",
            ),
            width="100%",
            id="forms-panel",
        ),
    )
