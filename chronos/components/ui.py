"""Small building blocks shared by the pages: badges, states (loading/empty/error), fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import reflex as rx
from reflex.vars import Var

STAGE_COLORS = {
    "pre_listing": "gray",
    "active_listing": "blue",
    "under_contract": "amber",
    "clear_to_close": "teal",
    "closed": "grass",
    "cancelled": "red",
}


def stage_badge(stage: Var | str, label: Var | str) -> rx.Component:
    return rx.match(
        stage,
        *[
            (key, rx.badge(label, color_scheme=color, variant="soft", size="2"))  # type: ignore[arg-type]
            for key, color in STAGE_COLORS.items()
        ],
        rx.badge(label, variant="soft", size="2"),
    )


def side_badge(label: Var | str) -> rx.Component:
    return rx.badge(label, variant="outline", color_scheme="gray", size="1")


def page_header(title: Var | str, *actions: rx.Component, subtitle: Var | str = "") -> rx.Component:
    return rx.flex(
        rx.box(
            rx.heading(title, size="7", weight="bold", as_="h1"),
            rx.cond(subtitle, rx.text(subtitle, color_scheme="gray", size="2")),
        ),
        rx.flex(*actions, spacing="2", wrap="wrap"),
        justify="between",
        align="center",
        wrap="wrap",
        spacing="3",
        margin_bottom="16px",
        width="100%",
    )


def loading_block(label: str = "Loading…") -> rx.Component:
    return rx.flex(
        rx.spinner(size="3"),
        rx.text(label, color_scheme="gray"),
        direction="column",
        align="center",
        spacing="3",
        padding_y="64px",
        width="100%",
        role="status",
        aria_live="polite",
    )


def empty_state(icon: str, title: str, body: Var | str, *actions: rx.Component) -> rx.Component:
    return rx.flex(
        rx.icon(icon, size=36, color=rx.color("gray", 9)),
        rx.heading(title, size="4", as_="h2"),
        rx.text(body, color_scheme="gray", align="center", max_width="28rem"),
        rx.flex(*actions, spacing="2"),
        direction="column",
        align="center",
        spacing="3",
        padding_y="48px",
        padding_x="16px",
        width="100%",
    )


def error_callout(message: Var | str) -> rx.Component:
    return rx.callout(
        message,
        icon="triangle_alert",
        color_scheme="red",
        role="alert",
        width="100%",
    )


def notice_callout(message: Var | str) -> rx.Component:
    return rx.callout(message, icon="info", color_scheme="blue", width="100%", role="status")


def field(
    label: str,
    control: rx.Component,
    error: Var | str = "",
    hint: str = "",
) -> rx.Component:
    return rx.flex(
        rx.el.label(
            rx.text(label, size="2", weight="medium"),
            control,
            style={"display": "flex", "flexDirection": "column", "gap": "4px"},
        ),
        rx.cond(
            error,
            rx.text(error, color_scheme="red", size="1", role="alert"),
            rx.cond(hint != "", rx.text(hint, color_scheme="gray", size="1")),
        ),
        direction="column",
        spacing="1",
        width="100%",
    )


def pager(
    page: Var, pages: Var, total: Var, on_prev: rx.EventHandler, on_next: rx.EventHandler
) -> rx.Component:
    return rx.flex(
        rx.text(total.to_string() + " total", color_scheme="gray", size="2"),
        rx.flex(
            rx.button(
                rx.icon("chevron_left", size=16),
                "Previous",
                variant="soft",
                disabled=page <= 1,
                on_click=on_prev,
                aria_label="Previous page",
            ),
            rx.text("Page ", page.to_string(), " of ", pages.to_string(), size="2"),
            rx.button(
                "Next",
                rx.icon("chevron_right", size=16),
                variant="soft",
                disabled=page >= pages,
                on_click=on_next,
                aria_label="Next page",
            ),
            spacing="3",
            align="center",
        ),
        justify="between",
        align="center",
        wrap="wrap",
        spacing="3",
        width="100%",
        padding_top="12px",
    )


def form_actions(
    submit_label: str,
    saving: Var | bool = False,
    cancel: rx.Component | None = None,
) -> rx.Component:
    """The Cancel / submit row of a form. Cancel closes the surrounding dialog by default."""
    cancel_button = rx.button(
        "Cancel", variant="soft", color_scheme="gray", type="button", size="3", disabled=saving
    )
    return rx.flex(
        cancel if cancel is not None else rx.dialog.close(cancel_button),
        rx.button(
            rx.cond(saving, rx.spinner(size="2"), rx.icon("check", size=16)),
            submit_label,
            type="submit",
            size="3",
            disabled=saving,
        ),
        justify="end",
        spacing="3",
    )


def two_columns(*children: rx.Component) -> rx.Component:
    """Form fields side by side from small tablets up, stacked on phones."""
    return rx.grid(
        *children, columns=rx.breakpoints(initial="1", sm="2"), spacing="3", width="100%"
    )


def responsive_list(
    table: rx.Component, rows: Var, card: Callable[[Var], rx.Component], footer: rx.Component
) -> rx.Component:
    """A table from desktop width, the same rows as cards on phones and tablets, then a footer."""
    return rx.box(
        rx.box(table, display=["none", "none", "block"]),
        rx.flex(
            rx.foreach(rows, card),
            direction="column",
            spacing="2",
            display=["flex", "flex", "none"],
        ),
        footer,
        width="100%",
    )


def select_field(value: Any, on_change: Any, options: dict[str, str], label: str) -> rx.Component:
    """A full-width select over fixed options ({value: text}), labelled for screen readers."""
    return rx.select.root(
        rx.select.trigger(aria_label=label, width="100%"),
        rx.select.content(*[rx.select.item(text, value=key) for key, text in options.items()]),
        value=value,
        on_change=on_change,
    )


def native_select(
    name: str, options: dict[str, str], default: str = "", *, id: str = ""
) -> rx.Component:
    """A plain <select> for forms read on submit ({value: text}); 16 px so iOS does not zoom."""
    return rx.el.select(
        *[rx.el.option(label, value=value) for value, label in options.items()],
        name=name,
        default_value=default,
        id=id or None,
        class_name="rt-reset",
        style={
            "padding": "8px",
            "borderRadius": "6px",
            "border": f"1px solid {rx.color('gray', 7)}",
            "background": rx.color("gray", 1),
            "color": rx.color("gray", 12),
            "width": "100%",
            "fontSize": "16px",
        },
    )


def copy_or_dismiss(secret: Var, dismiss_label: str, on_dismiss: Any) -> rx.Component:
    """ "Copy" (to the clipboard) and a dismiss button, under a secret shown to its owner."""
    return rx.flex(
        rx.button(
            rx.icon("copy", size=14),
            "Copy",
            size="1",
            variant="soft",
            on_click=rx.set_clipboard(secret),
        ),
        rx.button(dismiss_label, size="1", variant="outline", on_click=on_dismiss),
        spacing="2",
    )


def download_link(label: str, href: Var | str, *, aria_label: str = "") -> rx.Component:
    """A CSV (or other file) download: a plain link the browser follows with its cookie, drawn
    as a quiet button (Radix ``asChild``: one <a>, no button nested in a link). Not the app
    router's navigation: the file is no page of the app."""
    return rx.button(
        rx.el.a(
            rx.icon("download", size=16),
            label,
            href=href,
            download="",
            aria_label=aria_label or label,
            # rx.el.a is React Router's Link: let the browser follow it (a file, not a page).
            custom_attrs={"reloadDocument": True},
        ),
        as_child=True,
        variant="soft",
        size="2",
    )


def progress_bar(value: Var | int, label: str, value_text: Var | str) -> rx.Component:
    """A progress bar that says what it measures: Radix's bar is a bare ``progressbar`` role,
    which screen readers announce as "progress bar, 40%" with no subject (axe:
    aria-progressbar-name). ``label`` names it, ``value_text`` reads the value in words
    ("3 of 8 accepted"); ``value`` is 0-100."""
    return rx.progress(
        value=value,
        size="1",
        aria_label=label,
        aria_valuetext=value_text,
    )


def action_menu(trigger: rx.Component, *items: rx.Component) -> rx.Component:
    """A button that opens a menu of actions (WAI-ARIA menu button). Not modal: Radix's modal
    menu hides the whole page with aria-hidden while its links stay focusable, which axe
    reports as serious (aria-hidden-focus; radix-ui/primitives#2459). Focus still moves into
    the menu, arrows walk it, Escape or Tab closes it."""
    return rx.dropdown_menu.root(
        rx.dropdown_menu.trigger(trigger),
        rx.dropdown_menu.content(*items),
        modal=False,
    )


def danger_item(label: str, **props: Any) -> rx.Component:
    """A destructive menu item ("Delete"), in the theme's red (assets/theme.css keeps it and
    its highlighted state readable); never a raw CSS colour, which ignores dark mode."""
    return rx.dropdown_menu.item(label, color_scheme="red", **props)
