"""/admin/summary-pdf: an admin chooses which sections a file's summary PDF prints, in which order.

The heading (brokerage, property, price, dates, agent) always prints first; the sections follow
in the order saved here (``services/cover_sheet.SECTIONS``). Staff-only sections (open tasks,
missing documents) never print on the client version, whatever is chosen.
"""

from __future__ import annotations

import reflex as rx

from chronos import routes
from chronos.components.admin_nav import admin_tabs
from chronos.components.layout import app_shell
from chronos.components.ui import error_callout, loading_block, notice_callout, page_header
from chronos.db import session_scope
from chronos.models import Role
from chronos.pages.registry import page
from chronos.services import cover_sheet
from chronos.services.cover_sheet import SectionSetting
from chronos.services.errors import ChronosError
from chronos.state.session import SessionState

ADMINS = frozenset({Role.ADMIN})


class AdminSummaryState(SessionState):
    sections: list[SectionSetting] = []
    loading: bool = True
    error: str = ""
    notice: str = ""
    dirty: bool = False
    saving: bool = False

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        self.loading = True
        user, redirect = self._gate(ADMINS)
        if user is None:
            self.sections = []
            return redirect
        try:
            with session_scope() as db:
                self.sections = cover_sheet.section_settings(db, user)
            self.error = ""
        except ChronosError as exc:
            self.sections, self.error = [], exc.message
        self.notice, self.dirty, self.loading = "", False, False
        return None

    def _index(self, key: object) -> int | None:
        if not isinstance(key, str):
            return None
        for i, s in enumerate(self.sections):
            if s.key == key:
                return i
        return None

    @rx.event
    def toggle(self, key: str):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(ADMINS)
        if user is None:
            return redirect
        i = self._index(key)
        if i is None:
            return None
        s = self.sections[i]
        rows = list(self.sections)
        rows[i] = SectionSetting(s.key, s.label, not s.included, s.staff_only)
        self.sections, self.dirty, self.notice = rows, True, ""
        return None

    @rx.event
    def move(self, key: str, step: int):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(ADMINS)
        if user is None:
            return redirect
        i = self._index(key)
        if i is None or step not in (-1, 1) or not 0 <= i + step < len(self.sections):
            return None
        rows = list(self.sections)
        rows[i], rows[i + step] = rows[i + step], rows[i]
        self.sections, self.dirty, self.notice = rows, True, ""
        return None

    @rx.event
    def save(self):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(ADMINS)
        if user is None:
            return redirect
        if self.saving:
            return None
        self.saving = True
        try:
            with session_scope() as db:
                cover_sheet.save_sections(db, user, [s.key for s in self.sections if s.included])
                self.sections = cover_sheet.section_settings(db, user)
            self.error, self.dirty = "", False
            self.notice = "Saved. Every summary PDF made from now on uses this choice."
        except ChronosError as exc:
            self.error, self.notice = exc.message, ""
        finally:
            self.saving = False
        return None


def _row(s: SectionSetting, i: rx.Var[int]) -> rx.Component:
    st = AdminSummaryState
    return rx.flex(
        rx.checkbox(
            checked=s.included,
            on_change=lambda _v: st.toggle(s.key),
            aria_label="Include " + s.label,
            id="section-" + s.key,
        ),
        rx.el.label(
            rx.flex(
                rx.text(s.label, weight="medium", size="2"),
                rx.cond(
                    s.staff_only,
                    rx.text("Staff version only", size="1", color_scheme="gray"),
                ),
                direction="column",
            ),
            html_for="section-" + s.key,
            style={"flex": "1", "cursor": "pointer"},
        ),
        rx.icon_button(
            rx.icon("arrow_up", size=14),
            variant="soft",
            color_scheme="gray",
            aria_label="Move " + s.label + " up",
            disabled=i == 0,
            on_click=st.move(s.key, -1),
        ),
        rx.icon_button(
            rx.icon("arrow_down", size=14),
            variant="soft",
            color_scheme="gray",
            aria_label="Move " + s.label + " down",
            disabled=i == st.sections.length() - 1,  # type: ignore[attr-defined]
            on_click=st.move(s.key, 1),
        ),
        align="center",
        spacing="3",
        padding="10px 12px",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        width="100%",
    )


def _content() -> rx.Component:
    st = AdminSummaryState
    return rx.cond(
        st.loading,
        loading_block("Loading the summary PDF's sections…"),
        rx.flex(
            rx.cond(st.error, error_callout(st.error)),
            rx.cond(st.notice, notice_callout(st.notice)),
            rx.card(
                rx.text(
                    "Always first: the brokerage's name, the property, side, stage, price, "
                    "effective and closing dates and the agent.",
                    size="2",
                    color_scheme="gray",
                    padding="4px 12px 8px",
                ),
                rx.el.ol(
                    rx.foreach(st.sections, lambda s, i: rx.el.li(_row(s, i))),
                    style={"listStyle": "none", "margin": 0, "padding": 0},
                    aria_label="Sections, in print order",
                ),
                width="100%",
            ),
            rx.text(
                "The client version (shared with a client, or a client's own copy) always "
                "leaves out open tasks, missing documents, internal notes and staff-only dates.",
                size="2",
                color_scheme="gray",
            ),
            rx.flex(
                rx.button(
                    rx.cond(st.saving, rx.spinner(size="2"), rx.icon("save", size=16)),
                    "Save sections",
                    on_click=st.save,
                    disabled=st.saving | ~st.dirty,
                ),
                justify="end",
            ),
            direction="column",
            spacing="3",
            width="100%",
        ),
    )


@page(routes.ADMIN_SUMMARY, "Summary PDF", on_load=AdminSummaryState.load)
def admin_summary_page() -> rx.Component:
    return app_shell(
        rx.box(
            admin_tabs("summary"),
            page_header(
                "Summary PDF",
                subtitle="Choose what a file's one-page summary shows, and in which order.",
            ),
            _content(),
            max_width="880px",
            margin_x="auto",
        ),
        active="admin",
        user_name=AdminSummaryState.user_name,
        role_label=AdminSummaryState.role_label,
        is_staff=AdminSummaryState.is_staff,
        signed_in=AdminSummaryState.signed_in,
    )
