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


def brand(compact: bool = False) -> rx.Component:
    """The logo; ``compact`` drops the word on phones (the navbar needs the room at 390px)."""
    return rx.link(
        rx.flex(
            rx.icon("calendar_check", size=22, color=rx.color("accent", 9)),
            rx.text(
                "Chronos",
                weight="bold",
                size="5",
                display=["none", "inline"] if compact else "inline",
            ),
            align="center",
            spacing="2",
        ),
        href="/",
        underline="none",
        color_scheme="gray",
        high_contrast=True,
        aria_label="Chronos home",
    )


def nav_link(
    label: str, icon: str, href: str, active: bool, *, on_phones: bool = True
) -> rx.Component:
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
        # Links that also have a button on their pages give up their place on phones.
        display="inline-flex" if on_phones else ["none", "inline-flex"],
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
        nav_link("Today", "sun", routes.TODAY, active == "today"),
        nav_link("Pipeline", "kanban", routes.PIPELINE, active == "pipeline"),
        nav_link("Calendar", "calendar_days", routes.CALENDAR, active == "calendar"),
        nav_link("New", "circle_plus", routes.NEW_TRANSACTION, active == "new", on_phones=False),
        nav_link("People", "users", routes.PEOPLE, active == "people"),
        nav_link("Reports", "chart_column", routes.REPORTS, active == "reports", on_phones=False),
        spacing="1",
    )
    portal_links = rx.flex(
        nav_link("My transactions", "house", routes.PORTAL, active == "portal"),
        nav_link("Calendar", "calendar_days", routes.CALENDAR, active == "calendar"),
        spacing="1",
    )
    # Imported here: the state package imports components for its pages' helpers.
    from chronos.state.session import SessionState

    admin_link = rx.cond(
        SessionState.is_admin,
        rx.flex(
            rx.box(
                nav_link("Review", "file_check", routes.REVIEW, active == "review"),
                rx.cond(
                    SessionState.review_count > 0,
                    rx.badge(
                        rx.cond(
                            SessionState.review_count > 99,
                            "99+",
                            SessionState.review_count.to_string(),
                        ),
                        color_scheme="amber",
                        variant="solid",
                        radius="full",
                        size="1",
                        position="absolute",
                        top="-4px",
                        right="-6px",
                        aria_label=SessionState.review_count.to_string() + " awaiting review",
                    ),
                ),
                position="relative",
            ),
            nav_link("Admin", "shield", routes.ADMIN_USERS, active == "admin"),
            spacing="1",
        ),
    )
    bell = rx.link(
        rx.box(
            rx.icon("bell", size=20),
            rx.cond(
                SessionState.unread_count > 0,
                rx.badge(
                    rx.cond(
                        SessionState.unread_count > 99, "99+", SessionState.unread_count.to_string()
                    ),
                    color_scheme="red",
                    variant="solid",
                    radius="full",
                    size="1",
                    position="absolute",
                    top="-8px",
                    right="-10px",
                ),
            ),
            position="relative",
            display="flex",
        ),
        href=routes.NOTIFICATIONS,
        color_scheme="gray",
        high_contrast=True,
        aria_label=rx.cond(
            SessionState.unread_count > 0,
            "Notifications: " + SessionState.unread_count.to_string() + " unread",
            "Notifications",
        ),
        aria_current="page" if active == "notifications" else None,
    )
    return rx.el.header(
        rx.flex(
            brand(compact=True),
            rx.el.nav(
                rx.flex(rx.cond(is_staff, staff_links, portal_links), admin_link, spacing="1"),
                aria_label="Main",
            ),
            rx.spacer(),
            rx.flex(
                bell,
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
                rx.box(
                    rx.color_mode.button(
                        variant="ghost", color_scheme="gray", aria_label="Toggle dark mode"
                    ),
                    # No room on phones: the account page has the switch there.
                    display=["none", "block"],
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


def verify_banner() -> rx.Component:
    """Shown to a signed-in user whose email address is not verified yet."""
    from chronos.state.session import SessionState

    return rx.box(
        rx.callout.root(
            rx.callout.icon(rx.icon("mail_warning", size=18)),
            rx.flex(
                rx.callout.text(
                    rx.text.strong("Verify your email address. "),
                    "Open the link we emailed you. Until then you can look around, but not "
                    "invite people or open transactions.",
                ),
                rx.button(
                    rx.cond(
                        SessionState.resend_busy, rx.spinner(size="1"), rx.icon("send", size=14)
                    ),
                    "Resend email",
                    size="1",
                    variant="soft",
                    color_scheme="amber",
                    disabled=SessionState.resend_busy,
                    on_click=SessionState.resend_verification,
                    id="resend-verification",
                ),
                direction=rx.breakpoints(initial="column", sm="row"),
                align=rx.breakpoints(initial="start", sm="center"),
                justify="between",
                spacing="3",
                width="100%",
            ),
            color_scheme="amber",
            role="status",
            width="100%",
        ),
        max_width="1200px",
        margin_x="auto",
        padding_x=["12px", "16px", "24px"],
        padding_top="12px",
    )


def auth_card(*children: rx.Component, width: str = "420px") -> rx.Component:
    """The centred card of the signed-out pages (sign-in, sign-up, reset, verification)."""
    return rx.center(
        rx.card(
            rx.flex(brand(), *children, direction="column", spacing="4"),
            size="4",
            width="100%",
            max_width=width,
        ),
        min_height="100vh",
        padding="16px",
        background=rx.color("gray", 2),
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
    from chronos.state.session import SessionState

    return rx.box(
        rx.cond(signed_in, navbar(active, user_name, role_label, is_staff)),
        rx.cond(signed_in & ~SessionState.email_verified, verify_banner()),
        rx.el.main(
            *children,
            style={"maxWidth": "1200px", "margin": "0 auto"},
            padding_x=["12px", "16px", "24px"],
            padding_y=["16px", "24px"],
        ),
        min_height="100vh",
    )
