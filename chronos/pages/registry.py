"""Page registration. Pages declare route, title and loader; chronos.py adds them to the app.

Gating a page is cosmetic (compiled pages are public): every page's data comes from its
``on_load`` handler, which resolves the actor from the session cookie and checks the role.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import reflex as rx

from chronos.settings import get_settings


@dataclass(frozen=True)
class PageSpec:
    component: Callable[[], rx.Component]
    route: str
    title: str
    on_load: Any
    # Developer conveniences (the mailbox): compiled only where settings.dev_mailbox is on, so
    # a production build has no such page at all.
    dev_only: bool = False


PAGES: list[PageSpec] = []


def page(
    route: str, title: str, on_load: Any = None, *, dev_only: bool = False
) -> Callable[[Callable[[], rx.Component]], Callable[[], rx.Component]]:
    def register(fn: Callable[[], rx.Component]) -> Callable[[], rx.Component]:
        PAGES.append(PageSpec(fn, route, f"{title} · Chronos", on_load, dev_only))
        return fn

    return register


def add_pages(app: rx.App) -> None:
    dev_pages = get_settings().dev_mailbox
    for spec in PAGES:
        if spec.dev_only and not dev_pages:
            continue
        app.add_page(spec.component, route=spec.route, title=spec.title, on_load=spec.on_load)
