"""/reports: pipeline, closings, days to close, deadlines and at-risk files of what the user sees.

Each chart has its table beneath it (the text alternative screen readers read, and what a
phone scrolls sideways), and a CSV of the same numbers through /api/v1/reports/{name}.csv."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import reflex as rx

from chronos import routes
from chronos.components.layout import app_shell
from chronos.components.ui import download_link, empty_state, error_callout, page_header
from chronos.models import Side, Stage
from chronos.models.base import PropertyType
from chronos.pages.registry import page
from chronos.services import reports
from chronos.state.reports import ALL, ReportsState, csv_href

CHART_HEIGHT = 240
THIS_YEAR = rx.color("accent", 9)
LAST_YEAR = rx.color("gray", 8)
LATE = rx.color("amber", 9)
MISSED = rx.color("red", 9)
AXIS = rx.color("gray", 11)


def _select(label: str, value: Any, on_change: Any, items: list[tuple[str, str]]) -> rx.Component:
    return rx.flex(
        rx.text(label, size="1", color_scheme="gray", as_="label"),
        rx.select.root(
            rx.select.trigger(aria_label=label, width="100%"),
            rx.select.content(*[rx.select.item(text, value=v) for v, text in items]),
            value=value,
            on_change=on_change,
        ),
        direction="column",
        spacing="1",
        min_width=["calc(50% - 8px)", "9rem"],
    )


def _filters() -> rx.Component:
    return rx.flex(
        _select(
            "Period",
            ReportsState.period,
            ReportsState.set_period,
            [(k, f"Last {v} days") for k, v in reports.PERIODS.items()],
        ),
        rx.flex(
            rx.text("Agent", size="1", color_scheme="gray", as_="label"),
            rx.select.root(
                rx.select.trigger(aria_label="Agent", width="100%"),
                rx.select.content(
                    rx.select.item("Everyone I can see", value=ALL),
                    rx.foreach(
                        ReportsState.agents, lambda a: rx.select.item(a.label, value=a.value)
                    ),
                ),
                value=ReportsState.agent,
                on_change=ReportsState.set_agent,
            ),
            direction="column",
            spacing="1",
            min_width=["calc(50% - 8px)", "11rem"],
        ),
        _select(
            "Side",
            ReportsState.side,
            ReportsState.set_side,
            [(ALL, "All sides"), *[(s.value, s.label) for s in Side]],
        ),
        _select(
            "Property type",
            ReportsState.property_type,
            ReportsState.set_property_type,
            [(ALL, "All types"), *[(p.value, p.label) for p in PropertyType]],
        ),
        _select(
            "Stage",
            ReportsState.stage,
            ReportsState.set_stage,
            [(ALL, "All stages"), *[(s.value, s.label) for s in Stage]],
        ),
        rx.button(
            "Clear filters",
            variant="ghost",
            size="2",
            on_click=ReportsState.clear_filters,
            align_self="end",
        ),
        spacing="3",
        wrap="wrap",
        align="end",
        width="100%",
        margin_bottom="16px",
        id="report-filters",
    )


def _table(
    caption: str,
    headers: list[str],
    rows: Any,
    cells: Callable[[Any], list[rx.Component]],
    table_id: str,
) -> rx.Component:
    """The chart's text alternative: a real table, scrolled sideways on a phone."""
    return rx.box(
        rx.table.root(
            rx.el.caption(caption, style={"textAlign": "left", "padding": "4px 0"}),
            rx.table.header(
                rx.table.row(
                    *[rx.table.column_header_cell(h, white_space="nowrap") for h in headers]
                )
            ),
            rx.table.body(rx.foreach(rows, lambda r: rx.table.row(*cells(r)))),
            variant="surface",
            size="1",
            width="100%",
            id=table_id,
        ),
        overflow_x="auto",
        width="100%",
        tab_index=0,
        aria_label=caption,
        role="region",
    )


def _bar_chart(data: Any, x_key: str, bars: list[tuple[str, str, Any]], label: str) -> rx.Component:
    return rx.box(
        rx.recharts.bar_chart(
            *[rx.recharts.bar(data_key=key, name=name, fill=color) for key, name, color in bars],
            rx.recharts.x_axis(data_key=x_key, stroke=AXIS, tick={"fill": AXIS, "fontSize": 11}),
            rx.recharts.y_axis(
                stroke=AXIS, tick={"fill": AXIS, "fontSize": 11}, allow_decimals=False, width=36
            ),
            rx.recharts.graphing_tooltip(
                content_style={"background": rx.color("gray", 2), "color": rx.color("gray", 12)}
            ),
            rx.recharts.legend(),
            data=data.to(list[dict[str, Any]]),
            width="100%",
            height=CHART_HEIGHT,
            # Recharts 3 makes the chart a focusable "application"; inside this aria-hidden
            # box that is a focus stop screen readers cannot name (axe: aria-hidden-focus).
            custom_attrs={"accessibilityLayer": False},
        ),
        width="100%",
        aria_hidden="true",  # the table beneath says the same to a screen reader
        custom_attrs={"data-chart": label},
    )


def _section(title: str, name: str, description: str, *children: rx.Component) -> rx.Component:
    return rx.card(
        rx.flex(
            rx.flex(
                rx.box(
                    rx.heading(title, size="4", as_="h2"),
                    rx.text(description, size="2", color_scheme="gray"),
                ),
                download_link(
                    "CSV", csv_href(name), aria_label=f"Download the {title} report (CSV)"
                ),
                justify="between",
                align="start",
                spacing="3",
                wrap="wrap",
            ),
            *children,
            direction="column",
            spacing="3",
        ),
        width="100%",
        id=f"report-{name}",
    )


def _pipeline() -> rx.Component:
    return _section(
        "Pipeline",
        "pipeline",
        "Open files and their volume by stage; new contracts (effective date) per week.",
        _bar_chart(ReportsState.stages, "label", [("files", "Open files", THIS_YEAR)], "stages"),
        _table(
            "Open files by stage",
            ["Stage", "Files", "Volume"],
            ReportsState.stages,
            lambda r: [
                rx.table.row_header_cell(r.label),
                rx.table.cell(r.files),
                rx.table.cell(r.volume),
            ],
            "table-stages",
        ),
        _bar_chart(
            ReportsState.new_contracts, "label", [("files", "New contracts", THIS_YEAR)], "weeks"
        ),
        _table(
            "New contracts per week",
            ["Week of", "Contracts", "Volume"],
            ReportsState.new_contracts,
            lambda r: [
                rx.table.row_header_cell(r.label),
                rx.table.cell(r.files),
                rx.table.cell(r.volume),
            ],
            "table-new-contracts",
        ),
    )


def _closings() -> rx.Component:
    return _section(
        "Closings",
        "closings",
        "Closed files per month, this year against last; open files closing in the next 8 weeks.",
        _bar_chart(
            ReportsState.months,
            "month",
            [("this_year", "This year", THIS_YEAR), ("last_year", "Last year", LAST_YEAR)],
            "months",
        ),
        _table(
            "Closings per month",
            ["Month", "This year", "Volume", "Last year", "Volume last year"],
            ReportsState.months,
            lambda r: [
                rx.table.row_header_cell(r.month),
                rx.table.cell(r.this_year),
                rx.table.cell(r.this_year_volume),
                rx.table.cell(r.last_year),
                rx.table.cell(r.last_year_volume),
            ],
            "table-months",
        ),
        _bar_chart(ReportsState.upcoming, "label", [("files", "Closing", THIS_YEAR)], "upcoming"),
        _table(
            "Upcoming closings by week",
            ["Week of", "Closings", "Volume"],
            ReportsState.upcoming,
            lambda r: [
                rx.table.row_header_cell(r.label),
                rx.table.cell(r.files),
                rx.table.cell(r.volume),
            ],
            "table-upcoming",
        ),
    )


def _duration_table(caption: str, rows: Any, table_id: str) -> rx.Component:
    return _table(
        caption,
        ["Group", "Files", "Median days", "90th percentile", "Average"],
        rows,
        lambda r: [
            rx.table.row_header_cell(r.label),
            rx.table.cell(r.files),
            rx.table.cell(r.median_days),
            rx.table.cell(r.p90_days),
            rx.table.cell(r.average_days),
        ],
        table_id,
    )


def _days_to_close() -> rx.Component:
    return _section(
        "Days to close",
        "days_to_close",
        "Effective date to closing for files closed in the period; fall-through rate.",
        _bar_chart(
            ReportsState.by_side,
            "label",
            [("median_days", "Median", THIS_YEAR), ("p90_days", "90th percentile", LAST_YEAR)],
            "durations",
        ),
        _duration_table("Days to close by side", ReportsState.by_side, "table-by-side"),
        _duration_table("Days to close by agent", ReportsState.by_agent, "table-by-agent"),
        _duration_table(
            "Days to close by property type", ReportsState.by_property_type, "table-by-type"
        ),
        rx.text(
            "Fall-through rate: ",
            rx.text.strong(ReportsState.fall_through_label),
            " (",
            ReportsState.cancelled,
            " cancelled, ",
            ReportsState.closed,
            " closed in the period)",
            size="2",
            id="fall-through",
        ),
        _table(
            "Cancellation reasons",
            ["Reason", "Files"],
            ReportsState.reasons,
            lambda r: [rx.table.row_header_cell(r.reason), rx.table.cell(r.files)],
            "table-reasons",
        ),
    )


def _deadline_cells(r: Any) -> list[rx.Component]:
    return [
        rx.table.row_header_cell(r.label),
        rx.table.cell(r.met),
        rx.table.cell(r.late),
        rx.table.cell(r.missed),
    ]


def _deadlines() -> rx.Component:
    return _section(
        "Deadlines",
        "deadlines",
        "Deadlines due in the period: met, met late, or missed (its task not done by the due moment).",
        _bar_chart(
            ReportsState.deadlines_by_kind,
            "label",
            [("met", "Met", THIS_YEAR), ("late", "Met late", LATE), ("missed", "Missed", MISSED)],
            "deadlines",
        ),
        _table(
            "Deadlines by kind",
            ["Deadline", "Met", "Met late", "Missed"],
            ReportsState.deadlines_by_kind,
            _deadline_cells,
            "table-deadline-kinds",
        ),
        _table(
            "Deadlines by agent",
            ["Agent", "Met", "Met late", "Missed"],
            ReportsState.deadlines_by_agent,
            _deadline_cells,
            "table-deadline-agents",
        ),
        _table(
            "Files most often late",
            ["File", "Met late", "Missed"],
            ReportsState.late_files,
            lambda r: [
                rx.table.row_header_cell(
                    rx.link(r.address, href="/transactions/" + r.transaction_id.to_string())
                ),
                rx.table.cell(r.late),
                rx.table.cell(r.missed),
            ],
            "table-late-files",
        ),
    )


def _factor(f: Any) -> rx.Component:
    return rx.flex(
        rx.badge("+", f.weight.to_string(), color_scheme="red", variant="soft"),
        rx.link(f.label, href=f.href, size="2"),
        rx.text(f.detail, size="1", color_scheme="gray"),
        spacing="2",
        align="center",
        wrap="wrap",
    )


def _at_risk() -> rx.Component:
    return _section(
        "At-risk files",
        "at_risk",
        "Open files scored by plain factors, each with its weight and the page that fixes it.",
        rx.text(
            "Factors: ",
            ", ".join(f"{label} (+{weight})" for _, label, weight, _ in reports.FACTORS),
            ".",
            size="1",
            color_scheme="gray",
        ),
        rx.cond(
            ReportsState.at_risk.length() == 0,
            rx.text("No open file shows a risk factor.", size="2", id="no-risk"),
            rx.flex(
                rx.foreach(
                    ReportsState.at_risk,
                    lambda r: rx.box(
                        rx.flex(
                            rx.link(
                                rx.text(r.address, weight="medium"),
                                href="/transactions/" + r.transaction_id.to_string(),
                            ),
                            rx.badge("Score ", r.score.to_string(), color_scheme="red"),
                            justify="between",
                            spacing="2",
                            wrap="wrap",
                        ),
                        rx.text(
                            r.stage_label,
                            " · closing ",
                            r.closing_label,
                            size="1",
                            color_scheme="gray",
                        ),
                        rx.flex(rx.foreach(r.factors, _factor), direction="column", spacing="1"),
                        padding="8px 0",
                        border_bottom=f"1px solid {rx.color('gray', 5)}",
                        class_name="at-risk-row",
                    ),
                ),
                direction="column",
                id="at-risk-list",
            ),
        ),
    )


def _content() -> rx.Component:
    return rx.cond(
        ReportsState.error,
        error_callout(ReportsState.error),
        rx.cond(
            ReportsState.loaded,
            rx.cond(
                ~ReportsState.has_data,
                empty_state(
                    "chart_column",
                    "Nothing to report yet",
                    "No files match these filters. Clear them, or add a transaction.",
                    rx.button("Clear filters", variant="soft", on_click=ReportsState.clear_filters),
                ),
                rx.grid(
                    _pipeline(),
                    _closings(),
                    _days_to_close(),
                    _deadlines(),
                    _at_risk(),
                    columns=rx.breakpoints(initial="1", lg="2"),
                    spacing="4",
                    width="100%",
                ),
            ),
            rx.flex(rx.spinner(size="3"), rx.text("Loading reports…"), spacing="2", padding="24px"),
        ),
    )


@page(routes.REPORTS, "Reports", on_load=ReportsState.load)
def reports_page() -> rx.Component:
    return app_shell(
        page_header(
            "Reports",
            subtitle="Counts only the files you may see.",
        ),
        _filters(),
        _content(),
        active="reports",
        user_name=ReportsState.user_name,
        role_label=ReportsState.role_label,
        is_staff=ReportsState.is_staff,
        signed_in=ReportsState.signed_in,
    )
