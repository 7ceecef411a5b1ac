"""The transaction page's lender conditions panel (being built)."""

from __future__ import annotations

import reflex as rx

from chronos.state.session import SessionState


class LenderPanelState(SessionState):
    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        return None


def lender_panel() -> rx.Component:
    return rx.fragment()
