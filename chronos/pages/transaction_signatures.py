"""The transaction page's e-signature panel (being built)."""

from __future__ import annotations

import reflex as rx

from chronos.state.session import SessionState


class SignaturePanelState(SessionState):
    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        return None


def signatures_panel() -> rx.Component:
    return rx.fragment()
