"""The portal's documents section (shared documents, uploads, lender tracker) (being built)."""

from __future__ import annotations

import reflex as rx

from chronos.state.session import SessionState


class PortalDocumentsState(SessionState):
    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        return None


def portal_documents() -> rx.Component:
    return rx.fragment()
