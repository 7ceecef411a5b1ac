"""The timeline list: newest first, one row per event, with a "show more" control."""

from __future__ import annotations

import reflex as rx
from reflex.vars import Var

from chronos.services.timeline import EventRow

KIND_ICONS = {
    "transaction_created": "file_plus",
    "stage_changed": "arrow_right_left",
    "dates_changed": "calendar_clock",
    "details_updated": "pencil",
    "participant_added": "user_plus",
    "participant_removed": "user_minus",
    "key_dates_applied": "calendar_check",
    "key_dates_moved": "calendar_clock",
    "key_date_overridden": "calendar_cog",
    "key_date_override_removed": "calendar_sync",
    "key_date_sharing_changed": "eye",
    "note": "message_square_text",
    "thread_started": "messages_square",
    "email_sent": "mail",
    "email_scheduled": "mail_plus",
    "email_bounced": "mail_x",
    "email_complained": "mail_warning",
    "task_added": "list_plus",
    "task_completed": "circle_check",
    "task_updated": "list_checks",
    "task_deleted": "list_x",
    "tasks_reassigned": "users",
    "checklist_applied": "list_checks",
    "automation_ran": "workflow",
    "automation_failed": "triangle_alert",
    "invitation_sent": "send",
    "invitation_accepted": "user_check",
    "invitation_revoked": "user_x",
}


def _icon(kind: Var) -> rx.Component:
    return rx.match(
        kind,
        *[(k, rx.icon(icon, size=16)) for k, icon in KIND_ICONS.items()],
        rx.icon("dot", size=16),
    )


def local_time(iso: Var) -> rx.Component:
    """Render a UTC ISO timestamp in the viewer's own time zone."""
    return rx.moment(iso, format="ddd D MMM YYYY, h:mm a", local=True)


def timeline_list(
    events: Var[list[EventRow]],
    has_more: Var[bool],
    on_more: rx.EventHandler,
    empty_text: str = "Nothing has happened yet.",
) -> rx.Component:
    return rx.box(
        rx.cond(
            events.length() == 0,
            rx.text(empty_text, color_scheme="gray", size="2"),
            rx.el.ol(
                rx.foreach(
                    events,
                    lambda e: rx.el.li(
                        rx.flex(
                            rx.box(
                                _icon(e.kind),
                                color=rx.color("accent", 11),
                                background=rx.color("accent", 3),
                                border_radius="999px",
                                padding="6px",
                                line_height="0",
                            ),
                            rx.box(
                                rx.text(e.summary, size="2"),
                                rx.text(
                                    e.actor_name,
                                    " · ",
                                    local_time(e.created_at),
                                    size="1",
                                    color_scheme="gray",
                                ),
                            ),
                            spacing="3",
                            align="start",
                        ),
                        style={"listStyle": "none", "padding": "8px 0"},
                    ),
                ),
                style={"margin": 0, "padding": 0},
                aria_label="Timeline",
            ),
        ),
        rx.cond(
            has_more,
            rx.button("Show older", variant="soft", size="1", on_click=on_more, margin_top="8px"),
        ),
    )
