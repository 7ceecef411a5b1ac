"""Document review (being built)."""

from __future__ import annotations

import reflex as rx

from chronos.pages.registry import page


@page("/review", "Document review")
def review_page() -> rx.Component:
    return rx.text("Document review")
