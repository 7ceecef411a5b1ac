"""The app shell: top bar with role-aware navigation, colour-mode toggle and sign-out form."""

from __future__ import annotations

import reflex as rx
from reflex.config import get_config
from reflex.vars import Var

from chronos import routes
from chronos.components.native_form import native_form

# Submitting an auth form drops Reflex's per-tab client token, so the next person signing in
# from this tab starts with a fresh server-side state (see ARCHITECTURE.md, "Sessions").
AUTH_FORM_SCRIPT = """
document.addEventListener('submit', function (e) {
  var f = e.target;
  if (f && f.getAttribute && f.getAttribute('data-chronos-auth') === '1') {
    try { window.sessionStorage.removeItem('token'); } catch (err) {}
  }
}, true);
"""


def api_url(path: str) -> str:
    return get_config().api_url.rstrip("/") + path


def brand() -> rx.Component:
    return rx.link(
        rx.flex(
            rx.icon("calendar_check", size=22, color=rx.color("accent", 9)),
            rx.text("Chronos", weight="bold", size="5"),
            align="center",
            spacing="2",
        ),
        href="/",
        underline="none",
        color_scheme="gray",
        high_contrast=True,
        aria_label="Chronos home",
    )


def nav_link(label: str, icon: str, href: str, active: bool) -> rx.Component:
    return rx.link(
        rx.flex(
            rx.icon(icon, size=18),
            rx.text(label, display=["none", "none", "inline"]),
            align="center",
            spacing="2",
        ),
        href=href,
        underline="none",
        weight="medium",
        color_scheme="indigo" if active else "gray",
        high_contrast=not active,
        aria_label=label,
        aria_current="page" if active else None,
        padding_x="8px",
        padding_y="4px",
        border_radius="6px",
        background=rx.color("accent", 3) if active else "transparent",
    )


def sign_out_form() -> rx.Component:
    return native_form(
        rx.button(
            rx.icon("log_out", size=16),
            rx.text("Sign out", display=["none", "inline"]),
            type="submit",
            variant="ghost",
            color_scheme="gray",
            aria_label="Sign out",
        ),
        action=api_url(routes.SIGN_OUT_API),
        method="post",
        custom_attrs={"data-chronos-auth": "1"},
        style={"margin": 0},
    )


def navbar(active: str, user_name: Var, role_label: Var, is_staff: Var) -> rx.Component:
    staff_links = rx.flex(
        nav_link("Pipeline", "kanban", routes.PIPELINE, active == "pipeline"),
        nav_link("New", "circle_plus", routes.NEW_TRANSACTION, active == "new"),
        nav_link("People", "users", routes.PEOPLE, active == "people"),
        spacing="1",
    )
    portal_links = rx.flex(
        nav_link("My transactions", "house", routes.PORTAL, active == "portal"),
        spacing="1",
    )
    # Imported here: the state package imports components for its pages' helpers.
    from chronos.state.session import SessionState

    admin_link = rx.cond(
        SessionState.is_admin,
        nav_link("Admin", "shield", routes.ADMIN_USERS, active == "admin"),
    )
    return rx.el.header(
        rx.flex(
            brand(),
            rx.el.nav(
                rx.flex(rx.cond(is_staff, staff_links, portal_links), admin_link, spacing="1"),
                aria_label="Main",
            ),
            rx.spacer(),
            rx.flex(
                rx.link(
                    rx.flex(
                        rx.box(
                            rx.text(user_name, size="2", weight="medium"),
                            rx.text(role_label, size="1", color_scheme="gray"),
                            display=["none", "none", "block"],
                            text_align="right",
                        ),
                        rx.icon("circle_user_round", size=20),
                        align="center",
                        spacing="2",
                    ),
                    href=routes.ACCOUNT,
                    underline="none",
                    color_scheme="gray",
                    high_contrast=True,
                    aria_label="Your account",
                    aria_current="page" if active == "account" else None,
                ),
                rx.color_mode.button(
                    variant="ghost", color_scheme="gray", aria_label="Toggle dark mode"
                ),
                sign_out_form(),
                align="center",
                spacing="3",
            ),
            align="center",
            spacing=rx.breakpoints(initial="2", sm="4"),
            max_width="1200px",
            margin_x="auto",
            padding_x=["12px", "16px"],
            height="56px",
        ),
        style={
            "position": "sticky",
            "top": 0,
            "zIndex": 10,
            "backdropFilter": "blur(8px)",
            "borderBottom": f"1px solid {rx.color('gray', 5)}",
            "background": rx.color("gray", 1, alpha=True),
        },
    )


def app_shell(
    *children: rx.Component,
    active: str,
    user_name: Var,
    role_label: Var,
    is_staff: Var,
    signed_in: Var,
) -> rx.Component:
    """Page frame. Until the loader has confirmed who is signed in, only a spinner shows."""
    return rx.box(
        rx.cond(signed_in, navbar(active, user_name, role_label, is_staff)),
        rx.el.main(
            *children,
            style={"maxWidth": "1200px", "margin": "0 auto"},
            padding_x=["12px", "16px", "24px"],
            padding_y=["16px", "24px"],
        ),
        min_height="100vh",
    )
