"""The transaction page's form-filling and packet-splitting panel (being built)."""

from __future__ import annotations

import reflex as rx

from chronos.state.session import SessionState


class FormsPanelState(SessionState):
    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        return None


def forms_panel() -> rx.Component:
    return rx.fragment()
