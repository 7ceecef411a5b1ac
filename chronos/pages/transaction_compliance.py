"""The transaction page's compliance checklist panel (being built)."""

from __future__ import annotations

import reflex as rx

from chronos.state.session import SessionState


class CompliancePanelState(SessionState):
    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        return None


def compliance_panel() -> rx.Component:
    return rx.fragment()
