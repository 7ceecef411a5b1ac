"""The portal's signing section and signing page (being built)."""

from __future__ import annotations

import reflex as rx

from chronos.state.session import SessionState


class PortalSignState(SessionState):
    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        return None


def portal_sign_section() -> rx.Component:
    return rx.fragment()
