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
