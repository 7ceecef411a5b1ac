"""The transaction page's documents panel (being built)."""

from __future__ import annotations

import reflex as rx

from chronos.state.session import SessionState


class DocumentsPanelState(SessionState):
    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        return None


def documents_panel() -> rx.Component:
    return rx.fragment()
