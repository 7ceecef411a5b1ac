"""Page registration. Pages declare route, title and loader; chronos.py adds them to the app.

Gating a page is cosmetic (compiled pages are public): every page's data comes from its
``on_load`` handler, which resolves the actor from the session cookie and checks the role.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import reflex as rx


@dataclass(frozen=True)
class PageSpec:
    component: Callable[[], rx.Component]
    route: str
    title: str
    on_load: Any


PAGES: list[PageSpec] = []


def page(
    route: str, title: str, on_load: Any = None
) -> Callable[[Callable[[], rx.Component]], Callable[[], rx.Component]]:
    def register(fn: Callable[[], rx.Component]) -> Callable[[], rx.Component]:
        PAGES.append(PageSpec(fn, route, f"{title} · Chronos", on_load))
        return fn

    return register


def add_pages(app: rx.App) -> None:
    for spec in PAGES:
        app.add_page(spec.component, route=spec.route, title=spec.title, on_load=spec.on_load)
