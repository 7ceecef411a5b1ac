"""The pipeline: every transaction this agent/coordinator/admin may see, as a list or a board."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

import reflex as rx

from chronos import routes
from chronos.components.layout import api_url, app_shell
from chronos.components.ui import (
    download_link,
    empty_state,
    error_callout,
    loading_block,
    page_header,
    pager,
    responsive_list,
    side_badge,
    stage_badge,
)
from chronos.db import session_scope
from chronos.models import Side, Stage
from chronos.pages.registry import page
from chronos.services import transactions
from chronos.services.errors import ChronosError
from chronos.services.transactions import TransactionRow
from chronos.state.session import STAFF, SessionState

ALL = "all"
OPEN = "open"
PAGE_SIZE = 25
BOARD_LIMIT = 20
OPEN_STAGES = [s for s in Stage if s.is_open]


@dataclass
class BoardColumn:
    stage: str
    label: str
    total: int
    rows: list[TransactionRow] = field(default_factory=list)


class PipelineState(SessionState):
    rows: list[TransactionRow] = []
    columns: list[BoardColumn] = []
    total: int = 0
    page: int = 1
    pages: int = 1
    q: str = ""
    stage: str = OPEN
    side: str = ALL
    sort: str = "closing"
    view: str = "list"
    loading: bool = True
    error: str = ""

    @rx.var
    def csv_href(self) -> str:
        """The CSV of the files this view shows (the route applies the same access rules)."""
        query = urlencode({"stage": self.stage, "side": self.side, "q": self.q})
        return api_url(f"/api/v1/transactions.csv?{query}")

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        self.loading = True
        user, redirect = self._gate(STAFF)
        if user is None:
            self.rows, self.columns = [], []
            return redirect
        try:
            with session_scope() as db:
                if self.view == "board":
                    self.columns = [
                        self._column(db, user, s) for s in OPEN_STAGES if self._side_allows(s)
                    ]
                else:
                    result = transactions.list_transactions(
                        db,
                        user,
                        stage="" if self.stage in (ALL, OPEN) else self.stage,
                        open_only=self.stage == OPEN,
                        side="" if self.side == ALL else self.side,
                        q=self.q,
                        sort=self.sort,
                        descending=self.sort in ("updated", "created", "price"),
                        page=self.page,
                        page_size=PAGE_SIZE,
                    )
                    self.rows = result.items
                    self.total, self.page, self.pages = result.total, result.page, result.pages
            self.error = ""
        except ChronosError as exc:
            self.error = exc.message
        self.loading = False
        return None

    def _side_allows(self, stage: Stage) -> bool:
        return not (
            self.side == Side.BUYER.value and stage in (Stage.PRE_LISTING, Stage.ACTIVE_LISTING)
        )

    def _column(self, db, user, stage: Stage) -> BoardColumn:  # type: ignore[no-untyped-def]
        result = transactions.list_transactions(
            db,
            user,
            stage=stage.value,
            side="" if self.side == ALL else self.side,
            q=self.q,
            sort="closing",
            page_size=BOARD_LIMIT,
        )
        return BoardColumn(
            stage=stage.value, label=stage.label, total=result.total, rows=result.items
        )

    @rx.event
    def set_query(self, value: str):  # type: ignore[no-untyped-def]
        self.q, self.page = value, 1
        return PipelineState.load

    @rx.event
    def set_stage_filter(self, value: str):  # type: ignore[no-untyped-def]
        self.stage, self.page = value, 1
        return PipelineState.load

    @rx.event
    def set_side_filter(self, value: str):  # type: ignore[no-untyped-def]
        self.side, self.page = value, 1
        return PipelineState.load

    @rx.event
    def set_sort(self, value: str):  # type: ignore[no-untyped-def]
        self.sort, self.page = value, 1
        return PipelineState.load

    @rx.event
    def set_view(self, value: str | list[str]):  # type: ignore[no-untyped-def]
        self.view = value if isinstance(value, str) else value[0]
        return PipelineState.load

    @rx.event
    def clear_filters(self):  # type: ignore[no-untyped-def]
        self.q, self.stage, self.side, self.page = "", OPEN, ALL, 1
        return PipelineState.load

    @rx.event
    def next_page(self):  # type: ignore[no-untyped-def]
        if self.page < self.pages:
            self.page += 1
        return PipelineState.load

    @rx.event
    def prev_page(self):  # type: ignore[no-untyped-def]
        if self.page > 1:
            self.page -= 1
        return PipelineState.load


def _filters() -> rx.Component:
    return rx.flex(
        rx.input(
            rx.input.slot(rx.icon("search", size=16)),
            placeholder="Search address, ZIP, MLS or a person…",
            value=PipelineState.q,
            on_change=PipelineState.set_query.debounce(300),  # type: ignore[attr-defined]
            aria_label="Search transactions",
            flex_grow="1",
            min_width=["100%", "16rem"],
            size="2",
            id="pipeline-search",
        ),
        rx.select.root(
            rx.select.trigger(aria_label="Stage"),
            rx.select.content(
                rx.select.item("All open", value=OPEN),
                rx.select.item("All stages", value=ALL),
                *[rx.select.item(s.label, value=s.value) for s in Stage],
            ),
            value=PipelineState.stage,
            on_change=PipelineState.set_stage_filter,
        ),
        rx.select.root(
            rx.select.trigger(aria_label="Side"),
            rx.select.content(
                rx.select.item("All sides", value=ALL),
                *[rx.select.item(s.label, value=s.value) for s in Side],
            ),
            value=PipelineState.side,
            on_change=PipelineState.set_side_filter,
        ),
        rx.select.root(
            rx.select.trigger(aria_label="Sort by"),
            rx.select.content(
                rx.select.item("Closing soonest", value="closing"),
                rx.select.item("Recently updated", value="updated"),
                rx.select.item("Newest", value="created"),
                rx.select.item("Address", value="address"),
                rx.select.item("Highest price", value="price"),
            ),
            value=PipelineState.sort,
            on_change=PipelineState.set_sort,
        ),
        rx.segmented_control.root(
            rx.segmented_control.item(
                rx.icon("list", size=16), value="list", aria_label="List view"
            ),
            rx.segmented_control.item(
                rx.icon("columns_3", size=16), value="board", aria_label="Board view"
            ),
            value=PipelineState.view,
            on_change=PipelineState.set_view,
        ),
        spacing="2",
        wrap="wrap",
        align="center",
        width="100%",
        margin_bottom="16px",
    )


def _table(rows: list[TransactionRow]) -> rx.Component:
    return rx.table.root(
        rx.table.header(
            rx.table.row(
                rx.table.column_header_cell("Property"),
                rx.table.column_header_cell("Stage"),
                rx.table.column_header_cell("Side"),
                rx.table.column_header_cell("Client"),
                rx.table.column_header_cell("Price", justify="end"),
                rx.table.column_header_cell("Closing"),
                rx.table.column_header_cell("Agent"),
            )
        ),
        rx.table.body(
            rx.foreach(
                PipelineState.rows,
                lambda r: rx.table.row(
                    rx.table.row_header_cell(
                        rx.link(
                            rx.text(r.street, weight="medium"),
                            href="/transactions/" + r.id.to_string(),
                        ),
                        rx.text(r.city_line, size="1", color_scheme="gray"),
                    ),
                    rx.table.cell(stage_badge(r.stage, r.stage_label)),
                    rx.table.cell(side_badge(r.side_label)),
                    rx.table.cell(r.clients),
                    rx.table.cell(r.price, justify="end"),
                    rx.table.cell(r.closing_label, white_space="nowrap"),
                    rx.table.cell(r.owner_name),
                    align="center",
                ),
            )
        ),
        variant="surface",
        width="100%",
    )


def _card(r: TransactionRow) -> rx.Component:
    return rx.link(
        rx.card(
            rx.flex(
                rx.flex(
                    rx.text(r.street, weight="bold"),
                    stage_badge(r.stage, r.stage_label),
                    justify="between",
                    spacing="2",
                    align="start",
                ),
                rx.text(r.city_line, size="1", color_scheme="gray"),
                rx.flex(
                    rx.text(r.clients, size="2", trim="both"),
                    rx.text(r.price, size="2", weight="medium"),
                    justify="between",
                    spacing="2",
                ),
                rx.cond(
                    r.closing_date,
                    rx.text("Closing ", r.closing_label, size="1", color_scheme="gray"),
                ),
                direction="column",
                spacing="1",
            ),
            width="100%",
        ),
        href="/transactions/" + r.id.to_string(),
        underline="none",
        color="inherit",
        width="100%",
    )


def _list_view() -> rx.Component:
    return responsive_list(
        _table(PipelineState.rows),
        PipelineState.rows,
        _card,
        pager(
            PipelineState.page,
            PipelineState.pages,
            PipelineState.total,
            PipelineState.prev_page,
            PipelineState.next_page,
        ),
    )


def _board_view() -> rx.Component:
    return rx.flex(
        rx.foreach(
            PipelineState.columns,
            lambda col: rx.flex(
                rx.flex(
                    stage_badge(col.stage, col.label),
                    rx.text(col.total.to_string(), color_scheme="gray", size="2"),
                    justify="between",
                    align="center",
                ),
                rx.foreach(col.rows, _card),
                rx.cond(
                    col.total > col.rows.length(),
                    rx.text(
                        "+",
                        (col.total - col.rows.length()).to_string(),
                        " more: use the list view",
                        size="1",
                        color_scheme="gray",
                    ),
                ),
                direction="column",
                spacing="2",
                min_width="260px",
                width="260px",
                flex_shrink="0",
                padding="8px",
                border_radius="8px",
                background=rx.color("gray", 2),
            ),
        ),
        spacing="3",
        overflow_x="auto",
        width="100%",
        padding_bottom="12px",
    )


def _content() -> rx.Component:
    nothing_matches = (
        (PipelineState.q != "") | (PipelineState.stage != OPEN) | (PipelineState.side != ALL)
    )
    return rx.cond(
        PipelineState.loading
        & (PipelineState.rows.length() == 0)
        & (PipelineState.columns.length() == 0),
        loading_block("Loading your pipeline…"),
        rx.cond(
            PipelineState.error,
            error_callout(PipelineState.error),
            rx.cond(
                PipelineState.view == "board",
                _board_view(),
                rx.cond(
                    PipelineState.total == 0,
                    rx.cond(
                        nothing_matches,
                        empty_state(
                            "search_x",
                            "No transactions match",
                            "Try another search or clear the filters.",
                            rx.button(
                                "Clear filters",
                                variant="soft",
                                on_click=PipelineState.clear_filters,
                            ),
                        ),
                        empty_state(
                            "house_plus",
                            "No transactions yet",
                            "Add your first deal: it takes under a minute.",
                            rx.link(rx.button("New transaction"), href=routes.NEW_TRANSACTION),
                        ),
                    ),
                    _list_view(),
                ),
            ),
        ),
    )


@page(routes.PIPELINE, "Pipeline", on_load=PipelineState.load)
def pipeline_page() -> rx.Component:
    return app_shell(
        page_header(
            "Pipeline",
            download_link(
                "CSV",
                PipelineState.csv_href,
                aria_label="Download these files as a spreadsheet (CSV)",
            ),
            rx.link(
                rx.button(rx.icon("plus", size=16), "New transaction", size="2"),
                href=routes.NEW_TRANSACTION,
            ),
        ),
        _filters(),
        _content(),
        active="pipeline",
        user_name=PipelineState.user_name,
        role_label=PipelineState.role_label,
        is_staff=PipelineState.is_staff,
        signed_in=PipelineState.signed_in,
    )
