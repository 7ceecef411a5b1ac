"""Compliance checklists (being built)."""

from __future__ import annotations

import reflex as rx

from chronos.pages.registry import page


@page("/admin/compliance", "Compliance checklists")
def admin_compliance_page() -> rx.Component:
    return rx.text("Compliance checklists")
