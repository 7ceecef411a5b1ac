"""Pieces shared by the email pages (developer mailbox, admin email log)."""

from __future__ import annotations

import reflex as rx
from reflex.vars import Var

STATUS_COLORS = {"queued": "amber", "sending": "blue", "sent": "grass", "failed": "red"}


def email_status_badge(status: Var | str, label: Var | str) -> rx.Component:
    return rx.match(
        status,
        *[
            (key, rx.badge(label, color_scheme=color, variant="soft", size="1"))  # type: ignore[arg-type]
            for key, color in STATUS_COLORS.items()
        ],
        rx.badge(label, variant="soft", size="1"),
    )


DELIVERY_COLORS = {"delivered": "grass", "bounced": "red", "complained": "orange"}
DELIVERY_ICONS = {"delivered": "mail_check", "bounced": "mail_x", "complained": "shield_alert"}


def delivery_badge(status: Var | str, label: Var | str) -> rx.Component:
    """What the provider reported after accepting the message; nothing while it has not."""
    return rx.match(
        status,
        *[
            (
                key,
                rx.badge(
                    rx.icon(DELIVERY_ICONS[key], size=12),
                    label,
                    color_scheme=color,  # type: ignore[arg-type]
                    variant="outline",
                    size="1",
                    title="Reported by the mail provider",
                ),
            )
            for key, color in DELIVERY_COLORS.items()
        ],
        rx.fragment(),
    )
