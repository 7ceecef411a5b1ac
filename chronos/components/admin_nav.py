"""The admin area's tabs: one row of links shared by every admin page."""

from __future__ import annotations

import reflex as rx

from chronos import routes

TABS = (
    ("users", "Users", "users", routes.ADMIN_USERS),
    ("checklists", "Checklists", "list_checks", routes.ADMIN_CHECKLISTS),
    ("compliance", "Required documents", "file_check", routes.ADMIN_COMPLIANCE),
    ("forms", "Forms", "file_pen_line", routes.ADMIN_FORMS),
    ("deadlines", "Deadlines", "calendar_cog", routes.ADMIN_DEADLINES),
    ("automations", "Automations", "workflow", routes.ADMIN_AUTOMATIONS),
    ("security", "Security log", "shield_check", routes.ADMIN_SECURITY),
    ("email", "Email log", "mail", routes.ADMIN_EMAIL),
    ("summary", "Summary PDF", "file_text", routes.ADMIN_SUMMARY),
    ("export", "Export", "archive", routes.ADMIN_EXPORT),
)


def admin_tabs(active: str) -> rx.Component:
    return rx.el.nav(
        rx.flex(
            *[
                rx.link(
                    rx.flex(
                        rx.icon(icon, size=14),
                        rx.text(label, size="2"),
                        spacing="1",
                        align="center",
                    ),
                    href=href,
                    underline="none",
                    color_scheme="indigo" if key == active else "gray",
                    high_contrast=key != active,
                    weight="medium",
                    padding="6px 10px",
                    border_radius="6px",
                    background=rx.color("accent", 3) if key == active else "transparent",
                    aria_current="page" if key == active else None,
                    white_space="nowrap",
                )
                for key, label, icon, href in TABS
            ],
            spacing="1",
            overflow_x="auto",
            padding_bottom="4px",
        ),
        aria_label="Admin",
        style={"marginBottom": "12px", "borderBottom": f"1px solid {rx.color('gray', 4)}"},
    )
