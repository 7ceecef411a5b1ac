"""Task rows shared by the Today page, the transaction page and the portal."""

from __future__ import annotations

from typing import Any

import reflex as rx

STATE_COLORS = {
    "overdue": "red",
    "due_today": "orange",
    "due_soon": "amber",
    "upcoming": "gray",
    "no_date": "gray",
    "done": "grass",
    "not_applicable": "gray",
}


def task_state_badge(state: Any, label: Any) -> rx.Component:
    return rx.match(
        state,
        *[
            (key, rx.badge(label, color_scheme=color, variant="soft", size="1"))  # type: ignore[arg-type]
            for key, color in STATE_COLORS.items()
        ],
        rx.badge(label, variant="soft", size="1"),
    )


def done_button(row: Any, on_toggle: Any) -> rx.Component:
    """A large round check: marks the task done, or open again when it is done."""
    is_done = row.status == "done"
    return rx.icon_button(
        rx.cond(is_done, rx.icon("circle_check_big", size=22), rx.icon("circle", size=22)),
        variant="ghost",
        color_scheme=rx.cond(is_done, "grass", "gray"),
        size="3",
        radius="full",
        disabled=~row.can_complete | (row.status == "not_applicable"),
        on_click=on_toggle,
        aria_label=rx.cond(is_done, "Reopen: ", "Mark done: ") + row.title,
        aria_pressed=is_done,
        flex_shrink="0",
    )


def task_row(
    row: Any,
    on_toggle: Any,
    *,
    show_address: bool = False,
    href: Any = None,
    extra: rx.Component | None = None,
) -> rx.Component:
    """One task: check button, title (struck through when done), who, when, state."""
    finished = (row.status == "done") | (row.status == "not_applicable")
    meta = rx.flex(
        rx.cond(
            row.due_date,
            rx.flex(
                rx.icon("calendar", size=13),
                rx.text(row.due_label, size="1"),
                align="center",
                spacing="1",
            ),
        ),
        rx.cond(
            row.assignee_label,
            rx.flex(
                rx.icon("user_round", size=13),
                rx.text(row.assignee_label, size="1"),
                align="center",
                spacing="1",
            ),
        ),
        rx.cond(row.due_rule, rx.text("(", row.due_rule, ")", size="1")),
        spacing="3",
        wrap="wrap",
        color=rx.color("gray", 11),
    )
    body = rx.box(
        rx.text(
            row.title,
            size="2",
            weight="medium",
            text_decoration=rx.cond(finished, "line-through", "none"),
            color=rx.cond(finished, rx.color("gray", 10), "inherit"),
        ),
        *(
            [rx.link(row.address, href=href, size="1", color_scheme="indigo")]
            if show_address
            else []
        ),
        meta,
        rx.cond(row.notes, rx.text(row.notes, size="1", color_scheme="gray")),
        flex="1",
        min_width="0",
    )
    return rx.flex(
        done_button(row, on_toggle),
        body,
        rx.flex(
            task_state_badge(row.state, row.state_label),
            *([extra] if extra is not None else []),
            direction="column",
            align="end",
            spacing="1",
        ),
        align="start",
        spacing="3",
        padding_y="10px",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        width="100%",
    )
