"""The timeline list: newest first, one row per event, with a "show more" control."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.vars import Var
from reflex.vars.function import FunctionStringVar

from chronos.services.timeline import EventRow

KIND_ICONS = {
    "transaction_created": "file_plus",
    "imported": "file_up",
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


# Formatting in the browser with its own Intl API (viewer's zone and language) instead of
# rx.moment, which adds moment.js (~55 KB) to every page that shows a time (bench/FINDINGS.md).
_LOCAL_TIME: FunctionStringVar[Any] = FunctionStringVar.create(
    "((s) => { const d = new Date(s); return isNaN(d) ? '' : d.toLocaleString(undefined,"
    " {weekday: 'short', day: 'numeric', month: 'short', year: 'numeric',"
    " hour: 'numeric', minute: '2-digit'}); })"
)
_FROM_NOW: FunctionStringVar[Any] = FunctionStringVar.create(
    "((s) => { const d = new Date(s); if (isNaN(d)) return '';"
    " const secs = (d.getTime() - Date.now()) / 1000; const abs = Math.abs(secs);"
    " const rtf = new Intl.RelativeTimeFormat(undefined, {numeric: 'auto'});"
    " const steps = [[60, 'second', 1], [3600, 'minute', 60], [86400, 'hour', 3600],"
    " [2592000, 'day', 86400], [31536000, 'month', 2592000], [Infinity, 'year', 31536000]];"
    " for (const [limit, unit, size] of steps) { if (abs < limit)"
    " return abs < 45 && unit === 'second' ? 'just now' : rtf.format(Math.round(secs / size), unit); }"
    " return ''; })"
)


def local_time(iso: Var) -> rx.Component:
    """Render a UTC ISO timestamp in the viewer's own time zone."""
    return rx.el.time(_LOCAL_TIME.call(iso), date_time=iso)


def time_ago(iso: Var) -> rx.Component:
    """ "3 hours ago" for a UTC ISO timestamp (the exact time in a tooltip)."""
    return rx.el.time(_FROM_NOW.call(iso), date_time=iso, title=_LOCAL_TIME.call(iso))


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
