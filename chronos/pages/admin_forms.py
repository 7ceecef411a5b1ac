"""Form templates (being built)."""

from __future__ import annotations

import reflex as rx

from chronos.pages.registry import page


@page("/admin/forms", "Form templates")
def admin_forms_page() -> rx.Component:
    return rx.text("Form templates")
