""" "Add to calendar" links: one date, or every date of a file, as an .ics download.

Pure pieces: the page passes the transaction id and key (plain values or Vars). The files come
from ``api/calendar_routes.py`` behind the session cookie and the access policy.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from chronos.components.layout import api_url


def ics_href(transaction_id: Any, key: Any = None) -> Any:
    """``/feeds/transactions/<id>.ics`` (or ``/<id>/<key>.ics``) on the backend."""
    base = api_url("/feeds/transactions/")
    tid = transaction_id.to_string() if isinstance(transaction_id, rx.Var) else str(transaction_id)
    if key is None:
        return base + tid + ".ics"
    return base + tid + "/" + key + ".ics"


def add_date_link(href: Any, label: Any) -> rx.Component:
    """An icon link for one date (keyboard-reachable, named for screen readers)."""
    return rx.link(
        rx.icon("calendar_plus", size=14),
        href=href,
        download=True,
        aria_label="Add " + label + " to my calendar",
        title="Add to my calendar (.ics)",
        color_scheme="gray",
        padding="6px",
    )


def file_dates_link(href: Any) -> rx.Component:
    return rx.link(
        rx.flex(rx.icon("calendar_plus", size=14), "All dates (.ics)", align="center", spacing="1"),
        href=href,
        download=True,
        size="2",
        aria_label="Download every key date of this file for my calendar",
    )
