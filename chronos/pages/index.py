"""``/``: send each person to their role's home (or to sign in)."""

from __future__ import annotations

import reflex as rx

from chronos import routes
from chronos.components.ui import loading_block
from chronos.pages.registry import page
from chronos.state.session import SessionState


class IndexState(SessionState):
    @rx.event
    def route_home(self):  # type: ignore[no-untyped-def]
        user = self._actor()
        if user is None:
            return rx.redirect(routes.SIGN_IN, replace=True)
        return rx.redirect(routes.home_for(user.role), replace=True)


@page("/", "Home", on_load=IndexState.route_home)
def index_page() -> rx.Component:
    return loading_block("Opening Chronos…")
